"""Tests of utils.plots.metrics: ROC curves, cross-validation scores, comparisons of models and methods."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from utils import classical, plots  # noqa: E402
from utils import evaluation as ev  # noqa: E402


def test_plot_roc_draws_the_given_bands_aucs_and_operating_points():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.4).astype(int)
    good, poor = (1 / (1 + np.exp(-rng.normal(separation * (2 * y - 1), 1.0))) for separation in (1.5, 0.3))
    scores = {"good": good, "poor": poor}
    bands = {name: ev.roc_band(y, score, positive_class=1, n_bootstrap=20) for name, score in scores.items()}
    aucs = {name: ev.bootstrap_ci(ev.roc_auc, y, score, n_bootstrap=20) for name, score in scores.items()}
    at_half = ev.clinical_metrics(y, good, positive_class=1, n_bootstrap=20)
    fig = plots.plot_roc(bands, aucs, operating_points={"good": (0.5, at_half)})
    ax = fig.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:3] == [f"good: AUC {aucs['good']}", "good at threshold 0.50", f"poor: AUC {aucs['poor']}"]
    assert labels[0].startswith("good: AUC 0.9")
    assert len(ax.collections) == 2  # a band per model
    curve, point = ax.lines[:2]
    np.testing.assert_array_equal(curve.get_xdata(), bands["good"][0])
    np.testing.assert_array_equal(curve.get_ydata(), bands["good"][1])
    predicted = (good >= 0.5).astype(int)
    assert point.get_xdata()[0] == 1 - ev.specificity(y, predicted, positive_class=1)
    assert point.get_ydata()[0] == ev.sensitivity(y, predicted, positive_class=1)
    fig.canvas.draw()
    legend, plot_area = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y1 <= plot_area.y0  # below the curves, not over them
    figure_area = fig.bbox
    assert figure_area.x0 <= legend.x0 and legend.x1 <= figure_area.x1 and legend.y0 >= figure_area.y0
    plt.close(fig)
    with pytest.raises(ValueError, match="bands"):
        plots.plot_roc({}, {})
    with pytest.raises(ValueError, match=r"auc_estimates.*\['poor'\]"):
        plots.plot_roc(bands, {"good": aucs["good"]})
    with pytest.raises(ValueError, match=r"operating_points.*\['other'\]"):
        plots.plot_roc(bands, aucs, operating_points={"other": (0.5, at_half)})


def test_model_figures_draw_without_error():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)
    _, table = classical.tune(KNeighborsClassifier(), {"n_neighbors": [1, 3], "weights": ["uniform", "distance"]},
                              x, y, n_jobs=1)
    figure = plots.plot_cv_scores(table, "n_neighbors", group="weights")
    assert len(figure.axes[0].get_legend().get_texts()) == 3  # two groups and the best point
    with pytest.raises(ValueError, match="parameter must be one of"):
        plots.plot_cv_scores(table, "C")
    result = classical.fit_and_score("kNN", KNeighborsClassifier(), x[:40], y[:40], x[40:], y[40:])
    plots.plot_model_comparison(classical.comparison_table([result]))
    plt.close("all")


def test_accuracy_vs_labels_plot_draws_one_line_per_method_and_checks_shapes():
    accuracies = {"pre-trained": np.array([[0.8, 0.9, 0.95], [0.82, 0.91, 0.96]]),
                  "scratch": np.array([0.7, 0.85, 0.96])}
    fig = plots.plot_accuracy_vs_labels((10, 50, 200), accuracies)
    ax = fig.axes[0]
    means = [line for line in ax.lines if line.get_label() in accuracies]
    assert [line.get_label() for line in means] == ["pre-trained", "scratch"]
    np.testing.assert_allclose(means[0].get_ydata(), [81, 90.5, 95.5])
    assert ax.get_xscale() == "log" and "labelled" in ax.get_xlabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="columns"):
        plots.plot_accuracy_vs_labels((10, 50), accuracies)
    with pytest.raises(ValueError, match="accuracies"):
        plots.plot_accuracy_vs_labels((10,), {})


def test_plot_confusion_matrix_normalises_rows_and_keeps_a_long_title_inside_a_narrow_figure():
    y_true, y_pred = np.array([0, 0, 0, 0, 1, 1]), np.array([0, 0, 0, 1, 1, 1])
    title = "CNN ensemble of 3 seeds, with class weights: test split (rows: true class, normalised)"
    figure = plots.plot_confusion_matrix(y_true, y_pred, ["malignant", "normal or benign"], title=title)
    assert np.allclose(figure.axes[0].images[0].get_array(), [[0.75, 0.25], [0.0, 1.0]])
    shown = figure._suptitle
    assert shown.get_text().replace("\n", " ") == title and "\n" in shown.get_text()
    figure.canvas.draw()
    box = shown.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width, (box, figure.bbox)
    plt.close(figure)


def test_plot_descent_draws_the_steps_over_the_surface_and_checks_shapes():
    w_values, b_values = np.linspace(-2, 2, 9), np.linspace(-1, 1, 5)
    surface = np.add.outer(b_values ** 2, w_values ** 2)
    path = np.array([[-2.0, 1.0], [-1.0, 0.5], [0.0, 0.0]])
    fig = plots.plot_descent(w_values, b_values, surface, path, np.array([5.0, 1.25, 0.0]), title="bowl")
    ax_map, ax_loss = fig.axes[:2]
    np.testing.assert_array_equal(ax_map.lines[0].get_xydata(), path)
    np.testing.assert_array_equal(ax_loss.lines[0].get_ydata(), [5.0, 1.25, 0.0])
    plt.close("all")
    with pytest.raises(ValueError, match="surface must have shape"):
        plots.plot_descent(w_values, b_values, surface.T, path, np.zeros(3))
    with pytest.raises(ValueError, match="path must have shape"):
        plots.plot_descent(w_values, b_values, surface, path, np.zeros(2))


def test_plot_learning_rates_draws_one_colour_per_rate_in_order():
    histories = {1e-2: {"loss": [1.0, 0.5], "val_loss": [0.9, 0.6], "val_accuracy": [0.7, 0.8]},
                 1e-4: {"loss": [2.2, 2.0], "val_loss": [2.1, 1.9], "val_accuracy": [0.3, 0.4]}}
    fig = plots.plot_learning_rates(histories, n_classes=10)
    ax_loss, ax_accuracy = fig.axes
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == ["rate 0.0001", "rate 0.01", "training", "validation", "guessing"]
    np.testing.assert_array_equal(ax_loss.lines[1].get_ydata(), [2.1, 1.9])  # rate 0.0001, validation
    np.testing.assert_array_equal(ax_accuracy.lines[1].get_ydata(), [0.7, 0.8])
    plt.close("all")
    with pytest.raises(ValueError, match="histories"):
        plots.plot_learning_rates({1e-3: {"loss": [1.0]}})
