"""Tests of utils.plots.images: grids of images, pixel statistics, heatmaps, hand-crafted features."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import features, plots  # noqa: E402


def test_show_images_shows_colour_images_in_colour():
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 3), dtype=np.uint8)
    fig = plots.show_images(images, ["a", "b", "c"])
    assert fig.axes[0].images[0].get_array().shape == (28, 28, 3)
    plt.close(fig)


def test_show_misclassified_shows_only_the_wrong_predictions():
    images = np.random.default_rng(0).integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    predictions = np.where(np.arange(20) < 3, 1, 0)
    figure = plots.show_misclassified(images, np.zeros(20, int), predictions, ["a", "b"])
    assert sum(ax.get_title() != "" for ax in figure.axes) == 3
    with pytest.raises(ValueError, match="no misclassified"):
        plots.show_misclassified(images, np.zeros(20, int), np.zeros(20, int), ["a", "b"])
    plt.close("all")


def test_plot_pixel_statistics_shows_means_difference_and_histogram():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 200, (40, 28, 28)).astype(np.uint8)
    labels = np.arange(40) % 2
    images[labels == 1, 10:18, 10:18] = 255  # class 1 is bright in the centre
    fig = plots.plot_pixel_statistics(images, labels, ("normal", "pneumonia"))
    difference = fig.axes[2].images[0].get_array()
    assert difference[14, 14] > 50 and abs(difference[0, 0]) < 50
    assert "pneumonia - normal" in fig.axes[2].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="two classes"):
        plots.plot_pixel_statistics(images, labels * 2, ("a", "b"))


def test_plot_pixel_statistics_shows_colour_means_in_colour():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 200, (40, 28, 28, 3)).astype(np.uint8)  # e.g. RetinaMNIST
    labels = np.arange(40) % 2
    images[labels == 1, 10:18, 10:18] = 255
    fig = plots.plot_pixel_statistics(images, labels, ("grade 0", "grade 1"))
    assert fig.axes[0].images[0].get_array().shape == (28, 28, 3)
    difference = fig.axes[2].images[0].get_array()
    assert difference.shape == (28, 28) and difference[14, 14] > 50 and abs(difference[0, 0]) < 50
    plt.close(fig)
    with pytest.raises(ValueError, match="N, H, W, 3"):
        plots.plot_pixel_statistics(images[..., :2], labels, ("a", "b"))


def test_plot_heatmap_grid_shows_colour_images():
    images = np.random.default_rng(0).random((2, 28, 28, 3))
    fig = plots.plot_heatmap_grid(images, {"grad_cam": np.zeros((2, 28, 28))})
    assert fig.axes[0].images[0].get_array().shape == (28, 28, 3)
    plt.close(fig)
    with pytest.raises(ValueError, match="grad_cam"):
        plots.plot_heatmap_grid(images, {"grad_cam": np.zeros((2, 28, 28, 3))})


def test_plot_heatmap_grid_has_one_row_per_image_and_one_column_per_method():
    images = np.random.default_rng(0).random((3, 28, 28, 1))
    maps = {"Grad-CAM": np.zeros((3, 28, 28)), "integrated gradients": np.ones((3, 28, 28))}
    fig = plots.plot_heatmap_grid(images, maps, row_titles=["a", "b", "c"])
    assert len(fig.axes) == 3 * 3 + 1  # and a colour bar
    assert [ax.get_title() for ax in fig.axes[:3]] == ["image", "Grad-CAM", "integrated\ngradients"]  # wrapped
    plt.close(fig)
    with pytest.raises(ValueError, match="lime"):
        plots.plot_heatmap_grid(images, {"lime": np.ones((2, 28, 28))})


def test_region_and_lbp_figures_draw_without_error():
    image = np.zeros((28, 28), dtype=np.uint8)
    for t in range(4, 24):
        image[t:t + 2, t] = 255  # a diagonal bar, 2 pixels thick
    figure = plots.plot_region(image, features.foreground_region(image))
    assert len(figure.axes[0].patches) == 1  # the ellipse
    plots.plot_lbp_codes(image, features.lbp_image(image), n_points=8)
    plt.close("all")


def test_hog_pictures_figure():
    vertical = np.zeros((28, 28), dtype=np.uint8)
    vertical[4:24, 13:15] = 255
    images = np.stack([vertical, vertical.T])
    figure = plots.plot_hog_pictures(images, [features.hog_image(image) for image in images], ["|", "-"])
    assert len(figure.axes) == 4
    with pytest.raises(ValueError, match="same, non-zero length"):
        plots.plot_hog_pictures(images, [], ["|", "-"])
    plt.close("all")
