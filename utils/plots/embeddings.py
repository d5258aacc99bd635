"""Exploring a data set (notebook 01): how many images of each class, the statistics of their pixels,
and the data in fewer dimensions: 2-D maps (PCA, t-SNE, UMAP), principal components and the variance
they keep, the choice of a number of clusters, clusters against classes, and the images a map
generates at a grid of points."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from utils.explore import MixtureSelection, n_components_for_variance
from utils.images import as_float_images, check_class_names, check_labels
from utils.plots.images import show_images
from utils.plots.style import fit_width


def plot_embedding(
    embedding: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
    ax: plt.Axes | None = None,
    point_size: float | None = None,
    axis_labels: tuple[str, str] | None = None,
    legend: bool = True,
    name_classes: bool = True,
) -> plt.Figure:
    """Scatter a 2-D embedding, one colour per class, each class named at its median point.

    Args:
        embedding: shape (N, 2).
        labels: the class of each point, integers indexing ``class_names``.
        class_names: the name of each class (at most 20, the colours of ``tab20``).
        point_size: marker area; by default smaller for more points.
        axis_labels: the names of the two axes (e.g. of two principal components); by default none,
            as the axes of t-SNE or UMAP have no meaning.
        legend: a legend of the classes to the right of the map.
        name_classes: write each class's name at the median point of its points (for classes that
            form groups on the map).
    """
    embedding = np.asarray(embedding)
    if embedding.ndim != 2 or embedding.shape[1] != 2 or len(embedding) == 0:
        raise ValueError(f"embedding must have shape (N, 2) with N > 0, got {embedding.shape}.")
    class_names = check_class_names(class_names)
    labels = check_labels(labels, len(class_names), n_images=len(embedding))
    if len(class_names) > 20:
        raise ValueError(f"class_names must name at most 20 classes, got {len(class_names)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=fit_width((6.5, 5.5)))
    colours = plt.colormaps["tab10" if len(class_names) <= 10 else "tab20"].colors
    size = point_size if point_size is not None else float(np.clip(4000 / len(embedding), 1, 12))
    for c, name in enumerate(class_names):
        points = embedding[labels == c]
        ax.scatter(points[:, 0], points[:, 1], s=size, color=colours[c], label=name, linewidths=0)
        if name_classes and len(points):
            ax.annotate(name, np.median(points, axis=0), ha="center", va="center", fontsize=8, weight="bold",
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colours[c],
                              "alpha": 0.8})
    if legend:
        ax.legend(markerscale=max(1.0, 30 / size) ** 0.5, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5),
                  frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if axis_labels is not None:
        ax.set(xlabel=axis_labels[0], ylabel=axis_labels[1])
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def plot_embeddings(
    embeddings: dict[str, np.ndarray],
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
) -> plt.Figure:
    """2-D embeddings (e.g. of different features, or with different settings) side by side, as
    :func:`plot_embedding` draws them, with one legend of the classes for all.

    Args:
        embeddings: the title of each map -> the map, shape (N, 2), one row per label.
        labels, class_names: as for :func:`plot_embedding`.
    """
    class_names = check_class_names(class_names)
    labels = check_labels(labels, len(class_names))
    if not embeddings or not len(labels) or any(np.shape(e) != (len(labels), 2) for e in embeddings.values()):
        raise ValueError(f"embeddings must map names to arrays of shape ({len(labels)}, 2), one row per label.")
    fig, axes = plt.subplots(1, len(embeddings), figsize=fit_width((5 * len(embeddings) + 1.5, 4.6)), squeeze=False)
    for i, (ax, (name, points)) in enumerate(zip(axes[0], embeddings.items())):
        plot_embedding(points, labels, class_names, ax=ax, title=name, legend=i == len(embeddings) - 1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_inverse_grid(
    embedding: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    grid: np.ndarray,
    generated: np.ndarray,
    *,
    image_shape: tuple[int, int] = (28, 28),
    title: str | None = None,
) -> plt.Figure:
    """A 2-D map with a grid of points (left) beside the images generated at those points (right).

    Args:
        embedding, labels, class_names: the map, as for :func:`plot_embedding`.
        grid: the grid points, shape (n*n, 2), row by row from the top left.
        generated: the image generated at each grid point, shape (n*n, H*W) or (n*n, H, W).
    """
    grid, generated = np.asarray(grid), np.asarray(generated)
    n = int(round(np.sqrt(len(grid))))
    if grid.ndim != 2 or grid.shape[1] != 2 or n * n != len(grid):
        raise ValueError(f"grid must have shape (n*n, 2) for a square grid, got {grid.shape}.")
    if len(generated) != len(grid) or generated[0].size != image_shape[0] * image_shape[1]:
        raise ValueError(f"generated must hold one {image_shape} image per grid point ({len(grid)}), "
                         f"got shape {generated.shape}.")
    height, width = image_shape
    mosaic = generated.reshape(n, n, height, width).transpose(0, 2, 1, 3).reshape(n * height, n * width)
    fig, (ax_map, ax_images) = plt.subplots(1, 2, figsize=fit_width((13, 5.8)), gridspec_kw={"width_ratios": [1.25, 1]})
    plot_embedding(embedding, labels, class_names, ax=ax_map, title="UMAP map and the grid (black dots)")
    ax_map.scatter(grid[:, 0], grid[:, 1], s=14, color="black", marker="o", zorder=3)
    ax_images.imshow(mosaic, cmap="gray")
    ax_images.set_xticks([])
    ax_images.set_yticks([])
    ax_images.set_title("Images UMAP generates at the grid points")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_components(
    components: np.ndarray,
    image_shape: tuple[int, int] = (28, 28),
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.4,
    suptitle: str | None = None,
) -> plt.Figure:
    """Show signed images (e.g. principal components) in a blue-white-red map centred on zero.

    Each image gets its own symmetric colour range: red pixels are positive, blue negative.

    Args:
        components: shape (N, H*W) or (N, H, W).
        image_shape: (H, W) of flattened components.
    """
    components = np.asarray(components, dtype=float)
    if components.ndim == 2:
        if components.shape[1] != image_shape[0] * image_shape[1]:
            raise ValueError(f"components of length {components.shape[1]} cannot be shown as {image_shape} images.")
        components = components.reshape(-1, *image_shape)
    if components.ndim != 3 or len(components) == 0:
        raise ValueError(f"components must have shape (N, H*W) or (N, H, W) with N > 0, got {components.shape}.")
    if titles is not None and len(titles) != len(components):
        raise ValueError(f"titles must have one entry per component ({len(components)}), got {len(titles)}.")
    return show_images(components, titles, ncols=ncols, cmap="RdBu_r", size=size, suptitle=suptitle, symmetric=True)


def plot_cumulative_variance(explained_variance_ratio: np.ndarray, *, keep: float = 0.95,
                             title: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """The share of the variance that the first k principal components keep, against k.

    The dotted line marks the number of components that keep ``keep`` of the variance, counted by
    :func:`utils.explore.n_components_for_variance` (so the figure and the notebooks' numbers agree).

    Raises:
        ValueError: as :func:`~utils.explore.n_components_for_variance` does, e.g. if the components
            together do not reach ``keep``.
    """
    ratio = np.asarray(explained_variance_ratio, dtype=float)
    if ratio.ndim != 1 or len(ratio) == 0:
        raise ValueError(f"explained_variance_ratio must be a non-empty 1-D array, got shape {ratio.shape}.")
    n_keep = n_components_for_variance(ratio, threshold=keep)
    cumulative = np.cumsum(ratio)
    if ax is None:
        _, ax = plt.subplots(figsize=fit_width((7.5, 3.5)))
    ax.plot(np.arange(1, len(ratio) + 1), cumulative)
    ax.axhline(keep, color="gray", linestyle="--")
    ax.axvline(n_keep, color="tab:red", linestyle=":", label=f"{n_keep} components keep {keep:.0%}")
    ax.legend(loc="lower right")
    ax.set_xlabel("number of principal components")
    ax.set_ylabel("share of the variance kept")
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def plot_contingency(
    table: np.ndarray,
    row_names: Sequence[str],
    class_names: Sequence[str],
    *,
    title: str = "Clusters against classes",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Heat map of a contingency table, clusters as columns and classes as rows, with the counts.

    Args:
        table: counts of shape (n_clusters, n_classes), e.g. ``ClusterComparison.table``.
        row_names: a name for each cluster (each row of ``table``).
        class_names: a name for each class (each column of ``table``).
    """
    table = np.asarray(table)
    class_names = check_class_names(class_names)
    if table.ndim != 2 or table.size == 0 or table.shape != (len(row_names), len(class_names)):
        raise ValueError(f"table must have shape (len(row_names), len(class_names)) = "
                         f"({len(row_names)}, {len(class_names)}), got {table.shape}.")
    counts = table.T  # classes down, clusters across: a wide table fits a notebook page
    if ax is None:
        _, ax = plt.subplots(figsize=fit_width((min(18.0, 2.5 + 0.42 * counts.shape[1]), 1.2 + 0.42 * counts.shape[0])))
    image = ax.imshow(counts, cmap="Blues", aspect="auto")
    if counts.size <= 1200:
        for (i, j), count in np.ndenumerate(counts):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                        color="white" if count > counts.max() / 2 else "black")
    ax.set_xticks(range(counts.shape[1]), list(row_names), fontsize=7, rotation=90)
    ax.set_yticks(range(counts.shape[0]), list(class_names), fontsize=8)
    ax.set_xlabel("cluster")
    ax.set_ylabel("true class")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label="images", fraction=0.03, pad=0.01)
    ax.figure.tight_layout()
    return ax.figure


def plot_class_balance(
    counts: dict[str, np.ndarray], class_names: Sequence[str], *, title: str = "Images per class"
) -> plt.Figure:
    """The share of each class in each split (bars side by side), against equal shares.

    Args:
        counts: the name of each split (e.g. ``"train"``) -> its number of images of each class,
            shape (n_classes,), e.g. ``np.bincount(y, minlength=n_classes)``.
        class_names: the name of each class.
    """
    class_names = check_class_names(class_names)
    counts = {name: np.asarray(count) for name, count in counts.items()}
    if not counts or any(c.shape != (len(class_names),) or np.any(c < 0) or c.sum() == 0 for c in counts.values()):
        raise ValueError(f"counts must map each split to {len(class_names)} non-negative counts, one per class, "
                         "not all zero.")
    n_classes = len(class_names)
    positions = np.arange(n_classes)
    width = 0.8 / len(counts)
    fig, ax = plt.subplots(figsize=fit_width((8, 3.2)))
    for i, (split, count) in enumerate(counts.items()):
        ax.bar(positions + (i - (len(counts) - 1) / 2) * width, count / count.sum(), width=width,
               label=f"{split} ({count.sum():,} images)")
    ax.axhline(1 / n_classes, color="black", linestyle="--", linewidth=1, label="equal shares")
    ax.set_xticks(positions, list(class_names), rotation=30 if max(map(len, class_names)) > 2 else 0)
    ax.set_ylabel("fraction of the split")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_pixel_overview(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str = "Pixel statistics",
) -> plt.Figure:
    """Four views of the pixels of grey images: the histogram of all grey levels (log scale), the
    mean and the standard deviation of each pixel position, and the mean grey level of each class.

    Args:
        images: grey images (N, H, W), uint8 0..255 or floats in [0, 1]; shown in their own units.
        labels: the class of each image, integers indexing ``class_names``.
        class_names: the name of each class.
    """
    images = np.asarray(images)
    as_float_images(images, channels=1)  # checks the layout and the range
    if images.ndim != 3:
        raise ValueError(f"images must be grey images (N, H, W), got shape {images.shape}.")
    class_names = check_class_names(class_names)
    labels = check_labels(labels, len(class_names), n_images=len(images))
    pixels = images.astype(np.float32)
    fig, axes = plt.subplots(1, 4, figsize=fit_width((9.7, 3.4)), gridspec_kw={"width_ratios": [1.2, 1, 1, 1.3]})
    axes[0].hist(images.ravel(), bins=64, color="grey", log=True)
    axes[0].set(title="Grey levels\n(all pixels)", xlabel="grey level", ylabel="count (log scale)")
    for ax, image, name in [(axes[1], pixels.mean(axis=0), "Mean of\neach pixel"),
                            (axes[2], pixels.std(axis=0), "Standard deviation\nof each pixel")]:
        fig.colorbar(ax.imshow(image, cmap="magma"), ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    brightness = [pixels[labels == c].mean() if np.any(labels == c) else 0.0 for c in range(len(class_names))]
    axes[3].barh(np.arange(len(class_names)), brightness, color="grey")
    axes[3].set_yticks(np.arange(len(class_names)), list(class_names), fontsize=8)
    axes[3].invert_yaxis()
    axes[3].set(title="Mean grey level\nper class", xlabel="mean grey level")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_mixture_selection(
    selection: MixtureSelection, *, n_classes: int | None = None,
    title: str = "Choosing the number of clusters with the BIC",
) -> plt.Figure:
    """The BIC of each number of mixture components tried, with the lowest marked.

    Args:
        selection: the mixtures fitted by :func:`utils.explore.select_gaussian_mixture`.
        n_classes: if given, a dotted line marks the number of classes.
    """
    if not isinstance(selection, MixtureSelection):
        raise TypeError(f"selection must be a utils.explore.MixtureSelection, got {type(selection).__name__}.")
    best = selection.best_n_components
    fig, ax = plt.subplots(figsize=fit_width((7.5, 3.5)))
    ax.plot(selection.n_components, selection.bic, marker="o", markersize=4)
    ax.axvline(best, color="tab:red", linestyle="--", linewidth=1, label=f"lowest BIC: {best} components")
    if n_classes is not None:
        ax.axvline(n_classes, color="grey", linestyle=":", linewidth=1.5, label=f"number of classes: {n_classes}")
    ax.set(xlabel="number of mixture components k", ylabel="BIC (lower is better)", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
