"""The attribution methods of :mod:`utils.interpret`, and activation maximization.

Every method follows the package's contract, ``method(model, image, class_index, **options)``
returning a :data:`Heatmap` (float32, shape (H, W), values in [0, 1]); :data:`ATTRIBUTION_METHODS`
lists them by name, each as a :class:`Method` record (function, title, whether it takes a seed).
Gradient methods: :func:`saliency`, :func:`smoothgrad`, :func:`integrated_gradients`; perturbation
methods: :func:`occlusion`, :func:`lime` (on :func:`superpixels`); the CAM family, on the feature
maps of a convolution: :func:`cam`, :func:`grad_cam`, :func:`grad_cam_plus_plus`.
:func:`activation_maximization` asks another question: which input raises the class's score most.
"""

from __future__ import annotations

from collections.abc import Callable
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from skimage import segmentation, transform

from utils.images import check_int
from utils.interpret.plumbing import (
    DEFAULT_BATCH_SIZE,
    _baseline_image,
    _baseline_value,
    _check_class,
    _check_image,
    _check_model,
    _check_positive,
    _check_target,
    _default_feature_layer,
    _gap_feature_layer,
    _gradient_sum,
    _maps_and_gradients,
    _streamed_scores,
)

Heatmap = np.ndarray  # float32 (H, W) in [0, 1]: the package's contract
AttributionMethod = Callable[..., Heatmap]


# --- Heatmaps ----------------------------------------------------------------------------------

def to_heatmap(attributions: np.ndarray, size: tuple[int, int] | None = None, *, signed: bool = False) -> Heatmap:
    """Scale a 2-D attribution map to a heatmap: negative values set to 0, the maximum to 1.

    The order is Grad-CAM's (Selvaraju et al., 2017): the ReLU on the map as computed (for the CAM
    family, the coarse map of the last convolution), then the resize (bilinear) to ``size`` = (H, W)
    when given, then the scaling. ``signed=True`` keeps the evidence against the class: the map is
    resized and divided by its largest absolute value, values in [-1, 1] (what the measures rank).
    An all-zero map stays all zero.
    """
    attributions = np.asarray(attributions, dtype=np.float32)
    if attributions.ndim != 2:
        raise ValueError(f"attributions must be a 2-D map, got shape {attributions.shape}.")
    if not np.all(np.isfinite(attributions)):
        raise ValueError("attributions must be finite, got NaN or infinite values (a model whose scores are NaN?).")
    if not signed:
        attributions = np.maximum(attributions, 0)
    if size is not None and attributions.shape != tuple(size):
        attributions = transform.resize(attributions, size, order=1, mode="edge", anti_aliasing=False)
    peak = np.abs(attributions).max()
    return (attributions / peak if peak > 0 else attributions).astype(np.float32)


def saliency(model: keras.Model, image: np.ndarray, class_index: int, *, signed: bool = False) -> Heatmap:
    """Vanilla gradient saliency (Simonyan et al., 2014): |d score / d pixel|, maximum over channels.

    A magnitude has no sign: ``signed=True`` (the package's contract) gives the same heatmap.
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    gradient = _gradient_sum(model, 1, lambda start, stop: image[None], image.shape, class_index, 1)
    return to_heatmap(np.abs(gradient).max(axis=-1))


def smoothgrad(
    model: keras.Model,
    image: np.ndarray,
    class_index: int,
    *,
    n_samples: int = 50,
    noise_level: float = 0.15,
    seed: int = 0,
    batch_size: int = 64,
    signed: bool = False,
) -> Heatmap:
    """SmoothGrad (Smilkov et al., 2017): the gradient averaged over ``n_samples`` noisy copies.

    The copies are drawn batch by batch, so memory does not grow with ``n_samples``; the noise is the
    same, draw for draw, whatever ``batch_size``.

    Args:
        n_samples: noisy copies, predicted in batches of ``batch_size`` (fewer for large images, see
            :data:`utils.interpret.plumbing.MAX_BATCH_PIXELS`).
        noise_level: the noise's standard deviation as a fraction of the image's value range.
        seed: the seed of the noise; the same seed gives the same heatmap.
        signed: as for :func:`saliency`, a magnitude: the same heatmap.
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    n_samples = check_int("n_samples", n_samples)
    noise_level = _check_positive("noise_level", noise_level, allow_zero=True)
    sigma = noise_level * float(image.max() - image.min())
    rng = np.random.default_rng(seed)

    def noisy_copies(start: int, stop: int) -> np.ndarray:  # called in order: the draws follow one stream
        return image[None] + rng.normal(0.0, sigma, (stop - start, *image.shape)).astype(np.float32)

    total = _gradient_sum(model, n_samples, noisy_copies, image.shape, class_index, check_int("batch_size", batch_size))
    return to_heatmap(np.abs(total / n_samples).max(axis=-1))


def integrated_gradients_attributions(
    model: keras.Model,
    image: np.ndarray,
    class_index: int,
    *,
    baseline: float | np.ndarray | None = None,
    steps: int = 64,
    batch_size: int = 65,
) -> np.ndarray:
    """Integrated gradients' raw attributions (Sundararajan et al., 2017), shape (H, W, C).

    (image - baseline) times the gradient averaged along the straight path from ``baseline``
    (default: all zeros, a black image) to ``image``, by the trapezoidal rule over ``steps``
    intervals. Completeness: the attributions sum to score(image) - score(baseline) (pre-softmax),
    up to the error of the rule. The path is made and predicted ``batch_size`` images at a time.
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    steps = check_int("steps", steps)
    start = _baseline_image(baseline, image)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)[:, None, None, None]
    trapezoid = np.full(steps + 1, 1.0 / steps)
    trapezoid[[0, -1]] /= 2

    def path(first: int, stop: int) -> np.ndarray:
        return start[None] + alphas[first:stop] * (image - start)[None]

    mean_gradient = _gradient_sum(model, steps + 1, path, image.shape, class_index,
                                  check_int("batch_size", batch_size), trapezoid)
    return ((image - start) * mean_gradient).astype(np.float32)


def integrated_gradients(
    model: keras.Model, image: np.ndarray, class_index: int, *, signed: bool = False, **options: Any
) -> Heatmap:
    """Integrated gradients as a heatmap: the raw attributions summed over channels, positive part
    (``signed=True``: both signs, see :func:`to_heatmap`).

    ``options`` go to :func:`integrated_gradients_attributions`, which gives the raw attributions
    and documents the options.
    """
    attributions = integrated_gradients_attributions(model, image, class_index, **options).sum(axis=-1)
    return to_heatmap(attributions, signed=signed)


def occlusion_geometry(height: int, width: int) -> tuple[int, int]:
    """The default ``(patch_size, stride)`` of :func:`occlusion` for an image of ``height`` x ``width``.

    Both are fractions of the image's shorter side: the patch 1/7 of it and the stride 1/28 of it,
    rounded to the nearest pixel (halves up), at least 1. On a 28 x 28 image that is a 4-pixel patch
    moved 1 pixel at a time; on any image the patch covers the same share of it and about 25 x 25
    patch positions are predicted (18 and 5 pixels at 128 px, 32 and 8 at 224, 43 and 11 at 299).
    """
    side = min(check_int("height", height), check_int("width", width))
    return max(1, int(side / 7 + 0.5)), max(1, int(side / 28 + 0.5))


def occlusion(
    model: keras.Model,
    image: np.ndarray,
    class_index: int,
    *,
    patch_size: int | None = None,
    stride: int | None = None,
    baseline: float = 0.0,
    target: str = "logit",
    batch_size: int = DEFAULT_BATCH_SIZE,
    signed: bool = False,
) -> Heatmap:
    """Occlusion sensitivity (Zeiler & Fergus, 2014): how much the score drops when a patch is hidden.

    A ``patch_size`` square of value ``baseline`` slides over the image with ``stride``; every
    occluded copy is predicted and each pixel gets the mean drop of the patches that cover it.
    ``target="logit"`` (default) measures the pre-softmax score, which keeps changing where a
    confident probability stays stuck near 1; ``"probability"`` measures the probability. A patch
    whose hiding raises the score is evidence against the class (kept by ``signed=True``).

    Args:
        patch_size, stride: in pixels; by default they scale with the image, 1/7 and 1/28 of its
            shorter side (:func:`occlusion_geometry`: 4 and 1 on 28 x 28 images), so some 500 to
            850 copies are predicted at any size.
        batch_size: occluded copies made and predicted at once (fewer for large images, see
            :data:`utils.interpret.plumbing.MAX_BATCH_PIXELS`): memory does not grow with their number.
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    height, width = image.shape[:2]
    default_patch, default_stride = occlusion_geometry(height, width)
    patch_size = check_int("patch_size", default_patch if patch_size is None else patch_size, 1, min(height, width))
    stride = check_int("stride", default_stride if stride is None else stride)
    _check_target(target)
    batch_size = check_int("batch_size", batch_size)
    baseline = _baseline_value(baseline, image)
    positions = [(top, left) for top in _patch_starts(height, patch_size, stride)
                 for left in _patch_starts(width, patch_size, stride)]

    def occluded(start: int, stop: int) -> np.ndarray:  # copy 0: the image itself, for the reference score
        copies = np.repeat(image[None], stop - start, axis=0)
        for copy, index in zip(copies, range(start, stop)):
            if index > 0:
                top, left = positions[index - 1]
                copy[top:top + patch_size, left:left + patch_size] = baseline
        return copies

    scores = _streamed_scores(model, len(positions) + 1, occluded, image.shape, target, batch_size)[:, class_index]
    if _changed_nothing(scores, "occlusion"):
        return np.zeros((height, width), np.float32)
    drops = scores[0] - scores[1:]
    total, coverage = np.zeros((height, width)), np.zeros((height, width))
    for (top, left), drop in zip(positions, drops):
        total[top:top + patch_size, left:left + patch_size] += drop
        coverage[top:top + patch_size, left:left + patch_size] += 1
    return to_heatmap(np.divide(total, coverage, out=np.zeros_like(total), where=coverage > 0), signed=signed)


def _changed_nothing(scores: np.ndarray, method: str) -> bool:
    """True, with a warning, when no perturbation changed the class score: the map is then all zero (no
    evidence), not a picture of rounding noise stretched to full contrast."""
    scores = np.asarray(scores, dtype=np.float64)
    if np.ptp(scores) > 1e-6 * max(1.0, float(np.abs(scores).max())):
        return False
    warnings.warn(f"{method}: hiding parts of the image never changed the class score (e.g. a constant image "
                  "hidden with a baseline of the same value); the map is all zero: no evidence either way.",
                  stacklevel=3)
    return True


def _patch_starts(length: int, patch_size: int, stride: int) -> list[int]:
    """Patch positions along one axis; the last patch always touches the border."""
    starts = list(range(0, length - patch_size + 1, stride))
    if starts[-1] != length - patch_size:
        starts.append(length - patch_size)
    return starts


def cam(model: keras.Model, image: np.ndarray, class_index: int, *, signed: bool = False) -> Heatmap:
    """Class activation mapping (Zhou et al., 2016) for a global-average-pooling model.

    heatmap = sum_k W[k, class] * A_k, with A_k the feature maps pooled into the Dense layer of
    weights W; ReLU on that coarse map (not with ``signed=True``), then upsampled to the image size.
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    layer_name, dense = _gap_feature_layer(model)
    maps, _ = _maps_and_gradients(model, layer_name)(tf.constant(image[None]), tf.constant(class_index))
    weights = np.asarray(dense.kernel)[:, class_index]
    return to_heatmap(np.asarray(maps)[0] @ weights, image.shape[:2], signed=signed)


def _feature_maps(model, image, class_index, layer_name) -> tuple[np.ndarray, np.ndarray]:
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    if layer_name is None:
        layer_name = _default_feature_layer(model)
    maps, gradients = _maps_and_gradients(model, layer_name)(tf.constant(image[None]), tf.constant(class_index))
    maps, gradients = np.asarray(maps)[0], np.asarray(gradients)[0]
    if maps.ndim != 3:
        raise ValueError(f"layer_name {layer_name!r} must have 4-D output (N, h, w, channels), got {maps.ndim + 1}-D.")
    return maps, gradients


def grad_cam(
    model: keras.Model, image: np.ndarray, class_index: int, *, layer_name: str | None = None, signed: bool = False
) -> Heatmap:
    """Grad-CAM (Selvaraju et al., 2017): feature maps weighted by their mean gradient; the ReLU on
    that coarse map, then upsampled to the image size, in the paper's order.

    Args:
        layer_name: the layer whose feature maps are explained; by default "last_conv", else the
            model's last convolution, else the last layer of a nested backbone (e.g. InceptionV3)
            whose feature maps are larger than 1x1.
        signed: keep the negative part (no ReLU), see :func:`to_heatmap`.
    """
    maps, gradients = _feature_maps(model, image, class_index, layer_name)
    weights = gradients.mean(axis=(0, 1))
    return to_heatmap(maps @ weights, np.shape(image)[:2], signed=signed)


def grad_cam_plus_plus(
    model: keras.Model,
    image: np.ndarray,
    class_index: int,
    *,
    layer_name: str | None = None,
    normalize_alphas: bool = False,
    signed: bool = False,
) -> Heatmap:
    """Grad-CAM++ (Chattopadhyay et al., 2018): pixel-wise weights of the positive gradients.

    alpha = g^2 / (2 g^2 + sum(A) g^3) per position and channel (the paper's Eq. 19, the closed
    form for an exponential of the score), channel weight = sum(alpha * relu(g)); ReLU on the coarse
    map, then upsampled, as in :func:`grad_cam`.

    The default is the paper's formula, as pytorch-grad-cam computes it: it is what the paper
    derives and defends. ``normalize_alphas=True`` also divides each channel's alphas by their sum
    over positions, as the authors' released code and tf-keras-vis do; it changes how the channels
    are weighted against each other, so the two maps differ.

    Args:
        layer_name: as in :func:`grad_cam`.
        normalize_alphas: the released code's per-channel normalisation of the alphas.
        signed: keep the negative part (no ReLU), see :func:`to_heatmap`.
    """
    maps, gradients = _feature_maps(model, image, class_index, layer_name)
    g2, g3 = gradients**2, gradients**3
    denominator = 2 * g2 + maps.sum(axis=(0, 1)) * g3
    alphas = np.divide(g2, denominator, out=np.zeros_like(g2), where=denominator != 0)
    if normalize_alphas:
        totals = alphas.sum(axis=(0, 1))
        alphas = np.divide(alphas, totals, out=np.zeros_like(alphas), where=totals != 0)
    weights = (alphas * np.maximum(gradients, 0)).sum(axis=(0, 1))
    return to_heatmap(maps @ weights, np.shape(image)[:2], signed=signed)


# --- LIME --------------------------------------------------------------------------------------

def superpixels(
    image: np.ndarray, *, method: str = "slic", n_segments: int = 50, compactness: float = 0.1, grid_size: int = 4
) -> np.ndarray:
    """Split an image into superpixels: an int array (H, W) of labels 0, 1, ..., n - 1.

    ``"slic"`` (default; ``n_segments`` and ``compactness`` on the image scaled to [0, 1]) follows
    the strokes of a digit and tiles the background; ``"quickshift"`` is LIME's usual choice;
    ``"grid"`` cuts squares of ``grid_size`` pixels. (LIME's default quickshift settings give one
    superpixel on a 28x28 digit.)
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got {image.shape}.")
    n_segments = check_int("n_segments", n_segments)
    scaled = (image - image.min()) / max(float(image.max() - image.min()), 1e-12)
    if method == "slic":
        labels = segmentation.slic(
            scaled if scaled.shape[-1] == 3 else scaled.mean(axis=-1), n_segments=n_segments,
            compactness=_check_positive("compactness", compactness), channel_axis=-1 if scaled.shape[-1] == 3 else None,
            convert2lab=False, start_label=0, enforce_connectivity=True,
        )
    elif method == "quickshift":
        rgb = np.repeat(scaled.mean(axis=-1, keepdims=True), 3, axis=-1) if scaled.shape[-1] != 3 else scaled
        labels = segmentation.quickshift(rgb.astype(np.float64), kernel_size=1, max_dist=3, ratio=0.5,
                                         convert2lab=False, rng=0)
    elif method == "grid":
        grid_size = check_int("grid_size", grid_size)
        rows, cols = np.indices(image.shape[:2]) // grid_size
        labels = rows * int(np.ceil(image.shape[1] / grid_size)) + cols
    else:
        raise ValueError(f"method must be 'slic', 'quickshift' or 'grid', got {method!r}.")
    return np.unique(labels, return_inverse=True)[1].reshape(image.shape[:2]).astype(np.int64)


@dataclass(frozen=True)
class LimeExplanation:
    """LIME's local linear model: one weight per superpixel (``segments`` holds the labels)."""

    segments: np.ndarray
    weights: np.ndarray
    intercept: float

    def heatmap(self, *, signed: bool = False) -> Heatmap:
        """Each pixel gets its superpixel's weight (positive part, scaled to [0, 1]; ``signed=True``:
        both signs, see :func:`to_heatmap`)."""
        return to_heatmap(self.weights[self.segments], signed=signed)

    def top_segments(self, k: int) -> np.ndarray:
        """The labels of the ``k`` superpixels with the largest weights, largest first."""
        return np.argsort(-self.weights, kind="stable")[:k]


def lime_explanation(
    model: keras.Model,
    image: np.ndarray,
    class_index: int,
    *,
    n_samples: int = 1000,
    segments: np.ndarray | None = None,
    n_segments: int = 50,
    baseline: float = 0.0,
    kernel_width: float = 0.25,
    ridge_alpha: float = 1.0,
    target: str = "probability",
    seed: int = 0,
    masks: np.ndarray | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> LimeExplanation:
    """LIME (Ribeiro et al., 2016) on superpixels, as the ``lime`` package computes it, vectorised.

    ``n_samples`` random on/off masks over the superpixels (the first keeps them all), the image
    with switched-off superpixels set to ``baseline``, made and predicted ``batch_size`` at a time
    (fewer for large images, see :data:`utils.interpret.plumbing.MAX_BATCH_PIXELS`), so memory does
    not grow with ``n_samples``; each sample weighted by
    ``sqrt(exp(-d^2 / kernel_width^2))`` with d the cosine distance of its mask to all-on; then a
    weighted ridge regression (``ridge_alpha``, with intercept) of the class's ``target`` score on
    the masks.

    Args:
        segments: superpixel labels (H, W); default :func:`superpixels` with ``n_segments``.
        seed: the seed of the masks; the same seed gives the same explanation.
        masks: the samples themselves instead, 0/1 of shape (n_samples, n_superpixels) (e.g. to
            reproduce another implementation's draw); used as given, ``n_samples`` and ``seed`` ignored.
    """
    image = _check_image(_check_model(model), image)
    class_index = _check_class(model, class_index)
    n_samples = check_int("n_samples", n_samples, 2)
    _check_target(target)
    kernel_width = _check_positive("kernel_width", kernel_width)
    ridge_alpha = _check_positive("ridge_alpha", ridge_alpha, allow_zero=True)
    baseline = _baseline_value(baseline, image)
    if segments is None:
        segments = superpixels(image, n_segments=n_segments)
    segments = np.asarray(segments)
    if segments.shape != image.shape[:2] or not np.issubdtype(segments.dtype, np.integer) or segments.min() < 0:
        raise ValueError(f"segments must be non-negative integer labels of shape {image.shape[:2]}, "
                         f"got {segments.dtype} {segments.shape}.")
    segments = np.unique(segments, return_inverse=True)[1].reshape(segments.shape)
    n_features = int(segments.max()) + 1

    if masks is None:
        masks = np.random.default_rng(seed).integers(0, 2, (n_samples, n_features)).astype(np.float32)
        masks[0] = 1
    else:
        masks = np.asarray(masks, dtype=np.float32)
        if masks.ndim != 2 or masks.shape[1] != n_features or not np.isin(masks, (0, 1)).all():
            raise ValueError(f"masks must hold 0/1 of shape (n_samples, {n_features}) (one column per superpixel), "
                             f"got shape {masks.shape}.")

    def samples(start: int, stop: int) -> np.ndarray:
        keep = masks[start:stop][:, segments].astype(bool)  # (stop - start, H, W)
        return np.where(keep[..., None], image[None], np.float32(baseline))

    batch_size = check_int("batch_size", batch_size)
    scores = _streamed_scores(model, len(masks), samples, image.shape, target, batch_size)[:, class_index]
    scores = scores.astype(np.float64)
    if _changed_nothing(scores, "LIME"):
        return LimeExplanation(segments, np.zeros(n_features), float(scores.mean()))

    n_on = masks.sum(axis=1)
    cosine = np.divide(n_on, np.sqrt(n_on * n_features), out=np.zeros_like(n_on), where=n_on > 0)
    distances = 1.0 - cosine
    sample_weights = np.sqrt(np.exp(-(distances**2) / kernel_width**2)).astype(np.float64)
    weights, intercept = _weighted_ridge(masks.astype(np.float64), scores, sample_weights, ridge_alpha)
    return LimeExplanation(segments, weights, intercept)


def _weighted_ridge(x: np.ndarray, y: np.ndarray, sample_weights: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge regression with sample weights and an (unpenalised) intercept, in closed form."""
    w = sample_weights / sample_weights.sum()
    x_mean, y_mean = w @ x, w @ y
    xc, yc = x - x_mean, y - y_mean
    gram = (xc * sample_weights[:, None]).T @ xc + alpha * np.eye(x.shape[1])
    coefficients = np.linalg.solve(gram, (xc * sample_weights[:, None]).T @ yc)
    return coefficients, float(y_mean - x_mean @ coefficients)


def lime(model: keras.Model, image: np.ndarray, class_index: int, *, signed: bool = False, **options: Any) -> Heatmap:
    """LIME as a heatmap: each pixel gets its superpixel's weight (``signed`` as in :func:`to_heatmap`).

    ``options`` go to :func:`lime_explanation`, which gives the linear model itself and documents
    the options.
    """
    return lime_explanation(model, image, class_index, **options).heatmap(signed=signed)


@dataclass(frozen=True)
class Method:
    """One attribution method and its facts: the ``function`` (the package's contract), its
    ``title`` in figures and tables, and whether it ``takes_seed`` (its map depends on a ``seed``
    option, so the measures repeat it over seeds). Calling the record calls the function."""

    function: AttributionMethod
    title: str
    takes_seed: bool = False

    def __call__(self, model: keras.Model, image: np.ndarray, class_index: int, **options: Any) -> Heatmap:
        return self.function(model, image, class_index, **options)


# The registry: every attribution method by name (what evaluate_methods measures by default).
ATTRIBUTION_METHODS: dict[str, Method] = {
    "saliency": Method(saliency, "saliency"),
    "smoothgrad": Method(smoothgrad, "SmoothGrad", takes_seed=True),
    "integrated_gradients": Method(integrated_gradients, "integrated gradients"),
    "occlusion": Method(occlusion, "occlusion"),
    "cam": Method(cam, "CAM"),
    "grad_cam": Method(grad_cam, "Grad-CAM"),
    "grad_cam_plus_plus": Method(grad_cam_plus_plus, "Grad-CAM++"),
    "lime": Method(lime, "LIME", takes_seed=True),
}
