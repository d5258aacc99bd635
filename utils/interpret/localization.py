"""Do explanations point at the lesion? Heatmaps measured against ground-truth masks.

Measures apart from methods: each takes a batch of heatmaps (N, H, W), any method's, and the masks of
the same images (N, H, W; True inside the lesion, e.g. a radiologist's outline) and gives one score per
image. A single map and mask of shape (H, W) count as a batch of one.

- :func:`pointing_game` (Zhang et al., 2018): is the map's peak inside the lesion? 1 or 0.
- :func:`energy_ratio`: the share of the map's sum inside the lesion divided by the lesion's share of
  the image: 1 is what a map spread evenly scores, above 1 the map concentrates on the lesion.
- :func:`top_overlap`: the overlap of the map's top ``fraction`` of pixels with the lesion, as
  precision (the share of those pixels inside the lesion) or IoU (intersection over union).

Ties: where several pixels share the peak, or the value at the top-``fraction`` cut, the score is its
expected value when the tie is broken uniformly at random (computed exactly, not drawn), so a flat
map, all-zero included, scores the chance level and no pixel order is favoured.

:func:`chance_levels` gives what a uniformly random map (independent, identically distributed values)
scores on each mask, computed from the masks alone: the lesion's share of the image for the pointing
game and for top precision, 1 for the energy ratio, a hypergeometric expectation for top IoU.
:func:`localization_table` gathers scores and chance levels per image with any labels (method, group,
class); :func:`summarize_localization` gives the mean per group with a bootstrap interval, the mean
chance level and a verdict from the paired bootstrap of score minus chance.

Heatmaps must be non-negative (the package's heatmaps, not ``signed=True`` maps) and finite; masks
must be boolean or 0/1 and not empty: an image without a lesion (a normal one) cannot be scored, and
:func:`localization_table` drops such images only when asked (``skip_empty=True``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from utils.images import check_int, check_number

LOCALIZATION_MEASURES = {
    "pointing_game": "pointing game: the map's peak inside the lesion (higher is better)",
    "energy_ratio": "energy inside the lesion / the lesion's share of the image (higher is better)",
    "top_precision": "share of the map's top pixels inside the lesion (higher is better)",
    "top_iou": "IoU of the map's top pixels with the lesion (higher is better)",
}


# --- Checking arguments ------------------------------------------------------------------------

def _check_masks(masks: Any, allow_empty: bool = False) -> np.ndarray:
    """``masks`` as a boolean array (N, H, W), each mask holding at least one lesion pixel (unless ``allow_empty``)."""
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W) (or (H, W) for one image), got {masks.shape}.")
    if masks.dtype != bool:
        if not np.isin(masks, (0, 1)).all():
            raise ValueError("masks must be boolean or hold only 0 and 1 (True inside the lesion), "
                             f"got values such as {np.setdiff1d(np.unique(masks), (0, 1))[:3]}.")
        masks = masks.astype(bool)
    empty = np.flatnonzero(~masks.any(axis=(1, 2)))
    if len(empty) and not allow_empty:
        raise ValueError(f"masks {empty[:10].tolist()}{' ...' if len(empty) > 10 else ''} ({len(empty)} of {len(masks)}) "
                         "are empty: an image without a lesion (a normal one) cannot be scored against it; keep "
                         "lesion images only (masks.any(axis=(1, 2))) or pass skip_empty=True to localization_table.")
    return masks


def _check_heatmaps(heatmaps: Any, masks: np.ndarray) -> np.ndarray:
    """``heatmaps`` as float64 (N, H, W), non-negative and finite, one per mask."""
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    if heatmaps.ndim == 2:
        heatmaps = heatmaps[None]
    if heatmaps.shape != masks.shape:
        raise ValueError(f"heatmaps must have the masks' shape (N, H, W) = {masks.shape}, one map per mask, got "
                         f"{heatmaps.shape} (resize masks to the image size with nearest neighbour first).")
    bad = np.flatnonzero(~np.isfinite(heatmaps).all(axis=(1, 2)))
    if len(bad):
        raise ValueError(f"heatmaps {bad[:10].tolist()} hold NaN or infinite values; a score of them would mean "
                         "nothing (did the method divide by zero?).")
    if heatmaps.min() < 0:
        raise ValueError("heatmaps must be non-negative (the methods' heatmaps, not signed=True maps; "
                         f"np.abs(map) for a magnitude), got values down to {heatmaps.min():.3g}.")
    return heatmaps


def _checked(heatmaps: Any, masks: Any) -> tuple[np.ndarray, np.ndarray]:
    masks = _check_masks(masks)
    return _check_heatmaps(heatmaps, masks), masks


def _top_count(fraction: float, n_pixels: int) -> int:
    """The number of top pixels: ``fraction`` of the image, rounded, at least 1."""
    fraction = check_number("fraction (of the image's pixels, e.g. 0.05)", fraction, 0, 1, exclusive=True)
    return max(1, int(round(fraction * n_pixels)))


# --- The measures ------------------------------------------------------------------------------

def pointing_game(heatmaps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Whether each map's peak falls inside its lesion (Zhang et al., 2018), shape (N,).

    1 for a hit, 0 for a miss; where several pixels share the peak value, the fraction of them inside
    the lesion (the expected hit when one is picked at random), so a flat map scores the chance level,
    the lesion's share of the image.
    """
    heatmaps, masks = _checked(heatmaps, masks)
    flat, inside = heatmaps.reshape(len(heatmaps), -1), masks.reshape(len(masks), -1)
    peaks = flat == flat.max(axis=1, keepdims=True)
    return (peaks & inside).sum(axis=1) / peaks.sum(axis=1)


def energy_ratio(heatmaps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Each map's share of its sum inside the lesion, divided by the lesion's share of the image, shape (N,).

    1: no more inside than a map spread evenly; 5: five times as dense inside the lesion as it would
    be by chance; at most 1 / (the lesion's share). An all-zero map counts as flat (1).
    """
    heatmaps, masks = _checked(heatmaps, masks)
    totals = heatmaps.sum(axis=(1, 2))
    area = masks.mean(axis=(1, 2))
    inside = np.divide((heatmaps * masks).sum(axis=(1, 2)), totals, out=area.copy(), where=totals > 0)
    return inside / area


def top_overlap(heatmaps: np.ndarray, masks: np.ndarray, *, fraction: float = 0.05, score: str = "iou") -> np.ndarray:
    """The overlap of each map's top ``fraction`` of pixels with its lesion, shape (N,).

    The top pixels are the ``round(fraction * H * W)`` (at least 1) largest values; ``score="iou"``:
    |top & lesion| / |top | lesion|, ``"precision"``: |top & lesion| / |top|. Pixels tied at the cut
    are chosen at random, in expectation (exact). A top set the lesion's size would make precision and
    IoU meet their best value 1 together; with lesions of about 5 % of an image, 0.05 is that size.
    """
    heatmaps, masks = _checked(heatmaps, masks)
    if score not in ("iou", "precision"):
        raise ValueError(f"score must be 'iou' or 'precision', got {score!r}.")
    k = _top_count(fraction, heatmaps[0].size)
    return np.array([_expected_overlap(heatmap.ravel(), mask.ravel(), k, score) for heatmap, mask in zip(heatmaps, masks)])


def _expected_overlap(values: np.ndarray, inside: np.ndarray, k: int, score: str) -> float:
    """The expected precision or IoU of the top ``k`` of ``values`` with ``inside``, ties at the cut at random."""
    cut = np.partition(values, values.size - k)[values.size - k]
    above, tied = values > cut, values == cut
    return _hypergeometric_overlap(int((above & inside).sum()), k - int(above.sum()), int(tied.sum()),
                                   int((tied & inside).sum()), int(inside.sum()), k, score)


def _hypergeometric_overlap(sure: int, drawn: int, tied: int, tied_inside: int, area: int, k: int, score: str) -> float:
    """E[score] when ``drawn`` of ``tied`` pixels (``tied_inside`` of them in the lesion) join ``sure`` hits."""
    hits = sure + np.arange(max(0, drawn - (tied - tied_inside)), min(drawn, tied_inside) + 1)
    weights = stats.hypergeom(tied, tied_inside, drawn).pmf(hits - sure)
    values = hits / k if score == "precision" else hits / (area + k - hits)
    return float(weights @ values)


def chance_levels(masks: np.ndarray, *, fraction: float = 0.05) -> pd.DataFrame:
    """What a uniformly random map scores on each mask, one row per mask, a column per measure.

    A map of independent, identically distributed values puts its peak on a uniformly random pixel
    (pointing game: the lesion's share of the image), its expected share inside the lesion is the
    lesion's share (energy ratio 1), and its top pixels are a uniformly random set (precision: the
    lesion's share; IoU: the hypergeometric expectation).
    """
    masks = _check_masks(masks)
    n_pixels = masks[0].size
    k = _top_count(fraction, n_pixels)
    area = masks.sum(axis=(1, 2))
    return pd.DataFrame({
        "pointing_game": area / n_pixels,
        "energy_ratio": np.ones(len(masks)),
        "top_precision": area / n_pixels,
        "top_iou": [_hypergeometric_overlap(0, k, n_pixels, int(a), int(a), k, "iou") for a in area],
    })


# --- Tables ------------------------------------------------------------------------------------

def localization_table(
    heatmaps: np.ndarray, masks: np.ndarray, *, fraction: float = 0.05, skip_empty: bool = False, **labels: Any
) -> pd.DataFrame:
    """One row per image: every measure of :data:`LOCALIZATION_MEASURES`, its chance level
    (``<measure> chance``), the lesion's share of the image and ``labels``.

    Args:
        fraction: the top pixels' share of the image, for :func:`top_overlap`.
        skip_empty: drop the images whose mask is empty (no lesion, e.g. normal images) instead of
            raising; the column ``image`` keeps each row's index in the batch.
        labels: columns to add, each a single value (e.g. ``method="grad_cam"``) or one value per
            image (e.g. ``images=np.where(correct, "well classified", "misclassified")``).
    """
    masks = _check_masks(masks, allow_empty=skip_empty)
    heatmaps = _check_heatmaps(heatmaps, masks)
    table = pd.DataFrame({"image": np.arange(len(masks))})
    for name, value in labels.items():
        value = np.asarray(value)
        if value.ndim > 0 and len(value) != len(masks):
            raise ValueError(f"{name} must be one value or one per image ({len(masks)}), got {len(value)}.")
        table[name] = value.item() if value.ndim == 0 else value
    if skip_empty:
        keep = masks.any(axis=(1, 2))
        if not keep.any():
            raise ValueError("masks are all empty: no image has a lesion to score the maps against.")
        table, heatmaps, masks = table[keep].reset_index(drop=True), heatmaps[keep], masks[keep]
    table["pointing_game"] = pointing_game(heatmaps, masks)
    table["energy_ratio"] = energy_ratio(heatmaps, masks)
    table["top_precision"] = top_overlap(heatmaps, masks, fraction=fraction, score="precision")
    table["top_iou"] = top_overlap(heatmaps, masks, fraction=fraction, score="iou")
    for name, chance in chance_levels(masks, fraction=fraction).items():
        table[f"{name} chance"] = chance.to_numpy()
    table["lesion share"] = masks.mean(axis=(1, 2))
    return table


def summarize_localization(
    table: pd.DataFrame,
    by: str | list[str] = "method",
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Each measure's mean per group of a :func:`localization_table`, with its bootstrap interval and chance.

    One row per group and measure: ``images``, ``mean``, ``low``, ``high`` (the percentile bootstrap
    interval over images), ``chance`` (the mean chance level of the same images) and ``verdict``:
    "above chance" or "below chance" when the paired bootstrap interval of mean(score - chance)
    excludes 0, else "not distinguishable from chance".

    Args:
        by: the label column(s) that make the groups, e.g. ``["method", "images"]``.
    """
    by = [by] if isinstance(by, str) else list(by)
    missing = [column for column in by + list(LOCALIZATION_MEASURES) if column not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}: pass a localization_table (by = its label columns).")
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, 10)
    confidence = check_number("confidence (e.g. 0.95)", confidence, 0, 1, exclusive=True)
    quantiles = [(1 - confidence) / 2, (1 + confidence) / 2]
    rows = []
    for group, members in table.groupby(by, sort=False):
        draws = np.random.default_rng(seed).integers(0, len(members), (n_bootstrap, len(members)))
        for measure in LOCALIZATION_MEASURES:
            scores = members[measure].to_numpy(dtype=np.float64)
            chance = members[f"{measure} chance"].to_numpy(dtype=np.float64)
            low, high = np.quantile(scores[draws].mean(axis=1), quantiles)
            excess_low, excess_high = np.quantile((scores - chance)[draws].mean(axis=1), quantiles)
            verdict = ("above chance" if excess_low > 0 else "below chance" if excess_high < 0
                       else "not distinguishable from chance")
            rows.append({**dict(zip(by, group)), "measure": measure, "images": len(members), "mean": scores.mean(),
                         "low": low, "high": high, "chance": chance.mean(), "verdict": verdict})
    return pd.DataFrame(rows)
