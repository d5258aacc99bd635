"""Hand-crafted image features: the "traditional" half of the course.

Every extractor takes a batch of grayscale images of shape ``(N, H, W)`` (``uint8`` in 0..255, or
floats in [0, 1]) and returns a ``float32`` array of shape ``(N, D)``, one row of ``D`` numbers per
image. ``D`` is documented by each extractor and computed by its ``*_dimension`` function, so a
notebook can say how long a feature vector is before it computes any.

==================  ================================================  ==============================
Extractor           What it measures                                  D (28 x 28 images, defaults)
==================  ================================================  ==============================
``raw_pixels``      every pixel's brightness                          784
``hog_features``    histograms of gradient orientations (edges)       1296
``lbp_features``    histograms of local binary patterns (texture)     40
``shape_features``  size and shape of the foreground region           15 (``SHAPE_FEATURE_NAMES``)
==================  ================================================  ==============================

PCA is not here: it is *fitted* (on the training set only), so it belongs in a scikit-learn
pipeline, not in a per-image extractor.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from skimage.feature import hog, local_binary_pattern
from skimage.measure import regionprops

SHAPE_FEATURE_NAMES = (
    "area", "perimeter", "eccentricity", "orientation", "solidity",
    "extent", "major_axis_length", "minor_axis_length",
    "hu_1", "hu_2", "hu_3", "hu_4", "hu_5", "hu_6", "hu_7",
)
_CHUNK = 1000  # images per parallel task


def as_float_images(images: np.ndarray, *, name: str = "images") -> np.ndarray:
    """Check a batch of grayscale images and return it as ``float32`` in [0, 1].

    Args:
        images: shape ``(N, H, W)``; ``uint8`` (0..255) or floating point in [0, 1].
        name: the argument's name, used in error messages.

    Raises:
        TypeError: if ``images`` is not a NumPy array of ``uint8`` or floats.
        ValueError: for another shape, an empty batch, or floats outside [0, 1] (or not finite).
    """
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of shape (N, H, W), got {type(images).__name__}.")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{name} must have dtype uint8 (0..255) or float (0..1), got {images.dtype}.")
    if images.ndim != 3 or images.shape[0] == 0:
        hint = " (for one image, pass image[None])" if images.ndim == 2 else ""
        raise ValueError(f"{name} must have shape (N, H, W) with N > 0, got {images.shape}{hint}.")
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
        raise ValueError(
            f"{name} of dtype {images.dtype} must hold finite values in [0, 1], got values in "
            f"[{np.nanmin(images):.3g}, {np.nanmax(images):.3g}]; divide uint8 images by 255 or pass them as uint8."
        )
    return images.astype(np.float32, copy=False)


def _map_images(function, images: np.ndarray, n_jobs: int) -> np.ndarray:
    """Apply ``function(image) -> 1-D array`` to every image, in parallel chunks when n_jobs > 1."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive whole number or -1 (all cores), got {n_jobs!r}.")

    def run(chunk: np.ndarray) -> np.ndarray:
        return np.stack([function(image) for image in chunk]).astype(np.float32)

    if n_jobs == 1 or len(images) <= _CHUNK:
        return run(images)
    chunks = [images[start:start + _CHUNK] for start in range(0, len(images), _CHUNK)]
    return np.concatenate(Parallel(n_jobs=n_jobs)(delayed(run)(chunk) for chunk in chunks))


def _positive_pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be a positive whole number or a pair of them, got {value!r}.")
    return int(pair[0]), int(pair[1])


# --- Raw pixels -------------------------------------------------------------------------------

def raw_pixels(images: np.ndarray) -> np.ndarray:
    """Every pixel as a feature: the image flattened row by row.

    Returns:
        ``(N, H * W)`` float32 in [0, 1] (D = 784 for 28 x 28 images).
    """
    x = as_float_images(images)
    return x.reshape(len(x), -1)


# --- HOG: histograms of oriented gradients ----------------------------------------------------

def hog_dimension(
    image_shape: tuple[int, int] = (28, 28),
    *,
    orientations: int = 9,
    pixels_per_cell: int | tuple[int, int] = 4,
    cells_per_block: int | tuple[int, int] = 2,
) -> int:
    """The length D of a HOG vector: ``orientations * block cells * number of block positions``.

    The image is cut into cells of ``pixels_per_cell`` (a remainder at the border is dropped);
    blocks of ``cells_per_block`` cells slide one cell at a time.
    """
    cell_rows, cell_cols = _positive_pair(pixels_per_cell, "pixels_per_cell")
    block_rows, block_cols = _positive_pair(cells_per_block, "cells_per_block")
    n_cells = (image_shape[0] // cell_rows, image_shape[1] // cell_cols)
    n_blocks = (n_cells[0] - block_rows + 1, n_cells[1] - block_cols + 1)
    if min(n_blocks) < 1:
        raise ValueError(
            f"An image of shape {tuple(image_shape)} holds {n_cells} cells of {pixels_per_cell} pixels, "
            f"too few for one block of {cells_per_block} cells; use smaller cells or blocks."
        )
    return orientations * block_rows * block_cols * n_blocks[0] * n_blocks[1]


def hog_features(
    images: np.ndarray,
    *,
    orientations: int = 9,
    pixels_per_cell: int | tuple[int, int] = 4,
    cells_per_block: int | tuple[int, int] = 2,
    n_jobs: int = 1,
) -> np.ndarray:
    """Histograms of oriented gradients (Dalal & Triggs 2005), with scikit-image.

    In each cell of ``pixels_per_cell`` pixels, the gradient directions are binned into
    ``orientations`` unsigned bins over 0-180 degrees, weighted by gradient strength; each block
    of ``cells_per_block`` cells is normalised (L2-Hys) so that contrast matters less than shape.

    Args:
        images: ``(N, H, W)`` uint8 or floats in [0, 1].
        orientations, pixels_per_cell, cells_per_block: as in ``skimage.feature.hog``.
        n_jobs: processes to use (``-1``: all cores).

    Returns:
        ``(N, D)`` float32 with ``D = hog_dimension((H, W), ...)``: 1296 for 28 x 28 images and the
        defaults (6 x 6 block positions x 2 x 2 cells x 9 orientations).
    """
    x = as_float_images(images)
    if isinstance(orientations, bool) or not isinstance(orientations, (int, np.integer)) or orientations < 1:
        raise ValueError(f"orientations must be a positive whole number, got {orientations!r}.")
    hog_dimension(x.shape[1:], orientations=orientations, pixels_per_cell=pixels_per_cell,
                  cells_per_block=cells_per_block)  # validates the geometry
    options = dict(orientations=int(orientations), pixels_per_cell=_positive_pair(pixels_per_cell, "pixels_per_cell"),
                   cells_per_block=_positive_pair(cells_per_block, "cells_per_block"), block_norm="L2-Hys")
    return _map_images(lambda image: hog(image, **options), x, n_jobs)


def hog_image(
    image: np.ndarray,
    *,
    orientations: int = 9,
    pixels_per_cell: int | tuple[int, int] = 4,
) -> np.ndarray:
    """A picture of one image's HOG cells: in each cell, a star of lines, one per orientation bin,
    drawn as bright as that bin is strong. Returns an ``(H, W)`` float array (for display only)."""
    x = as_float_images(np.asarray(image)[None], name="image")[0]
    _, picture = hog(x, orientations=orientations, pixels_per_cell=_positive_pair(pixels_per_cell, "pixels_per_cell"),
                     cells_per_block=(1, 1), visualize=True)
    return picture


# --- LBP: local binary patterns ---------------------------------------------------------------

def lbp_image(image: np.ndarray, *, n_points: int = 8, radius: float = 1.0) -> np.ndarray:
    """The "uniform" local binary pattern code of every pixel of one ``(H, W)`` image.

    Each pixel is compared with ``n_points`` neighbours on a circle of ``radius`` pixels; the
    pattern of brighter/darker neighbours is a code. Rotation-invariant uniform codes
    ``0 .. n_points`` count the brighter neighbours of a pattern with at most two transitions
    (flat areas, edges, corners, line ends); code ``n_points + 1`` collects all other patterns.
    """
    x = as_float_images(np.asarray(image)[None], name="image")[0]
    return _lbp(x, n_points, radius)


def _lbp(image: np.ndarray, n_points: int, radius: float) -> np.ndarray:
    # Quantised to 0..255 so that flat regions compare equal instead of by float noise.
    return local_binary_pattern(np.round(image * 255).astype(np.uint8), n_points, radius, method="uniform")


def lbp_dimension(*, n_points: int = 8, grid: int | tuple[int, int] = 2) -> int:
    """The length D of an LBP vector: ``grid cells * (n_points + 2)`` histogram bins."""
    rows, cols = _positive_pair(grid, "grid")
    return rows * cols * (n_points + 2)


def lbp_features(
    images: np.ndarray,
    *,
    n_points: int = 8,
    radius: float = 1.0,
    grid: int | tuple[int, int] = 2,
    n_jobs: int = 1,
) -> np.ndarray:
    """Texture: histograms of uniform LBP codes (see :func:`lbp_image`) in a grid of regions.

    The image is split into ``grid`` regions (2 x 2 by default, so the histograms keep a little
    of *where* each texture is); each region's histogram counts its pixels' codes and sums to 1.

    Returns:
        ``(N, D)`` float32 with ``D = lbp_dimension(...)``: 40 by default (4 regions x 10 codes).
    """
    x = as_float_images(images)
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1:
        raise ValueError(f"n_points must be a positive whole number, got {n_points!r}.")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}.")
    rows, cols = _positive_pair(grid, "grid")
    if rows > x.shape[1] or cols > x.shape[2]:
        raise ValueError(f"grid {grid!r} has more regions than the images {x.shape[1:]} have pixels.")
    row_edges = np.linspace(0, x.shape[1], rows + 1).round().astype(int)
    col_edges = np.linspace(0, x.shape[2], cols + 1).round().astype(int)
    n_codes = n_points + 2

    def histograms(image: np.ndarray) -> np.ndarray:
        codes = _lbp(image, n_points, radius).astype(int)
        parts = []
        for r0, r1 in zip(row_edges[:-1], row_edges[1:]):
            for c0, c1 in zip(col_edges[:-1], col_edges[1:]):
                region = codes[r0:r1, c0:c1]
                parts.append(np.bincount(region.ravel(), minlength=n_codes) / region.size)
        return np.concatenate(parts)

    return _map_images(histograms, x, n_jobs)


# --- Shape and size of the foreground region --------------------------------------------------

def foreground_region(image: np.ndarray, *, threshold: float = 0.3):
    """The region properties (``skimage.measure.regionprops``) of one image's foreground.

    The foreground is every pixel brighter than ``threshold`` (a fraction of full brightness),
    taken as ONE region even if it has several pieces. Returns None for an empty foreground.
    """
    x = as_float_images(np.asarray(image)[None], name="image")[0]
    return _region(x, threshold)


def _region(image: np.ndarray, threshold: float):
    mask = (image > threshold).astype(np.uint8)
    if not mask.any():
        return None
    return regionprops(mask)[0]


def _signed_log(values: np.ndarray) -> np.ndarray:
    return -np.sign(values) * np.log10(np.abs(values) + 1e-30)


def shape_features(images: np.ndarray, *, threshold: float = 0.3, n_jobs: int = 1) -> np.ndarray:
    """Size and shape descriptors of each image's foreground (see :func:`foreground_region`).

    Columns, named in ``SHAPE_FEATURE_NAMES`` (D = 15):

    - ``area`` (pixels) and ``perimeter`` (pixels, scikit-image's estimate): size;
    - ``eccentricity`` (0 for a disc, near 1 for a line) of the ellipse with the region's moments;
    - ``orientation``: that ellipse's major axis, in radians in [-pi/2, pi/2], measured from the
      row (downward) axis, scikit-image's convention: 0 for a vertical bar, +-pi/2 for a horizontal one;
    - ``solidity`` (area / convex hull area) and ``extent`` (area / bounding box area);
    - ``major_axis_length``, ``minor_axis_length`` (pixels);
    - ``hu_1 .. hu_7``: Hu's moments, invariant to translation, scale and rotation, as
      ``-sign(h) * log10(|h|)`` because they span many orders of magnitude.

    An image with no foreground gets a row of zeros.

    Returns:
        ``(N, 15)`` float32.
    """
    x = as_float_images(images)
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be a fraction of full brightness in [0, 1), got {threshold!r}.")

    def describe(image: np.ndarray) -> np.ndarray:
        region = _region(image, threshold)
        if region is None:
            return np.zeros(len(SHAPE_FEATURE_NAMES))
        return np.concatenate([
            [region.area, region.perimeter, region.eccentricity, region.orientation, region.solidity,
             region.extent, region.axis_major_length, region.axis_minor_length],
            _signed_log(region.moments_hu),
        ])

    return _map_images(describe, x, n_jobs)
