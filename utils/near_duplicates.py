"""Near-duplicate images, and splits that keep them together.

A data set downloaded from the web often holds the same picture more than once: copied byte for byte,
saved again at another size or quality, flipped, re-cropped a little, or as the next frame of the same
video. Exact-copy checks (comparing bytes) miss all but the first. Such copies on both sides of a
train / test split let a model score on images it has already seen.

:func:`perceptual_hashes` gives every image a 64-bit fingerprint that survives those changes (a DCT
"pHash": the signs of the lowest spatial frequencies of a 32 x 32 grey version, relative to their
median), for the image and for its mirror image. Two images are near-duplicates when their fingerprints
differ in at most ``threshold`` bits (the Hamming distance), in either orientation:
:func:`near_duplicate_pairs` lists such pairs, :func:`near_duplicate_groups` joins them into groups
(if A ~ B and B ~ C, all three are one group, even when A and C differ more), and :func:`group_split`
splits by group, stratified by class, so that no group crosses splits.

The threshold is a property of the data, not of the method: look at the pairs just below and just above
it (notebook 08 does this for BUSI, and explains its choice of :data:`DEFAULT_THRESHOLD`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.fft import dctn

from utils.images import check_int, check_labels, check_number

HASH_SIDE = 8  # the hash keeps HASH_SIDE x HASH_SIDE low frequencies: 64 bits
HASH_RESIZE = 32  # images are first resized to HASH_RESIZE x HASH_RESIZE grey pixels
DEFAULT_THRESHOLD = 10  # bits of 64; chosen on BUSI (see the module's note and benchmarks/busi_split.md)
_BLOCK = 2048  # rows of the distance matrix computed at once (memory bounded for large data sets)


def _grey(image: np.ndarray) -> np.ndarray:
    """One image as float32 (H, W) grey (ITU-R 601 luma for colour); the hash ignores the value scale."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        return image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if image.ndim != 2:
        raise ValueError(f"images must be (H, W) grey or (H, W, 3) colour images, got one of shape {image.shape}.")
    return image.astype(np.float32)


def _hash_bits(small: np.ndarray) -> np.ndarray:
    """The 64 bits of a HASH_RESIZE x HASH_RESIZE float image: low DCT coefficients above their median."""
    coefficients = dctn(small, norm="ortho")[:HASH_SIDE, :HASH_SIDE].ravel()
    return coefficients[1:] > np.median(coefficients[1:])  # the mean (DC) carries no shape: 63 bits


def perceptual_hashes(images: Iterable[np.ndarray]) -> np.ndarray:
    """The DCT perceptual hash of every image and of its mirror image (flipped left-right).

    Args:
        images: grey (H, W) or colour (H, W, 3) images of any sizes, uint8, bool or float (the hash does
            not depend on the scale of the values): a batch array or any iterable, e.g. a generator that
            reads files one at a time.

    Returns:
        bool (N, 2, 63): the hash of each image (``[:, 0]``) and of its mirror image (``[:, 1]``). The
        image is resized to 32 x 32 (bilinear, with antialiasing, ignoring its aspect ratio), and each bit
        says whether one of the 8 x 8 lowest-frequency DCT coefficients (the constant one left out) is
        above their median.
    """
    hashes = []
    for image in images:
        grey = _grey(image)
        small = np.asarray(Image.fromarray(grey).resize((HASH_RESIZE, HASH_RESIZE), Image.Resampling.BILINEAR))
        hashes.append((_hash_bits(small), _hash_bits(small[:, ::-1])))
    if not hashes:
        raise ValueError("images must hold at least one image, got none.")
    return np.array(hashes, bool)


def _check_hashes(hashes: np.ndarray) -> np.ndarray:
    hashes = np.asarray(hashes)
    if hashes.dtype != bool or hashes.ndim != 3 or hashes.shape[1] != 2:
        raise ValueError(f"hashes must be what perceptual_hashes returns (bool, (N, 2, bits)), got "
                         f"{hashes.dtype} {hashes.shape}.")
    return hashes


def hash_distances(hashes: np.ndarray, rows: slice | None = None) -> np.ndarray:
    """The Hamming distance (bits) between the hashes of ``rows`` (default: all) and all images, the
    smaller of the two orientations (so an image and its mirror image are at distance 0).

    Returns int (len(rows), N). For many images, compute it by blocks of rows.
    """
    hashes = _check_hashes(hashes)
    rows = slice(None) if rows is None else rows
    as_float = hashes.astype(np.float32)
    upright = as_float[:, 0]
    left = as_float[rows, 0]
    bits = hashes.shape[2]
    # Hamming distance of bit vectors a, b: bits - a.b - (1-a).(1-b), computed as matrix products.
    same = left @ upright.T + (1 - left) @ (1 - upright).T
    same_mirrored = left @ as_float[:, 1].T + (1 - left) @ (1 - as_float[:, 1]).T
    return (bits - np.maximum(same, same_mirrored)).round().astype(np.int64)


@dataclass(frozen=True)
class Pairs:
    """Pairs of images ``(first[k], second[k])``, first < second, at ``distance[k]`` bits."""

    first: np.ndarray
    second: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.first)


def near_duplicate_pairs(hashes: np.ndarray, threshold: int = DEFAULT_THRESHOLD) -> Pairs:
    """Every pair of images whose hashes differ in at most ``threshold`` bits (either orientation),
    sorted by distance. Memory stays bounded: the distances are computed by blocks of rows."""
    hashes = _check_hashes(hashes)
    threshold = check_int("threshold (bits)", threshold, 0, hashes.shape[2])
    first, second, distance = [], [], []
    for start in range(0, len(hashes), _BLOCK):
        block = hash_distances(hashes, slice(start, start + _BLOCK))
        i, j = np.nonzero(block <= threshold)
        i = i + start
        keep = i < j
        first.append(i[keep])
        second.append(j[keep])
        distance.append(block[i[keep] - start, j[keep]])
    first, second, distance = (np.concatenate(a) for a in (first, second, distance))
    order = np.lexsort((second, first, distance))
    return Pairs(first[order], second[order], distance[order])


def near_duplicate_groups(hashes: np.ndarray, threshold: int = DEFAULT_THRESHOLD) -> np.ndarray:
    """A group number per image: images joined by a chain of near-duplicate pairs share a group.

    Groups are numbered 0, 1, ... in the order of their first image; an image without a near-duplicate
    is a group of its own. (Union-find over :func:`near_duplicate_pairs`.)
    """
    pairs = near_duplicate_pairs(hashes, threshold)
    parent = np.arange(len(hashes))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(pairs.first, pairs.second):
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    roots = np.array([root(i) for i in range(len(hashes))])
    return np.unique(roots, return_inverse=True)[1].astype(np.int64)


def group_split(
    labels: np.ndarray, groups: np.ndarray, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Split images into train / val / test by group, stratified by class: every group lies in one split,
    and each split holds about its fraction of every class.

    Groups are placed one at a time, largest first (ties in a random order drawn with ``seed``), each
    into the split that is furthest below its target share of the group's classes.

    Args:
        labels: int (N,) class of every image.
        groups: int (N,) group of every image (e.g. :func:`near_duplicate_groups`, or a patient number).
        val_fraction, test_fraction: the target shares of the validation and test splits
            (``val_fraction=0`` gives no validation images).

    Returns:
        ``{"train": indices, "val": indices, "test": indices}``, each sorted.
    """
    labels = np.asarray(labels)
    labels = check_labels(labels, int(labels.max()) + 1 if labels.size else 1)
    groups = np.asarray(groups)
    if groups.shape != labels.shape or not np.issubdtype(groups.dtype, np.integer):
        raise ValueError(f"groups must be integers, one per label {labels.shape}, got {groups.dtype} {groups.shape}.")
    fractions = {"val": check_number("val_fraction", val_fraction, 0, 1),
                 "test": check_number("test_fraction", test_fraction, 0, 1, exclusive=True)}
    fractions["train"] = 1 - fractions["val"] - fractions["test"]
    if fractions["train"] <= 0:
        raise ValueError(f"val_fraction + test_fraction must be below 1, got {val_fraction} + {test_fraction}.")
    names = ("train", "val", "test")
    n_classes = labels.max() + 1
    target = np.outer([fractions[n] for n in names], np.bincount(labels, minlength=n_classes))  # (3, classes)
    filled = np.zeros_like(target)
    group_ids, inverse = np.unique(groups, return_inverse=True)
    counts = np.zeros((len(group_ids), n_classes))
    np.add.at(counts, (inverse, labels), 1)
    rng = np.random.default_rng(seed)
    order = sorted(rng.permutation(len(group_ids)), key=lambda g: -counts[g].sum())
    active = np.array([fractions[name] > 0 for name in names])
    assigned = np.empty(len(group_ids), np.int64)
    for g in order:
        # How far each split is below its target (relative), for the classes of this group, weighted by its images.
        present = counts[g] > 0
        with np.errstate(divide="ignore", invalid="ignore"):  # an empty validation split has targets 0
            shortfall = (target[:, present] - filled[:, present]) / target[:, present]
        deficit = np.where(active, (counts[g, present] * shortfall).sum(axis=1), -np.inf)
        split = int(np.argmax(deficit))
        assigned[g] = split
        filled[split] += counts[g]
    image_split = assigned[inverse]
    return {name: np.flatnonzero(image_split == s) for s, name in enumerate(names)}
