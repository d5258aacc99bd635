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
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
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


def plot_roc(
    y_true: np.ndarray,
    scores: dict[str, np.ndarray],
    *,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    operating_points: dict[str, float] | None = None,
    auc_estimates: dict | None = None,
    title: str = "ROC curves (shaded: bootstrap confidence band)",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """ROC curves of several models on one test set, each with a bootstrap band and its AUC with CI.

    Args:
        y_true: 0 / 1 labels (1 = the positive class, the disease).
        scores: model name -> predicted probabilities of class 1, one per sample.
        n_bootstrap: resamples for the bands and the AUC intervals.
        confidence: the coverage of bands and intervals.
        operating_points: model name -> a threshold, marked on that model's curve.
        auc_estimates: model name -> an AUC :class:`utils.evaluation.Estimate` already computed
            (e.g. by ``clinical_metrics``), shown instead of a new one so the numbers match a table.
    """
    from utils.evaluation import bootstrap_ci, roc_auc, roc_band, sensitivity, specificity

    if not scores:
        raise ValueError("scores must map at least one model name to its predicted probabilities.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 5))
    for (name, score), color in zip(scores.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3):
        score = np.asarray(score)
        fpr, tpr, low, high = roc_band(y_true, score, n_bootstrap=n_bootstrap, confidence=confidence)
        auc = (auc_estimates or {}).get(name) or bootstrap_ci(roc_auc, y_true, score, n_bootstrap=n_bootstrap,
                                                              confidence=confidence)
        ax.plot(fpr, tpr, color=color, label=f"{name}: AUC {auc}")
        ax.fill_between(fpr, low, high, color=color, alpha=0.2, linewidth=0)
        if operating_points and name in operating_points:
            y_pred = (score >= operating_points[name]).astype(int)
            ax.plot(1 - specificity(y_true, y_pred), sensitivity(y_true, y_pred), "o", color=color,
                    markeredgecolor="black", label=f"{name} at threshold {operating_points[name]:.2f}")
    ax.plot([0, 1], [0, 1], ":", color="gray", label="chance (AUC 0.5)")
    ax.set(xlabel="1 - specificity (false-positive rate)", ylabel="sensitivity (true-positive rate)",
           xlim=(0, 1), ylim=(0, 1.01), title=title, aspect="equal")
    ax.legend(loc="lower right", fontsize=7)
    ax.figure.tight_layout()
    return ax.figure


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
    images, labels = np.asarray(images, dtype=np.float64), np.asarray(labels)
    colour = images.ndim == 4 and images.shape[-1] == 3
    if not (images.ndim == 3 or colour) or len(images) != len(labels):
        raise ValueError("images must have shape (N, H, W) or (N, H, W, 3) with N = len(labels) = "
                         f"{len(labels)}, got {images.shape}.")
    if len(class_names) != 2 or set(np.unique(labels)) != {0, 1}:
        raise ValueError("plot_pixel_statistics compares two classes: labels 0 and 1, two class names.")
    means = [images[labels == c].mean(axis=0) for c in (0, 1)]
    brightness = images.mean(axis=-1) if colour else images
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1, 1, 1, 1.5]})
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


# The attribution methods of utils.interpret as figure titles (line breaks keep the columns narrow).
LABELS = {"saliency": "saliency", "smoothgrad": "SmoothGrad", "integrated_gradients": "integrated\ngradients",
          "occlusion": "occlusion", "cam": "CAM", "grad_cam": "Grad-CAM", "grad_cam_plus_plus": "Grad-CAM++",
          "lime": "LIME"}


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
        heatmaps: method name -> heatmaps (N, H, W) in [0, 1], one per image.
        row_titles: N strings shown left of each row (e.g. true and predicted class).
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
    if row_titles is not None and len(row_titles) != len(images):
        raise ValueError(f"row_titles must have one entry per image ({len(images)}), got {len(row_titles)}.")
    ncols = 1 + len(heatmaps)
    fig, axes = plt.subplots(len(images), ncols, figsize=(size * ncols + 0.8, size * len(images)),
                             squeeze=False, layout="constrained")
    shown = None
    for i, image in enumerate(images):
        axes[i, 0].imshow(image, cmap="gray")
        if row_titles is not None:
            axes[i, 0].set_ylabel(row_titles[i], fontsize=8)
        for j, (name, maps) in enumerate(heatmaps.items(), start=1):
            axes[i, j].imshow(image, cmap="gray")
            shown = axes[i, j].imshow(maps[i], cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        for j, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(["image", *heatmaps][j])
    if shown is not None:
        fig.colorbar(shown, ax=axes, fraction=0.02, label="importance (0-1)")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# --- The course CNN (notebook 03) -------------------------------------------------------------

def plot_learning_curves(history: dict[str, Sequence[float]], *, title: str = "Learning curves") -> plt.Figure:
    """Loss and accuracy per epoch on the training and validation data (a Keras ``history``).

    The epoch with the lowest validation loss, whose weights early stopping keeps, is marked.
    """
    if not isinstance(history, dict) or "loss" not in history or "val_loss" not in history:
        raise ValueError("history must be a dict with per-epoch 'loss' and 'val_loss' lists (Keras' history).")
    epochs = np.arange(1, len(history["loss"]) + 1)
    best = int(np.argmin(history["val_loss"])) + 1
    metrics = [m for m in ("loss", "accuracy") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.3), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        ax.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        ax.axvline(best, color="gray", linestyle=":", label=f"kept: epoch {best}")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


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
    fig, axes = plt.subplots(2, len(kernels), figsize=(2.2 * len(kernels), 4.8), squeeze=False,
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
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols + 1, 1.1 * nrows + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            shown = ax.imshow(weights[:, :, 0, k], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(k), fontsize=7)
    fig.colorbar(shown, ax=axes, fraction=0.03, label="weight")
    fig.suptitle(title)
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
    images, probabilities, y_true = np.asarray(images), np.asarray(probabilities), np.asarray(y_true)
    if images.ndim not in (3, 4) or not len(images) == len(probabilities) == len(y_true) or len(images) == 0:
        raise ValueError("images (N, H, W[, C]), probabilities (N, n_classes) and y_true (N,) must have the "
                         f"same N > 0, got {images.shape}, {probabilities.shape}, {y_true.shape}.")
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_names):
        raise ValueError(f"probabilities must have shape (N, {len(class_names)}), got {probabilities.shape}.")
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.9 * n, 4.4), squeeze=False, gridspec_kw={"height_ratios": [1, 1.2]})
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


def plot_embeddings(
    embeddings: dict[str, np.ndarray],
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
) -> plt.Figure:
    """2-D embeddings (e.g. UMAP of different features) side by side, points coloured by class."""
    labels = np.asarray(labels)
    if not embeddings or any(np.shape(e) != (len(labels), 2) for e in embeddings.values()):
        raise ValueError(f"embeddings must map names to arrays of shape ({len(labels)}, 2), one row per label.")
    colors = plt.colormaps["tab10"]
    fig, axes = plt.subplots(1, len(embeddings), figsize=(5 * len(embeddings) + 1.5, 4.6), squeeze=False)
    for ax, (name, points) in zip(axes[0], embeddings.items()):
        for c, class_name in enumerate(class_names):
            mask = labels == c
            ax.scatter(points[mask, 0], points[mask, 1], s=3, color=colors(c % 10), label=class_name)
        ax.set(title=name, xticks=[], yticks=[])
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=4, fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_deletion_insertion(curves: dict, *, title: str | None = None, size: float = 4.0) -> plt.Figure:
    """Deletion and insertion curves of several heatmaps of one image, side by side.

    Args:
        curves: method name -> an object with ``fractions``, ``deletion``, ``insertion``,
            ``deletion_auc`` and ``insertion_auc`` (``utils.interpret.deletion_insertion``).
    """
    if not curves:
        raise ValueError("curves must name at least one method.")
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 2.5, size), sharey=True, layout="constrained")
    for name, curve in curves.items():
        axes[0].plot(curve.fractions, curve.deletion, label=f"{name} ({curve.deletion_auc:.2f})")
        axes[1].plot(curve.fractions, curve.insertion, label=f"{name} ({curve.insertion_auc:.2f})")
    axes[0].set(title="Deletion: most important pixels removed first\n(lower area = better)",
                xlabel="fraction of pixels deleted", ylabel="probability of the class")
    axes[1].set(title="Insertion: most important pixels restored first\n(higher area = better)",
                xlabel="fraction of pixels inserted into the blurred image")
    for ax in axes:
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="method (area)", title_fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


# --- Notebook 01: embeddings, principal components, clusters -------------------------------------


def plot_embedding(
    embedding: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str | None = None,
    ax: plt.Axes | None = None,
    point_size: float | None = None,
) -> plt.Figure:
    """Scatter a 2-D embedding, one colour per class, each class named at its median point.

    Args:
        embedding: shape (N, 2).
        labels: the class of each point, integers indexing ``class_names``.
        class_names: the name of each class (at most 20, the colours of ``tab20``).
        point_size: marker area; by default smaller for more points.
    """
    embedding, labels = np.asarray(embedding), np.asarray(labels)
    if embedding.ndim != 2 or embedding.shape[1] != 2:
        raise ValueError(f"embedding must have shape (N, 2), got {embedding.shape}.")
    if labels.shape != (len(embedding),):
        raise ValueError(f"labels must have shape ({len(embedding)},), got {labels.shape}.")
    if len(class_names) > 20:
        raise ValueError(f"class_names must name at most 20 classes, got {len(class_names)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    colours = plt.colormaps["tab10" if len(class_names) <= 10 else "tab20"].colors
    size = point_size if point_size is not None else float(np.clip(4000 / len(embedding), 1, 12))
    for c, name in enumerate(class_names):
        points = embedding[labels == c]
        ax.scatter(points[:, 0], points[:, 1], s=size, color=colours[c], label=name, linewidths=0)
        if len(points):
            ax.annotate(name, np.median(points, axis=0), ha="center", va="center", fontsize=8, weight="bold",
                        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colours[c],
                              "alpha": 0.8})
    ax.legend(markerscale=max(1.0, 30 / size) ** 0.5, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5),
              frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


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
    if table.ndim != 2 or table.shape != (len(row_names), len(class_names)):
        raise ValueError(f"table must have shape (len(row_names), len(class_names)) = "
                         f"({len(row_names)}, {len(class_names)}), got {table.shape}.")
    counts = table.T  # classes down, clusters across: a wide table fits a notebook page
    if ax is None:
        _, ax = plt.subplots(figsize=(min(18.0, 2.5 + 0.42 * counts.shape[1]), 1.2 + 0.42 * counts.shape[0]))
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
    fig, (ax_map, ax_images) = plt.subplots(1, 2, figsize=(13, 5.8), gridspec_kw={"width_ratios": [1.25, 1]})
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


# --- Notebook 04: transfer learning ----------------------------------------------------------------


def plot_accuracy_vs_labels(
    labels_per_class: Sequence[int],
    accuracies: dict[str, np.ndarray],
    *,
    title: str = "Test accuracy against labelled examples per class",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Accuracy against the number of labelled training examples per class, one line per method.

    Args:
        labels_per_class: the K numbers of labelled examples per class (the x axis, log scale).
        accuracies: method name -> accuracies in [0, 1], shape (K,) or (repeats, K); with several
            repeats the line is their mean and each repeat is a faint dot.
    """
    sizes = np.asarray(labels_per_class)
    if sizes.ndim != 1 or len(sizes) == 0:
        raise ValueError(f"labels_per_class must be a non-empty list of numbers, got {labels_per_class!r}.")
    if not accuracies:
        raise ValueError("accuracies must name at least one method.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    colours = plt.colormaps["tab10"].colors
    for i, (name, values) in enumerate(accuracies.items()):
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if values.shape[1] != len(sizes):
            raise ValueError(f"accuracies[{name!r}] must have {len(sizes)} columns, one per number of "
                             f"labels, got shape {values.shape}.")
        ax.plot(sizes, 100 * values.mean(axis=0), "o-", color=colours[i], label=name)
        if len(values) > 1:
            ax.plot(np.tile(sizes, len(values)), 100 * values.ravel(), ".", color=colours[i], alpha=0.35)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set(xlabel="labelled training examples per class", ylabel="test accuracy (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.figure.tight_layout()
    return ax.figure


# --- Notebook 02: hand-crafted features and classical classifiers -----------------------------

def plot_region(image: np.ndarray, region, *, ax: plt.Axes | None = None, title: str | None = None) -> plt.Figure:
    """Draw one image with its foreground region's ellipse, major axis and orientation.

    Args:
        image: an (H, W) image.
        region: a ``skimage.measure.regionprops`` region of that image
            (``utils.features.foreground_region``), or None for an empty image.
    """
    from matplotlib.patches import Ellipse

    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
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
    fig, axes = plt.subplots(2, len(images), figsize=(size * len(images), 2 * size + 0.6), squeeze=False)
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
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2), gridspec_kw={"width_ratios": [1, 1.25, 1.6]})
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


def plot_cv_scores(table, parameter: str, *, group: str | None = None, ax: plt.Axes | None = None,
                   log_x: bool = False, title: str | None = None) -> plt.Figure:
    """Mean cross-validated accuracy (with its standard deviation over folds) against one parameter.

    Args:
        table: the table ``utils.classical.tune`` returns.
        parameter: the column to put on the x axis, e.g. ``"kneighborsclassifier__n_neighbors"``.
        group: another parameter column; one line per value of it.
        log_x: a logarithmic x axis (for C of an SVM, say).
    """
    for name, column in (("parameter", parameter), ("group", group)):
        if column is not None and column not in table:
            raise ValueError(f"{name} must be one of the table's columns {list(table.columns)}, got {column!r}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    groups = [(None, table)] if group is None else list(table.groupby(group, sort=True))
    for value, rows in groups:
        ax.errorbar(rows[parameter].astype(float), rows["validation accuracy"], yerr=rows["std"], marker="o",
                    capsize=3, label=None if group is None else f"{group.split('__')[-1]} = {value}")
    best = table["validation accuracy"].astype(float).idxmax()
    ax.plot(float(table.loc[best, parameter]), table.loc[best, "validation accuracy"], "*", color="tab:red",
            markersize=14, label="best", zorder=3)
    values = np.unique(table[parameter].astype(float))
    if log_x:
        ax.set_xscale("log")
    ax.set_xticks(values, [f"{v:g}" for v in values])
    ax.set_xlabel(parameter.split("__")[-1])
    ax.set_ylabel("validation accuracy")
    n = table.attrs.get("n_samples")
    ax.set_title(title or f"Cross-validation{f' on {n:,} training images' if n else ''}", fontsize=10)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def plot_cumulative_variance(explained_variance_ratio: np.ndarray, *, keep: float = 0.95,
                             ax: plt.Axes | None = None) -> plt.Figure:
    """The share of the variance that the first k principal components keep, against k."""
    ratio = np.asarray(explained_variance_ratio, dtype=float)
    if ratio.ndim != 1 or len(ratio) == 0:
        raise ValueError(f"explained_variance_ratio must be a non-empty 1-D array, got shape {ratio.shape}.")
    cumulative = np.cumsum(ratio)
    n_keep = int(np.searchsorted(cumulative, keep) + 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    ax.plot(np.arange(1, len(ratio) + 1), cumulative)
    ax.axhline(keep, color="gray", linestyle="--")
    if n_keep <= len(ratio):
        ax.axvline(n_keep, color="tab:red", linestyle=":", label=f"{n_keep} components keep {keep:.0%}")
        ax.legend(loc="lower right")
    ax.set_xlabel("number of principal components")
    ax.set_ylabel("share of the variance kept")
    ax.set_ylim(0, 1.02)
    ax.figure.tight_layout()
    return ax.figure


def plot_model_comparison(table, *, title: str = "Test accuracy and time of each model") -> plt.Figure:
    """Bars of test accuracy and of seconds spent (features, fit, predict) for each model.

    Args:
        table: the table ``utils.classical.comparison_table`` returns (one row per model).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.55 * len(table) + 1.6), sharey=True)
    names = list(table.index)
    positions = np.arange(len(names))
    left.barh(positions, table["test accuracy"], color="tab:blue")
    for y, accuracy in zip(positions, table["test accuracy"]):
        left.text(accuracy, y, f" {accuracy:.1%}", va="center", fontsize=9)
    left.set_xlim(0, 1.12)
    left.set_yticks(positions, names)
    left.invert_yaxis()
    left.set_xlabel("test accuracy")
    start = np.zeros(len(names))
    for column, colour in [("feature seconds", "tab:gray"), ("fit seconds", "tab:orange"),
                           ("predict seconds", "tab:green")]:
        right.barh(positions, table[column], left=start, color=colour, label=column.split()[0])
        start += table[column].to_numpy()
    right.set_xlabel("seconds (wall clock)")
    right.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    fig.suptitle(title)
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
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if not len(images) == len(y_true) == len(y_pred):
        raise ValueError(f"images, y_true and y_pred must have the same length, got "
                         f"{len(images)}, {len(y_true)} and {len(y_pred)}.")
    wrong = np.flatnonzero(y_true != y_pred)[:n]
    if len(wrong) == 0:
        raise ValueError("There is no misclassified image to show.")
    titles = [f"true: {class_names[y_true[i]]}\npredicted: {class_names[y_pred[i]]}" for i in wrong]
    fig = show_images(images[wrong], titles, ncols=ncols, size=1.5, suptitle=suptitle)
    fig.set_figheight(fig.get_figheight() * 1.25)  # room for two-line titles
    fig.tight_layout()
    return fig
