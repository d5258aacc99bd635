"""How a network learns, in small (notebook 03): one neuron with two weights, trained by gradient
descent with ``tf.GradientTape``, so that its whole loss surface and the path of its steps can be
drawn; and what a comparison of learning rates shows, in a sentence.

The neuron reads one number per image, ``z``, and says how likely the image is of the second of two
classes: ``p = sigmoid(w * z + b)``. Its loss is the binary cross-entropy, the two-class case of the
loss a CNN minimises. A CNN has many more weights, but each training step is the one of
:func:`gradient_descent`: the loss, its gradient by backpropagation, a step against the gradient.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from utils.images import as_float_images, check_int, check_number


def pair_feature(
    images: Any, labels: Any, classes: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """One number per image of two classes, for a one-neuron classifier.

    The number is the image's pixels weighted by the difference of the two classes' mean images
    (large where the second class is brighter on average), standardised to mean 0 and standard
    deviation 1 over the pair's images.

    Args:
        images: grey images (N, H, W), uint8 0..255 or floats in [0, 1].
        labels: the class of each image, integers.
        classes: the two classes ``(a, b)``; by default the two whose mean images are closest
            (Euclidean distance), so that the classes overlap and the loss has a minimum.

    Returns:
        ``(z, t, classes)``: the number of each image of the two classes (float32), its target
        (0.0 for ``a``, 1.0 for ``b``) and the pair ``(a, b)``.
    """
    images = as_float_images(images, channels=1)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of integers, one per image ({len(images)}), "
                         f"got shape {labels.shape} and dtype {labels.dtype}.")
    present = np.unique(labels)
    if len(present) < 2:
        raise ValueError(f"labels must hold at least two classes, got {present.tolist()}.")
    vectors = images.reshape(len(images), -1)
    if classes is None:
        means = np.stack([vectors[labels == c].mean(axis=0) for c in present])
        distances = np.linalg.norm(means[:, None] - means[None], axis=-1)
        distances[np.diag_indices(len(present))] = np.inf
        i, j = np.unravel_index(np.argmin(distances), distances.shape)
        classes = (int(present[min(i, j)]), int(present[max(i, j)]))
    if len(classes) != 2 or classes[0] == classes[1] or not set(classes) <= set(present.tolist()):
        raise ValueError(f"classes must be two different classes of labels {present.tolist()}, got {classes!r}.")
    a, b = classes
    template = vectors[labels == b].mean(axis=0) - vectors[labels == a].mean(axis=0)
    chosen = np.isin(labels, classes)
    z = vectors[chosen] @ template
    z = ((z - z.mean()) / (z.std() or 1.0)).astype(np.float32)
    return z, (labels[chosen] == b).astype(np.float32), (a, b)


def neuron_loss(weights: Any, z: Any, t: Any) -> tf.Tensor:
    """The mean binary cross-entropy of the neuron ``p = sigmoid(w * z + b)``.

    Args:
        weights: ``(w, b)``, shape (2,); or many pairs, shape (..., 2), for a loss each.
        z: the neuron's input, one number per image, shape (N,).
        t: the targets, 0.0 or 1.0, shape (N,).

    Returns:
        The loss, ``-mean(t log p + (1 - t) log(1 - p))``: a scalar, or shape (...) for many pairs.
    """
    weights = tf.convert_to_tensor(weights, dtype=tf.float32)
    logits = weights[..., 0:1] * z + weights[..., 1:2]  # w * z + b, for every image
    t = tf.broadcast_to(tf.convert_to_tensor(t, dtype=tf.float32), tf.shape(logits))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=t, logits=logits), axis=-1)


@dataclass(frozen=True)
class DescentPath:
    """The steps of gradient descent on :func:`neuron_loss`.

    Attributes:
        weights: ``(w, b)`` at the start and after each step, shape (steps + 1, 2).
        losses: the loss at each of those points, shape (steps + 1,).
        learning_rate: the step size.
    """

    weights: np.ndarray
    losses: np.ndarray
    learning_rate: float


def _check_pair(z: Any, t: Any) -> tuple[np.ndarray, np.ndarray]:
    z, t = np.asarray(z, dtype=np.float32), np.asarray(t, dtype=np.float32)
    if z.ndim != 1 or len(z) == 0 or t.shape != z.shape:
        raise ValueError(f"z and t must be 1-D arrays of the same non-zero length, got shapes {z.shape} and {t.shape}.")
    if not np.all(np.isin(t, (0.0, 1.0))):
        raise ValueError("t must hold targets 0.0 or 1.0.")
    if not np.all(np.isfinite(z)):
        raise ValueError("z must hold finite numbers.")
    return z, t


def gradient_descent(
    z: Any, t: Any, *, start: Sequence[float] = (0.0, 0.0), learning_rate: float = 1.0, steps: int = 20
) -> DescentPath:
    """Train the neuron ``p = sigmoid(w * z + b)`` by plain gradient descent on all images at once.

    Each step computes the loss while ``tf.GradientTape`` records it, asks the tape for the
    gradient (backpropagation) and moves both weights against it:
    ``(w, b) <- (w, b) - learning_rate * gradient``.

    Args:
        z, t: the input and the targets, as for :func:`neuron_loss`.
        start: the weights ``(w, b)`` to start from.
        learning_rate: the step size, a positive number.
        steps: the number of steps.
    """
    z, t = _check_pair(z, t)
    check_number("learning_rate", learning_rate, 0, exclusive=True)
    check_int("steps", steps)
    if len(start) != 2:
        raise ValueError(f"start must be two numbers (w, b), got {start!r}.")
    weights = tf.Variable(np.asarray(start, dtype=np.float32))
    path, losses = [], []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = neuron_loss(weights, z, t)
        gradient = tape.gradient(loss, weights)
        path.append(weights.numpy())
        losses.append(float(loss))
        weights.assign_sub(learning_rate * gradient)
    path.append(weights.numpy())
    losses.append(float(neuron_loss(weights, z, t)))
    return DescentPath(np.stack(path), np.array(losses), float(learning_rate))


def loss_surface(z: Any, t: Any, w_values: Any, b_values: Any) -> np.ndarray:
    """The neuron's loss at every pair of a grid of weights.

    Args:
        z, t: the input and the targets, as for :func:`neuron_loss`.
        w_values, b_values: the values of ``w`` (columns) and ``b`` (rows) of the grid.

    Returns:
        Shape (len(b_values), len(w_values)): the loss at ``(w_values[j], b_values[i])`` in ``[i, j]``.
    """
    z, t = _check_pair(z, t)
    w_values, b_values = np.asarray(w_values, dtype=np.float32), np.asarray(b_values, dtype=np.float32)
    if w_values.ndim != 1 or b_values.ndim != 1 or len(w_values) < 2 or len(b_values) < 2:
        raise ValueError("w_values and b_values must be 1-D arrays of at least two values each.")
    rows = [neuron_loss(np.stack([w_values, np.full_like(w_values, b)], axis=-1), z, t).numpy()
            for b in b_values]  # one row of the grid at a time, to keep memory small
    return np.stack(rows)


def describe_learning_rates(histories: Mapping[float, Mapping[str, Sequence[float]]], *, n_classes: int) -> str:
    """Sentences on what the learning rates of an experiment did, from their Keras histories.

    The rate with the lowest validation loss at the last epoch is named first; each other rate is
    compared with it. A rate whose validation loss never fell clearly below the loss of guessing
    (``log(n_classes)``, the cross-entropy of equal probabilities for every class) did not learn.

    Args:
        histories: learning rate -> its Keras history (per-epoch ``val_loss`` at least).
        n_classes: the number of classes (for the loss of guessing).
    """
    check_int("n_classes", n_classes, 2)
    if not histories or any("val_loss" not in h or len(h["val_loss"]) == 0 for h in histories.values()):
        raise ValueError("histories must map each learning rate to a Keras history with a non-empty 'val_loss'.")
    guessing = math.log(n_classes)
    losses = {float(rate): [float(v) for v in h["val_loss"]] for rate, h in histories.items()}
    best = min(losses, key=lambda rate: losses[rate][-1])
    if min(losses[best]) > 0.9 * guessing:
        return (f"No learning rate learned in this budget: every validation loss stayed near {guessing:.2f}, "
                "the loss of guessing.")
    sentences = [f"Learning rate {best:g} ends with the lowest validation loss ({losses[best][-1]:.3f})."]
    for rate in sorted(losses):
        loss = losses[rate]
        near_guessing = min(loss) > 0.9 * guessing
        still_falling = len(loss) > 1 and loss[-1] < min(loss[:-1])
        if rate < best:
            sentences.append(f"The smaller rate {rate:g} ends at {loss[-1]:.3f}" + (
                f", still near {guessing:.2f}, the loss of guessing: its steps are too small to get anywhere "
                "in this budget." if near_guessing else
                ", still falling at the last epoch: it learns more slowly and would need more epochs."
                if still_falling else ", no longer falling."))
        elif rate > best:
            sentences.append(f"The larger rate {rate:g}" + (
                f" did not learn: its validation loss stayed near {guessing:.2f}, the loss of guessing every "
                "class with equal probability. Its steps were so large that training went astray instead "
                "of downhill." if near_guessing else
                f" ends at {loss[-1]:.3f}, still falling." if still_falling else
                f" ends at {loss[-1]:.3f}, no longer falling: steps this large tend to jump around a minimum instead "
                "of settling into it."))
    return " ".join(sentences)
