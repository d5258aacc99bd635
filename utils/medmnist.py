"""MedMNIST (notebook 06): the official files, shipped, cached or downloaded, always MD5-checked.

Their entries in the course's one registry, :data:`utils.data.DATASETS`, hold their title, class
names, channels, positive class, official split sizes and MD5s; :func:`load_medmnist` finds a file in
``COURSE_DATA_DIR/medmnist/``, in ``data/medmnist/`` (the 28x28 files the course ships), in the course
cache, in ``~/.medmnist/`` or downloads it, and says which file it read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from utils.config import COURSE_ROOT, atomic_write, download, network_allowed, settings
from utils.data import DATASETS, Dataset, DatasetInfo, check_split, existing_file, read_npz

# The official files are those of the MedMNIST Zenodo record (MedMNIST v2 at 28x28, MedMNIST+ at 64,
# 128 and 224); their MD5s are in the registry.

MEDMNIST_URL = "https://zenodo.org/records/10519652/files/{file_name}?download=1"
MEDMNIST_SIZES = (28, 64, 128, 224)
MEDMNIST_PACKAGE_ROOT = Path("~/.medmnist").expanduser()  # where the `medmnist` package keeps its files
MEDMNIST_SPLITS = ("train", "val", "test")
MEDMNIST_SHIPPED_DIR = COURSE_ROOT / "data" / "medmnist"  # the official 28x28 files, shipped with the course


def medmnist_names() -> tuple[str, ...]:
    """The data sets of :data:`~utils.data.DATASETS` that this module reads: those with MedMNIST's MD5s."""
    return tuple(name for name, info in DATASETS.items() if set(info.md5) == set(MEDMNIST_SIZES))


class ChecksumError(OSError):
    """A downloaded file's MD5 is not the one its publisher lists."""


def medmnist_file_name(name: str, size: int = 28) -> str:
    """The official file name: ``<name>.npz`` at 28x28, ``<name>_<size>.npz`` for MedMNIST+ sizes."""
    return f"{name}.npz" if size == 28 else f"{name}_{size}.npz"


def file_md5(path: Path, chunk_size: int = 1 << 20) -> str:
    """The MD5 hex digest of a file, read in chunks."""
    import hashlib

    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_verified(name: str, size: int, destination: Path) -> None:
    """Download the official file into ``destination``; keep it only if its MD5 is the official one."""
    url = MEDMNIST_URL.format(file_name=medmnist_file_name(name, size))
    expected = DATASETS[name].md5[size]
    print(f"Downloading {url} ...")
    with atomic_write(destination) as partial:  # unique per download; moved into place only when verified
        try:
            download(url, partial)
        except OSError as error:  # URLError, timeouts, HTTP errors
            raise OSError(
                f"Could not download {url} ({error}). Check the connection, or download the file by "
                f"hand into {destination.parent} or COURSE_DATA_DIR/medmnist/."
            ) from error
        actual = file_md5(partial)
        if actual != expected:
            raise ChecksumError(
                f"The download of {url} has MD5 {actual}, not the official {expected}: the file is "
                "corrupt or incomplete and was deleted. Try again, or download it by hand into "
                f"{destination.parent}."
            )


def _check_medmnist_request(name: str, size: int) -> str:
    if not isinstance(name, str) or name.strip().lower() not in medmnist_names():
        raise ValueError(f"name must be one of {medmnist_names()}, got {name!r}.")
    if isinstance(size, bool) or size not in MEDMNIST_SIZES:
        raise ValueError(
            f"size must be one of {MEDMNIST_SIZES} (28: MedMNIST v2; 64, 128, 224: MedMNIST+), got {size!r}."
        )
    return name.strip().lower()


def _read_medmnist(path: Path, info: DatasetInfo, size: int) -> dict[str, np.ndarray]:
    """The six arrays of a MedMNIST ``.npz``, labels flattened to shape (N,), int64, after checking
    them (uint8 images (N, size, size[, 3]), one label per image within the class names).

    Images keep the file's layout: (N, size, size) when ``info.channels`` is 1, (N, size, size, 3) when 3.
    """
    arrays = read_npz(path, tuple(f"{split}_{kind}" for split in MEDMNIST_SPLITS for kind in ("images", "labels")))
    for split in MEDMNIST_SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if labels.ndim == 2 and labels.shape[1] > 1:
            raise ValueError(f"{path}: {split}_labels has shape {labels.shape}: multi-label data sets are not supported.")
        arrays[f"{split}_labels"] = check_split(info, split, str(path), images, labels)
        if images.shape[1:3] != (size, size):
            raise ValueError(f"{path}: {split}_images has shape {images.shape}, expected {size}x{size} images.")
    return arrays


def _check_not_another(name: str, path: Path, md5: str) -> None:
    """A file under ``name``'s file name must not be another registered data set's official file."""
    for other, info in DATASETS.items():
        if other != name and md5 in info.md5.values():
            raise ValueError(f"{path} is {info.title}'s official file (MD5 {md5}), not {DATASETS[name].title}'s; "
                             f"put {DATASETS[name].title}'s file there, or this file under its own name.")


def _check_split_sizes(name: str, path: Path, sizes: dict[str, int]) -> None:
    """Split sizes that are another registered data set's (and not ``name``'s) say which data set a file holds."""
    if sizes == DATASETS[name].n_samples:
        return
    for other, info in DATASETS.items():
        if other != name and info.n_samples and sizes == info.n_samples:
            raise ValueError(f"{path} has the split sizes of {info.title} ({sizes}), not those of "
                             f"{DATASETS[name].title} ({DATASETS[name].n_samples}): it holds another data set.")


def load_medmnist(name: str, size: int = 28) -> Dataset:
    """Load a MedMNIST data set (train / val / test), labels flattened to shape (N,).

    Sources, in order: ``COURSE_DATA_DIR/medmnist/<file>``; the official 28x28 files shipped with
    the course in ``data/medmnist/``; the course cache (``COURSE_CACHE_DIR/medmnist/<file>``);
    ``~/.medmnist/<file>`` (where the ``medmnist`` package stores its downloads); else, unless
    ``COURSE_OFFLINE=1``, the official file from the MedMNIST Zenodo record, downloaded into the
    course cache and kept only if its MD5 is the official one. ``<file>`` is ``<name>.npz`` for
    28x28 (MedMNIST v2) or ``<name>_<size>.npz`` (MedMNIST+ at 64, 128 and 224).

    A local file is always used, and its MD5 is compared with the official one: the line the loader
    prints says whether it read the official file or a different one (e.g. a subset).

    Args:
        name: one of :func:`medmnist_names`: ``"pneumoniamnist"``, ``"breastmnist"`` or ``"retinamnist"``.
        size: the image side, 28, 64, 128 or 224.

    Returns:
        Images as uint8, (N, size, size) for grey data sets and (N, size, size, 3) for colour ones
        (``DATASETS[name].channels``); labels int64 (N,). ``official`` says whether the file read is
        byte for byte the official download.

    Raises:
        ValueError: unknown ``name`` or ``size``, a file that is not a MedMNIST file, or one that holds another
            registered data set (its MD5 or its split sizes say so).
        FileNotFoundError: offline and no local file.
        ChecksumError: the download's MD5 is not the official one (the file is deleted).
    """
    name = _check_medmnist_request(name, size)
    info = DATASETS[name]
    file_name = medmnist_file_name(name, size)
    s = settings()
    cache_file = s.cache_dir / "medmnist" / file_name
    candidates = [
        (s.data_dir / "medmnist" / file_name if s.data_dir else None, "COURSE_DATA_DIR"),
        (MEDMNIST_SHIPPED_DIR / file_name, "shipped with the course"),
        (cache_file, "course cache"),
        (MEDMNIST_PACKAGE_ROOT / file_name, "medmnist package folder"),
    ]
    found = [(path, where) for path, where in candidates if existing_file(path)]
    downloads = ("course cache", "medmnist package folder")  # what these hold was downloaded: it must be official
    md5 = file_md5(found[0][0]) if found and found[0][1] in downloads else None
    if md5 is not None and md5 != info.md5[size]:
        damaged = found[0][0]
        if not network_allowed():
            raise ChecksumError(
                f"{damaged} ({found[0][1]}) has an MD5 that is not the official {info.md5[size]}: a download cut "
                "short or a damaged file. COURSE_OFFLINE=1 forbids a new download: delete it, or run once "
                "with the network allowed."
            )
        print(f"{damaged} is not the official file (MD5 differs: a download cut short?); downloading it again.")
        found, md5 = [], None
    if found:
        path, where = found[0]
        origin = f"{path} ({where})"
    elif not network_allowed():
        looked = ", ".join(str(path) for path, _ in candidates if path is not None)
        raise FileNotFoundError(
            f"{info.title} ({file_name}) is not on this machine (looked in: {looked}) and "
            "COURSE_OFFLINE=1 forbids the download. Set COURSE_OFFLINE=0 on a machine with internet, "
            f"or copy {file_name} into COURSE_DATA_DIR/medmnist/."
        )
    else:
        _download_verified(name, size, cache_file)
        path, md5 = cache_file, info.md5[size]  # the download was verified
        origin = f"{MEDMNIST_URL.format(file_name=file_name)} (downloaded into {cache_file})"

    md5 = md5 or file_md5(path)  # each file is read for its MD5 once
    expected = info.md5[size]
    official = md5 == expected
    verdict = (
        f"MD5 {md5}, the official file" if official
        else f"MD5 {md5} differs from the official {expected}: a local file, NOT the official download"
    )
    _check_not_another(name, path, md5)
    arrays = _read_medmnist(path, info, size)
    _check_split_sizes(name, path, {split: len(arrays[f"{split}_labels"]) for split in MEDMNIST_SPLITS})
    counts = " / ".join(f"{len(arrays[f'{split}_labels']):,} {split}" for split in MEDMNIST_SPLITS)
    print(f"{info.title} ({size}x{size}): {counts} images; source: {origin}; {verdict}.")
    return Dataset(
        name=name,
        x_train=arrays["train_images"], y_train=arrays["train_labels"],
        x_test=arrays["test_images"], y_test=arrays["test_labels"],
        class_names=info.class_names, source=f"{origin}; {verdict}",
        x_val=arrays["val_images"], y_val=arrays["val_labels"],
        official=official, positive_class=info.positive_class, ordinal=info.ordinal,
    )
