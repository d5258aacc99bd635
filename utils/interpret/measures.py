"""How good is an explanation? The measures of :mod:`utils.interpret`.

Faithfulness: :func:`deletion_insertion` (Petsiuk et al., 2018) ranks pixels by a method's *signed*
map (evidence against the class last) with ties broken by position, so a deterministic method gets
the same curves every time; :func:`blurred_keeps_class` says what the insertion canvas still shows.
The model-parameter randomisation check of Adebayo et al. (2018): :func:`randomized_copy` and
:func:`randomization_cascade`, which re-initialises the layers from the logits down, one more at each
stage, and compares the maps with :func:`map_similarity`. :func:`evaluate_methods` gathers the
faithfulness measures and the time of every method in one table; :func:`summarize` gives means with
bootstrap intervals (over images, and over seeds for a random method), :func:`compare` the interval
of a difference between two methods, and :func:`judge_claim` a verdict that names a winner only when
the interval of the difference excludes zero.
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
from skimage.metrics import structural_similarity

from utils.images import check_int
from utils.interpret.methods import ATTRIBUTION_METHODS, RANDOM_METHODS, AttributionMethod
from utils.interpret.plumbing import (
    DEFAULT_BATCH_SIZE,
    _check_class,
    _check_image,
    _check_model,
    _class_scores,
    predict_scores,
)

# Lower is better for every measure except these.
HIGHER_IS_BETTER = frozenset({"insertion_auc"})
MEASURES = {
    "deletion_auc": "deletion AUC (lower is better)",
    "insertion_auc": "insertion AUC (higher is better)",
    "rho_abs": "randomisation, Spearman of absolute maps (lower is better)",
    "rho_signed": "randomisation, Spearman of signed maps (lower is better)",
    "ssim": "randomisation, SSIM of absolute maps (lower is better)",
    "ms_per_image": "time per image in ms (lower is better)",
}


# --- Faithfulness: deletion and insertion ------------------------------------------------------

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


def _check_heatmap(heatmap: Any, shape: tuple[int, ...], name: str = "heatmap") -> np.ndarray:
    """Return ``heatmap`` as float64 after checking its shape and that every value is finite."""
    heatmap = np.asarray(heatmap, dtype=np.float64)
    if heatmap.shape != tuple(shape):
        raise ValueError(f"{name} must have the image's height and width {tuple(shape)}, got {heatmap.shape}.")
    if not np.isfinite(heatmap).all():
        raise ValueError(f"{name} has {np.count_nonzero(~np.isfinite(heatmap))} NaN or infinite values; "
                         "a measure of it would mean nothing (did the method divide by zero?).")
    return heatmap


def pixel_order(heatmap: np.ndarray) -> np.ndarray:
    """Pixel indices (flattened) from most to least important; equal values in reading order (row
    by row), so the order, and every measure built on it, is the same on every call."""
    heatmap = np.asarray(heatmap, dtype=np.float64).ravel()
    return np.argsort(-heatmap, kind="stable")


def deletion_insertion(
    model: keras.Model,
    image: np.ndarray,
    class_index: int,
    heatmap: np.ndarray,
    *,
    n_steps: int = 28,
    deleted_value: float = 0.0,
    blur_sigma: float = 3.0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> DeletionInsertion:
    """The deletion and insertion curves of one heatmap.

    Pixels go in the heatmap's order (:func:`pixel_order`), most important first, ``n_steps`` equal
    chunks. Pass a method's signed map (``signed=True``): evidence against the class then comes
    last instead of tying with the unimportant pixels. Deletion sets the pixels to
    ``deleted_value`` (black); insertion copies them into the image blurred with ``blur_sigma``
    (a blurred canvas keeps the image's coarse shape: :func:`blurred_keeps_class` measures how often
    the model still sees the class in it).
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    heatmap = _check_heatmap(heatmap, image.shape[:2])
    n_pixels = heatmap.size
    n_steps = check_int("n_steps", n_steps, 1, n_pixels)
    counts = np.linspace(0, n_pixels, n_steps + 1).round().astype(int)
    rank = np.empty(n_pixels, dtype=int)
    rank[pixel_order(heatmap)] = np.arange(n_pixels)
    chosen = (rank[None, :] < counts[:, None]).reshape(-1, *heatmap.shape)[..., None]  # (steps+1, H, W, 1)
    blurred = _blurred(image[None], blur_sigma)[0]
    deleted = np.where(chosen, np.float32(deleted_value), image[None])
    inserted = np.where(chosen, image[None], blurred[None])
    scores = _class_scores(model, np.concatenate([deleted, inserted]), class_index, "probability", batch_size)
    return DeletionInsertion(counts / n_pixels, scores[: n_steps + 1], scores[n_steps + 1:])


def _blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0)).astype(np.float32)


def blurred_keeps_class(
    model: keras.Model, images: np.ndarray, class_indices: Sequence[int], *, blur_sigma: float = 3.0
) -> np.ndarray:
    """For each image, whether ``class_indices[i]`` is still the model's top class on the blurred
    image that insertion starts from. Where it is, the insertion curve starts high whatever the
    heatmap, and the insertion AUC says less about the heatmap."""
    _check_model(model)
    images = np.asarray(images, dtype=np.float32)
    class_indices = np.asarray(class_indices)
    if images.ndim != 4 or len(images) != len(class_indices):
        raise ValueError(f"images must be a batch (N, H, W, C) with one class index each; got images of shape "
                         f"{images.shape} and {len(class_indices)} class indices.")
    return predict_scores(model, _blurred(images, blur_sigma)).argmax(axis=1) == class_indices


# --- Randomisation: the model-parameter check ---------------------------------------------------

def _weighted_layers(model: keras.Model) -> list:
    """The layers with weights, from the output down to the input."""
    return [layer for layer in reversed(model.layers) if layer.weights]


def _initial_weights(layer: keras.layers.Layer, rng: np.random.Generator) -> list[np.ndarray]:
    """Weights for ``layer`` drawn as Keras initialises a Dense or Conv layer: kernels Glorot
    uniform, biases zero."""
    weights = []
    for array in layer.get_weights():
        if array.ndim >= 2:
            receptive = int(np.prod(array.shape[:-2])) if array.ndim > 2 else 1
            fan_in, fan_out = array.shape[-2] * receptive, array.shape[-1] * receptive
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            array = rng.uniform(-limit, limit, array.shape).astype(array.dtype)
        elif array.ndim == 1 and hasattr(layer, "bias") and layer.bias is not None:
            array = np.zeros_like(array)
        else:
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) has weights other than a kernel and "
                             "a bias; the randomisation check re-initialises Dense and convolution layers only.")
        weights.append(array)
    return weights


def _copy(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its own weights (equal to the model's); layers without weights are
    shared, not rebuilt (a Lambda layer cannot be rebuilt from its configuration)."""
    copy = keras.models.clone_model(
        model, clone_function=lambda layer: layer.__class__.from_config(layer.get_config()) if layer.weights else layer)
    copy.set_weights(model.get_weights())
    return copy


def randomized_copy(model: keras.Model, *, seed: int = 0, n_layers: int | None = None) -> keras.Model:
    """A copy of ``model`` whose top ``n_layers`` layers with weights (default: all), counted from
    the output down, are re-initialised at random (kernels Glorot uniform, biases zero, as Keras
    initialises them).

    The model-parameter randomisation check (Adebayo et al., 2018): an explanation that looks the
    same for the trained and the randomised model does not explain what the model learned.
    """
    _check_model(model)
    layers = _weighted_layers(model)
    n_layers = len(layers) if n_layers is None else check_int("n_layers", n_layers, 1, len(layers))
    copy = _copy(model)
    rng = np.random.default_rng(seed)
    for layer in layers[:n_layers]:
        copy.get_layer(layer.name).set_weights(_initial_weights(layer, rng))
    return copy


def rank_correlation(heatmap_a: np.ndarray, heatmap_b: np.ndarray) -> float:
    """Spearman rank correlation of two heatmaps' pixels; NaN (undefined) when either is constant.

    A constant heatmap (e.g. all zero: no evidence for the class) ranks no pixel above another, so a
    correlation with it is undefined, neither a pass nor a failure of the randomisation check.
    """
    a, b = np.ravel(heatmap_a), np.ravel(heatmap_b)
    if a.shape != b.shape:
        raise ValueError(f"heatmaps must have the same shape, got {np.shape(heatmap_a)} and {np.shape(heatmap_b)}.")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def map_similarity(trained: np.ndarray, randomised: np.ndarray) -> dict[str, float]:
    """Adebayo et al.'s three similarities of a trained and a randomised model's signed maps (each
    scaled to [-1, 1], as ``signed=True`` gives them): Spearman of the signed maps (``rho_signed``),
    Spearman of their absolute values (``rho_abs``) and SSIM of the absolute values (``ssim``).
    All three are NaN (undefined) when either map is constant."""
    trained, randomised = (_check_heatmap(m, np.shape(trained), name) for m, name in
                           ((trained, "trained"), (randomised, "randomised")))
    if np.ptp(trained) == 0 or np.ptp(randomised) == 0:
        return {"rho_signed": float("nan"), "rho_abs": float("nan"), "ssim": float("nan")}
    a, b = np.abs(trained), np.abs(randomised)
    return {"rho_signed": rank_correlation(trained, randomised), "rho_abs": rank_correlation(a, b),
            "ssim": float(structural_similarity(a / a.max(), b / b.max(), data_range=1.0))}


def randomization_cascade(
    model: keras.Model,
    images: np.ndarray,
    class_indices: Sequence[int],
    *,
    methods: Mapping[str, AttributionMethod] | None = None,
    options: Mapping[str, dict] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Cascading randomisation (Adebayo et al., 2018): re-initialise the layers with weights from
    the logits down, one more at each stage, and compare each method's map with the trained model's.

    For each seed, stage ``k`` (1, 2, ...) has the top ``k`` layers re-initialised as in
    :func:`randomized_copy`. A method that explains the model gives maps that move away from the
    trained one as the stages go down (similarity near 0); one whose map stays similar shows the
    image, not the model. A random method (:data:`RANDOM_METHODS`) runs with the same seed on both
    models, so its own noise does not count as a change.

    Returns:
        A table with one row per method, image, seed and stage: ``method``, ``image`` (position in
        ``images``), ``seed``, ``stage``, ``layer`` (the lowest re-initialised layer), ``rho_signed``,
        ``rho_abs``, ``ssim`` (:func:`map_similarity`; NaN where a map is constant) and
        ``undefined`` (True there); and, per method, the maps of the first image and seed, signed,
        shape (1 + stages, H, W): the trained model's, then each stage's (for ``utils.plots.plot_cascade``).
    """
    _check_model(model)
    methods, options = _checked_methods(methods, options)
    images, class_indices = _checked_images(images, class_indices)
    layers = _weighted_layers(model)
    trained_weights = [layer.get_weights() for layer in layers]
    copy = _copy(model)
    rows, pictures = [], {}
    for name, method in methods.items():
        start = time.perf_counter()
        for seed in seeds:
            kwargs = _method_options(name, options, seed)
            trained = [method(model, image, int(c), signed=True, **kwargs) for image, c in zip(images, class_indices)]
            stages = []
            rng = np.random.default_rng(seed)
            for layer in layers:
                copy.get_layer(layer.name).set_weights(_initial_weights(layer, rng))
                randomised = [method(copy, image, int(c), signed=True, **kwargs)
                              for image, c in zip(images, class_indices)]
                for i, (a, b) in enumerate(zip(trained, randomised)):
                    similarity = map_similarity(a, b)
                    rows.append({"method": name, "image": i, "seed": seed, "stage": len(stages) + 1, "layer": layer.name,
                                 **similarity, "undefined": bool(np.isnan(similarity["rho_abs"]))})
                stages.append(randomised[0])
            for layer, weights in zip(layers, trained_weights):
                copy.get_layer(layer.name).set_weights(weights)
            if seed == seeds[0]:
                pictures[name] = np.stack([trained[0], *stages])
        _report(progress, f"{name}: {len(images)} images x {len(seeds)} seeds x {len(layers)} stages",
                time.perf_counter() - start)
    return pd.DataFrame(rows), pictures


# --- The table of methods ---------------------------------------------------------------------

def timed(function: Callable[[], Any], *, repeats: int = 1, warm_up: bool = True) -> tuple[Any, float]:
    """The last result of ``function()`` and its median wall time in seconds over ``repeats`` calls.

    ``warm_up`` first makes one call that is not timed (a method's first call on a model compiles it).
    """
    repeats = check_int("repeats", repeats)
    if warm_up:
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return result, float(np.median(times))


def _report(progress: bool, what: str, seconds: float) -> None:
    if progress:
        print(f"  {what}: {seconds:.1f} s", flush=True)


def _checked_methods(methods, options) -> tuple[dict, dict]:
    methods = dict(ATTRIBUTION_METHODS if methods is None else methods)
    options = dict(options or {})
    unknown = set(options) - set(methods)
    if unknown:
        raise ValueError(f"options has methods that are not in methods: {sorted(unknown)}.")
    return methods, options


def _checked_images(images, class_indices) -> tuple[np.ndarray, np.ndarray]:
    if len(images) != len(class_indices) or len(images) == 0:
        raise ValueError(f"images and class_indices must have the same, non-zero length; got {len(images)} and "
                         f"{len(class_indices)}.")
    return np.asarray(images), np.asarray(class_indices)


def _method_options(name: str, options: Mapping[str, dict], seed: int | None) -> dict:
    """The keyword arguments of method ``name``: its options, and ``seed`` for a random method."""
    kwargs = dict(options.get(name, {}))
    if name in RANDOM_METHODS and seed is not None:
        kwargs.setdefault("seed", seed)
    return kwargs


def evaluate_methods(
    model: keras.Model,
    images: np.ndarray,
    class_indices: Sequence[int],
    *,
    methods: Mapping[str, AttributionMethod] | None = None,
    options: Mapping[str, dict] | None = None,
    seeds: Sequence[int] = (0,),
    n_steps: int = 28,
    progress: bool = True,
) -> pd.DataFrame:
    """Measure the faithfulness and time of attribution methods on a fixed set of images.

    Every method runs once per image, a random one (its name in :data:`RANDOM_METHODS`) once per
    image and seed of ``seeds``. Its signed map (``signed=True``) is measured by
    :func:`deletion_insertion`; ``progress`` prints one line per method.

    Returns:
        One row per method, image and seed: ``method``, ``image`` (its position in ``images``),
        ``seed`` (<NA> for a deterministic method), ``deletion_auc`` (lower is better),
        ``insertion_auc`` (higher is better) and ``seconds`` (the method's time on that image, after
        a warm-up call).

    Args:
        methods: name -> method; default all of :data:`ATTRIBUTION_METHODS`.
        options: name -> keyword arguments for that method.
    """
    _check_model(model)
    methods, options = _checked_methods(methods, options)
    images, class_indices = _checked_images(images, class_indices)
    rows = []
    for name, method in methods.items():
        start = time.perf_counter()
        method_seeds = list(seeds) if name in RANDOM_METHODS else [None]
        first_options = _method_options(name, options, seeds[0])
        method(model, images[0], int(class_indices[0]), signed=True, **first_options)  # warm-up: compile
        for seed in method_seeds:
            kwargs = _method_options(name, options, seed)
            for i, (image, class_index) in enumerate(zip(images, class_indices)):
                heatmap, seconds = timed(lambda: method(model, image, int(class_index), signed=True, **kwargs),
                                         warm_up=False)
                curves = deletion_insertion(model, image, int(class_index), heatmap, n_steps=n_steps)
                rows.append({"method": name, "image": i, "seed": seed, "deletion_auc": curves.deletion_auc,
                             "insertion_auc": curves.insertion_auc, "seconds": seconds})
        _report(progress, f"{name}: {len(images)} images x {len(method_seeds)} seed(s)", time.perf_counter() - start)
    table = pd.DataFrame(rows)
    table["seed"] = table["seed"].astype("Int64")
    return table


# --- Reading the table: means with intervals, differences, verdicts -----------------------------

def _matrix(table: pd.DataFrame, column: str) -> np.ndarray:
    """One method's values as (images, seeds); a deterministic method has one seed column."""
    seeds = table["seed"].fillna(-1) if "seed" in table else pd.Series(-1, index=table.index)
    return table.assign(seed=seeds).pivot_table(index="image", columns="seed", values=column,
                                                aggfunc="mean", dropna=False).to_numpy(dtype=np.float64)


def _bootstrap_means(matrix: np.ndarray, image_draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Means of ``matrix`` (images, seeds) over resampled images (``image_draws``: resamples x images)
    and, within each image, resampled seeds."""
    seed_draws = rng.integers(0, matrix.shape[1], size=(*image_draws.shape, matrix.shape[1]))
    with np.errstate(all="ignore"):
        return np.nanmean(matrix[image_draws[..., None], seed_draws].reshape(len(image_draws), -1), axis=1)


def _image_draws(n_images: int, n_boot: int, seed: int) -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_images, size=(n_boot, n_images)), rng


def summarize(
    table: pd.DataFrame,
    *,
    by: str | Sequence[str] = "method",
    columns: Sequence[str] | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Means of a measures table's ``columns`` per method (or per ``by``) with percentile bootstrap
    intervals: ``<column>``, ``<column>_low``, ``<column>_high``.

    The bootstrap resamples the images, and for a method with several seeds, the seeds within each
    image, so the interval holds both kinds of variation. ``seconds`` is reported as
    ``ms_per_image``. NaN values (undefined similarities) are left out of the means.
    """
    columns = [c for c in (columns or ("deletion_auc", "insertion_auc", "rho_abs", "rho_signed", "ssim", "seconds"))
               if c in table]
    rows = {}
    for key, group in table.groupby(by, sort=False):
        row = {}
        draws, rng = _image_draws(group["image"].nunique(), n_boot, seed)
        for column in columns:
            scale, name = (1000.0, "ms_per_image") if column == "seconds" else (1.0, column)
            matrix = _matrix(group, column) * scale
            low, high = np.nanpercentile(_bootstrap_means(matrix, draws, rng), [50 * (1 - level), 50 * (1 + level)])
            row |= {name: float(np.nanmean(matrix)), f"{name}_low": float(low), f"{name}_high": float(high)}
        rows[key] = row
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.names = [by] if isinstance(by, str) else list(by)
    return summary


def format_intervals(summary: pd.DataFrame, *, digits: int = 3) -> pd.DataFrame:
    """:func:`summarize`'s table as text, one column per measure: "mean (low to high)"."""
    measures = [c for c in summary.columns if not c.endswith(("_low", "_high"))]
    return pd.DataFrame({
        m: [f"{v:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})" if np.isfinite(v) else "undefined"
            for v, lo, hi in zip(summary[m], summary[f"{m}_low"], summary[f"{m}_high"])]
        for m in measures}, index=summary.index)


@dataclass(frozen=True)
class Difference:
    """The difference ``method - other`` of the mean of one measure, with its bootstrap interval."""

    method: str
    other: str
    column: str
    difference: float
    low: float
    high: float

    @property
    def separated(self) -> bool:
        """True when the interval excludes zero: the data tell the two methods apart."""
        return self.low > 0 or self.high < 0

    @property
    def method_better(self) -> bool:
        """True when ``method`` is better than ``other`` and the interval says so."""
        return self.separated and (self.difference > 0) == (self.column in HIGHER_IS_BETTER)


def compare(table: pd.DataFrame, method: str, other: str, column: str, *, level: float = 0.95,
            n_boot: int = 2000, seed: int = 0) -> Difference:
    """The paired bootstrap interval of ``mean(method) - mean(other)`` in ``column``: both methods'
    values on the same resampled images (and each method's seeds resampled within an image)."""
    for name in (method, other):
        if name not in set(table["method"]):
            raise ValueError(f"method {name!r} is not in the table; it has {sorted(set(table['method']))}.")
    a, b = (_matrix(table[table["method"] == name], column) for name in (method, other))
    if len(a) != len(b):
        raise ValueError(f"methods {method!r} and {other!r} must be measured on the same images.")
    draws, rng = _image_draws(len(a), n_boot, seed)
    differences = _bootstrap_means(a, draws, rng) - _bootstrap_means(b, draws, rng)
    low, high = np.nanpercentile(differences, [50 * (1 - level), 50 * (1 + level)])
    return Difference(method, other, column, float(np.nanmean(a) - np.nanmean(b)), float(low), float(high))


def rank_of(summary: pd.DataFrame, method: str, column: str) -> int:
    """The rank (1 = best) of ``method`` in ``summary[column]``; higher is better for insertion AUC,
    lower for the other measures."""
    if method not in summary.index:
        raise ValueError(f"method {method!r} is not in the summary; it has {list(summary.index)}.")
    if column not in summary.columns:
        raise ValueError(f"column must be one of {list(summary.columns)}, got {column!r}.")
    return int(summary[column].rank(ascending=column not in HIGHER_IS_BETTER, method="min")[method])


def judge_claim(
    table: pd.DataFrame,
    method: str,
    *,
    columns: Sequence[str] = ("deletion_auc", "insertion_auc"),
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> str:
    """Markdown that judges the claim "``method`` explains these images best" from the numbers.

    For each column, ``method`` *wins* when it has the best mean and the paired interval of its
    difference to every other method (:func:`compare`) excludes zero, *loses* when some method is
    better and the interval says so, and is *not distinguishable* otherwise. The claim is
    *supported* (wins on every column), *partly supported* (wins on some, loses on none), *not
    supported* (loses on some, wins on none), *mixed* (wins on some, loses on others), or *not
    distinguishable on this data*.

    The claim compares ``method`` with each of the other k - 1 methods, and the rival it loses to is
    picked as the best of them; so that picking does not make chance differences look real, the
    intervals of the differences are Bonferroni-corrected: at level 1 - (1 - ``level``) / (k - 1).
    The means are shown with intervals at ``level``.
    """
    summary = summarize(table, columns=columns, level=level, n_boot=n_boot, seed=seed)
    if method not in summary.index:
        raise ValueError(f"method {method!r} is not in the table; it has {list(summary.index)}.")
    pairwise = 1 - (1 - level) / max(len(summary) - 1, 1)
    outcomes, lines = [], []
    for column in columns:
        ordered = summary[column].sort_values(ascending=column not in HIGHER_IS_BETTER, kind="stable")
        rival = ordered.drop(method).index[0]
        if ordered.index[0] == method:
            differences = [compare(table, method, other, column, level=pairwise, n_boot=n_boot, seed=seed)
                           for other in ordered.index[1:]]
            outcome = "win" if all(d.method_better for d in differences) else "tie"
            shown = differences[0]
        else:
            shown = compare(table, method, rival, column, level=pairwise, n_boot=n_boot, seed=seed)
            outcome = "loss" if shown.separated else "tie"
        outcomes.append(outcome)
        words = {"win": f"{method} is best, and the interval of every difference excludes 0",
                 "loss": f"{rival} is better, and the interval of the difference excludes 0",
                 "tie": "not distinguishable on this data (the interval of the difference includes 0)"}[outcome]
        lines.append(
            f"- {MEASURES[column]}: {method} {_with_interval(summary, method, column)}, rank "
            f"{rank_of(summary, method, column)} of {len(summary)}; the best other method, {rival}, "
            f"{_with_interval(summary, rival, column)}; difference {shown.difference:+.3f} "
            f"({shown.low:+.3f} to {shown.high:+.3f}): {words}."
        )
    wins, losses = outcomes.count("win"), outcomes.count("loss")
    verdict = ("supported" if wins == len(columns) else "mixed" if wins and losses else "partly supported" if wins
               else "not supported" if losses else "not distinguishable on this data")
    return (f"**{verdict}** on these {table['image'].nunique()} images (means with {level:.0%} bootstrap intervals, "
            f"differences with {pairwise:.1%} intervals, corrected for {len(summary) - 1} comparisons):\n"
            + "\n".join(lines))


def _with_interval(summary: pd.DataFrame, method: str, column: str) -> str:
    row = summary.loc[method]
    return f"{row[column]:.3f} ({row[f'{column}_low']:.3f} to {row[f'{column}_high']:.3f})"


def seed_variation(table: pd.DataFrame, column: str) -> pd.Series:
    """For each method run with several seeds: how far its mean of ``column`` over the images moves
    from seed to seed (largest minus smallest)."""
    seeded = table.dropna(subset=["seed"])
    means = seeded.groupby(["method", "seed"], sort=False)[column].mean()
    return means.groupby(level="method", sort=False).agg(lambda m: m.max() - m.min())
