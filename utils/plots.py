"""Figures the notebooks share. Each function draws on Matplotlib and returns the figure."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def show_images(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 10,
    cmap: str = "gray",
    size: float = 1.2,
    suptitle: str | None = None,
) -> plt.Figure:
    """Show a grid of images, each with an optional title and no axes.

    Args:
        images: an array of shape (N, H, W) or (N, H, W, C).
        titles: N strings, one per image.
        ncols: images per row.
        cmap: the colour map of single-channel images.
        size: the width of one image in inches.
        suptitle: a title over the whole grid.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C) with N > 0, got {images.shape}.")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}.")
    ncols = min(ncols, len(images))
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            image = images[i]
            ax.imshow(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image, cmap=cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str = "Confusion matrix (rows: true class, normalised)",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Plot the row-normalised confusion matrix: each row shows where one true class went."""
    from sklearn.metrics import ConfusionMatrixDisplay

    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * len(class_names) + 2.5, 0.55 * len(class_names) + 2))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=np.arange(len(class_names)), display_labels=list(class_names),
        normalize="true", values_format=".2f", cmap="Blues", colorbar=True, ax=ax,
        xticks_rotation=45 if max(len(n) for n in class_names) > 2 else "horizontal",
    )
    ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure
