"""Folders of image files (notebook 07): read one into a data set, write one, label new images.

A labelled folder has one sub-folder per class (the class names are the folder names, sorted), or
``train/``, ``test/`` and optionally ``val/`` folders that each hold the same class sub-folders::

    my_images/                     my_images/
        benign/  a.png b.png ...       train/benign/ ...  train/malignant/ ...
        malignant/ ...                 val/benign/ ...    (val/ is optional)
                                       test/benign/ ...   test/malignant/ ...

The rules :func:`load_image_folder` applies to every file:

- **Formats**: PNG, JPEG, BMP and TIFF (read with Pillow). 8-bit images are kept as they are.
  **16-bit images** (e.g. microscopy TIFFs) are scaled from their full range 0-65535 to 0-255
  (value / 257, rounded), the same rule for every image, so brightness stays comparable between
  images; a 12-bit camera's images (0-4095) therefore look dark: rescale them beforehand if that matters.
- **Grey or colour**: an image is colour when its red, green and blue channels differ; the data set is
  colour (``(N, H, W, 3)``) if any image is, else grey (``(N, H, W)``), or what ``colour`` forces.
  Grey images in a colour data set are copied to three channels; colour ones in a grey data set are
  converted with ITU-R 601 luma (Pillow's ``L`` mode). An alpha channel is dropped.
- **Size**: every image is resized to ``image_size x image_size`` keeping its aspect ratio (bilinear
  interpolation with antialiasing), then ``fit="pad"`` pads the short side with black, centred, or
  ``fit="crop"`` fills the square and cuts the long side, centred. Square images are only resized.

A file that cannot be read is skipped; all such files are listed in one warning at the end.

**The positive class** (the finding, e.g. ``malignant``) is the class folder that ``positive_class`` or,
by default, ``COURSE_POSITIVE_CLASS`` names; unset, the one that the folder's ``dataset.json`` names
(:func:`export_image_folder` writes it, with the registry's positive class and whether the classes are
ordered grades), else none.

:mod:`utils.serving` saves a model trained on such a data set with what prediction needs, and labels
new folders of images by the same rules (:func:`read_image_files`).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
from PIL import Image, UnidentifiedImageError
from sklearn.model_selection import train_test_split

from utils import fetal_planes
from utils.config import atomic_folder, cache_path, settings
from utils.data import Dataset
from utils.images import as_float_images, check_class_names, check_int, check_labels, check_layout, check_number
from utils.medmnist import load_medmnist, medmnist_names

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
SPLITS = ("train", "val", "test")
FITS = ("pad", "crop")
COLOURS = ("grey", "rgb")
PROGRESS_MIN_FILES = 200  # folders with more files than this show a progress bar
DESCRIPTION_FILE = "dataset.json"  # what export_image_folder says of the data set: positive class, ordinal


def _check_choice(argument: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{argument} must be one of {choices}, got {value!r}.")


def _read_pixels(path: Path) -> np.ndarray:
    """A file's pixels as uint8, (H, W) grey or (H, W, 3) colour, scaled by the module's 16-bit rule."""
    with Image.open(path) as image:
        image.load()
        if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            pixels = np.asarray(image)
            if pixels.min() < 0 or pixels.max() > 65535:
                raise ValueError(f"32-bit values outside 0-65535 ({pixels.min()} to {pixels.max()})")
            return np.round(pixels.astype(np.float64) / 257).astype(np.uint8)
        if image.mode in ("L", "1"):
            return np.asarray(image.convert("L"))
        if image.mode in ("RGB", "RGBA", "P", "PA", "LA", "CMYK", "YCbCr"):
            pixels = np.asarray(image.convert("RGB"))
            if image.mode in ("LA", "PA") or (pixels[..., 0] == pixels[..., 1]).all() and (
                    pixels[..., 1] == pixels[..., 2]).all():
                return pixels[..., 0].copy()  # grey stored as colour
            return pixels
        raise ValueError(f"unsupported pixel mode {image.mode!r}")


def fit_to_square(pixels: np.ndarray, image_size: int, fit: str = "pad") -> np.ndarray:
    """Resize one uint8 image to ``image_size x image_size`` keeping its aspect ratio (see the module's rule).

    ``fit="pad"``: the long side becomes ``image_size`` and the short side is padded with black,
    centred. ``fit="crop"``: the short side becomes ``image_size`` and the long side is cut, centred.
    """
    check_int("image_size (pixels)", image_size, 8)
    _check_choice("fit", fit, FITS)
    height, width = pixels.shape[:2]
    if (height, width) == (image_size, image_size):
        return pixels
    scale = (max if fit == "pad" else min)(height, width)
    new_height = max(1, round(height * image_size / scale))
    new_width = max(1, round(width * image_size / scale))
    resized = np.asarray(Image.fromarray(pixels).resize((new_width, new_height), Image.Resampling.BILINEAR,
                                                        reducing_gap=None))
    if fit == "crop":
        top, left = (new_height - image_size) // 2, (new_width - image_size) // 2
        return resized[top:top + image_size, left:left + image_size]
    square = np.zeros((image_size, image_size) + pixels.shape[2:], np.uint8)
    top, left = (image_size - new_height) // 2, (image_size - new_width) // 2
    square[top:top + new_height, left:left + new_width] = resized
    return square


def _to_colour(pixels: np.ndarray, colour: str) -> np.ndarray:
    if colour == "rgb":
        return pixels if pixels.ndim == 3 else np.repeat(pixels[..., np.newaxis], 3, axis=-1)
    return pixels if pixels.ndim == 2 else np.asarray(Image.fromarray(pixels).convert("L"))


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _class_folders(folder: Path) -> dict[str, list[Path]]:
    """Class name -> its image files, for the sub-folders of ``folder``; clear errors for bad layouts."""
    classes = {p.name: _image_files(p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")}
    if not classes:
        loose = _image_files(folder)
        raise ValueError(f"{folder} has no class sub-folders" + (
            f" (it holds {len(loose)} images directly: put each class's images in a sub-folder named after the "
            "class)" if loose else " and no images") + ".")
    empty = [name for name, files in classes.items() if not files]
    if empty:
        raise ValueError(f"the class folder(s) {', '.join(str(folder / n) for n in empty)} hold no images "
                         f"({', '.join(IMAGE_EXTENSIONS)}); remove them or add images.")
    if len(classes) < 2:
        raise ValueError(f"{folder} has a single class folder ({next(iter(classes))}); a classifier needs at least 2.")
    return classes


def _read_images(files: list[Path], unreadable: list[str], sizes: dict) -> tuple[list[np.ndarray], list[int]]:
    """The pixels of ``files`` as stored, and the indices of the files read; unreadable files are added to
    ``unreadable``, and the (height, width) of the others counted in ``sizes``."""
    progress = keras.utils.Progbar(len(files), unit_name="image") if len(files) > PROGRESS_MIN_FILES else None
    images, kept = [], []
    for i, path in enumerate(files):
        try:
            pixels = _read_pixels(path)
        except (OSError, ValueError, UnidentifiedImageError, SyntaxError) as error:
            unreadable.append(f"{path} ({str(error).splitlines()[0][:80] if str(error) else type(error).__name__})")
        else:
            sizes[pixels.shape[:2]] = sizes.get(pixels.shape[:2], 0) + 1
            images.append(pixels)
            kept.append(i)
        if progress is not None:
            progress.update(i + 1)
    return images, kept


def _square_images(images: list[np.ndarray], image_size: int, colour: str, fit: str) -> np.ndarray:
    """One uint8 array of ``images`` in ``colour``, each brought to ``image_size`` by :func:`fit_to_square`."""
    return np.stack([fit_to_square(_to_colour(p, colour), image_size, fit) for p in images])


def _warn_unreadable(unreadable: list[str], stacklevel: int = 3) -> None:
    if unreadable:
        warnings.warn(f"{len(unreadable)} file(s) could not be read and were skipped: " + "; ".join(unreadable),
                      stacklevel=stacklevel)


def read_image_files(files: list[Path], *, image_size: int, colour: str, fit: str) -> tuple[np.ndarray, list[int]]:
    """Read ``files`` by the module's rules into one uint8 array of ``image_size`` squares in ``colour``
    (``"grey"`` or ``"rgb"``), brought to size by ``fit``; unreadable files are skipped and listed in one
    warning, which points at the line that called this function's caller.

    Returns:
        The images, and the indices in ``files`` of the files read.

    Raises:
        ValueError: no file could be read.
    """
    unreadable: list[str] = []
    images, kept = _read_images(files, unreadable, {})
    _warn_unreadable(unreadable, stacklevel=4)
    if not images:
        raise ValueError(f"none of the {len(files)} files could be read: {'; '.join(unreadable[:3])}.")
    return _square_images(images, image_size, colour, fit), kept


def _class_order(folder: Path, class_names: tuple[str, ...], positive_class: str | None) -> tuple[int | None, bool]:
    """The index of the positive class and whether the classes are ordinal, by the module's rule."""
    description_file = folder / DESCRIPTION_FILE
    description = json.loads(description_file.read_text()) if description_file.is_file() else {}
    setting = settings().positive_class
    argument, chosen = (("positive_class", positive_class) if positive_class is not None
                        else ("COURSE_POSITIVE_CLASS", setting) if setting is not None
                        else (str(description_file), description.get("positive_class")))
    if chosen is not None and chosen not in class_names:
        raise ValueError(f"{argument} must name one of the class folders of {folder} ({', '.join(class_names)}), "
                         f"got {chosen!r}.")
    return (class_names.index(chosen) if chosen is not None else None), bool(description.get("ordinal", False))


def load_image_folder(
    path: str | Path,
    *,
    image_size: int = 28,
    colour: str | None = None,
    fit: str = "pad",
    name: str | None = None,
    positive_class: str | None = None,
) -> Dataset:
    """Read a folder of labelled images (layout and rules: see the module) into a :class:`~utils.data.Dataset`.

    Args:
        path: the folder: class sub-folders, or ``train/``, ``test/`` (and optionally ``val/``) folders
            that each hold the same class sub-folders.
        image_size: the side of the square images returned, in pixels.
        colour: ``"grey"`` or ``"rgb"`` to force one; None chooses from the files (colour if any image is).
        fit: ``"pad"`` (keep the whole image, pad with black) or ``"crop"`` (fill, cut the long side).
        name: the data set's name (default: the folder's name).
        positive_class: the class folder of the clinically positive class (default: ``COURSE_POSITIVE_CLASS``,
            else the folder's ``dataset.json``, else none).

    Returns:
        uint8 images, ``(N, image_size, image_size)`` grey or ``(..., 3)`` colour, int64 labels (the index
        of the class folder in the sorted class names), one file path per image (``files``), the sizes
        found and ``fit``. A folder without split folders has all its images in the training split (its
        validation and test splits are empty) until :func:`split_dataset` splits them.

    Raises:
        ValueError: a missing folder, a folder without images, an empty class folder, a single class,
            split folders whose class names differ, a positive class that is no class folder, or bad
            arguments; each names the folder.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ValueError(f"path must be an existing folder, got {str(path)!r}.")
    check_int("image_size (pixels)", image_size, 8)
    _check_choice("fit", fit, FITS)
    if colour is not None:
        _check_choice("colour", colour, COLOURS)
    split_folders = [s for s in SPLITS if (folder / s).is_dir()]
    if split_folders and not {"train", "test"} <= set(split_folders):
        raise ValueError(f"{folder} has the split folder(s) {split_folders}: a split layout needs train/ and test/ "
                         "(val/ is optional); without them, put the class folders directly in it.")
    layout = {s: _class_folders(folder / s) for s in split_folders} if split_folders else {
        "train": _class_folders(folder)}
    class_names = tuple(layout["train"])
    for split, classes in layout.items():
        if tuple(classes) != class_names:
            raise ValueError(f"the class folders of {folder / split} ({', '.join(classes)}) differ from those of "
                             f"{folder / 'train'} ({', '.join(class_names)}); every split needs the same classes.")
    positive_index, ordinal = _class_order(folder, class_names, positive_class)

    unreadable, sizes, pixels, labels, files = [], {}, {}, {}, {}
    for split, classes in layout.items():
        all_files = [f for files_of_class in classes.values() for f in files_of_class]
        all_labels = [c for c, files_of_class in enumerate(classes.values()) for _ in files_of_class]
        images, kept = _read_images(all_files, unreadable, sizes)
        pixels[split], labels[split] = images, np.array(all_labels, np.int64)[kept]
        files[split] = [str(all_files[i]) for i in kept]
        missing = [class_names[c] for c in range(len(class_names)) if not np.any(labels[split] == c)]
        if missing:
            raise ValueError(f"no readable image in the class folder(s) {', '.join(missing)} of "
                             f"{folder / split if split_folders else folder}; unreadable: {unreadable}.")
    if colour is None:
        colour = "rgb" if any(p.ndim == 3 for images in pixels.values() for p in images) else "grey"
    shape = (0, image_size, image_size) + ((3,) if colour == "rgb" else ())
    arrays = {split: _square_images(images, image_size, colour, fit) for split, images in pixels.items()}
    arrays.setdefault("val", np.zeros(shape, np.uint8))
    arrays.setdefault("test", np.zeros(shape, np.uint8))
    for split in ("val", "test"):
        labels.setdefault(split, np.zeros(0, np.int64))
        files.setdefault(split, [])
    _warn_unreadable(unreadable)
    counts = " / ".join(f"{len(labels[s]):,} {s}" for s in SPLITS if len(labels[s])) + " images"
    size_text = ", ".join(f"{h}x{w} ({n})" for (h, w), n in sorted(sizes.items(), key=lambda kv: -kv[1])[:3])
    source = f"{folder} ({'split folders' if split_folders else 'class folders'}; sizes found: {size_text}" + (
        f", and {len(sizes) - 3} more" if len(sizes) > 3 else "") + f"; {len(unreadable)} unreadable skipped)"
    dataset = Dataset(
        name=name or folder.name, x_train=arrays["train"], y_train=labels["train"], x_test=arrays["test"],
        y_test=labels["test"], class_names=class_names, source=source, x_val=arrays["val"], y_val=labels["val"],
        files=files, sizes_found=dict(sizes), fit=fit, positive_class=positive_index, ordinal=ordinal,
    )
    positive = f"positive class: {class_names[positive_index]}, " if positive_index is not None else ""
    print(f"{dataset.name}: {len(class_names)} classes ({', '.join(class_names)}), {positive}{counts}, {colour}, "
          f"{image_size}x{image_size} ({fit}); source: {source}")
    return dataset


def split_dataset(dataset: Dataset, *, val_fraction: float = 0.15, test_fraction: float = 0.15,
                  seed: int = 0) -> Dataset:
    """Draw the missing test and validation splits of a folder's data set, stratified, by image.

    A data set that has a test split keeps it; a missing validation split is taken from the training
    images (when both are drawn, ``val_fraction`` and ``test_fraction`` are shares of all images). Split
    by patient instead when one patient has several images (see notebook 07).
    """
    if not isinstance(dataset, Dataset) or dataset.files is None:
        raise TypeError(f"dataset must be a Dataset read by load_image_folder (with its files), "
                        f"got {type(dataset).__name__}.")
    for argument, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        check_number(argument, value, 0, 0.5, exclusive=True)
    x, y, files = dataset.x_train, dataset.y_train, np.array(dataset.files["train"], dtype=object)
    parts = {"test": (dataset.x_test, dataset.y_test, dataset.files["test"]),
             "val": (dataset.x_val, dataset.y_val, dataset.files["val"])}
    drawn = [split for split in ("test", "val") if not len(parts[split][1])]
    if not drawn:
        return dataset
    for split, fraction in (("test", test_fraction), ("val", val_fraction)):
        if split not in drawn:
            continue
        share = fraction / (1 - test_fraction) if split == "val" and "test" in drawn else fraction
        try:
            x, x_out, y, y_out, files, files_out = train_test_split(
                x, y, files, test_size=share, stratify=y, shuffle=True, random_state=seed)
        except ValueError as error:
            raise ValueError(f"{dataset.name}: too few images per class for a stratified {split} split "
                             f"({np.bincount(y).tolist()} per class): {error}") from error
        parts[split] = (x_out, y_out, list(files_out))
    return replace(
        dataset, x_train=x, y_train=y, x_test=parts["test"][0], y_test=parts["test"][1],
        source=dataset.source + f"; {' and '.join(drawn)} split drawn stratified, seed {seed}",
        x_val=parts["val"][0], y_val=parts["val"][1],
        files={"train": list(files), "val": list(parts["val"][2]), "test": list(parts["test"][2])},
    )


def export_image_folder(dataset: Dataset, path: str | Path) -> Path:
    """Write ``dataset`` as PNG files in the split layout: ``path/<split>/<class name>/<index>.png``.

    Splits: train, test, and val if the data set has one (e.g. a MedMNIST data set). ``<index>`` is
    the image's position in its split, zero-padded, so files sort in the data set's order. Images follow
    the one image rule (:func:`utils.images.as_float_images`: uint8, whole numbers 0..255 or floats in
    [0, 1], written as grey levels 0..255), grey ``(N, H, W)`` or ``(N, H, W, 1)``, or colour
    ``(N, H, W, 3)``; labels are checked against the class names. Class names must be distinct (also
    ignoring case: one folder on Windows and macOS) and usable as folder names (no ``/``);
    :func:`load_image_folder` sorts them, so a data set whose class names are not in sorted order comes
    back with other label numbers. ``path/dataset.json`` names the positive class and says whether the
    classes are ordinal, so that the folder read back keeps both.

    ``path`` must be new or an empty folder (an export never mixes with earlier files). Everything is
    written into a hidden sibling folder that takes ``path``'s name when complete
    (:func:`utils.config.atomic_folder`): an export that fails or is killed leaves no folder at ``path``.

    Raises:
        FileExistsError: ``path`` is a file or a folder that holds files.
        ValueError, TypeError: images, labels or class names that would be written wrongly; nothing is written.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a utils.data.Dataset, got {type(dataset).__name__}.")
    class_names = _folder_names(dataset)
    root = Path(path).expanduser()
    if root.exists() and not (root.is_dir() and not any(root.iterdir())):
        raise FileExistsError(f"path must be a new or an empty folder, got {root}, which "
                              f"{'holds files (an earlier export?)' if root.is_dir() else 'is a file'}: the export "
                              "would mix with them. Delete it, or choose another path.")
    splits = {}  # every split is checked before the first file is written
    for split in SPLITS:
        images, labels = getattr(dataset, f"x_{split}", None), getattr(dataset, f"y_{split}", None)
        if images is None or not len(images):
            continue
        splits[split] = (_grey_levels(images, f"{dataset.name}: x_{split}"),
                         check_labels(labels, len(class_names), name=f"{dataset.name}: y_{split}",
                                      n_images=len(images)))
    positive = class_names[dataset.positive_class] if dataset.positive_class is not None else None
    with atomic_folder(root) as folder:
        for split, (pixels, labels) in splits.items():
            for c in np.unique(labels):
                (folder / split / class_names[c]).mkdir(parents=True)
            digits = len(str(len(pixels)))
            for i, (image, label) in enumerate(zip(pixels, labels)):
                Image.fromarray(image).save(folder / split / class_names[label] / f"{i:0{digits}d}.png")
        (folder / DESCRIPTION_FILE).write_text(json.dumps({"positive_class": positive, "ordinal": dataset.ordinal},
                                                          indent=2))
    return root


def _folder_names(dataset: Dataset) -> tuple[str, ...]:
    """The class names of ``dataset``, checked to be distinct folder names on every system."""
    names = check_class_names(dataset.class_names, name=f"the class names of {dataset.name}")
    bad = [n for n in names if "/" in n or "\\" in n or "\0" in n or n.startswith(".")]
    if bad:
        raise ValueError(f"the class names {bad} of {dataset.name} cannot be folder names.")
    lowered = [n.lower() for n in names]
    same = sorted({n for n in names if lowered.count(n.lower()) > 1})
    if same:
        raise ValueError(f"the class names {same} of {dataset.name} differ only in case: they would be one folder "
                         "on Windows and macOS; rename one.")
    return names


def _grey_levels(images: np.ndarray, name: str) -> np.ndarray:
    """``images`` by the one image rule as uint8 grey levels, (N, H, W) or (N, H, W, 3), as PNG files store them."""
    images = check_layout(images, name=name)
    if images.ndim == 4 and images.shape[-1] not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels, (N, H, W, 1) or (N, H, W, 3), got {images.shape}.")
    if images.dtype != np.uint8:
        images = np.round(as_float_images(images, name=name) * 255).astype(np.uint8)
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images


def demo_folder(name: str) -> Path:
    """A MedMNIST data set (``"breastmnist"``, ``"retinamnist"``, ...) as an image folder in the course
    cache, exported once from the official file (its ``dataset.json``, written last, marks a complete
    export): the default data of notebook 07."""
    folder = cache_path("folders", name, DESCRIPTION_FILE).parent
    if not (folder / DESCRIPTION_FILE).is_file():
        export_image_folder(load_medmnist(name), folder)
    return folder


def image_folder(setting: str | Path) -> Path:
    """The folder notebook 07 reads: ``setting`` itself, or, for the name of a MedMNIST data set
    (``"breastmnist"``, ``"retinamnist"``), that data set exported by :func:`demo_folder`, or, for
    ``"fetal_planes"`` / ``"fetal_planes_brain"``, the view of FETAL_PLANES_DB's official split
    (:func:`utils.fetal_planes.fetal_planes_folder`)."""
    if str(setting).lower() in medmnist_names():
        return demo_folder(str(setting).lower())
    if str(setting).lower() in fetal_planes.TASKS:
        return fetal_planes.fetal_planes_folder(str(setting).lower())
    folder = Path(setting).expanduser()
    if not folder.is_dir():
        raise ValueError(f"the image folder must be an existing folder or one of "
                         f"{medmnist_names() + tuple(fetal_planes.TASKS)}, got {str(setting)!r}.")
    return folder
