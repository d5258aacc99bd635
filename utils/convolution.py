"""Convolution written out in NumPy, and the classic hand-made kernels (notebook 03).

What a convolution layer computes, for one image ``f`` and one kernel ``w`` of size k x k::

    g(x, y) = sum_s sum_t  w(s, t) * f(x + s, y + t)        s, t = 0, ..., k - 1

(strictly a cross-correlation: deep-learning libraries do not flip the kernel).
"""

from __future__ import annotations

import numpy as np

KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "blur (box)": np.full((3, 3), 1 / 9, dtype=np.float32),
    "vertical edges (Sobel x)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "horizontal edges (Sobel y)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "outline (Laplacian)": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
}
"""Classic 3 x 3 kernels, by what they do to an image."""


def convolve2d(image: np.ndarray, kernel: np.ndarray, *, padding: str = "valid") -> np.ndarray:
    """Convolve one grey image with one kernel, exactly as ``keras.layers.Conv2D`` does.

    Args:
        image: shape (H, W).
        kernel: shape (kh, kw), not flipped (``g(x, y) = sum w(s, t) f(x + s, y + t)``).
        padding: ``"valid"`` (output (H - kh + 1, W - kw + 1): the kernel stays inside the image)
            or ``"same"`` (output (H, W): the image is padded with zeros, as Keras pads it).

    Returns:
        The filtered image, float64.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image must have shape (H, W), got {image.shape}.")
    if kernel.ndim != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(f"kernel must have shape (kh, kw), no larger than the image, got {kernel.shape}.")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
    kh, kw = kernel.shape
    if padding == "same":  # Keras puts the odd extra row/column of zeros at the bottom/right
        image = np.pad(image, (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)))
    out_h, out_w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    output = np.zeros((out_h, out_w))
    for s in range(kh):  # add up shifted copies of the image, one per kernel weight
        for t in range(kw):
            output += kernel[s, t] * image[s:s + out_h, t:t + out_w]
    return output
