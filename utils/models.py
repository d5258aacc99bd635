"""The course's CNNs (notebooks 03 to 06): the classic MNIST convnet, a CNN for class activation maps,
the input they take, and parameter counts.

Training them (with a cache) is in ``utils.training``; InceptionV3 transfer learning in ``utils.transfer``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from utils.images import as_float_images, check_int

SEED = 0


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Turn images into what the course CNNs take: float32 of shape (N, H, W, C), values in [0, 1].

    Args:
        images: (N, H, W) or (N, H, W, C); uint8 0..255, or floats already in [0, 1]
            (see :func:`utils.images.as_float_images`: floats above 1 are an error, not divided by 255).
    """
    images = as_float_images(images)
    return images[..., np.newaxis] if images.ndim == 3 else images


Augmentation = Callable[[], keras.layers.Layer]


def _image_input(input_shape: tuple[int, ...], augmentation: Augmentation | None) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The model's input and what its first convolution sees: the image, randomly transformed by
    ``augmentation()`` during training (Keras' random layers pass images unchanged at inference)."""
    inputs = keras.Input(shape=input_shape, name="image")
    if augmentation is None:
        return inputs, inputs
    if not callable(augmentation) or isinstance(augmentation, keras.layers.Layer):
        raise TypeError("augmentation must be a function that returns new Keras layers (e.g. a keras.Sequential "
                        f"of random layers), so every model gets its own; got {augmentation!r}.")
    return inputs, augmentation()(inputs)


def build_mnist_cnn(
    n_classes: int = 10, input_shape: tuple[int, ...] = (28, 28, 1), *, augmentation: Augmentation | None = None
) -> keras.Model:
    """The classic Keras MNIST convnet: two convolution + pooling blocks, then a dense classifier.

    Layers worth knowing by name: ``conv1`` and ``conv2`` (feature maps), ``features`` (the
    128 learned features), ``logits`` (before softmax) and ``probabilities`` (the output).
    The convolutions pad with zeros (``padding="same"``), so the maps keep the image's size
    until pooling halves it: 28 -> 14 -> 7. (Without padding, 28 -> 26 -> 13 -> 11 -> 5; the
    padded network is about 1 percentage point better on Fashion-MNIST.)

    Args:
        n_classes: the number of classes (outputs).
        input_shape: (H, W, C): C = 1 for grey images, 3 for colour.
        augmentation: optional; a function called without arguments that returns Keras layers
            (e.g. ``keras.Sequential([keras.layers.RandomTranslation(0.1, 0.1)])``) put between the
            input and ``conv1``: they transform each image at random in training, not at inference.
    """
    _check_classes(n_classes)
    inputs, x = _image_input(input_shape, augmentation)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(128, activation="relu", name="features")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    x = keras.layers.Dense(n_classes, name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")


def build_gap_cnn(
    n_classes: int = 10,
    input_shape: tuple[int, ...] = (28, 28, 1),
    *,
    augmentation: Augmentation | None = None,
    filters: tuple[int, ...] = (32, 64, 64),
) -> keras.Model:
    """A CNN that ends in global average pooling, so that class activation maps (CAM) apply.

    ``same``-padded 3 x 3 convolutions, one per entry of ``filters``, each but the last followed by
    2 x 2 max pooling; the last one is ``last_conv`` (7 x 7 x 64 on a 28 x 28 image with the
    defaults). Then ``gap`` averages each feature map to one number and ``logits`` weighs them:
    the CAM of class c is ``sum_k W_logits[k, c] * last_conv[..., k]``. Other arguments as for
    :func:`build_mnist_cnn`.

    Args:
        filters: the number of feature maps of each convolution. A larger image needs more of them:
            the defaults' ``last_conv`` sees 18 x 18 pixels, which is most of a 28-pixel digit but a
            small patch of a 128-pixel scan, and averaging such patches cannot tell a lesion's shape.
            At 128 px, ``(16, 32, 64, 128, 128)`` pools four times (``last_conv`` 8 x 8, each
            cell seeing 78 x 78 pixels) for fewer multiplications than the defaults.
    """
    _check_classes(n_classes)
    if not isinstance(filters, (tuple, list)) or not filters or not all(
            isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in filters):
        raise ValueError(f"filters must be a non-empty tuple of positive integers, got {filters!r}.")
    inputs, x = _image_input(input_shape, augmentation)
    for block, width in enumerate(filters[:-1], start=1):
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{block}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.Conv2D(filters[-1], 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(n_classes, name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="gap_cnn")


def _check_classes(n_classes: int) -> None:
    check_int("n_classes", n_classes, 2)


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """Total, trainable and non-trainable parameters of ``model`` (as ``model.summary()`` counts)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


def output_activation(model: keras.Model) -> str | None:
    """The activation of the layer that makes ``model``'s output (``"softmax"``, ``"sigmoid"``, ``"linear"``,
    ...), looking into a nested model that makes it, and through an average of outputs of one activation
    (an ensemble's mean of probabilities is a probability); None when no layer says (e.g. a Lambda layer).

    Prediction and training read the output as probabilities: a model whose output is logits (no softmax)
    would be read wrongly without a word, so :mod:`utils.serving` and :mod:`utils.training` ask this first.
    """
    return _activation_of(model.outputs[0])


def _activation_of(tensor) -> str | None:
    history = getattr(tensor, "_keras_history", None)
    layer = history.operation if history is not None else None
    if isinstance(layer, keras.Model):
        return _activation_of(layer.outputs[0])
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if isinstance(layer, keras.layers.Average):
        kinds = {_activation_of(t) for t in layer.input}
        return kinds.pop() if len(kinds) == 1 else None
    return getattr(getattr(layer, "activation", None), "__name__", None)
