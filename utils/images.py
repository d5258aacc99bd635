"""One rule for images, and the argument checks every module shares.

The rule: images are either whole numbers 0..255 (``uint8``, as every loader returns them) or
floats in [0, 1]. :func:`as_float_images` turns both into ``float32`` in [0, 1]; a float image
with values above 1 is an error, never silently divided by 255, because a float image that is
already in [0, 1] and one in 0..255 cannot be told apart by looking at a few pixels.

Layouts: a batch is ``(N, H, W)`` (grey) or ``(N, H, W, C)``; one image is ``(H, W)`` or
``(H, W, C)``. Errors name the argument and say what was expected.

The argument checks (:func:`check_int`, :func:`check_number`) follow scikit-learn's
``check_scalar``: a value of the wrong type is a ``TypeError``, one out of range a ``ValueError``.
The type error is :class:`ArgumentTypeError`, also a ``ValueError`` (as NumPy's ``AxisError`` is both
a ``ValueError`` and an ``IndexError``), so code written for either keeps catching it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (e.g. ``epochs=2.5``): a TypeError that is also a ValueError."""


_WHOLE = (int, np.integer)
_REAL = (int, float, np.integer, np.floating)


def check_int(name: str, value: Any, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int`` after checking it is a whole number in ``[minimum, maximum]``.

    Raises:
        ArgumentTypeError: not a whole number (``bool``, ``float``, ``str``, ``None`` ... are refused).
        ValueError: below ``minimum`` or above ``maximum``.
    """
    if isinstance(value, bool) or not isinstance(value, _WHOLE):
        raise ArgumentTypeError(f"{name} must be a whole number{_range(minimum, maximum)}, got {value!r}.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be a whole number{_range(minimum, maximum)}, got {value!r}.")
    return int(value)


def check_number(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    exclusive: bool = False,
) -> float:
    """``value`` as a ``float`` after checking it is a finite real number in ``[minimum, maximum]``
    (``exclusive=True``: in the open interval).

    Raises:
        ArgumentTypeError: not a real number.
        ValueError: NaN, infinite or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, _REAL):
        raise ArgumentTypeError(f"{name} must be a number{_range(minimum, maximum, exclusive)}, got {value!r}.")
    low_ok = minimum is None or (value > minimum if exclusive else value >= minimum)
    high_ok = maximum is None or (value < maximum if exclusive else value <= maximum)
    if not math.isfinite(value) or not (low_ok and high_ok):
        raise ValueError(f"{name} must be a finite number{_range(minimum, maximum, exclusive)}, got {value!r}.")
    return float(value)


def _range(minimum: float | None, maximum: float | None, exclusive: bool = False) -> str:
    if minimum is not None and maximum is not None:
        return f" {'strictly ' if exclusive else ''}between {minimum} and {maximum}"
    if minimum is not None:
        return f" {'above' if exclusive else 'of at least'} {minimum}"
    if maximum is not None:
        return f" {'below' if exclusive else 'of at most'} {maximum}"
    return ""


def check_layout(images: Any, *, name: str = "images", channels: int | None = None) -> np.ndarray:
    """Check that ``images`` is a non-empty batch of images and return it as an array, values unchanged.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, C)``.
        name: the argument's name, used in error messages.
        channels: 1: grey images ``(N, H, W)`` only; C > 1: ``(N, H, W, C)`` only; None: either.

    Raises:
        ValueError: another shape, or an empty batch.
    """
    images = np.asarray(images)
    if channels == 1:
        expected, ok = "(N, H, W) (grey images)", images.ndim == 3
    elif channels is not None:
        expected, ok = f"(N, H, W, {channels}) (colour images)", images.ndim == 4 and images.shape[-1] == channels
    else:
        expected, ok = "(N, H, W) or (N, H, W, C)", images.ndim in (3, 4)
    if not ok or len(images) == 0 or 0 in images.shape:
        hint = " (for one image, pass image[None])" if images.ndim == (2 if channels in (None, 1) else 3) else ""
        raise ValueError(f"{name} must have shape {expected} with N > 0, got {images.shape}{hint}.")
    return images


def as_float_images(images: Any, *, name: str = "images", channels: int | None = None) -> np.ndarray:
    """Check a batch of images and return it as ``float32`` in [0, 1], in the same layout.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, C)``; whole numbers 0..255 (``uint8``) or finite floats
            in [0, 1].
        name: the argument's name, used in error messages.
        channels: as for :func:`check_layout`.

    Raises:
        TypeError: another dtype (strings, booleans, complex numbers, objects).
        ValueError: another shape, an empty batch, whole numbers outside 0..255, or floats that are
            not finite or outside [0, 1] (e.g. 0..255 floats: divide by 255 first, or pass uint8).
    """
    images = check_layout(images, name=name, channels=channels)
    return _to_unit_range(images, name)


def as_float_image(image: Any, *, name: str = "image", channels: int | None = None) -> np.ndarray:
    """Check ONE image and return it as ``float32`` in [0, 1]: ``(H, W)`` or ``(H, W, C)``.

    ``channels=1`` accepts ``(H, W)`` only; a batch is refused with a hint to pass one image of it.
    """
    image = np.asarray(image)
    ndims = (2,) if channels == 1 else (3,) if channels is not None else (2, 3)
    if image.ndim not in ndims or 0 in image.shape:
        expected = "(H, W)" if channels == 1 else f"(H, W, {channels})" if channels else "(H, W) or (H, W, C)"
        batch = image.ndim == max(ndims) + 1
        raise ValueError(f"{name} must be one image of shape {expected}, got {image.shape}"
                         + ("; that is a batch of images, not one image: pass images[i]" if batch else "") + ".")
    return _to_unit_range(image[None], name)[0]


def _to_unit_range(images: np.ndarray, name: str) -> np.ndarray:
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255)
    if np.issubdtype(images.dtype, np.integer):
        if images.min() < 0 or images.max() > 255:
            raise ValueError(f"{name} holds whole numbers from {images.min()} to {images.max()}; "
                             "images of whole numbers must hold grey levels 0..255.")
        return images.astype(np.float32) / np.float32(255)
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{name} must hold grey levels as uint8 (0..255) or floats in [0, 1], "
                        f"got dtype {images.dtype}.")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} must hold finite values, got {np.sum(~np.isfinite(images))} NaN or infinite ones.")
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 1:
        hint = (" They look like 0..255 grey levels: divide by 255 first, or pass the uint8 images."
                if high > 1 else "")
        raise ValueError(f"{name} of dtype {images.dtype} must hold values in [0, 1], got values from "
                         f"{low:.3g} to {high:.3g}.{hint}")
    return images.astype(np.float32, copy=False)


def check_labels(labels: np.ndarray, n_classes: int, *, name: str = "labels", n_images: int | None = None) -> np.ndarray:
    """Class labels as int64 (N,): whole numbers 0..n_classes-1, one per image; (N, 1) is flattened.

    Raises:
        ValueError: another shape or count, labels that are not whole numbers, or outside 0..n_classes-1.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.reshape(-1)
    if labels.ndim != 1 or (n_images is not None and len(labels) != n_images):
        count = f" with one label per image ({n_images})" if n_images is not None else ""
        raise ValueError(f"{name} must have shape (N,) or (N, 1){count}, got {labels.shape}.")
    if not (np.issubdtype(labels.dtype, np.integer)
            or (np.issubdtype(labels.dtype, np.floating) and np.all(np.isfinite(labels)) and np.all(labels % 1 == 0))):
        raise ValueError(f"{name} must be whole numbers (class indices), got dtype {labels.dtype}.")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{name} must be class indices 0..{n_classes - 1} ({n_classes} class names), got labels "
                         f"from {labels.min():g} to {labels.max():g}.")
    return labels.astype(np.int64)


def check_class_names(class_names: Any, *, name: str = "class_names") -> tuple[str, ...]:
    """A non-empty sequence of distinct, non-empty names, as a tuple of strings (a string is refused: it would be
    one class per letter)."""
    if isinstance(class_names, str) or not hasattr(class_names, "__len__") or len(class_names) == 0:
        raise ValueError(f"{name} must be a non-empty list of class names, got {class_names!r}.")
    names = tuple(str(c) for c in class_names)
    if any(not n.strip() for n in names):
        raise ValueError(f"{name} must not hold empty names, got {list(names)}.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{name} must name each class once, got {repeated} more than once in {list(names)}.")
    return names
