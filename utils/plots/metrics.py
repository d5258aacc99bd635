"""Measured numbers: gradient descent on a loss surface, learning curves (also of several learning
rates), cross-validation scores, the confusion matrix, ROC curves,
comparisons of models and of methods, and the deletion and insertion curves of heatmaps.

The figures draw what the caller measured (with ``utils.evaluation``, ``utils.classical``, ...):
none of them resamples, fits or trains, so a figure shows the numbers of the table beside it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from utils.evaluation import Estimate, RocBand
from utils.images import check_class_names, check_labels
from utils.plots.style import fit_width


def plot_learning_curves(history: dict[str, Sequence[float]], *, title: str = "Learning curves") -> plt.Figure:
    """Loss and accuracy per epoch on the training and validation data (a Keras ``history``).

    The epoch with the lowest validation loss, whose weights early stopping keeps, is marked.
    """
    if not isinstance(history, dict) or "loss" not in history or "val_loss" not in history:
        raise ValueError("history must be a dict with per-epoch 'loss' and 'val_loss' lists (Keras' history).")
    epochs = np.arange(1, len(history["loss"]) + 1)
    best = int(np.argmin(history["val_loss"])) + 1
    metrics = [m for m in ("loss", "accuracy") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=fit_width((5 * len(metrics), 3.3)), squeeze=False)
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
        _, ax = plt.subplots(figsize=fit_width((5, 3.2)))
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

    class_names = check_class_names(class_names)
    y_true = check_labels(y_true, len(class_names), name="y_true")
    y_pred = check_labels(y_pred, len(class_names), name="y_pred", n_images=len(y_true))
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred must hold at least one prediction, got none.")
    own_figure = ax is None
    if own_figure:
        side = max(0.55 * len(class_names), 2.2)  # inches for the matrix itself, readable with two classes
        _, ax = plt.subplots(figsize=fit_width((side + 2.5, side + 2)))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=np.arange(len(class_names)), display_labels=list(class_names),
        normalize="true", values_format=".2f", cmap="Blues", colorbar=True, ax=ax,
        xticks_rotation=45 if max(len(n) for n in class_names) > 2 else "horizontal",
    )
    if own_figure:  # a few classes make a narrow figure: the title is centred on it and wrapped to its width
        ax.figure.suptitle(textwrap.fill(title, width=max(24, int(9 * ax.figure.get_figwidth()))))
    else:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def plot_roc(
    bands: Mapping[str, RocBand],
    auc_estimates: Mapping[str, Estimate],
    *,
    operating_points: Mapping[str, tuple[float, Mapping[str, Estimate]]] | None = None,
    title: str = "ROC curves (shaded: bootstrap confidence band)",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """ROC curves of several models on one test set, each with its bootstrap band and its AUC with CI.

    It draws numbers computed beforehand, so the figure shows those of the tables beside it.

    Args:
        bands: model name -> its ROC curve and band ``(fpr, tpr, tpr_low, tpr_high)``, as
            :func:`utils.evaluation.roc_band` returns.
        auc_estimates: model name -> its ROC AUC :class:`utils.evaluation.Estimate` (e.g. the
            ``"ROC AUC"`` of ``clinical_metrics``), for every model in ``bands``.
        operating_points: model name -> ``(threshold, metrics)``, marked on that model's curve;
            ``metrics`` holds the ``"sensitivity"`` and ``"specificity"`` at that threshold, as
            ``clinical_metrics(y_true, y_score, positive_class=..., threshold=threshold)`` returns.

    The legend lies below the axes, so that it never hides a curve.
    """
    if not bands:
        raise ValueError("bands must map at least one model name to its ROC band (utils.evaluation.roc_band).")
    missing = [name for name in bands if name not in auc_estimates]
    if missing:
        raise ValueError(f"auc_estimates must hold the AUC of every model in bands; missing: {missing}.")
    operating_points = operating_points or {}
    unknown = [name for name in operating_points if name not in bands]
    if unknown:
        raise ValueError(f"operating_points must name models in bands; unknown: {unknown}.")
    if ax is None:  # the legend goes below the square axes: one line per entry, so taller with more models
        entries = len(bands) + len(operating_points) + 1
        _, ax = plt.subplots(figsize=fit_width((5.2, 5 + 0.2 * entries)), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3
    for (name, (fpr, tpr, low, high)), color in zip(bands.items(), colors):
        ax.plot(fpr, tpr, color=color, label=f"{name}: AUC {auc_estimates[name]}")
        ax.fill_between(fpr, low, high, color=color, alpha=0.2, linewidth=0)
        if name in operating_points:
            threshold, metrics = operating_points[name]
            ax.plot(1 - metrics["specificity"].value, metrics["sensitivity"].value, "o", color=color,
                    markeredgecolor="black", label=f"{name} at threshold {threshold:.2f}")
    ax.plot([0, 1], [0, 1], ":", color="gray", label="chance (AUC 0.5)")
    ax.set(xlabel="1 - specificity (false-positive rate)", ylabel="sensitivity (true-positive rate)",
           xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
    ax.set_title(textwrap.fill(title, width=max(30, int(8 * ax.figure.get_figwidth()))))  # inside a narrow figure
    # Below the axes, never over the curves: with long names and intervals the entries span the plot.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
    return ax.figure


def plot_model_comparison(table, *, title: str = "Test accuracy and time of each model") -> plt.Figure:
    """Bars of test accuracy and of seconds spent (features, fit, predict) for each model.

    Args:
        table: the table ``utils.classical.comparison_table`` returns (one row per model).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=fit_width((12, 0.55 * len(table) + 1.6)), sharey=True)
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
        _, ax = plt.subplots(figsize=fit_width((6, 4)))
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


def plot_deletion_insertion(curves: dict, *, title: str | None = None, size: float = 4.0) -> plt.Figure:
    """Deletion and insertion curves of several heatmaps of one image, side by side.

    Args:
        curves: method name -> an object with ``fractions``, ``deletion``, ``insertion``,
            ``deletion_auc`` and ``insertion_auc`` (``utils.interpret.deletion_insertion``).
    """
    if not curves:
        raise ValueError("curves must name at least one method.")
    fig, axes = plt.subplots(1, 2, figsize=fit_width((2 * size + 2.5, size)), sharey=True, layout="constrained")
    for name, curve in curves.items():
        axes[0].plot(curve.fractions, curve.deletion, label=f"{name} ({curve.deletion_auc:.2f})")
        axes[1].plot(curve.fractions, curve.insertion, label=f"{name} ({curve.insertion_auc:.2f})")
    axes[0].set(title="Deletion: most important pixels removed first\n(lower area = better)",
                xlabel="fraction of pixels deleted", ylabel="probability of the class")
    axes[1].set(title="Insertion: most important pixels restored first\n(higher area = better)",
                xlabel="fraction of pixels put back into the reference")
    for ax in axes:
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="method (area)", title_fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def plot_descent(
    w_values: np.ndarray,
    b_values: np.ndarray,
    surface: np.ndarray,
    path: np.ndarray,
    losses: np.ndarray,
    *,
    title: str | None = None,
) -> plt.Figure:
    """Gradient descent on a loss of two weights: the steps over the loss surface, and the loss per step.

    Args:
        w_values, b_values: the grid of the first (x axis) and second (y axis) weight.
        surface: the loss on the grid, shape (len(b_values), len(w_values)), e.g. from
            ``utils.descent.loss_surface``.
        path: the weights at the start and after each step, shape (steps + 1, 2).
        losses: the loss at each of those points, shape (steps + 1,).
    """
    w_values, b_values = np.asarray(w_values), np.asarray(b_values)
    surface, path, losses = np.asarray(surface), np.asarray(path), np.asarray(losses)
    if surface.shape != (len(b_values), len(w_values)) or surface.ndim != 2:
        raise ValueError(f"surface must have shape (len(b_values), len(w_values)) = ({len(b_values)}, "
                         f"{len(w_values)}), got {surface.shape}.")
    if path.ndim != 2 or path.shape[1] != 2 or len(path) < 2 or losses.shape != (len(path),):
        raise ValueError(f"path must have shape (steps + 1, 2) with at least one step and losses one value per "
                         f"point, got shapes {path.shape} and {losses.shape}.")
    fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=fit_width((10, 4)), gridspec_kw={"width_ratios": [1.2, 1]})
    levels = np.quantile(surface, np.linspace(0, 1, 16)[1:-1])  # contour lines spread over the loss values
    shown = ax_map.contourf(w_values, b_values, surface, levels=30, cmap="viridis")
    ax_map.contour(w_values, b_values, surface, levels=np.unique(levels), colors="white", linewidths=0.5, alpha=0.6)
    fig.colorbar(shown, ax=ax_map, label="loss")
    ax_map.plot(path[:, 0], path[:, 1], "o-", color="tab:red", markersize=3, linewidth=1, label="gradient steps")
    ax_map.plot(*path[0], "s", color="white", markeredgecolor="black", markersize=7, label="start")
    ax_map.plot(*path[-1], "*", color="gold", markeredgecolor="black", markersize=12, label="after the last step")
    ax_map.set(xlabel="weight w", ylabel="bias b", title="The loss over the two weights, and the steps")
    ax_map.legend(fontsize=8, loc="best")
    ax_loss.plot(np.arange(len(losses)), losses, "o-", color="tab:red", markersize=3)
    ax_loss.axhline(surface.min(), color="gray", linestyle=":", label=f"lowest loss on the grid ({surface.min():.3f})")
    ax_loss.set(xlabel="step", ylabel="loss", title="The loss after each step")
    ax_loss.xaxis.get_major_locator().set_params(integer=True)
    ax_loss.legend(fontsize=8)
    ax_loss.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_learning_rates(
    histories: Mapping[float, Mapping[str, Sequence[float]]], *, n_classes: int | None = None, title: str | None = None
) -> plt.Figure:
    """Learning curves of the same network trained with different learning rates, in one figure.

    Left: the training loss (solid) and validation loss (dashed) per epoch; right: the validation
    accuracy. One colour per rate, in one legend to the right.

    Args:
        histories: learning rate -> its Keras history (per-epoch ``loss``, ``val_loss``, and
            ``val_accuracy`` for the right panel).
        n_classes: if given, a dotted line marks the loss of guessing, ``log(n_classes)``.
    """
    if not histories or any(not {"loss", "val_loss"} <= set(h) for h in histories.values()):
        raise ValueError("histories must map each learning rate to a Keras history with 'loss' and 'val_loss'.")
    fig, (ax_loss, ax_accuracy) = plt.subplots(1, 2, figsize=fit_width((11.5, 3.6)))
    colours = plt.colormaps["viridis"](np.linspace(0, 0.85, len(histories)))
    handles = []
    for colour, (rate, history) in zip(colours, sorted(histories.items())):
        epochs = np.arange(1, len(history["loss"]) + 1)
        handles += ax_loss.plot(epochs, history["loss"], "o-", color=colour, markersize=3, label=f"rate {rate:g}")
        ax_loss.plot(epochs, history["val_loss"], "s--", color=colour, markersize=3)
        if "val_accuracy" in history:
            ax_accuracy.plot(epochs, history["val_accuracy"], "s--", color=colour, markersize=3)
    handles += [plt.Line2D([], [], color="black", marker="o", markersize=3, label="training"),
                plt.Line2D([], [], color="black", marker="s", markersize=3, linestyle="--", label="validation")]
    if n_classes is not None:
        handles += ax_loss.plot([], [], color="gray", linestyle=":", label="guessing")
        ax_loss.axhline(np.log(n_classes), color="gray", linestyle=":")
        ax_accuracy.axhline(1 / n_classes, color="gray", linestyle=":")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_accuracy.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy", ylim=(0, 1.02))
    for ax in (ax_loss, ax_accuracy):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.87, 1))  # the legend to the right of the panels
    return fig
