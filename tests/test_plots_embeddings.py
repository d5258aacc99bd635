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
