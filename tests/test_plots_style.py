"""utils.plots.style: figures fit JupyterLab's output width, and their text stays legible there."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import plots
from utils.plots.style import MAX_WIDTH, OUTPUT_WIDTH_PX, displayed_text_px, fit_width

MIN_TEXT_PX = 8


def test_fit_width_keeps_narrow_figures_and_scales_wide_ones_keeping_their_aspect():
    assert fit_width((6, 4)) == (6, 4)
    width, height = fit_width((2 * MAX_WIDTH, 6))
    assert width == pytest.approx(MAX_WIDTH) and height == pytest.approx(3)


def test_fit_width_rejects_sizes_that_are_not_positive():
    with pytest.raises(ValueError, match="figsize"):
        fit_width((0, 4))


def test_displayed_text_px_accounts_for_the_shrinking_of_wide_figures():
    narrow, wide = plt.figure(figsize=(5, 3)), plt.figure(figsize=(2 * OUTPUT_WIDTH_PX / 100, 3))
    for figure in (narrow, wide):
        figure.text(0.5, 0.5, "label", fontsize=9)
    assert displayed_text_px(narrow) == pytest.approx(12.5)
    assert displayed_text_px(wide) == pytest.approx(6.25)
    plt.close("all")


def test_the_widest_course_figures_fit_and_their_text_is_legible(blobs):
    x, y = blobs
    names = [str(c) for c in range(4)]
    rng = np.random.default_rng(0)
    images = rng.random((6, 28, 28))
    heatmaps = {name: rng.random((6, 28, 28)) for name in ("saliency", "grad_cam", "occlusion", "lime")}
    figures = [
        plots.plot_embeddings({"A": x, "B": x, "C": x}, y, names),
        plots.plot_heatmap_grid(images, heatmaps, row_titles=[f"image {i}\nP = 0.5" for i in range(6)]),
        plots.plot_contingency(rng.integers(0, 50, (4, 20)), names, [str(i) for i in range(20)]),
        plots.show_images(rng.random((40, 28, 28)), [str(i) for i in range(40)], ncols=20),
    ]
    for figure in figures:
        figure = figure if isinstance(figure, plt.Figure) else figure.figure
        assert figure.get_figwidth() <= MAX_WIDTH + 1e-9
        assert displayed_text_px(figure) >= MIN_TEXT_PX
    plt.close("all")
