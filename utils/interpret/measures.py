"""How good is an explanation? The measures of :mod:`utils.interpret`.

Faithfulness: :func:`deletion_insertion` (Petsiuk et al., 2018) ranks pixels by a method's *signed*
map (evidence against the class last) with ties broken by position, so a deterministic method gets
the same curves every time; deletion moves the pixels to a *reference* and insertion brings them
back from it (:data:`REFERENCES`: black, a blurred copy, or the image's mean value), and
:func:`blurred_keeps_class` says what the blurred reference still shows. The model-parameter
randomisation check of Adebayo et al. (2018): :func:`randomized_copy` and
:func:`randomization_cascade`, which re-initialises the layers from the logits down, one more at each
stage, and compares the maps with :func:`map_similarity`. :func:`evaluate_methods` gathers the
faithfulness measures, the time of every method and which methods gave the same map in one table,
which :mod:`utils.interpret.verdicts` reads.
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
from utils.interpret.methods import ATTRIBUTION_METHODS, AttributionMethod, Method
from utils.interpret.plumbing import (
    DEFAULT_BATCH_SIZE,
    _check_class,
    _check_image,
    _check_model,
    _class_scores,
    predict_scores,
)

# What deletion turns a pixel into, and what insertion starts from.
REFERENCES = {
    "black": "black (0), the baseline of integrated gradients, occlusion and LIME",
    "blurred": "the image blurred with a Gaussian",
    "mean": "the image's mean value, in every pixel",
}
# Two signed maps (values in [-1, 1]) are the same map when no pixel differs by more than this:
# float32 rounding (CAM and Grad-CAM differ by about 1e-6 on a global-average-pooling CNN).
SAME_MAP_ATOL = 1e-5


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
    reference: str = "blurred",
    n_steps: int = 28,
    blur_sigma: float = 3.0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> DeletionInsertion:
    """The deletion and insertion curves of one heatmap.

    Pixels go in the heatmap's order (:func:`pixel_order`), most important first, ``n_steps`` equal
    chunks. Pass a method's signed map (``signed=True``): evidence against the class then comes
    last instead of tying with the unimportant pixels. Deletion replaces the pixels with the
    ``reference`` image; insertion starts from the reference and puts the image's pixels back.

    ``reference`` (:data:`REFERENCES`) is a choice that favours some methods: ``"black"`` is the
    baseline integrated gradients, occlusion and LIME compute their maps against, so it measures
    exactly what they explain; ``"blurred"`` (Gaussian, ``blur_sigma`` pixels) removes detail but
    keeps the coarse shape (:func:`blurred_keeps_class` measures how often the model still sees the
    class in it); ``"mean"`` fills every pixel with the image's mean value (per channel).
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    heatmap = _check_heatmap(heatmap, image.shape[:2])
    canvas = _reference_image(image, reference, blur_sigma)
    n_pixels = heatmap.size
    n_steps = check_int("n_steps", n_steps, 1, n_pixels)
    counts = np.linspace(0, n_pixels, n_steps + 1).round().astype(int)
    rank = np.empty(n_pixels, dtype=int)
    rank[pixel_order(heatmap)] = np.arange(n_pixels)
    chosen = (rank[None, :] < counts[:, None]).reshape(-1, *heatmap.shape)[..., None]  # (steps+1, H, W, 1)
    deleted = np.where(chosen, canvas[None], image[None])
    inserted = np.where(chosen, image[None], canvas[None])
    scores = _class_scores(model, np.concatenate([deleted, inserted]), class_index, "probability", batch_size)
    return DeletionInsertion(counts / n_pixels, scores[: n_steps + 1], scores[n_steps + 1:])


def _reference_image(image: np.ndarray, reference: str, blur_sigma: float) -> np.ndarray:
    """What deletion turns ``image`` (H, W, C) into: see :data:`REFERENCES`."""
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {list(REFERENCES)}, got {reference!r}.")
    if reference == "black":
        return np.zeros_like(image)
    if reference == "blurred":
        return _blurred(image[None], blur_sigma)[0]
    return np.broadcast_to(image.mean(axis=(0, 1), keepdims=True), image.shape).astype(image.dtype)


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
    methods: Mapping[str, Method | AttributionMethod] | None = None,
    options: Mapping[str, dict] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Cascading randomisation (Adebayo et al., 2018): re-initialise the layers with weights from
    the logits down, one more at each stage, and compare each method's map with the trained model's.

    For each seed, stage ``k`` (1, 2, ...) has the top ``k`` layers re-initialised as in
    :func:`randomized_copy`. A method that explains the model gives maps that move away from the
    trained one as the stages go down (similarity near 0); one whose map stays similar shows the
    image, not the model. A random method (a :class:`~utils.interpret.methods.Method` that
    ``takes_seed``) runs with the same seed on both models, so its own noise does not count as a change.
    ``methods`` and ``options`` are as in :func:`evaluate_methods`.

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
            kwargs = _method_options(method, options.get(name), seed)
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


def _checked_methods(methods, options) -> tuple[dict[str, Method], dict]:
    """The methods as :class:`Method` records (a plain function is a deterministic method titled by
    its name) and their options."""
    methods = {name: method if isinstance(method, Method) else Method(method, name)
               for name, method in (ATTRIBUTION_METHODS if methods is None else methods).items()}
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


def _method_options(method: Method, options: Mapping[str, Any] | None, seed: int | None) -> dict:
    """A method's keyword arguments: its options, and ``seed`` for a method that takes one."""
    kwargs = dict(options or {})
    if method.takes_seed and seed is not None:
        kwargs.setdefault("seed", seed)
    return kwargs


def evaluate_methods(
    model: keras.Model,
    images: np.ndarray,
    class_indices: Sequence[int],
    *,
    methods: Mapping[str, Method | AttributionMethod] | None = None,
    options: Mapping[str, dict] | None = None,
    seeds: Sequence[int] = (0,),
    references: Sequence[str] = ("blurred",),
    n_steps: int = 28,
    progress: bool = True,
) -> pd.DataFrame:
    """Measure the faithfulness and time of attribution methods on a fixed set of images.

    Every method runs once per image, a random one (a :class:`Method` that ``takes_seed``) once per
    image and seed of ``seeds``. Its signed map (``signed=True``) is measured by
    :func:`deletion_insertion` with each of ``references`` (:data:`REFERENCES`), and compared with
    the maps of the methods before it on the same image: a map equal to an earlier one (no pixel
    apart by more than :data:`SAME_MAP_ATOL`) names that method in ``same_map_as``, so that a
    verdict can count the two as one method. ``progress`` prints one line per method at the end.

    Returns:
        One row per method, image, seed and reference: ``method``, ``image`` (its position in
        ``images``), ``seed`` (<NA> for a deterministic method), ``reference``, ``deletion_auc``
        (lower is better), ``insertion_auc`` (higher is better), ``seconds`` (the method's time on
        that image, after a warm-up call) and ``same_map_as`` (the first method before it with the
        same map on that image and seed; missing when there is none).

    Args:
        methods: name -> :class:`Method` record, or a plain function (a deterministic method);
            default all of :data:`ATTRIBUTION_METHODS`.
        options: name -> keyword arguments for that method.
    """
    _check_model(model)
    methods, options = _checked_methods(methods, options)
    images, class_indices = _checked_images(images, class_indices)
    for reference in references:
        if reference not in REFERENCES:
            raise ValueError(f"references must be taken from {list(REFERENCES)}, got {reference!r}.")
    runs = [(name, seed) for name, method in methods.items() for seed in (seeds if method.takes_seed else [None])]
    for name, method in methods.items():  # warm-up: the first call on a model compiles it
        kwargs = _method_options(method, options.get(name), seeds[0])
        method(model, images[0], int(class_indices[0]), signed=True, **kwargs)
    rows, spent = [], dict.fromkeys(methods, 0.0)
    for i, (image, class_index) in enumerate(zip(images, class_indices)):
        maps = {}  # this image's maps so far: (method, seed) -> signed map
        for name, seed in runs:
            start = time.perf_counter()
            kwargs = _method_options(methods[name], options.get(name), seed)
            heatmap, seconds = timed(lambda: methods[name](model, image, int(class_index), signed=True, **kwargs),
                                     warm_up=False)
            twin = next((other for (other, other_seed), earlier in maps.items()
                         if other_seed == seed and np.allclose(earlier, heatmap, rtol=0, atol=SAME_MAP_ATOL)), None)
            maps[name, seed] = heatmap
            for reference in references:
                curves = deletion_insertion(model, image, int(class_index), heatmap, reference=reference,
                                            n_steps=n_steps)
                rows.append({"method": name, "image": i, "seed": seed, "reference": reference,
                             "deletion_auc": curves.deletion_auc, "insertion_auc": curves.insertion_auc,
                             "seconds": seconds, "same_map_as": twin})
            spent[name] += time.perf_counter() - start
    for name, method in methods.items():
        _report(progress, f"{name}: {len(images)} images x {len(seeds) if method.takes_seed else 1} seed(s) x "
                f"{len(references)} reference(s)", spent[name])
    table = pd.DataFrame(rows)
    table["seed"] = table["seed"].astype("Int64")
    return table
