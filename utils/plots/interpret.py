"""Figures of the explanation measures: the cascading randomisation check, per method, as Adebayo et
al. (2018) draw it, and means with intervals of the methods compared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utils.plots.images import check_map_scale
from utils.plots.style import fit_width


def plot_cascade(
    image: np.ndarray,
    maps: Mapping[str, np.ndarray],
    stage_names: Sequence[str],
    *,
    size: float = 1.3,
    suptitle: str | None = None,
) -> plt.Figure:
    """One row per method: the image, its signed map for the trained model, then for each stage of
    the cascade (red: evidence for the class, blue: against, white: none).

    Args:
        image: (H, W) or (H, W, 1) grey image, or (H, W, 3).
        maps: method name -> signed maps (1 + stages, H, W) in [-1, 1], the trained model's first
            (``utils.interpret.randomization_cascade``).
        stage_names: one title per stage, e.g. the lowest re-initialised layer.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if not maps:
        raise ValueError("maps must name at least one method.")
    for name, stack in maps.items():
        if np.ndim(stack) != 3 or len(stack) != 1 + len(stage_names):
            raise ValueError(f"maps[{name!r}] must have shape (1 + {len(stage_names)} stages, H, W), got {np.shape(stack)}.")
        check_map_scale(f"maps[{name!r}]", stack, -1, 1)
    ncols = 2 + len(stage_names)
    fig, axes = plt.subplots(len(maps), ncols, figsize=fit_width((size * ncols + 1.6, size * len(maps))),
                             squeeze=False,
                             layout="constrained")
    shown = None
    for row, (name, stack) in enumerate(maps.items()):
        axes[row, 0].imshow(image, cmap="gray")
        axes[row, 0].set_ylabel(name, fontsize=8)
        for col, heatmap in enumerate(stack, start=1):
            shown = axes[row, col].imshow(heatmap, cmap="RdBu_r", vmin=-1, vmax=1)
        for col, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(["image", "trained", *stage_names][col], fontsize=8)
    fig.colorbar(shown, ax=axes, fraction=0.02, label="signed attribution (-1 to 1)")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_cascade_similarity(
    summary: pd.DataFrame,
    stage_names: Sequence[str],
    *,
    measures: Sequence[str] = ("rho_abs", "rho_signed", "ssim"),
    titles: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    size: float = 3.4,
) -> plt.Figure:
    """How similar each method's map stays to the trained model's as the cascade goes down: one
    panel per measure, one line per method, the band its interval.

    Args:
        summary: indexed by (method, stage), with columns ``<measure>``, ``<measure>_low`` and
            ``<measure>_high`` (``utils.interpret.summarize(table, by=["method", "stage"])``).
        stage_names: one tick label per stage, in the order of the stages.
        titles: measure -> panel title; labels: method -> legend label.
    """
    methods = list(dict.fromkeys(summary.index.get_level_values(0)))
    fig, axes = plt.subplots(1, len(measures), figsize=fit_width((size * len(measures) + 1.8, size)), sharey=True,
                             squeeze=False, layout="constrained")
    colours = plt.colormaps["tab10"](np.linspace(0, 1, 10))
    x = np.arange(len(stage_names))
    for ax, measure in zip(axes[0], measures):
        for i, method in enumerate(methods):
            rows = summary.loc[method]
            if len(rows) != len(stage_names):
                raise ValueError(f"summary has {len(rows)} stages for {method!r}, stage_names {len(stage_names)}.")
            colour = colours[i % 10]
            ax.plot(x, rows[measure], "o-", color=colour, label=(labels or {}).get(method, method))
            ax.fill_between(x, rows[f"{measure}_low"], rows[f"{measure}_high"], color=colour, alpha=0.15)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(x, stage_names, rotation=30, ha="right", fontsize=8)
        ax.set(title=(titles or {}).get(measure, measure), xlabel="re-initialised down to")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("similarity to the trained model's map")
    axes[0, -1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def plot_method_intervals(
    summaries: Mapping[str, pd.DataFrame],
    measures: Mapping[str, str],
    *,
    labels: Mapping[str, str] | None = None,
    size: float = 3.4,
) -> plt.Figure:
    """Each method's mean with its interval, one panel per measure, one colour per group of images.

    Args:
        summaries: group name (e.g. "well classified") -> a summary indexed by method with
            ``<measure>``, ``<measure>_low``, ``<measure>_high`` (``utils.interpret.summarize``).
        measures: column -> panel title.
        labels: method -> axis label.
    """
    if not summaries:
        raise ValueError("summaries must hold at least one group.")
    methods = list(next(iter(summaries.values())).index)
    figsize = fit_width((size * len(measures) + 1.5, 0.35 * len(methods) + 1.6))
    fig, axes = plt.subplots(1, len(measures), figsize=figsize, sharey=True, squeeze=False, layout="constrained")
    y = np.arange(len(methods))
    offsets = np.linspace(-0.15, 0.15, len(summaries)) if len(summaries) > 1 else [0.0]
    for ax, (measure, title) in zip(axes[0], measures.items()):
        for offset, (group, summary) in zip(offsets, summaries.items()):
            rows = summary.loc[methods]
            errors = [rows[measure] - rows[f"{measure}_low"], rows[f"{measure}_high"] - rows[measure]]
            ax.errorbar(rows[measure], y + offset, xerr=errors, fmt="o", ms=4, capsize=2, label=group)
        ax.set(title=title)
        ax.grid(alpha=0.3, axis="x")
    axes[0, 0].set_yticks(y, [(labels or {}).get(m, m) for m in methods])
    axes[0, 0].invert_yaxis()
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncols=min(len(summaries), 4),
               fontsize=8)
    return fig
