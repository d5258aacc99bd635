"""BreastMNIST's official split, recovered on BUSI (notebook 08).

BreastMNIST (MedMNIST v2) is BUSI at 28 x 28 pixels, two classes (0 malignant, 1 normal or benign),
split 546 / 78 / 156 by its publishers. :func:`breastmnist_split` finds the BUSI file behind every
BreastMNIST image: each BUSI image is made into a thumbnail as MedMNIST made them
(:func:`breastmnist_thumbnail`), and the thumbnails are matched one to one, within a class, to the
BreastMNIST images (:func:`match_images`), so the published benchmark's split can be used at full
resolution. ``benchmarks/busi_split.md`` holds the measured match statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.optimize import linear_sum_assignment
from skimage.transform import resize

from utils.busi import BREASTMNIST_LABEL, BUSI_CLASSES, BUSIImages, map_originals
from utils.images import check_number
from utils.medmnist import MEDMNIST_SPLITS, load_medmnist


MATCH_TOLERANCE = 4.0  # grey levels (RMS); the 780 matches measured here are all within 2 (busi_split.md)


def breastmnist_thumbnail(pixels: np.ndarray) -> np.ndarray:
    """One image brought to 28 x 28 as MedMNIST brought BUSI's: the centred square of the short side,
    resized to 224 x 224 (Pillow, bicubic), then to 28 x 28 (scikit-image, bicubic with antialiasing), uint8.

    Of the pipelines tried here this lands nearest to BreastMNIST's pixels (median RMS difference
    below 1 grey level; Pillow's bicubic straight to 28 px, about 2.5): close to what MedMNIST ran, not
    necessarily its code (see ``benchmarks/busi_split.md``).
    """
    height, width = pixels.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(pixels[top:top + side, left:left + side])
    large = np.asarray(square.resize((224, 224), Image.Resampling.BICUBIC))
    small = resize(large, (28, 28), order=3, anti_aliasing=True, preserve_range=True)
    return np.round(small).clip(0, 255).astype(np.uint8)


def rms_distances(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The root-mean-square grey-level difference between every query and every candidate image,
    float (n_queries, n_candidates); both are (N, H, W) of one size."""
    a = queries.reshape(len(queries), -1).astype(np.float64)
    b = candidates.reshape(len(candidates), -1).astype(np.float64)
    squared = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0) / a.shape[1])


@dataclass(frozen=True)
class ImageMatch:
    """Which candidate image each query image is: ``index[k]`` is query ``k``'s candidate, at ``rms[k]``
    grey levels; ``nearest`` is each query's nearest candidate by pixels alone (label ignored), which need not
    be one-to-one."""

    index: np.ndarray
    rms: np.ndarray
    nearest: np.ndarray


def match_images(queries: np.ndarray, query_labels: np.ndarray, candidates: np.ndarray,
                 candidate_labels: np.ndarray, *, tolerance: float = MATCH_TOLERANCE) -> ImageMatch:
    """Match every query image to a different candidate image of the same label, at the smallest total
    RMS difference (a one-to-one assignment, :func:`scipy.optimize.linear_sum_assignment`): where two
    queries have the same nearest candidate (duplicates among the candidates), the label and the
    other queries decide.

    Raises:
        ValueError: fewer candidates than queries, or a query whose match is further than ``tolerance``
            grey levels (RMS) or of another label: the queries are not copies of the candidates.
    """
    check_number("tolerance (grey levels, RMS)", tolerance, 0)
    if len(candidates) < len(queries):
        raise ValueError(f"candidates must be at least as many as queries for a one-to-one match, got "
                         f"{len(candidates)} candidates for {len(queries)} queries.")
    distance = rms_distances(queries, candidates)
    other_label = np.asarray(query_labels)[:, None] != np.asarray(candidate_labels)[None, :]
    nearest = distance.argmin(axis=1)
    try:
        rows, columns = linear_sum_assignment(np.where(other_label, 1e6, distance))
    except ValueError as error:
        raise ValueError(f"the queries cannot be matched one to one ({error}).") from error
    index = columns[np.argsort(rows)]
    rms = distance[np.arange(len(queries)), index]
    bad = np.flatnonzero((rms > tolerance) | other_label[np.arange(len(queries)), index])
    if len(bad):
        raise ValueError(f"{len(bad)} of {len(queries)} queries have no candidate of their label within "
                         f"{tolerance} grey levels RMS (the worst at {rms[bad].max():.1f}, query {bad[0]} first): "
                         "the queries are not copies of the candidates.")
    return ImageMatch(index=index, rms=rms, nearest=nearest)


@dataclass(frozen=True)
class BreastMNISTSplit:
    """BreastMNIST's official split as BUSI files: ``files[split][k]`` is the BUSI file of BreastMNIST's
    image ``k`` of ``split`` (train 546, val 78, test 156); ``rms[split][k]`` is how far apart the two are
    (grey levels, 28 x 28). ``nearest_distinct`` counts the distinct BUSI files that nearest neighbours by
    pixels alone give; ``collisions`` lists the files they gave to two BreastMNIST images, each with the
    file that the one-to-one assignment by label gave one of them instead."""

    files: dict[str, tuple[str, ...]]
    rms: dict[str, np.ndarray]
    nearest_distinct: int
    collisions: tuple[tuple[str, str], ...]

    def indices(self, files: tuple[str, ...]) -> dict[str, np.ndarray]:
        """The positions of each split's files in ``files`` (e.g. ``load_busi().files``)."""
        position = {name: i for i, name in enumerate(files)}
        return {split: np.array([position[name] for name in names]) for split, names in self.files.items()}


def breastmnist_split(tolerance: float = MATCH_TOLERANCE) -> BreastMNISTSplit:
    """Recover BreastMNIST's official train / val / test split as BUSI file names.

    Each BUSI image is brought to 28 x 28 as MedMNIST did (:func:`breastmnist_thumbnail`) and every
    BreastMNIST image is matched one to one to a BUSI image of its label (BreastMNIST: 0 malignant,
    1 normal or benign) by :func:`match_images`. Needs BUSI (see :func:`utils.busi.find_busi`) and BreastMNIST
    (:func:`utils.medmnist.load_medmnist`).

    Raises:
        ValueError: a BreastMNIST image without a BUSI image of its label within ``tolerance``.
    """
    names, busi_classes, thumbnails = map_originals(breastmnist_thumbnail)
    busi_labels = np.array([BREASTMNIST_LABEL[BUSI_CLASSES[label]] for label in busi_classes])
    data = load_medmnist("breastmnist")
    queries = np.concatenate([getattr(data, f"x_{split}") for split in MEDMNIST_SPLITS])
    labels = np.concatenate([getattr(data, f"y_{split}") for split in MEDMNIST_SPLITS])
    match = match_images(queries, labels, thumbnails, busi_labels, tolerance=tolerance)
    bounds = np.cumsum([0] + [len(getattr(data, f"y_{split}")) for split in MEDMNIST_SPLITS])
    taken = np.bincount(match.nearest, minlength=len(names))
    collisions = tuple((names[match.nearest[k]], names[match.index[k]]) for k in range(len(queries))
                       if taken[match.nearest[k]] > 1 and match.index[k] != match.nearest[k])
    return BreastMNISTSplit(
        files={split: tuple(names[i] for i in match.index[bounds[s]:bounds[s + 1]])
               for s, split in enumerate(MEDMNIST_SPLITS)},
        rms={split: match.rms[bounds[s]:bounds[s + 1]] for s, split in enumerate(MEDMNIST_SPLITS)},
        nearest_distinct=len(np.unique(match.nearest)),
        collisions=collisions,
    )


def official_split(data: BUSIImages) -> dict[str, np.ndarray]:
    """BreastMNIST's official train / val / test split as indices into ``data``: recovered on BUSI by
    :func:`breastmnist_split`, or read from the file names of :func:`breastmnist_fallback`."""
    if data.name == "breastmnist":
        split_of = np.array([name.split(" ")[0] for name in data.files])
        return {split: np.flatnonzero(split_of == split) for split in MEDMNIST_SPLITS}
    return breastmnist_split().indices(data.files)
