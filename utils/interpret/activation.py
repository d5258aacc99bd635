"""Activation maximization: the input image a model scores highest for a class (not an attribution
method: it explains a class, not one image's prediction)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from utils.images import check_int
from utils.interpret.plumbing import _ascent, _check_class, _check_model, _check_positive, _input_shape


def _gaussian_kernel(sigma: float, channels: int) -> tf.Tensor:
    radius = max(1, int(np.ceil(2 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    line = np.exp(-(x**2) / (2 * sigma**2))
    kernel = np.outer(line, line) / np.outer(line, line).sum()
    return tf.constant(np.tile(kernel[:, :, None, None], (1, 1, channels, 1)), tf.float32)


def activation_maximization(
    model: keras.Model,
    class_index: int,
    *,
    steps: int = 300,
    learning_rate: float = 0.1,
    l2: float = 0.02,
    jitter: int = 2,
    blur_every: int = 5,
    blur_sigma: float = 0.5,
    value_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
) -> np.ndarray:
    """An input image that maximises the class's pre-softmax score (gradient ascent), shape (H, W, C).

    The score is the pre-softmax one: maximising the softmax probability can also be done by
    lowering the other classes, which gives images that say nothing about the class itself.
    Regularisers make the image look like something: an L2 penalty (``l2``) keeps pixels dark,
    random shifts of up to ``jitter`` pixels each step and a Gaussian blur every ``blur_every``
    steps remove high-frequency noise; pixels are clipped to ``value_range`` (the model's input range).
    """
    _check_model(model)
    class_index = _check_class(model, class_index)
    steps = check_int("steps", steps)
    jitter = check_int("jitter", jitter, 0)
    blur_every = check_int("blur_every", blur_every, 0)
    learning_rate = _check_positive("learning_rate", learning_rate)
    l2 = _check_positive("l2", l2, allow_zero=True)
    shape = _input_shape(model)
    if any(s is None for s in shape):
        raise ValueError(f"activation_maximization needs a model with a fixed input shape, got {shape}.")
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}.")
    kernel = _gaussian_kernel(_check_positive("blur_sigma", blur_sigma), shape[-1])
    rng = np.random.default_rng(seed)
    start = np.clip(low + (high - low) * (0.5 + 0.1 * rng.standard_normal((1, *shape))), low, high)
    shifts = rng.integers(-jitter, jitter + 1, size=(steps, 2)) if jitter else np.zeros((steps, 2), int)
    blur = (np.arange(1, steps + 1) % blur_every == 0) if blur_every else np.zeros(steps, bool)
    image = _ascent(model)(
        tf.constant(start, tf.float32), tf.constant(shifts, tf.int32), tf.constant(blur),
        tf.constant(class_index, tf.int32), tf.constant(learning_rate, tf.float32), tf.constant(l2, tf.float32),
        kernel, tf.constant(low, tf.float32), tf.constant(high, tf.float32))
    return image.numpy()[0]
