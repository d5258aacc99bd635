"""Tests of utils.plots.embeddings: 2-D maps, principal components, variance kept, clusters."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import explore, plots  # noqa: E402


def test_map_figures_draw_and_check_shapes(blobs):
    x, y = blobs
    names = ["a", "b", "c", "d"]
    figures = [
        plots.plot_embedding(x, y, names, title="blobs"),
        plots.show_components(np.random.default_rng(0).normal(size=(3, 784)), titles=["1", "2", "3"]),
        plots.plot_contingency(5 * np.eye(4, dtype=int), ["c0", "c1", "c2", "c3"], names),
        plots.plot_inverse_grid(x, y, names, np.zeros((9, 2)), np.zeros((9, 784))),
    ]
    assert all(isinstance(figure, plt.Figure) for figure in figures)
    plt.close("all")
    with pytest.raises(ValueError, match="embedding"):
        plots.plot_embedding(x[:, :1], y, names)
    with pytest.raises(ValueError, match="components"):
        plots.show_components(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="table"):
        plots.plot_contingency(np.eye(3), ["c0"], names)
    with pytest.raises(ValueError, match="square grid"):
        plots.plot_inverse_grid(x, y, names, np.zeros((8, 2)), np.zeros((8, 784)))


def test_cumulative_variance_figure():
    plots.plot_cumulative_variance(np.full(10, 0.1), keep=0.95)
    with pytest.raises(ValueError, match="explained_variance_ratio"):
        plots.plot_cumulative_variance(np.array([]))
    with pytest.raises(ValueError, match="fit PCA with more components"):
        plots.plot_cumulative_variance(np.full(5, 0.1), keep=0.95)  # only 50 % of the variance
    plt.close("all")


def test_cumulative_variance_marks_the_count_of_n_components_for_variance():
    # Nine components of 0.1 sum to 0.9 only up to round-off: the two counts must still agree.
    ratios = np.full(10, 0.1)
    expected = explore.n_components_for_variance(ratios, threshold=0.9)
    assert expected == 9
    figure = plots.plot_cumulative_variance(ratios, keep=0.9)
    marker = figure.axes[0].lines[-1]
    assert marker.get_xdata()[0] == expected
    assert figure.axes[0].get_legend().get_texts()[0].get_text() == "9 components keep 90%"
    plt.close("all")


def test_plot_embeddings_draws_each_map_as_plot_embedding_with_one_legend(blobs):
    x, y = blobs
    fig = plots.plot_embeddings({"first": x, "second": -x}, y, ["a", "b", "c", "d"], title="two maps")
    first, second = fig.axes
    assert first.get_title() == "first" and second.get_title() == "second"
    assert first.get_legend() is None and second.get_legend() is not None
    assert [text.get_text() for text in first.texts] == ["a", "b", "c", "d"]  # classes named on the map
    plt.close("all")


def test_plot_embedding_names_its_axes_when_asked(blobs):
    x, y = blobs
    ax = plots.plot_embedding(x, y, ["a", "b", "c", "d"], axis_labels=("PC 1", "PC 2"), name_classes=False).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("PC 1", "PC 2")
    assert len(ax.texts) == 0  # no class names written on the map
    plt.close("all")


def test_plot_class_balance_draws_the_share_of_each_class_per_split():
    fig = plots.plot_class_balance({"train": np.array([30, 10]), "test": np.array([5, 5])}, ["a", "b"])
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    np.testing.assert_allclose(heights, [0.75, 0.25, 0.5, 0.5])
    plt.close("all")
    with pytest.raises(ValueError, match="counts"):
        plots.plot_class_balance({"train": np.array([1, 2, 3])}, ["a", "b"])


def test_plot_pixel_overview_shows_the_mean_grey_level_of_each_class():
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    images[2:] = 200
    fig = plots.plot_pixel_overview(images, np.array([0, 0, 1, 1]), ["dark", "bright"], title="toy")
    bars = [patch.get_width() for patch in fig.axes[3].patches]
    np.testing.assert_allclose(bars, [0.0, 200.0])
    plt.close("all")
    with pytest.raises(ValueError, match="grey images"):
        plots.plot_pixel_overview(np.zeros((4, 8, 8, 3), dtype=np.uint8), np.zeros(4, int), ["a"])


def test_plot_mixture_selection_marks_the_lowest_bic(blobs):
    x, _ = blobs
    selection = explore.select_gaussian_mixture(x, [2, 4, 6], seed=0)
    fig = plots.plot_mixture_selection(selection, n_classes=4)
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels == [f"lowest BIC: {selection.best_n_components} components", "number of classes: 4"]
    plt.close("all")
    with pytest.raises(TypeError, match="MixtureSelection"):
        plots.plot_mixture_selection({"bic": [1, 2]})
