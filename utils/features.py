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
from scipy import ndimage
from scipy.spatial import ConvexHull
from skimage.feature import hog, local_binary_pattern
from skimage.measure import regionprops
from skimage.transform import rescale

from utils.images import as_float_image, as_float_images, check_int, check_number

SHAPE_FEATURE_NAMES = (
    "area", "perimeter", "eccentricity", "orientation", "solidity",
    "extent", "major_axis_length", "minor_axis_length",
    "hu_1", "hu_2", "hu_3", "hu_4", "hu_5", "hu_6", "hu_7",
)
_CHUNK = 1000  # images per parallel task


def _grey_images(images: np.ndarray) -> np.ndarray:
    """A batch of grey images ``(N, H, W)`` as float32 in [0, 1] (uint8, or floats in [0, 1])."""
    return as_float_images(images, channels=1)


def _map_chunks(function, images: np.ndarray, n_jobs: int) -> np.ndarray:
    """Apply ``function(batch) -> (n, D) array`` to chunks of images, in parallel when n_jobs > 1."""
    if check_int("n_jobs (a number of processes, or -1 for all cores)", n_jobs, -1) == 0:
        raise ValueError("n_jobs must be a number of processes, or -1 for all cores, got 0.")

    def run(chunk: np.ndarray) -> np.ndarray:
        return np.asarray(function(chunk), dtype=np.float32)

    if n_jobs == 1 or len(images) <= _CHUNK:
        return run(images)
    chunks = [images[start:start + _CHUNK] for start in range(0, len(images), _CHUNK)]
    return np.concatenate(Parallel(n_jobs=n_jobs)(delayed(run)(chunk) for chunk in chunks))


def _positive_pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(np.atleast_1d(value))
    if len(pair) != 2:
        raise ValueError(f"{name} must be a positive whole number or a pair of them, got {value!r}.")
    return check_int(name, pair[0]), check_int(name, pair[1])


# --- Raw pixels -------------------------------------------------------------------------------

def raw_pixels(images: np.ndarray) -> np.ndarray:
    """Every pixel as a feature: the image flattened row by row.

    Returns:
        ``(N, H * W)`` float32 in [0, 1] (D = 784 for 28 x 28 images).
    """
    x = _grey_images(images)
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
    """Histograms of oriented gradients (Dalal & Triggs 2005), as ``skimage.feature.hog`` computes them.

    In each cell of ``pixels_per_cell`` pixels, the gradient directions are binned into
    ``orientations`` unsigned bins over 0-180 degrees, weighted by gradient strength; each block
    of ``cells_per_block`` cells is normalised (L2-Hys) so that contrast matters less than shape.
    The whole batch is computed at once with NumPy: the same numbers as calling scikit-image's
    ``hog(image, ..., block_norm="L2-Hys")`` on each image (up to float32 rounding), several
    times faster.

    Args:
        images: ``(N, H, W)`` uint8 or floats in [0, 1].
        orientations, pixels_per_cell, cells_per_block: as in ``skimage.feature.hog``.
        n_jobs: processes to use (``-1``: all cores).

    Returns:
        ``(N, D)`` float32 with ``D = hog_dimension((H, W), ...)``: 1296 for 28 x 28 images and the
        defaults (6 x 6 block positions x 2 x 2 cells x 9 orientations).
    """
    x = _grey_images(images)
    check_int("orientations", orientations)
    hog_dimension(x.shape[1:], orientations=orientations, pixels_per_cell=pixels_per_cell,
                  cells_per_block=cells_per_block)  # validates the geometry
    cell = _positive_pair(pixels_per_cell, "pixels_per_cell")
    block = _positive_pair(cells_per_block, "cells_per_block")
    return _map_chunks(lambda chunk: _hog_batch(chunk, int(orientations), cell, block), x, n_jobs)


def _hog_batch(images: np.ndarray, orientations: int, cell: tuple[int, int], block: tuple[int, int]) -> np.ndarray:
    """``skimage.feature.hog(image, ..., block_norm="L2-Hys")`` of every image, computed for the batch
    at once with the same arithmetic (the tests check that the two agree)."""
    n, height, width = images.shape
    # Centred differences, zero on the border rows and columns.
    g_row = np.zeros_like(images)
    g_row[:, 1:-1, :] = images[:, 2:, :] - images[:, :-2, :]
    g_col = np.zeros_like(images)
    g_col[:, :, 1:-1] = images[:, :, 2:] - images[:, :, :-2]
    g_row, g_col = g_row.astype(np.float64), g_col.astype(np.float64)
    magnitude = np.hypot(g_col, g_row)
    angle = np.arctan2(g_row, g_col) * (180 / np.pi) % 180  # unsigned orientation in [0, 180)
    # Bin i holds angles in [180 i / orientations, 180 (i + 1) / orientations) (edges rounded as
    # scikit-image's float32 does); an angle that rounds to 180 falls in no bin, as there.
    edges = (180 / orientations * np.arange(orientations + 1)).astype(np.float32).astype(np.float64)
    bins = np.searchsorted(edges, angle, side="right") - 1
    # The cell of each pixel (-1 past the last whole cell, which is dropped).
    cells = (height // cell[0], width // cell[1])
    rows, cols = np.arange(height), np.arange(width)
    cell_row = np.where(rows < cells[0] * cell[0], rows // cell[0], -1)[None, :, None]
    cell_col = np.where(cols < cells[1] * cell[1], cols // cell[1], -1)[None, None, :]
    counted = (cell_row >= 0) & (cell_col >= 0) & (bins < orientations)
    index = ((np.arange(n)[:, None, None] * cells[0] + cell_row) * cells[1] + cell_col) * orientations + bins
    histograms = np.bincount(index[counted], weights=magnitude[counted], minlength=n * cells[0] * cells[1] * orientations)
    histograms = histograms.reshape(n, cells[0], cells[1], orientations)
    # Overlapping blocks of cells, each normalised with L2-Hys: L2, clip at 0.2, L2 again.
    blocks = np.lib.stride_tricks.sliding_window_view(histograms, block, axis=(1, 2))  # (n, R, C, o, b0, b1)
    blocks = blocks.transpose(0, 1, 2, 4, 5, 3)
    eps = 1e-5
    blocks = blocks / np.sqrt((blocks**2).sum(axis=(3, 4, 5), keepdims=True) + eps**2)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks**2).sum(axis=(3, 4, 5), keepdims=True) + eps**2)
    return blocks.reshape(n, -1)


def hog_image(
    image: np.ndarray,
    *,
    orientations: int = 9,
    pixels_per_cell: int | tuple[int, int] = 4,
    zoom: int = 4,
) -> np.ndarray:
    """A picture of one image's HOG cells, for display: in each cell a star of lines, one per
    orientation bin, as bright as that bin is strong (a line lies along the edge, across its gradient).

    The image is first enlarged ``zoom`` times (bilinear interpolation), and the cells with it, so
    that the stars are big enough to see. Returns a ``(zoom * H, zoom * W)`` float array.
    """
    x = as_float_image(image, channels=1)
    check_int("zoom", zoom)
    check_int("orientations", orientations)
    cell = _positive_pair(pixels_per_cell, "pixels_per_cell")
    large = rescale(x, zoom, order=1)  # smooth (bilinear) enlargement keeps diagonal edges diagonal
    _, picture = hog(large, orientations=orientations, pixels_per_cell=(cell[0] * zoom, cell[1] * zoom),
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
    x = as_float_image(image, channels=1)
    return _lbp(x, check_int("n_points", n_points), check_number("radius", radius, 0, exclusive=True))


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
    x = _grey_images(images)
    check_int("n_points", n_points)
    check_number("radius", radius, 0, exclusive=True)
    rows, cols = _positive_pair(grid, "grid")
    if rows > x.shape[1] or cols > x.shape[2]:
        raise ValueError(f"grid {grid!r} has more regions than the images {x.shape[1:]} have pixels.")
    # Each pixel's region index in the grid; a histogram is a bincount of (image, region, code).
    row_region = np.minimum(np.arange(x.shape[1]) * rows // x.shape[1], rows - 1)
    col_region = np.minimum(np.arange(x.shape[2]) * cols // x.shape[2], cols - 1)
    region_of_pixel = row_region[:, None] * cols + col_region[None, :]
    region_sizes = np.bincount(region_of_pixel.ravel(), minlength=rows * cols)
    n_codes = n_points + 2

    def histograms(chunk: np.ndarray) -> np.ndarray:
        codes = np.stack([_lbp(image, n_points, radius) for image in chunk]).astype(np.int64)
        index = (np.arange(len(chunk))[:, None, None] * (rows * cols) + region_of_pixel) * n_codes + codes
        counts = np.bincount(index.ravel(), minlength=len(chunk) * rows * cols * n_codes)
        return (counts.reshape(len(chunk), rows * cols, n_codes) / region_sizes[:, None]).reshape(len(chunk), -1)

    return _map_chunks(histograms, x, n_jobs)


# --- Shape and size of the foreground region --------------------------------------------------

def foreground_region(image: np.ndarray, *, threshold: float = 0.3):
    """The region properties (``skimage.measure.regionprops``) of one image's foreground, for
    drawing it (:func:`shape_features` computes the same measurements for a whole batch).

    The foreground is every pixel brighter than ``threshold`` (a fraction of full brightness),
    taken as ONE region even if it has several pieces. Returns None for an empty foreground.
    """
    x = as_float_image(image, channels=1)
    return _region(x, check_number("threshold", threshold, 0, 1))


def _region(image: np.ndarray, threshold: float):
    mask = (image > threshold).astype(np.uint8)
    if not mask.any():
        return None
    return regionprops(mask)[0]


def _symmetric_log(values: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """``sign(h) * log10(1 + |h| / floor)``: logarithmic in |h|, continuous through 0, keeps the sign."""
    return np.sign(values) * np.log10(1 + np.abs(values) / floor)


def _perimeters(masks: np.ndarray) -> np.ndarray:
    """scikit-image's ``measure.perimeter(mask, neighborhood=4)`` of every mask in a batch."""
    footprint = np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], dtype=bool)
    border = masks & ~ndimage.binary_erosion(masks, footprint, border_value=0)
    codes = ndimage.convolve(border.astype(np.uint8), np.array([[[10, 2, 10], [2, 1, 2], [10, 2, 10]]], np.uint8),
                             mode="constant", cval=0)
    weights = np.zeros(50)
    weights[[5, 7, 15, 17, 25, 27]] = 1
    weights[[21, 33]] = np.sqrt(2)
    weights[[13, 23]] = (1 + np.sqrt(2)) / 2
    return weights[codes].sum(axis=(1, 2))


def _convex_areas(masks: np.ndarray) -> np.ndarray:
    """The area of the convex hull of every mask's pixels (each pixel a unit square)."""
    corners = np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])
    areas = np.zeros(len(masks))
    for i, mask in enumerate(masks):
        if mask.any():
            points = (np.argwhere(mask)[:, None, :] + corners).reshape(-1, 2)
            areas[i] = ConvexHull(points).volume  # in 2-D, qhull's "volume" is the area
    return areas


def _shape_descriptors(images: np.ndarray, threshold: float) -> np.ndarray:
    """The columns of SHAPE_FEATURE_NAMES for a batch, from the moments of the foreground masks."""
    masks = images > threshold
    weights = masks.astype(np.float64)
    area = weights.sum(axis=(1, 2))
    safe_area = np.where(area > 0, area, 1.0)
    rows = np.arange(images.shape[1], dtype=np.float64)[None, :, None]
    cols = np.arange(images.shape[2], dtype=np.float64)[None, None, :]
    d_rows = rows - ((weights * rows).sum(axis=(1, 2)) / safe_area)[:, None, None]
    d_cols = cols - ((weights * cols).sum(axis=(1, 2)) / safe_area)[:, None, None]
    # Central moments mu[p, q] = sum (row - mean)^p (col - mean)^q over the region.
    mu = {(p, q): (weights * d_rows**p * d_cols**q).sum(axis=(1, 2))
          for p in range(4) for q in range(4) if 2 <= p + q <= 3}
    # The inertia tensor [[a, b], [b, c]] (scikit-image's) and its eigenvalues l1 >= l2.
    a, b, c = mu[0, 2] / safe_area, -mu[1, 1] / safe_area, mu[2, 0] / safe_area
    spread = np.sqrt(((a - c) / 2) ** 2 + b**2)
    l1, l2 = np.maximum((a + c) / 2 + spread, 0), np.maximum((a + c) / 2 - spread, 0)
    eccentricity = np.sqrt(1 - np.divide(l2, l1, out=np.ones_like(l1), where=l1 > 0))
    orientation = np.where(a - c == 0, np.where(b < 0, np.pi / 4, -np.pi / 4), 0.5 * np.arctan2(-2 * b, c - a))
    # Bounding box, for the extent.
    any_row, any_col = masks.any(axis=2), masks.any(axis=1)
    height = images.shape[1] - np.argmax(any_row, axis=1) - np.argmax(any_row[:, ::-1], axis=1)
    width = images.shape[2] - np.argmax(any_col, axis=1) - np.argmax(any_col[:, ::-1], axis=1)
    # Hu's invariants of the normalised central moments nu[p, q] = mu[p, q] / area^((p + q) / 2 + 1).
    nu = {pq: m / safe_area ** (sum(pq) / 2 + 1) for pq, m in mu.items()}
    t0, t1 = nu[3, 0] + nu[1, 2], nu[2, 1] + nu[0, 3]
    u0, u1 = nu[3, 0] - 3 * nu[1, 2], 3 * nu[2, 1] - nu[0, 3]
    s, d = nu[2, 0] + nu[0, 2], nu[2, 0] - nu[0, 2]
    hu = np.stack([
        s,
        d**2 + 4 * nu[1, 1] ** 2,
        u0**2 + u1**2,
        t0**2 + t1**2,
        u0 * t0 * (t0**2 - 3 * t1**2) + u1 * t1 * (3 * t0**2 - t1**2),
        d * (t0**2 - t1**2) + 4 * nu[1, 1] * t0 * t1,
        u1 * t0 * (t0**2 - 3 * t1**2) - u0 * t1 * (3 * t0**2 - t1**2),
    ], axis=1)
    columns = np.column_stack([
        area, _perimeters(masks), eccentricity, orientation,
        area / np.where(area > 0, _convex_areas(masks), 1.0), area / np.maximum(height * width, 1),
        4 * np.sqrt(l1), 4 * np.sqrt(l2), _symmetric_log(hu),
    ])
    columns[area == 0] = 0
    return columns


def shape_features(images: np.ndarray, *, threshold: float = 0.3, n_jobs: int = 1) -> np.ndarray:
    """Size and shape descriptors of each image's foreground (see :func:`foreground_region`).

    Columns, named in ``SHAPE_FEATURE_NAMES`` (D = 15), as ``skimage.measure.regionprops``
    defines them, computed for the whole batch at once:

    - ``area`` (pixels) and ``perimeter`` (pixels, scikit-image's estimate): size;
    - ``eccentricity`` (0 for a disc, near 1 for a line) of the ellipse with the region's moments;
    - ``orientation``: that ellipse's major axis, in radians in [-pi/2, pi/2], measured from the
      row (downward) axis, scikit-image's convention: 0 for a vertical bar, +-pi/2 for a horizontal one;
    - ``solidity``: area / area of the convex hull (the hull of the pixels as unit squares;
      regionprops counts the pixels inside its hull instead, a slightly smaller area);
    - ``extent``: area / bounding box area;
    - ``major_axis_length``, ``minor_axis_length`` (pixels);
    - ``hu_1 .. hu_7``: Hu's moments, invariant to translation, scale and rotation, as
      ``sign(h) * log10(1 + |h| / 1e-12)``, because they span many orders of magnitude (a plain
      logarithm would blow up the rounding noise of moments that are zero for symmetric shapes).

    An image with no foreground gets a row of zeros.

    Returns:
        ``(N, 15)`` float32.
    """
    x = _grey_images(images)
    if check_number("threshold (a fraction of full brightness in [0, 1))", threshold, 0, 1) == 1:
        raise ValueError("threshold must be a fraction of full brightness in [0, 1), got 1.")
    return _map_chunks(lambda chunk: _shape_descriptors(chunk, threshold), x, n_jobs)
