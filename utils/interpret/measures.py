"""How good is an explanation? The measures of :mod:`utils.interpret`.

:func:`deletion_insertion` (Petsiuk et al., 2018), :func:`randomized_copy` with
:func:`rank_correlation` (the model-parameter randomisation check of Adebayo et al., 2018),
:func:`timed`, and :func:`evaluate_methods`, which gathers all of them in one table;
:func:`summarize`, :func:`head_to_head`, :func:`rank_of` and :func:`judge_claim` read that table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
from scipy import ndimage, stats

from utils.interpret.methods import ATTRIBUTION_METHODS, AttributionMethod
from utils.interpret.plumbing import (
    DEFAULT_BATCH_SIZE,
    _check_class,
    _check_image,
    _check_int,
    _check_model,
    _class_scores,
)


@dataclass(frozen=True)
class DeletionInsertion:
    """Deletion and insertion curves (Petsiuk et al., 2018): the class probability against the
    fraction of pixels deleted (from the image) or inserted (into a blurred copy), most important first."""

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray

    @property
    def deletion_auc(self) -> float:
        """Area under the deletion curve: lower is better (the probability falls fast)."""
        return float(np.trapezoid(self.deletion, self.fractions))

    @property
    def insertion_auc(self) -> float:
        """Area under the insertion curve: higher is better (the probability rises fast)."""
        return float(np.trapezoid(self.insertion, self.fractions))


def pixel_order(heatmap: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Pixel indices (flattened) from most to least important; ties in random order (seeded)."""
    heatmap = np.asarray(heatmap, dtype=np.float64).ravel()
    tie_break = np.random.default_rng(seed).random(heatmap.size)
    return np.lexsort((tie_break, -heatmap))


def deletion_insertion(
    model: keras.Model,
    image: np.ndarray,
    class_index: int,
    heatmap: np.ndarray,
    *,
    n_steps: int = 28,
    deleted_value: float = 0.0,
    blur_sigma: float = 3.0,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> DeletionInsertion:
    """The deletion and insertion curves of one heatmap.

    Pixels go in the heatmap's order, most important first, ``n_steps`` equal chunks. Deletion sets
    them to ``deleted_value`` (black); insertion copies them into the image blurred with
    ``blur_sigma`` (a blurred canvas keeps the image statistics, so the score measures the pixels).
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    heatmap = np.asarray(heatmap)
    if heatmap.shape != image.shape[:2]:
        raise ValueError(f"heatmap must have the image's height and width {image.shape[:2]}, got {heatmap.shape}.")
    n_pixels = heatmap.size
    n_steps = _check_int("n_steps", n_steps, 1, n_pixels)
    order = pixel_order(heatmap, seed=seed)
    counts = np.linspace(0, n_pixels, n_steps + 1).round().astype(int)
    rank = np.empty(n_pixels, dtype=int)
    rank[order] = np.arange(n_pixels)
    chosen = (rank[None, :] < counts[:, None]).reshape(-1, *heatmap.shape)[..., None]  # (steps+1, H, W, 1)
    blurred = ndimage.gaussian_filter(image, sigma=(blur_sigma, blur_sigma, 0)).astype(np.float32)
    deleted = np.where(chosen, np.float32(deleted_value), image[None])
    inserted = np.where(chosen, image[None], blurred[None])
    scores = _class_scores(model, np.concatenate([deleted, inserted]), class_index, "probability", batch_size)
    return DeletionInsertion(counts / n_pixels, scores[: n_steps + 1], scores[n_steps + 1:])


def randomized_copy(model: keras.Model, *, seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose kernels (every weight array with 2 or more dimensions) are redrawn
    at random (Glorot uniform); biases and other 1-D weights are kept.

    The model-parameter randomisation check (Adebayo et al., 2018): an explanation that looks the
    same for the trained and the randomised model does not explain what the model learned.
    """
    _check_model(model)
    copy = keras.models.clone_model(model)
    rng = np.random.default_rng(seed)
    weights = []
    for array in model.get_weights():
        if array.ndim >= 2:
            receptive = int(np.prod(array.shape[:-2])) if array.ndim > 2 else 1
            fan_in, fan_out = array.shape[-2] * receptive, array.shape[-1] * receptive
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            array = rng.uniform(-limit, limit, array.shape).astype(array.dtype)
        weights.append(array)
    copy.set_weights(weights)
    return copy


def rank_correlation(heatmap_a: np.ndarray, heatmap_b: np.ndarray) -> float:
    """Spearman rank correlation of two heatmaps' pixels.

    A constant heatmap (e.g. all zero: no evidence for the class) ranks no pixel above another, so
    it shares no ranking with a non-constant one (0.0); two constant heatmaps give 1.0 if equal.
    """
    a, b = np.ravel(heatmap_a), np.ravel(heatmap_b)
    if a.shape != b.shape:
        raise ValueError(f"heatmaps must have the same shape, got {np.shape(heatmap_a)} and {np.shape(heatmap_b)}.")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float(np.ptp(a) == 0 and np.ptp(b) == 0 and np.array_equal(a, b))
    return float(stats.spearmanr(a, b).statistic)


def timed(function: Callable[[], Any], *, repeats: int = 1, warm_up: bool = True) -> tuple[Any, float]:
    """The last result of ``function()`` and its median wall time in seconds over ``repeats`` calls.

    ``warm_up`` first makes one call that is not timed (a method's first call on a model compiles it).
    """
    repeats = _check_int("repeats", repeats)
    if warm_up:
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return result, float(np.median(times))


def evaluate_methods(
    model: keras.Model,
    images: np.ndarray,
    class_indices: Sequence[int],
    *,
    methods: Mapping[str, AttributionMethod] | None = None,
    options: Mapping[str, dict] | None = None,
    random_model: keras.Model | None = None,
    n_steps: int = 28,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure attribution methods on a fixed set of images: one row per method and image.

    Columns: ``method``, ``image`` (its position in ``images``), ``deletion_auc`` (lower is
    better), ``insertion_auc`` (higher is better), ``randomization_rho`` (Spearman correlation with
    the heatmap of ``random_model``, default :func:`randomized_copy` of ``model``; lower is better)
    and ``seconds`` (the method's time on that image, after a warm-up call).

    Args:
        methods: name -> method; default all of :data:`ATTRIBUTION_METHODS`.
        options: name -> keyword arguments for that method.
    """
    _check_model(model)
    methods = dict(ATTRIBUTION_METHODS if methods is None else methods)
    options = dict(options or {})
    unknown = set(options) - set(methods)
    if unknown:
        raise ValueError(f"options has methods that are not in methods: {sorted(unknown)}.")
    if len(images) != len(class_indices) or len(images) == 0:
        raise ValueError(f"images and class_indices must have the same, non-zero length; got {len(images)} and "
                         f"{len(class_indices)}.")
    random_model = randomized_copy(model, seed=seed) if random_model is None else random_model
    rows = []
    for name, method in methods.items():
        kwargs = options.get(name, {})
        method(model, images[0], int(class_indices[0]), **kwargs)  # warm-up: compile
        method(random_model, images[0], int(class_indices[0]), **kwargs)
        for i, (image, class_index) in enumerate(zip(images, class_indices)):
            heatmap, seconds = timed(lambda: method(model, image, int(class_index), **kwargs), warm_up=False)
            curves = deletion_insertion(model, image, int(class_index), heatmap, n_steps=n_steps, seed=seed)
            random_heatmap = method(random_model, image, int(class_index), **kwargs)
            rows.append({
                "method": name, "image": i, "deletion_auc": curves.deletion_auc,
                "insertion_auc": curves.insertion_auc,
                "randomization_rho": rank_correlation(heatmap, random_heatmap), "seconds": seconds,
            })
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, *, by: str | Sequence[str] = "method") -> pd.DataFrame:
    """Means of :func:`evaluate_methods`' columns per method (or per ``by``), ``seconds`` in ms."""
    columns = ["deletion_auc", "insertion_auc", "randomization_rho", "seconds"]
    summary = table.groupby(by, sort=False)[columns].mean()
    summary["seconds"] *= 1000
    return summary.rename(columns={"seconds": "ms_per_image"})


def head_to_head(table: pd.DataFrame, method: str, other: str, column: str) -> tuple[int, int, int]:
    """On how many images of :func:`evaluate_methods`' table ``method`` beats, ties with and loses to
    ``other`` in ``column`` (lower is better, except for insertion AUC)."""
    for name in (method, other):
        if name not in set(table["method"]):
            raise ValueError(f"method {name!r} is not in the table; it has {sorted(set(table['method']))}.")
    a = table[table["method"] == method].set_index("image")[column]
    b = table[table["method"] == other].set_index("image")[column].reindex(a.index)
    better, worse = (a > b, a < b) if column == "insertion_auc" else (a < b, a > b)
    return int(better.sum()), int((a == b).sum()), int(worse.sum())


MEASURES = {"deletion_auc": "deletion AUC (lower is better)", "insertion_auc": "insertion AUC (higher is better)",
            "randomization_rho": "randomisation correlation (lower is better)", "ms_per_image": "time per image in ms (lower is better)"}


def judge_claim(table: pd.DataFrame, method: str, *, columns: Sequence[str] = ("deletion_auc", "insertion_auc")) -> str:
    """Markdown that judges the claim "``method`` explains these images best" from the numbers.

    ``table`` holds :func:`evaluate_methods`' rows for one group of images. The claim is
    *supported* when ``method`` ranks first on every column, *partly supported* when on some, and
    *not supported* otherwise; for each column the wording gives its rank, the best other method
    and how often ``method`` beats it image by image.
    """
    summary = summarize(table)
    firsts, lines = 0, []
    for column in columns:
        ordered = summary[column].sort_values(ascending=column != "insertion_auc", kind="stable")
        rank, value = rank_of(summary, method, column), summary.loc[method, column]
        rival = ordered.drop(method).index[0]
        won, tied, lost = head_to_head(table, method, rival, column)
        lines.append(
            f"- {MEASURES[column]}: {method} ranks {rank} of {len(summary)} ({value:.3f}); the best other "
            f"method is {rival} ({ordered[rival]:.3f}); image by image, {method} is better on {won}, "
            f"equal on {tied} and worse on {lost} of {won + tied + lost} images."
        )
        firsts += rank == 1
    verdict = "supported" if firsts == len(columns) else "partly supported" if firsts else "not supported"
    return f"**{verdict}** on these {table['image'].nunique()} images:\n" + "\n".join(lines)


def rank_of(summary: pd.DataFrame, method: str, column: str) -> int:
    """The rank (1 = best) of ``method`` in ``summary[column]``; lower is better for deletion AUC,
    randomisation correlation and time, higher for insertion AUC."""
    if method not in summary.index:
        raise ValueError(f"method {method!r} is not in the summary; it has {list(summary.index)}.")
    if column not in summary.columns:
        raise ValueError(f"column must be one of {list(summary.columns)}, got {column!r}.")
    ascending = column != "insertion_auc"
    return int(summary[column].rank(ascending=ascending, method="min")[method])
