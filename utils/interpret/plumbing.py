"""The Keras plumbing of :mod:`utils.interpret`: argument checks, the model's pre-softmax score and
feature maps, and its compiled calls.

A model's pre-softmax score is its layer named ``"logits"``, or, when its last layer is a Dense
layer with softmax activation, that layer's weights applied without the softmax. The feature maps
that Grad-CAM explains by default are found by walking the Keras graph, into a nested backbone if
need be. Every model call is compiled with ``tf.function`` once per model (a free batch size) and
cached while the model lives.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from utils.images import check_int, check_number

DEFAULT_BATCH_SIZE = 256
TARGETS = ("logit", "probability")


# --- Checking arguments ------------------------------------------------------------------------

def _check_model(model: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
    return model


def _input_shape(model: keras.Model) -> tuple:
    return tuple(model.inputs[0].shape[1:])


def _check_image(model: keras.Model, image: Any, name: str = "image") -> np.ndarray:
    """Return ``image`` as float32 (H, W, C) after checking it fits ``model`` and holds finite values in
    the course's input scales: [0, 1] (``utils.models.to_model_input``) or [-1, 1]
    (``utils.transfer.inception_images``). A 0..255 image would be explained without a word."""
    image = np.asarray(image)
    if not np.issubdtype(image.dtype, np.floating):
        raise TypeError(
            f"{name} must be a float array (use utils.models.to_model_input to convert {image.dtype} images), "
            f"got dtype {image.dtype}."
        )
    expected = _input_shape(model)
    if image.ndim != 3:
        raise ValueError(
            f"{name} must be one image of shape (H, W, C) = {expected}; got shape {image.shape}"
            + (" (a batch? pass images[i])" if image.ndim == 4 else "") + "."
        )
    if any(e is not None and e != s for e, s in zip(expected, image.shape)):
        raise ValueError(f"{name} must have the model's input shape {expected}, got {image.shape}.")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} must hold finite values, got NaN or infinite ones.")
    if image.min() < -1 or image.max() > 1:
        raise ValueError(f"{name} must hold values in [0, 1] (utils.models.to_model_input) or [-1, 1] "
                         f"(InceptionV3's input), got values from {image.min():.3g} to {image.max():.3g}; "
                         "divide 0..255 images by 255 first, or convert them with to_model_input.")
    return image.astype(np.float32, copy=False)


def _n_classes(model: keras.Model) -> int:
    return int(model.outputs[0].shape[-1])


def _check_class(model: keras.Model, class_index: Any) -> int:
    return check_int("class_index (one of the model's classes)", class_index, 0, _n_classes(model) - 1)


def _check_positive(name: str, value: Any, allow_zero: bool = False) -> float:
    """A finite number above 0 (``allow_zero``: at least 0)."""
    return check_number(name, value, 0, exclusive=not allow_zero)


def _check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
    return target


def _image_scale(image: np.ndarray) -> tuple[float, float]:
    """The scale of a checked image: [0, 1] (``to_model_input``), or [-1, 1] when it holds negative values
    (InceptionV3's input)."""
    return (0.0, 1.0) if image.min() >= 0 else (-1.0, 1.0)


def _baseline_value(baseline: Any, image: np.ndarray) -> float:
    """A baseline grey level, checked to lie on ``image``'s scale (a 0..255 level or NaN is refused)."""
    low, high = _image_scale(image)
    return check_number(f"baseline (a grey level on the image's scale, {low:g} to {high:g}; divide 0..255 levels "
                        "by 255)", baseline, low, high)


def _baseline_image(baseline: float | np.ndarray | None, image: np.ndarray) -> np.ndarray:
    """A baseline the shape of ``image``: a constant (default 0, black) or an array like the image, on the
    image's scale."""
    if baseline is None:
        return np.zeros_like(image)
    if np.ndim(baseline) == 0:
        return np.full_like(image, _baseline_value(np.asarray(baseline).item(), image))
    baseline = np.asarray(baseline)
    if baseline.shape != image.shape or not np.issubdtype(baseline.dtype, np.number):
        raise ValueError(f"baseline must be a number or an array of the image's shape {image.shape}, got "
                         f"{baseline.dtype} {baseline.shape}.")
    if not np.all(np.isfinite(baseline)):
        raise ValueError("baseline must hold finite values, got NaN or infinite ones.")
    low, high = _image_scale(image)
    if baseline.min() < low or baseline.max() > high:
        raise ValueError(f"baseline must hold values on the image's scale, {low:g} to {high:g}, got values from "
                         f"{baseline.min():.3g} to {baseline.max():.3g}; divide 0..255 levels by 255.")
    return baseline.astype(np.float32)


# --- The model's pre-softmax score, feature maps and compiled calls ----------------------------

class _PreSoftmax(keras.layers.Layer):
    """The pre-softmax score of a Dense layer with softmax activation: its own weights, no softmax."""

    def __init__(self, dense: keras.layers.Dense, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense

    def call(self, inputs):
        scores = keras.ops.matmul(inputs, self.dense.kernel)
        return scores + self.dense.bias if self.dense.use_bias else scores


def _layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _producer(tensor) -> Any:
    """The layer whose call produced a symbolic tensor (None if unknown)."""
    history = getattr(tensor, "_keras_history", None)
    return history.operation if history is not None else None


def _is_softmax_dense(layer: Any) -> bool:
    return isinstance(layer, keras.layers.Dense) and getattr(layer.activation, "__name__", "") == "softmax"


def _score_layer(model: keras.Model) -> keras.layers.Layer:
    """The layer that holds the pre-softmax score: "logits", or a last Dense with softmax."""
    names = [layer.name for layer in _layers(model)]
    if "logits" in names:
        return model.get_layer("logits")
    if _is_softmax_dense(_layers(model)[-1]):
        return _layers(model)[-1]
    raise ValueError(
        "model must have a layer named 'logits' (the pre-softmax scores) or end with a Dense layer "
        f"with softmax activation; its layers are {names}."
    )


def _score_of(layer: keras.layers.Layer, inputs, outputs):
    """The pre-softmax score computed by ``layer`` given its input and output tensors."""
    return _PreSoftmax(layer)(inputs) if _is_softmax_dense(layer) else outputs


def _layer_path(model: keras.Model, layer_name: str) -> list:
    """[layer] for a top-level layer, or [sub_model, layer] for a layer inside a nested model."""
    for layer in _layers(model):
        if layer.name == layer_name:
            return [layer]
    for layer in _layers(model):
        if isinstance(layer, keras.Model):
            for inner in _layers(layer):
                if inner.name == layer_name:
                    return [layer, inner]
    raise ValueError(f"layer_name {layer_name!r} is not a layer of the model (or of a model nested in it).")


def _is_map(layer: keras.layers.Layer) -> bool:
    """True for a layer whose output is a stack of feature maps (N, h, w, channels) larger than 1x1."""
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return False
    return len(shape) == 4 and not (shape[1] == 1 and shape[2] == 1)


def _cut_points(model: keras.Model) -> list:
    """The layers every path from input to output goes through (in a network with branches, such as
    InceptionV3, the ends of its blocks, e.g. "mixed7", not a layer inside one branch)."""
    layers = _layers(model)
    position = {id(layer): i for i, layer in enumerate(layers)}
    skipped = np.zeros(len(layers) + 1, int)  # +1 where an edge starts skipping layers, -1 where it stops
    for j, layer in enumerate(layers):
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        for tensor in inputs:
            i = position.get(id(_producer(tensor)))
            if i is not None and j - i > 1:
                skipped[i + 1] += 1
                skipped[j] -= 1
    return [layer for layer, skips in zip(layers, np.cumsum(skipped)) if skips == 0]


def _default_feature_layer(model: keras.Model) -> str:
    """The layer Grad-CAM explains by default: "last_conv", else the model's last convolution, else
    the last block output of a nested backbone whose feature maps are larger than 1x1 (InceptionV3 on
    75x75 images: "mixed7", 3x3; its last block, "mixed10", is 1x1 there and would give a flat map)."""
    layers = _layers(model)
    if any(layer.name == "last_conv" for layer in layers):
        return "last_conv"
    convs = [layer for layer in layers if not isinstance(layer, keras.Model) and _is_map(layer)
             and "Conv" in type(layer).__name__]
    if convs:
        return convs[-1].name
    for sub_model in reversed([layer for layer in layers if isinstance(layer, keras.Model)]):
        maps = [layer for layer in _cut_points(sub_model) if _is_map(layer)]
        if maps:
            return maps[-1].name
    raise ValueError("model has no convolution layer to explain; pass layer_name=<a layer with 4-D output>.")

def _gap_feature_layer(model: keras.Model) -> tuple[str, keras.layers.Layer]:
    """For CAM: the name of the feature-map layer that global average pooling feeds into the
    pre-softmax Dense layer (possibly inside a backbone built with ``pooling="avg"``), and that Dense layer."""
    dense = _score_layer(model)
    producer = _producer(dense.input) if isinstance(dense, keras.layers.Dense) else None
    while isinstance(producer, keras.layers.Dropout):  # dropout does nothing at inference
        producer = _producer(producer.input)
    if isinstance(producer, keras.Model):  # a nested backbone: its last layer
        producer = _producer(producer.outputs[0])
    if isinstance(producer, keras.layers.GlobalAveragePooling2D):
        maps = _producer(producer.input)
        if maps is not None:
            return maps.name, dense
    raise ValueError(
        "cam needs a model whose pre-softmax Dense layer sits right after GlobalAveragePooling2D "
        "(e.g. utils.models.build_gap_cnn); use grad_cam for other models."
    )




def _maps_and_scores_model(model: keras.Model, layer_name: str) -> keras.Model:
    """A model image -> (the feature maps of ``layer_name``, the pre-softmax scores)."""
    path = _layer_path(model, layer_name)
    score_layer = _score_layer(model)
    if len(path) == 1:
        scores = _score_of(score_layer, score_layer.input, score_layer.output)
        return keras.Model(model.inputs, [path[0].output, scores])
    # The layer lives inside a nested model (e.g. an InceptionV3 backbone): rebuild the outer graph
    # with the same layers, calling a version of the nested model that also returns the maps.
    sub_model, layer = path
    split = keras.Model(sub_model.inputs, [layer.output, sub_model.output])
    found = {}

    def call(outer, *args, **kwargs):
        if outer is sub_model:
            found["maps"], outputs = split(*args, **kwargs)
            return outputs
        outputs = outer(*args, **kwargs)
        if outer is score_layer:
            found["scores"] = _PreSoftmax(outer)(*args) if _is_softmax_dense(outer) else outputs
        return outputs

    if isinstance(model, keras.Sequential):
        inputs = x = keras.Input(_input_shape(model))
        for outer in _layers(model):
            x = call(outer, x)
    else:
        inputs = keras.models.clone_model(model, clone_function=lambda same: same, call_function=call).inputs
    return keras.Model(inputs, [found["maps"], found["scores"]])


@dataclass
class _Compiled:
    """The compiled calls of one model."""

    forward: Callable  # images -> (pre-softmax scores, probabilities)
    input_gradients: Callable  # images, class -> d score[class] / d images
    maps: dict  # layer name -> compiled images, class -> (feature maps, d score / d maps)


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(model: keras.Model) -> _Compiled:
    """Compile the model's calls once (``tf.function`` with a free batch size) and cache them."""
    if model in _COMPILED:
        return _COMPILED[model]
    score_layer = _score_layer(model)
    scores = _score_of(score_layer, score_layer.input, score_layer.output)
    score_model = keras.Model(model.inputs, [scores, model.outputs[0]])
    images_spec = tf.TensorSpec((None, *_input_shape(model)), tf.float32)
    class_spec = tf.TensorSpec((), tf.int32)

    @tf.function(input_signature=[images_spec])
    def forward(images):
        return score_model(images, training=False)

    @tf.function(input_signature=[images_spec, class_spec])
    def input_gradients(images, class_index):
        with tf.GradientTape() as tape:
            tape.watch(images)
            score = tf.reduce_sum(score_model(images, training=False)[0][:, class_index])
        return tape.gradient(score, images)

    compiled = _Compiled(forward, input_gradients, {})
    _COMPILED[model] = compiled
    return compiled


def _maps_and_gradients(model: keras.Model, layer_name: str) -> Callable:
    compiled = _compiled(model)
    if layer_name not in compiled.maps:
        maps_model = _maps_and_scores_model(model, layer_name)
        images_spec = tf.TensorSpec((None, *_input_shape(model)), tf.float32)

        @tf.function(input_signature=[images_spec, tf.TensorSpec((), tf.int32)])
        def maps_and_gradients(images, class_index):
            with tf.GradientTape() as tape:
                maps, scores = maps_model(images, training=False)
                score = tf.reduce_sum(scores[:, class_index])
            return maps, tape.gradient(score, maps)

        compiled.maps[layer_name] = maps_and_gradients
    return compiled.maps[layer_name]


MAX_BATCH_PIXELS = 2**20  # pixels (H x W) in one model call: 256 images of 28 x 28, 64 of 128 x 128, 11 of 299 x 299


def _batch_ranges(n: int, image_shape: tuple, batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of each model call over ``n`` images: ``batch_size`` images per call, fewer for
    large images so that a call holds at most :data:`MAX_BATCH_PIXELS` pixels (its activations, and
    their gradients, then stay within a few hundred MB at any image size)."""
    step = max(1, min(batch_size, MAX_BATCH_PIXELS // max(1, image_shape[0] * image_shape[1])))
    return [(start, min(start + step, n)) for start in range(0, n, step)]


def _in_batches(function: Callable, n: int, make_batch: Callable, image_shape: tuple, batch_size: int,
                *args) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(start, stop, outputs)`` of ``function`` on images ``start:stop`` of ``n``, made batch by
    batch by ``make_batch(start, stop)``: only one batch of images is ever in memory."""
    for start, stop in _batch_ranges(n, image_shape, batch_size):
        result = function(tf.constant(make_batch(start, stop), tf.float32), *args)
        yield start, stop, (tuple(np.asarray(r) for r in result) if isinstance(result, (tuple, list))
                            else np.asarray(result))


def predict_scores(
    model: keras.Model, images: np.ndarray, *, target: str = "logit", batch_size: int = DEFAULT_BATCH_SIZE
) -> np.ndarray:
    """The model's pre-softmax scores (``target="logit"``) or probabilities for a batch (N, H, W, C).

    At most ``batch_size`` images go through the model at once, fewer for large images (see
    :data:`MAX_BATCH_PIXELS`).
    """
    _check_model(model)
    _check_target(target)
    batch_size = check_int("batch_size", batch_size)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}.")
    if not np.all(np.isfinite(images)):
        raise ValueError("images must hold finite values, got NaN or infinite ones.")
    return _streamed_scores(model, len(images), lambda start, stop: images[start:stop], images.shape[1:],
                            target, batch_size)


def _streamed_scores(model, n, make_batch, image_shape, target, batch_size) -> np.ndarray:
    """Scores (n, classes) of ``n`` images made batch by batch by ``make_batch(start, stop)``."""
    outputs = _in_batches(_compiled(model).forward, n, make_batch, image_shape, batch_size)
    return np.concatenate([scores if target == "logit" else probs for _, _, (scores, probs) in outputs])


def _class_scores(model, images, class_index, target, batch_size) -> np.ndarray:
    return predict_scores(model, images, target=target, batch_size=batch_size)[:, class_index]


def _gradient_sum(model, n, make_batch, image_shape, class_index, batch_size, weights=None) -> np.ndarray:
    """The gradients of the class score at ``n`` images made batch by batch by ``make_batch(start, stop)``,
    summed with ``weights`` (n,) (default 1 each) in float64: shape (H, W, C)."""
    total = np.zeros(image_shape, np.float64)
    outputs = _in_batches(_compiled(model).input_gradients, n, make_batch, image_shape, batch_size,
                          tf.constant(class_index, tf.int32))
    for start, stop, gradients in outputs:
        total += (gradients.sum(axis=0, dtype=np.float64) if weights is None
                  else np.tensordot(weights[start:stop], gradients.astype(np.float64), axes=1))
    return total


_ASCENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ascent(model: keras.Model) -> Callable:
    """The whole gradient ascent of :func:`activation_maximization` as one compiled loop."""
    if model not in _ASCENTS:
        score_layer = _score_layer(model)
        score_model = keras.Model(model.inputs, _score_of(score_layer, score_layer.input, score_layer.output))

        @tf.function
        def ascend(image, shifts, blur, class_index, learning_rate, l2, kernel, low, high):
            for i in tf.range(tf.shape(shifts)[0]):
                with tf.GradientTape() as tape:
                    tape.watch(image)
                    score = score_model(tf.roll(image, shifts[i], axis=(1, 2)), training=False)[0, class_index]
                    objective = score - l2 * tf.reduce_sum(image**2)
                gradient = tape.gradient(objective, image)
                image += learning_rate * gradient / (tf.math.reduce_std(gradient) + 1e-8)
                if blur[i]:
                    image = tf.nn.depthwise_conv2d(image, kernel, [1, 1, 1, 1], "SAME")
                image = tf.clip_by_value(image, low, high)
            return image

        _ASCENTS[model] = ascend
    return _ASCENTS[model]

