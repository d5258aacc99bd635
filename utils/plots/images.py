"""Images: grids of images and of predictions, pixel statistics per class, heatmaps laid over images,
convolution kernels and filters, and pictures of the hand-crafted features (region, HOG, LBP)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from utils.images import check_class_names, check_labels
from utils.plots.style import fit_width


# --- Grids of images -----------------------------------------------------------------------------


def show_images(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 10,
    cmap: str = "gray",
    size: float = 1.2,
    suptitle: str | None = None,
    symmetric: bool = False,
) -> plt.Figure:
    """Show a grid of images, each with an optional title and no axes.

    Args:
        images: an array of shape (N, H, W) or (N, H, W, C).
        titles: N strings, one per image.
        ncols: images per row.
        cmap: the colour map of single-channel images.
        size: the width of one image in inches.
        suptitle: a title over the whole grid.
        symmetric: give each image a colour range centred on zero, ``[-max|x|, max|x|]``
            (for signed images with a diverging colour map).
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C) with N > 0, got {images.shape}.")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}.")
    ncols = min(ncols, len(images))
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=fit_width((size * ncols, size * nrows * 1.15)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            image = images[i]
            limit = (np.abs(image).max() or 1.0) if symmetric else None
            ax.imshow(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image, cmap=cmap,
                      vmin=-limit if symmetric else None, vmax=limit)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    *,
    n: int = 20,
    ncols: int = 10,
    suptitle: str | None = None,
) -> plt.Figure:
    """Show the first ``n`` images whose prediction is wrong, titled with the true and predicted class."""
    images = np.asarray(images)
    class_names = check_class_names(class_names)
    y_true = check_labels(y_true, len(class_names), name="y_true", n_images=len(images))
    y_pred = check_labels(y_pred, len(class_names), name="y_pred", n_images=len(images))
    wrong = np.flatnonzero(y_true != y_pred)[:n]
    if len(wrong) == 0:
        raise ValueError("There is no misclassified image to show.")
    titles = [f"true: {class_names[y_true[i]]}\npredicted: {class_names[y_pred[i]]}" for i in wrong]
    fig = show_images(images[wrong], titles, ncols=ncols, size=1.5, suptitle=suptitle)
    fig.set_figheight(fig.get_figheight() * 1.25)  # room for two-line titles
    fig.tight_layout()
    return fig


def show_predictions(
    images: np.ndarray,
    probabilities: np.ndarray,
    y_true: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
) -> plt.Figure:
    """Each image above a bar chart of the probabilities the model gave it, one bar per class.

    The bar of the true class is green and that of a wrong prediction red.
    """
    images, probabilities = np.asarray(images), np.asarray(probabilities)
    class_names = check_class_names(class_names)
    y_true = check_labels(y_true, len(class_names), name="y_true")
    if images.ndim not in (3, 4) or not len(images) == len(probabilities) == len(y_true) or len(images) == 0:
        raise ValueError("images (N, H, W[, C]), probabilities (N, n_classes) and y_true (N,) must have the "
                         f"same N > 0, got {images.shape}, {probabilities.shape}, {y_true.shape}.")
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(f"probabilities must have shape (N, {len(class_names)}), got {probabilities.shape}.")
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=fit_width((1.9 * n, 4.4)), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1.2]})
    positions = np.arange(len(class_names))
    for i in range(n):
        image = images[i][..., 0] if images[i].ndim == 3 and images[i].shape[-1] == 1 else images[i]
        predicted = int(probabilities[i].argmax())
        axes[0, i].imshow(image, cmap="gray")
        axes[0, i].axis("off")
        axes[0, i].set_title(f"true: {class_names[y_true[i]]}\npred: {class_names[predicted]}", fontsize=8)
        colors = ["lightgray"] * len(class_names)
        colors[predicted] = "tab:red" if predicted != y_true[i] else "tab:green"
        colors[y_true[i]] = "tab:green"
        axes[1, i].barh(positions, probabilities[i], color=colors)
        axes[1, i].set(xlim=(0, 1), yticks=positions)
        axes[1, i].set_yticklabels(class_names if i == 0 else [], fontsize=7)
        axes[1, i].invert_yaxis()
        axes[1, i].tick_params(axis="x", labelsize=7)
        axes[1, i].set_xlabel("probability", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --- What differs between classes, what a model looks at -----------------------------------------


def plot_pixel_statistics(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str = "Pixel statistics per class",
) -> plt.Figure:
    """The mean image of each class, their difference, and the histogram of each image's mean brightness.

    For two classes: where (difference map) and how much (histogram) the classes differ before any
    model is trained. A difference at the image border rather than in the anatomy hints at a shortcut.

    Args:
        images: (N, H, W) grey or (N, H, W, 3) colour images, 0-255. The mean images of colour
            images are shown in colour; the difference and the brightness average the channels.
        labels: (N,) class indices.
        class_names: the names of the classes (two of them).
    """
    images = np.asarray(images, dtype=np.float64)
    class_names = check_class_names(class_names)
    labels = np.asarray(labels)
    colour = images.ndim == 4 and images.shape[-1] == 3
    if not (images.ndim == 3 or colour) or len(images) != len(labels):
        raise ValueError("images must have shape (N, H, W) or (N, H, W, 3) with N = len(labels) = "
                         f"{len(labels)}, got {images.shape}.")
    if len(class_names) != 2 or set(np.unique(labels)) != {0, 1}:
        raise ValueError("plot_pixel_statistics compares two classes: labels 0 and 1, two class names.")
    means = [images[labels == c].mean(axis=0) for c in (0, 1)]
    brightness = images.mean(axis=-1) if colour else images
    fig, axes = plt.subplots(1, 4, figsize=fit_width((13, 3.2)), gridspec_kw={"width_ratios": [1, 1, 1, 1.5]})
    for ax, mean, name in zip(axes, means, class_names):
        ax.set_title(f"mean image: {name}")
        if colour:
            ax.imshow(mean.astype(np.uint8))
        else:
            fig.colorbar(ax.imshow(mean, cmap="gray", vmin=0, vmax=255), ax=ax, fraction=0.046)
    difference = means[1] - means[0]
    if colour:
        difference = difference.mean(axis=-1)
    limit = np.abs(difference).max()
    shown = axes[2].imshow(difference, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[2].set_title(f"{class_names[1]} - {class_names[0]}" + (" (brightness)" if colour else ""))
    fig.colorbar(shown, ax=axes[2], fraction=0.046)
    for ax in axes[:3]:
        ax.axis("off")
    for c, name in enumerate(class_names):
        axes[3].hist(brightness[labels == c].mean(axis=(1, 2)), bins=30, alpha=0.6, label=name)
    axes[3].set(xlabel="mean brightness of an image (0-255)", ylabel="images", title="brightness per image")
    axes[3].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def check_map_scale(name: str, maps: np.ndarray, low: float, high: float) -> None:
    """Maps drawn on a fixed colour scale must lie on it: values outside would be drawn saturated."""
    maps = np.asarray(maps, dtype=np.float64)
    if not np.all(np.isfinite(maps)):
        raise ValueError(f"{name} must hold finite values, got NaN or infinite ones.")
    if maps.min() < low or maps.max() > high:
        hint = (" Signed maps (signed=True) are drawn by plot_cascade; here, pass the heatmaps of signed=False."
                if low == 0 and maps.min() < 0 else " Scale them with utils.interpret.to_heatmap.")
        raise ValueError(f"{name} must hold values in [{low:g}, {high:g}], got values from {maps.min():.3g} to "
                         f"{maps.max():.3g}.{hint}")


def plot_heatmap_grid(
    images: np.ndarray,
    heatmaps: dict[str, np.ndarray],
    *,
    row_titles: Sequence[str] | None = None,
    alpha: float = 0.5,
    cmap: str = "jet",
    size: float = 2.0,
    suptitle: str | None = None,
) -> plt.Figure:
    """One row per image: the image, then each method's heatmap laid over it.

    Args:
        images: (N, H, W) or (N, H, W, 1) grey images, or (N, H, W, 3) colour images.
        heatmaps: column title (e.g. the method's title) -> heatmaps (N, H, W) in [0, 1], one per
            image. Titles are wrapped at 12 characters so that many columns stay apart.
        row_titles: N strings shown left of each row, horizontally (e.g. true and predicted class;
            break long ones into lines with ``\n``).
        alpha: the opacity of the heatmaps.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)) or len(images) == 0:
        raise ValueError("images must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3) with N > 0, "
                         f"got {images.shape}.")
    for name, maps in heatmaps.items():
        if np.shape(maps) != images.shape[:3]:
            raise ValueError(f"heatmaps[{name!r}] must have shape {images.shape[:3]}, one (H, W) map per image, "
                             f"got {np.shape(maps)}.")
        check_map_scale(f"heatmaps[{name!r}]", maps, 0, 1)
    if row_titles is not None and len(row_titles) != len(images):
        raise ValueError(f"row_titles must have one entry per image ({len(images)}), got {len(row_titles)}.")
    ncols = 1 + len(heatmaps)
    fig, axes = plt.subplots(len(images), ncols, figsize=fit_width((size * ncols + 0.8, size * len(images))),
                             squeeze=False, layout="constrained")
    shown = None
    for i, image in enumerate(images):
        axes[i, 0].imshow(image, cmap="gray")
        if row_titles is not None:
            # Horizontal, left of the row: rotated titles longer than a row ran into their neighbours.
            axes[i, 0].set_ylabel(row_titles[i], fontsize=8, rotation=0, ha="right", va="center")
        for j, (name, maps) in enumerate(heatmaps.items(), start=1):
            axes[i, j].imshow(image, cmap="gray")
            shown = axes[i, j].imshow(maps[i], cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(textwrap.fill(["image", *heatmaps][j], 12), fontsize=9)
    if shown is not None:
        fig.colorbar(shown, ax=axes, fraction=0.02, label="importance (0-1)")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# --- Convolution kernels and learned filters -----------------------------------------------------


def show_kernels_and_responses(
    kernels: dict[str, np.ndarray], responses: Sequence[np.ndarray], *, title: str | None = None
) -> plt.Figure:
    """Each kernel (its weights written in) above the image it produced, on a diverging scale.

    Args:
        kernels: name -> (kh, kw) weights.
        responses: one filtered image (H, W) per kernel, in the same order.
    """
    if len(kernels) != len(responses) or not kernels:
        raise ValueError(f"responses must hold one image per kernel ({len(kernels)}), got {len(responses)}.")
    fig, axes = plt.subplots(2, len(kernels), figsize=fit_width((2.2 * len(kernels), 4.8)), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1.3]})
    for column, ((name, kernel), response) in enumerate(zip(kernels.items(), responses)):
        kernel = np.asarray(kernel)
        limit = max(np.abs(kernel).max(), 1e-12)
        axes[0, column].imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (row, col), weight in np.ndenumerate(kernel):
            axes[0, column].text(col, row, f"{weight:.2g}", ha="center", va="center", fontsize=8,
                                 color="white" if abs(weight) > 0.6 * limit else "black")
        axes[0, column].set_title(name, fontsize=9)
        limit = max(np.abs(response).max(), 1e-12)
        shown = axes[1, column].imshow(response, cmap="RdBu_r", vmin=-limit, vmax=limit)
        fig.colorbar(shown, ax=axes[1, column], fraction=0.046, orientation="horizontal", pad=0.04)
        for ax in axes[:, column]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("kernel w")
    axes[1, 0].set_ylabel("output g")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_filters(weights: np.ndarray, *, ncols: int = 8, title: str = "Learned filters") -> plt.Figure:
    """The kernels of a convolution layer with one input channel, weights (kh, kw, 1, K), on one
    diverging colour scale (red: positive weight, blue: negative)."""
    weights = np.asarray(weights)
    if weights.ndim != 4 or weights.shape[2] != 1:
        raise ValueError(f"weights must have shape (kh, kw, 1, K) (one input channel), got {weights.shape}.")
    n = weights.shape[-1]
    nrows = int(np.ceil(n / ncols))
    limit = np.abs(weights).max()
    fig, axes = plt.subplots(nrows, ncols, figsize=fit_width((1.1 * ncols + 1, 1.1 * nrows + 0.5)), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            shown = ax.imshow(weights[:, :, 0, k], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(k), fontsize=7)
    fig.colorbar(shown, ax=axes, fraction=0.03, label="weight")
    fig.suptitle(title)
    return fig


# --- Hand-crafted features -----------------------------------------------------------------------


def plot_region(image: np.ndarray, region, *, ax: plt.Axes | None = None, title: str | None = None) -> plt.Figure:
    """Draw one image with its foreground region's ellipse, major axis and orientation.

    Args:
        image: an (H, W) image.
        region: a ``skimage.measure.regionprops`` region of that image
            (``utils.features.foreground_region``), or None for an empty image.
    """
    from matplotlib.patches import Ellipse

    if ax is None:
        _, ax = plt.subplots(figsize=fit_width((3, 3)))
    ax.imshow(image, cmap="gray")
    ax.axis("off")
    if region is None:
        ax.set_title(title or "no foreground", fontsize=9)
        return ax.figure
    row, col = region.centroid
    angle = region.orientation  # from the row axis, counter-clockwise as the image is shown
    # Matplotlib's angle is the width axis's, counter-clockwise from x (columns) in data space;
    # in an image shown with rows downward, the major axis points along (-sin, -cos) in (x, y).
    ax.add_patch(Ellipse((col, row), width=region.axis_minor_length, height=region.axis_major_length,
                         angle=-np.degrees(angle), fill=False, edgecolor="tab:orange", linewidth=2))
    half = region.axis_major_length / 2
    ax.plot([col - half * np.sin(angle), col + half * np.sin(angle)],
            [row - half * np.cos(angle), row + half * np.cos(angle)], color="tab:red", linewidth=2)
    ax.plot(col, row, "o", color="tab:red", markersize=4)
    ax.set(xlim=(-0.5, image.shape[1] - 0.5), ylim=(image.shape[0] - 0.5, -0.5))  # the image, not the ellipse
    ax.set_title(title or f"area {region.area:.0f}, orientation {np.degrees(angle):.0f}°", fontsize=9)
    return ax.figure


def plot_hog_pictures(images: np.ndarray, pictures: Sequence[np.ndarray], titles: Sequence[str], *,
                      size: float = 2.0, suptitle: str = "Images (top) and their HOG cells (bottom)") -> plt.Figure:
    """Images in the top row and their HOG pictures (``utils.features.hog_image``) below them."""
    if not len(images) == len(pictures) == len(titles) or len(images) == 0:
        raise ValueError(f"images, pictures and titles must have the same, non-zero length, got "
                         f"{len(images)}, {len(pictures)} and {len(titles)}.")
    fig, axes = plt.subplots(2, len(images), figsize=fit_width((size * len(images), 2 * size + 0.6)), squeeze=False)
    for column, (image, picture, title) in enumerate(zip(images, pictures, titles)):
        axes[0, column].imshow(image, cmap="gray")
        axes[0, column].set_title(title, fontsize=9)
        axes[1, column].imshow(picture, cmap="inferno")
        for ax in axes[:, column]:
            ax.axis("off")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_lbp_codes(image: np.ndarray, codes: np.ndarray, n_points: int, *, title: str | None = None) -> plt.Figure:
    """An image beside its map of uniform LBP codes (``utils.features.lbp_image``) and their histogram."""
    import matplotlib

    n_codes = n_points + 2
    colours = matplotlib.colormaps["tab10" if n_codes <= 10 else "tab20"].resampled(n_codes)
    fig, axes = plt.subplots(1, 3, figsize=fit_width((10, 3.2)), gridspec_kw={"width_ratios": [1, 1.25, 1.6]})
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("image")
    shown = axes[1].imshow(codes, cmap=colours, vmin=-0.5, vmax=n_codes - 0.5)
    axes[1].set_title("LBP code of each pixel")
    for ax in axes[:2]:
        ax.axis("off")
    bar = fig.colorbar(shown, ax=axes[1], ticks=range(n_codes))
    bar.set_ticklabels([str(c) if c <= n_points else "other" for c in range(n_codes)])
    bar.set_label("neighbours at least as bright")
    counts = np.bincount(codes.astype(int).ravel(), minlength=n_codes) / codes.size
    axes[2].bar(range(n_codes), counts, color=[colours(c) for c in range(n_codes)])
    axes[2].set_xticks(range(n_codes), [str(c) if c <= n_points else "other" for c in range(n_codes)])
    axes[2].set_xlabel("LBP code (neighbours at least as bright)")
    axes[2].set_ylabel("share of pixels")
    axes[2].set_title("histogram: the texture feature")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
