"""Serving a trained classifier: save it with what prediction needs, load it, label a folder of new images.

:func:`save_classifier` writes one ``.keras`` file that holds the model and its description (class names,
image size, colour, fit), and a copy of the description beside it (``.json``) for people to read;
:func:`predict_folder` uses it to label a folder of new images in another Python process, without the
notebook, reading each image by the rules of :mod:`utils.folders`.

The description lives inside the model file (an entry of the ``.keras`` zip archive), so the two are
written in one step (:func:`utils.config.atomic_write`) and cannot disagree: a save that fails or is
killed leaves the earlier file whole. :func:`load_classifier` checks the description against the model
(input size and colour, one output per class name, probabilities out) and names the file when they differ.
"""

from __future__ import annotations

import csv
import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from utils.config import atomic_write
from utils.data import Dataset
from utils.folders import COLOURS, FITS, IMAGE_EXTENSIONS, read_image_files, walk_images
from utils.images import check_class_names, check_int
from utils.models import output_activation, to_model_input

DESCRIPTION_ENTRY = "course_classifier.json"  # the description, inside the .keras archive
DESCRIPTION_KEYS = ("class_names", "image_size", "colour", "fit")
PROBABILITY_OUTPUTS = ("softmax", "sigmoid")


@dataclass(frozen=True)
class SavedClassifier:
    """A model and what prediction needs: its input rule and its class names."""

    model: keras.Model
    class_names: tuple[str, ...]
    image_size: int
    colour: str
    fit: str


def _info_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def _check_fits(model: keras.Model, description: dict, where: str) -> None:
    """The model must take the description's images and give one probability per class name."""
    expected = (description["image_size"], description["image_size"], 3 if description["colour"] == "rgb" else 1)
    size = f"{description['image_size']}x{description['image_size']} {description['colour']} images"
    if tuple(model.input_shape[1:]) != expected:
        raise ValueError(f"{where}: the model must take images {expected} ({size}, as the description says), "
                         f"got input {model.input_shape[1:]}.")
    n_names, n_outputs = len(description["class_names"]), model.output_shape[-1]
    if n_names != n_outputs:
        raise ValueError(f"{where}: the description has {n_names} class names for a model with {n_outputs} outputs.")
    activation = output_activation(model)
    if activation not in PROBABILITY_OUTPUTS:
        raise ValueError(f"{where}: the model must end in softmax (or sigmoid) so that its outputs are the "
                         f"probabilities predict_folder writes as P(class); its output layer's activation is "
                         f"{activation!r} (logits?). Add keras.layers.Activation('softmax') at its end.")


def save_classifier(model: keras.Model, path: str | Path, dataset: Dataset) -> Path:
    """Save ``model`` as ``path`` (``.keras``) with its description: the class names and the image rule
    (size, colour, fit) of ``dataset``, read by :func:`~utils.folders.load_image_folder`; a copy of the
    description is written beside it (``.json``).

    The model must take what :func:`~utils.models.to_model_input` makes of the data set's images and end in
    softmax (or sigmoid): one probability per class.
    """
    path = Path(path).expanduser()
    if not isinstance(dataset, Dataset) or dataset.fit is None:
        raise TypeError(f"dataset must be a Dataset read by load_image_folder (its fit rule says how new images are "
                        f"brought to size), got {type(dataset).__name__} with fit {getattr(dataset, 'fit', None)!r}.")
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras, got {str(path)!r}.")
    if path.is_dir():
        raise ValueError(f"path must name a file, got {path}, which is a folder.")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    description = {"class_names": list(dataset.class_names), "image_size": dataset.image_size,
                   "colour": dataset.colour, "fit": dataset.fit}
    _check_fits(model, description, f"model for {dataset.name}")
    text = json.dumps(description, indent=2)
    with atomic_write(path) as temporary:
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(DESCRIPTION_ENTRY, text)
    with atomic_write(_info_path(path)) as temporary:  # for people to read; the model file has its own
        temporary.write_text(text)
    return path


def _read_description(path: Path) -> dict:
    """The description saved inside ``path``, checked for its form (its fit to the model is checked later)."""
    with zipfile.ZipFile(path) as archive:
        if DESCRIPTION_ENTRY not in archive.namelist():
            raise ValueError(f"{path} holds no description of the classifier: it was not saved by save_classifier "
                             "(a plain model.save?). Save it with save_classifier(model, path, dataset).")
        text = archive.read(DESCRIPTION_ENTRY).decode()
    try:
        description = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the description saved in it cannot be read ({error}); save the classifier "
                         "again with save_classifier.") from error
    if not isinstance(description, dict):
        raise ValueError(f"{path}: the description saved in it must be a JSON object with {DESCRIPTION_KEYS}, "
                         f"got {type(description).__name__}; save the classifier again with save_classifier.")
    missing = [key for key in DESCRIPTION_KEYS if key not in description]
    if missing:
        raise ValueError(f"{path}: the description saved in it lacks {missing}; save the classifier again with "
                         "save_classifier.")
    check_class_names(description["class_names"], name=f"{path}: class_names")
    check_int(f"{path}: image_size", description["image_size"], 8)
    for key, choices in (("colour", COLOURS), ("fit", FITS)):
        if description[key] not in choices:
            raise ValueError(f"{path}: the description's {key} must be one of {choices}, got {description[key]!r}.")
    return description


def load_classifier(path: str | Path) -> SavedClassifier:
    """Load a classifier saved with :func:`save_classifier`: the model and its class names and image rule,
    checked against each other. A ``.json`` beside it that disagrees (edited by hand, or left by an
    interrupted save) is named in a warning and ignored.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is a folder, not a ``.keras`` file saved by :func:`save_classifier`, or its
            description does not fit its model; each names ``path``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"path must name a .keras file saved by save_classifier; {path} does not exist.")
    if path.is_dir() or not zipfile.is_zipfile(path):
        raise ValueError(f"path must name a .keras file saved by save_classifier, got {path}, which is "
                         f"{'a folder' if path.is_dir() else 'not a .keras (zip) file: damaged, or something else'}.")
    description = _read_description(path)
    try:
        model = keras.models.load_model(path, compile=False)  # prediction needs no optimizer
    except Exception as error:  # a damaged archive: Keras' own message, with the file's name
        raise ValueError(f"{path} cannot be read as a Keras model ({str(error).splitlines()[0][:160]}); save the "
                         "classifier again with save_classifier.") from error
    _check_fits(model, description, str(path))
    info_file = _info_path(path)
    if info_file.exists():
        try:
            agrees = json.loads(info_file.read_text()) == description
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            agrees = False
        if not agrees:
            warnings.warn(f"{info_file} disagrees with the description saved in {path} (edited by hand, or left by "
                          "an interrupted save); it is ignored and the model file's description is used: "
                          f"class names {description['class_names']}. Save the classifier again to rewrite it.",
                          stacklevel=2)
    return SavedClassifier(model, tuple(description["class_names"]), int(description["image_size"]),
                           description["colour"], description["fit"])


def predict_folder(model: str | Path | SavedClassifier, folder: str | Path, *,
                   csv_path: str | Path | None = None, batch_size: int = 64):
    """Label every image of ``folder`` (its sub-folders included) with a saved model and write a CSV.

    Each image is read with the rules the model was trained with (size, colour, fit). Unreadable
    files are skipped and listed in one warning.

    Args:
        model: the ``.keras`` path given to :func:`save_classifier`, or what :func:`load_classifier` returned.
        folder: the images to label.
        csv_path: where to write the CSV (default: ``predictions.csv`` in ``folder``).

    Returns:
        A pandas DataFrame, also written to ``csv_path``: ``file`` (relative to ``folder``),
        ``predicted class``, and one column ``P(<class>)`` per class.
    """
    import pandas as pd

    batch_size = check_int("batch_size", batch_size)
    classifier = model if isinstance(model, SavedClassifier) else load_classifier(model)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing folder, got {str(folder)!r}.")
    files, _ = walk_images(folder)
    if not files:
        raise ValueError(f"{folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
    images, kept = read_image_files(files, image_size=classifier.image_size, colour=classifier.colour,
                                    fit=classifier.fit)
    probabilities = classifier.model.predict(to_model_input(images), batch_size=batch_size, verbose=0)
    if not np.all(np.isfinite(probabilities)):
        raise ValueError("the model's outputs must be probabilities, got NaN or infinite values (NaN weights, from a "
                         "training that diverged?); nothing was written.")
    if probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError(f"the model's outputs must be probabilities in [0, 1], got values from "
                         f"{probabilities.min():.3g} to {probabilities.max():.3g}; nothing was written.")
    table = pd.DataFrame({
        "file": [str(files[i].relative_to(folder)) for i in kept],
        "predicted class": [classifier.class_names[c] for c in probabilities.argmax(axis=1)],
    } | {f"P({name})": probabilities[:, c] for c, name in enumerate(classifier.class_names)})
    csv_path = Path(csv_path).expanduser() if csv_path is not None else folder / "predictions.csv"
    table.to_csv(csv_path, index=False, quoting=csv.QUOTE_MINIMAL)
    return table
