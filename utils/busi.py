"""BUSI, breast ultrasound at original resolution with the radiologists' lesion masks (notebook 08).

BUSI (Al-Dhabyani, Gomaa, Khaled, Fahmy, "Dataset of breast ultrasound images", Data in Brief 28
(2020) 104863) has 780 images of three classes (benign 437, malignant 210, normal 133), every image a
different size (hundreds of pixels a side), and 798 lesion masks: ``benign (1).png`` has its mask
``benign (1)_mask.png``, and 18 images have a second or third lesion, ``_mask_1.png`` / ``_mask_2.png``.
It is the source of BreastMNIST: :func:`breastmnist_split` recovers which BUSI file each BreastMNIST
image is, so the official benchmark split can be used at full resolution.

:func:`load_busi` reads the layout of the authors' archive, ``Dataset_BUSI_with_GT/<class>/<file>``, from
``COURSE_DATA_DIR/busi/``, then from the course cache; else, when the network is allowed, it downloads
the authors' archive (:data:`BUSI_URL`) into a temporary file, checks its structure (780 images, 798
masks, 437 / 210 / 133 per class) and only then unpacks it into the cache. Offline without it,
:func:`load_busi_or_breastmnist` says so loudly and returns :func:`breastmnist_fallback`: the same
images at 28 px from the BreastMNIST file the course ships, two classes, no masks.

Images are brought to a square by the course's resize rule (:func:`utils.folders.fit_to_square`);
masks take the same geometry with nearest-neighbour resampling, OR-ed over an image's mask files.
BUSI's redistribution terms are unclear: never commit its images to a repository.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from scipy.optimize import linear_sum_assignment
from skimage.transform import resize

from utils.config import atomic_write, cache_path, network_allowed, settings
from utils.folders import FITS, fit_to_square
from utils.images import check_int, check_number
from utils.medmnist import MEDMNIST_SPLITS, _download, load_medmnist

BUSI_URL = "https://scholar.cu.edu.eg/Dataset_BUSI.zip"  # the archive the authors give in their paper
BUSI_FOLDER = "Dataset_BUSI_with_GT"  # the archive's top folder: BUSI_FOLDER/<class>/<file>
BUSI_CLASSES = ("benign", "malignant", "normal")
BUSI_COUNTS = {"benign": 437, "malignant": 210, "normal": 133}  # images per class in the authors' release
BUSI_MASKS = 798
BREASTMNIST_LABEL = {"benign": 1, "malignant": 0, "normal": 1}  # BreastMNIST: 0 malignant, 1 normal or benign
DECODE_THREADS = 4  # PNG decoding and resizing release the GIL: threads decode in parallel

_FILE_NAME = re.compile(r"^(benign|malignant|normal) \((\d+)\)(_mask(?:_\d+)?)?\.png$")


@dataclass(frozen=True)
class BUSIImages:
    """Ultrasound images of one size with their labels, lesion masks and files.

    ``images``: uint8 (N, size, size) grey; ``masks``: bool (N, size, size), True inside a lesion (all
    False for normal images), or None when the source has no masks (the BreastMNIST fallback);
    ``labels``: int64 (N,), indices into ``class_names``; ``files``: the file name of every image
    (``"benign (1).png"``); ``original_sizes``: int (N, 2), (height, width) of each file as stored;
    ``source``: one line that says where the images came from.
    """

    name: str
    images: np.ndarray
    masks: np.ndarray | None
    labels: np.ndarray
    class_names: tuple[str, ...]
    files: tuple[str, ...]
    original_sizes: np.ndarray
    source: str
    image_size: int
    fit: str


# --- The layout of the archive ------------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    """One BUSI image: its class, its file and its mask files (relative paths in the layout)."""

    label: int
    image: str
    masks: tuple[str, ...]


def _number(path: str) -> int:
    return int(_FILE_NAME.match(PurePosixPath(path).name).group(2))


def busi_layout(paths: Iterable[str]) -> list[_Entry]:
    """The BUSI images among ``paths`` (relative paths or archive member names), in class order and
    by number within a class (``benign (1)``, ``benign (2)``, ...), each with its mask files.

    A path counts when its file name is ``<class> (<n>)[_mask[_k]].png`` and it sits in a folder named
    after its class; other paths (``__MACOSX/...``, read-me files) are ignored.

    Raises:
        ValueError: a mask without its image, or an image without a mask.
    """
    images: dict[str, str] = {}
    masks: dict[str, list[str]] = {}
    for path in paths:
        posix = PurePosixPath(path)
        match = _FILE_NAME.match(posix.name)
        if match is None or posix.parent.name != match.group(1) or "__MACOSX" in posix.parts:
            continue
        key = f"{match.group(1)} ({match.group(2)})"
        if match.group(3):
            masks.setdefault(key, []).append(str(posix))
        else:
            images[key] = str(posix)
    orphans = sorted(set(masks) - set(images))
    unmasked = sorted(set(images) - set(masks))
    if orphans or unmasked:
        raise ValueError("BUSI's layout pairs every image with its mask, but "
                         + "; ".join(part for part in (
                             f"{len(orphans)} mask(s) have no image (e.g. {orphans[0]})" if orphans else "",
                             f"{len(unmasked)} image(s) have no mask (e.g. {unmasked[0]})" if unmasked else "")
                                     if part) + ".")
    order = sorted(images, key=lambda key: (BUSI_CLASSES.index(key.split(" ")[0]), _number(images[key])))
    return [_Entry(BUSI_CLASSES.index(key.split(" ")[0]), images[key], tuple(sorted(masks[key]))) for key in order]


def _counts(entries: list[_Entry]) -> tuple[dict[str, int], int]:
    per_class = {name: sum(e.label == c for e in entries) for c, name in enumerate(BUSI_CLASSES)}
    return per_class, sum(len(e.masks) for e in entries)


def _describe_counts(per_class: dict[str, int], n_masks: int) -> str:
    return (f"{sum(per_class.values())} images ({', '.join(f'{name} {n}' for name, n in per_class.items())}) "
            f"and {n_masks} masks")


def is_official(entries: list[_Entry]) -> bool:
    """Whether ``entries`` have the counts of the authors' release (780 images, 437 / 210 / 133, 798 masks)."""
    return _counts(entries) == (BUSI_COUNTS, BUSI_MASKS)


def check_busi_archive(archive: Path) -> list[_Entry]:
    """The layout of a downloaded zip archive after checking it is BUSI's: the authors' counts of
    images per class and of masks (:data:`BUSI_COUNTS`, :data:`BUSI_MASKS`).

    Raises:
        ValueError: not a zip archive, or not the counts of BUSI; the message says what was found.
    """
    try:
        with zipfile.ZipFile(archive) as opened:
            names = opened.namelist()
    except zipfile.BadZipFile as error:
        raise ValueError(f"{archive} is not a zip archive ({error}): not the BUSI archive "
                         "(a web page instead of the file?).") from error
    entries = busi_layout(names)
    if not is_official(entries):
        raise ValueError(f"{archive} is not the BUSI archive: it holds {_describe_counts(*_counts(entries))}, "
                         f"BUSI has {_describe_counts(BUSI_COUNTS, BUSI_MASKS)} "
                         f"(as {BUSI_FOLDER}/<class>/<class> (<n>).png with <class> (<n>)_mask.png).")
    return entries


# --- Where the files are -------------------------------------------------------------------------

def _local_folders() -> list[tuple[Path, str]]:
    s = settings()
    candidates = [(s.data_dir / "busi" / BUSI_FOLDER if s.data_dir else None, "COURSE_DATA_DIR"),
                  (s.cache_dir / "busi" / BUSI_FOLDER, "course cache")]
    return [(path, where) for path, where in candidates if path is not None]


def _download_busi(destination: Path) -> None:
    """Download the authors' archive into a temporary file, check it, unpack its images and masks into a
    temporary folder beside ``destination`` and move that into place in one step."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    print(f"Downloading {BUSI_URL} (about 200 MB) ...")
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".download-") as temporary:
        archive = Path(temporary) / "Dataset_BUSI.zip"
        try:
            _download(BUSI_URL, archive)
        except OSError as error:  # URLError, timeouts, HTTP errors
            raise OSError(f"Could not download {BUSI_URL} ({error}). Check the connection, or unpack the "
                          f"archive by hand into {destination.parent} or COURSE_DATA_DIR/busi/.") from error
        entries = check_busi_archive(archive)
        unpacked = Path(temporary) / BUSI_FOLDER
        with zipfile.ZipFile(archive) as opened:
            for entry in entries:
                for member in (entry.image, *entry.masks):
                    target = unpacked / BUSI_CLASSES[entry.label] / PurePosixPath(member).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with opened.open(member) as source, open(target, "wb") as copy:
                        shutil.copyfileobj(source, copy)
        if not destination.exists():  # another process may have finished first
            os.replace(unpacked, destination)


def find_busi() -> tuple[Path, str]:
    """The folder ``Dataset_BUSI_with_GT`` to read, and a description of where it is.

    Sources, in order: ``COURSE_DATA_DIR/busi/``, the course cache (``COURSE_CACHE_DIR/busi/``), else,
    unless ``COURSE_OFFLINE=1``, the authors' archive downloaded and checked into the course cache.

    Raises:
        FileNotFoundError: offline and BUSI is in none of the folders.
    """
    folders = _local_folders()
    for folder, where in folders:
        if folder.is_dir():
            return folder, f"{folder} ({where})"
    cache_folder = folders[-1][0]
    if not network_allowed():
        raise FileNotFoundError(
            f"BUSI is not on this machine (looked in: {', '.join(str(f) for f, _ in folders)}) and COURSE_OFFLINE=1 "
            f"forbids the download. Set COURSE_OFFLINE=0 on a machine with internet, or unpack {BUSI_URL} into "
            "COURSE_DATA_DIR/busi/.")
    _download_busi(cache_folder)
    return cache_folder, f"{BUSI_URL} (downloaded and checked into {cache_folder})"


# --- Reading -------------------------------------------------------------------------------------

def _read_grey(path: Path) -> np.ndarray:
    """An image file as uint8 (H, W): grey stored as colour keeps its values; coloured overlays
    (calipers, markers) become grey by ITU-R 601 luma (Pillow's ``L``)."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def _read_mask(paths: Iterable[Path], shape: tuple[int, int]) -> np.ndarray:
    """The OR of mask files as bool (H, W); each must have the image's ``shape``."""
    mask = np.zeros(shape, bool)
    for path in paths:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L")) > 127
        if pixels.shape != shape:
            raise ValueError(f"the mask {path} is {pixels.shape[1]} x {pixels.shape[0]} pixels, its image "
                             f"{shape[1]} x {shape[0]}: masks must be the size of their image.")
        mask |= pixels
    return mask


def fit_mask_to_square(mask: np.ndarray, image_size: int, fit: str = "pad") -> np.ndarray:
    """A bool mask brought to ``image_size x image_size`` with the geometry of
    :func:`utils.folders.fit_to_square` (same scale, same centred padding or crop) and
    nearest-neighbour resampling, so it stays binary and aligned with its resized image."""
    height, width = mask.shape
    scale = (max if fit == "pad" else min)(height, width)
    new_height = max(1, round(height * image_size / scale))
    new_width = max(1, round(width * image_size / scale))
    resized = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(
        (new_width, new_height), Image.Resampling.NEAREST)) > 127
    if fit == "crop":
        top, left = (new_height - image_size) // 2, (new_width - image_size) // 2
        return resized[top:top + image_size, left:left + image_size]
    square = np.zeros((image_size, image_size), bool)
    top, left = (image_size - new_height) // 2, (image_size - new_width) // 2
    square[top:top + new_height, left:left + new_width] = resized
    return square


def _decode(items: list, read: Callable) -> list:
    """``read(item)`` for every item, in order, on :data:`DECODE_THREADS` threads."""
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        return list(pool.map(read, items))


def _entries(folder: Path) -> list[_Entry]:
    entries = busi_layout(p.relative_to(folder).as_posix() for p in folder.glob("*/*.png"))
    if not entries:
        raise ValueError(f"{folder} holds no BUSI image (<class>/<class> (<n>).png, classes {BUSI_CLASSES}).")
    return entries


def _fingerprint(folder: Path, entries: list[_Entry]) -> str:
    """A digest of the files' names, sizes and modification times: a changed file gives another cache file."""
    digest = hashlib.md5()
    for entry in entries:
        for member in (entry.image, *entry.masks):
            stat = (folder / member).stat()
            digest.update(f"{member}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _decode_arrays(folder: Path, entries: list[_Entry], image_size: int, fit: str) -> dict[str, np.ndarray]:
    def read(entry: _Entry) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        pixels = _read_grey(folder / entry.image)
        mask = _read_mask((folder / m for m in entry.masks), pixels.shape)
        return fit_to_square(pixels, image_size, fit), fit_mask_to_square(mask, image_size, fit), pixels.shape

    decoded = _decode(entries, read)
    return {"images": np.stack([d[0] for d in decoded]),
            "masks": np.stack([d[1] for d in decoded]),
            "original_sizes": np.array([d[2] for d in decoded], np.int64)}


def _cached_arrays(folder: Path, entries: list[_Entry], image_size: int, fit: str) -> tuple[dict[str, np.ndarray], str]:
    """The decoded arrays from the course cache, else decoded (780 files: several seconds) and cached."""
    cache_file = cache_path("busi", f"arrays-{image_size}-{fit}-{_fingerprint(folder, entries)}.npz")
    if cache_file.is_file():
        try:
            with np.load(cache_file) as f:
                arrays = {key: f[key] for key in ("images", "original_sizes")}
                arrays["masks"] = np.unpackbits(f["masks"], axis=-1, count=image_size).astype(bool)
            if len(arrays["images"]) == len(entries):
                return arrays, f"decoded arrays cached in {cache_file}"
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # a damaged cache file is decoded again and replaced
    arrays = _decode_arrays(folder, entries, image_size, fit)
    with atomic_write(cache_file) as temporary:
        with open(temporary, "wb") as f:
            np.savez(f, images=arrays["images"], original_sizes=arrays["original_sizes"],
                     masks=np.packbits(arrays["masks"], axis=-1))
    return arrays, f"decoded, then cached in {cache_file}"


def load_busi(image_size: int = 128, *, fit: str = "pad") -> BUSIImages:
    """Load BUSI's 780 images and their lesion masks at ``image_size x image_size``.

    Sources: see :func:`find_busi`. A local folder whose counts differ from the authors' release is
    read, and the line printed says so. The decoded arrays are cached per size and fit in the course
    cache (decoding the 1,578 files takes seconds; a changed file is decoded again).

    Args:
        image_size: the side of the square images, in pixels (the course's rule:
            :func:`utils.folders.fit_to_square`; masks by nearest neighbour with the same geometry).
        fit: ``"pad"`` keeps the whole image and pads its short side with black; ``"crop"`` fills the
            square and cuts the long side (and maybe part of a lesion).

    Returns:
        A :class:`BUSIImages`: class names ``("benign", "malignant", "normal")``, files in class order
        and by number (``benign (1).png``, ``benign (2).png``, ...).

    Raises:
        FileNotFoundError: offline and BUSI not on this machine (see :func:`load_busi_or_breastmnist`).
        ValueError: bad arguments, a folder that is not BUSI's layout, a mask of another size than its image.
    """
    check_int("image_size (pixels)", image_size, 8)
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}.")
    folder, origin = find_busi()
    entries = _entries(folder)
    arrays, how = _cached_arrays(folder, entries, image_size, fit)
    verdict = "the authors' counts" if is_official(entries) else (
        f"NOT the authors' release ({_describe_counts(BUSI_COUNTS, BUSI_MASKS)})")
    result = BUSIImages(
        name="busi", images=arrays["images"], masks=arrays["masks"],
        labels=np.array([e.label for e in entries], np.int64), class_names=BUSI_CLASSES,
        files=tuple(PurePosixPath(e.image).name for e in entries), original_sizes=arrays["original_sizes"],
        source=f"{origin}; {_describe_counts(*_counts(entries))}, {verdict}; {how}",
        image_size=int(image_size), fit=fit,
    )
    print(f"BUSI ({image_size}x{image_size}, {fit}): source: {result.source}.")
    return result


def original_images(files: Iterable[str]) -> Iterator[np.ndarray]:
    """BUSI's images as stored (uint8 (H, W) grey, each its own size), one at a time, for the given
    file names (e.g. ``load_busi().files``): for :func:`utils.near_duplicates.perceptual_hashes` or a
    figure at full resolution, without holding all of them in memory."""
    folder = find_busi()[0]
    for name in files:
        match = _FILE_NAME.match(name)
        if match is None or match.group(3):
            raise ValueError(f"files must be BUSI image names like 'benign (1).png', got {name!r}.")
        yield _read_grey(folder / match.group(1) / name)


# --- Offline: BreastMNIST, the same images at 28 px ----------------------------------------------

def breastmnist_fallback(image_size: int = 28) -> BUSIImages:
    """BreastMNIST's 780 images (train, val, test, in that order) as a :class:`BUSIImages` without masks:
    the same scans as BUSI, centre-cropped and shrunk to 28 x 28 by MedMNIST, two classes
    (0 malignant, 1 normal or benign). ``image_size`` other than 28 enlarges them by the course's rule
    (no detail is gained), so that code written for BUSI at that size runs unchanged.

    Files are named ``"<split> <index>"`` (``"train 0"``, ...): :func:`official_split` reads the split from them.
    """
    check_int("image_size (pixels)", image_size, 8)
    data = load_medmnist("breastmnist")
    splits = {split: getattr(data, f"x_{split}") for split in MEDMNIST_SPLITS}
    images = np.concatenate(list(splits.values()))
    if image_size != images.shape[1]:
        images = np.stack([fit_to_square(image, image_size) for image in images])
    return BUSIImages(
        name="breastmnist", images=images, masks=None,
        labels=np.concatenate([getattr(data, f"y_{split}") for split in MEDMNIST_SPLITS]),
        class_names=data.class_names,
        files=tuple(f"{split} {i}" for split, x in splits.items() for i in range(len(x))),
        original_sizes=np.full((len(images), 2), data.image_size, np.int64),
        source=f"FALLBACK: BreastMNIST at {data.image_size} px, two classes, no masks ({data.source})",
        image_size=int(image_size), fit="pad",
    )


def _fallback_notice(reason: str) -> str:
    bar = "!" * 100
    return (f"{bar}\n"
            "!!  NOTICE: BUSI is not available: this runs on BreastMNIST, the SAME scans at 28 x 28 pixels,\n"
            "!!  with two classes (malignant vs. normal or benign) and NO lesion masks.\n"
            f"!!  Why: {reason}\n"
            "!!  Nothing computed here is a result at full resolution; measures against the masks are skipped.\n"
            f"!!  Fix: run with network access (the authors' archive {BUSI_URL} is downloaded),\n"
            "!!  or unpack it into COURSE_DATA_DIR/busi/.\n"
            f"{bar}")


def load_busi_or_breastmnist(image_size: int = 128, *, fit: str = "pad") -> BUSIImages:
    """:func:`load_busi`, or, when BUSI is not on this machine and the network is off, a loud notice and
    :func:`breastmnist_fallback` at ``image_size`` (so a fresh clone still runs offline)."""
    try:
        return load_busi(image_size, fit=fit)
    except FileNotFoundError as error:
        print(_fallback_notice(str(error)))
        return breastmnist_fallback(image_size)


# --- BreastMNIST's official split, recovered on BUSI ---------------------------------------------

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
    1 normal or benign) by :func:`match_images`. Needs BUSI (see :func:`find_busi`) and BreastMNIST
    (:func:`utils.medmnist.load_medmnist`).

    Raises:
        ValueError: a BreastMNIST image without a BUSI image of its label within ``tolerance``.
    """
    folder, _ = find_busi()
    entries = _entries(folder)
    thumbnails = np.stack(_decode(entries, lambda entry: breastmnist_thumbnail(_read_grey(folder / entry.image))))
    busi_labels = np.array([BREASTMNIST_LABEL[BUSI_CLASSES[e.label]] for e in entries])
    names = [PurePosixPath(e.image).name for e in entries]
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
