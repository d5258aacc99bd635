"""Serving a trained classifier: save it with what prediction needs, load it, label a folder of new images.

:func:`save_classifier` writes a ``.keras`` file and a ``.json`` file beside it that says what
prediction needs (class names, image size, colour, fit); :func:`predict_folder` uses both to label a
folder of new images in another Python process, without the notebook, reading each image by the rules
of :mod:`utils.folders`.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import keras

from utils.config import atomic_write
from utils.data import Dataset
from utils.folders import IMAGE_EXTENSIONS, read_image_files, walk_images
from utils.models import to_model_input


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


def save_classifier(model: keras.Model, path: str | Path, dataset: Dataset) -> Path:
    """Save ``model`` as ``path`` (``.keras``) and, beside it, a ``.json`` file with the class names and
    the image rule (size, colour, fit) of ``dataset``, read by :func:`~utils.folders.load_image_folder`:
    what :func:`load_classifier` needs.

    The model must take what :func:`~utils.models.to_model_input` makes of the data set's images.
    """
    path = Path(path).expanduser()
    if not isinstance(dataset, Dataset) or dataset.fit is None:
        raise TypeError(f"dataset must be a Dataset read by load_image_folder (its fit rule says how new images are "
                        f"brought to size), got {type(dataset).__name__} with fit {getattr(dataset, 'fit', None)!r}.")
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras, got {str(path)!r}.")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    expected = (dataset.image_size, dataset.image_size, 3 if dataset.colour == "rgb" else 1)
    if tuple(model.input_shape[1:]) != expected or model.output_shape[-1] != len(dataset.class_names):
        raise ValueError(f"model must take images {expected} and give {len(dataset.class_names)} probabilities "
                         f"for {dataset.name}, got input {model.input_shape} and output {model.output_shape}.")
    info = {"class_names": list(dataset.class_names), "image_size": dataset.image_size,
            "colour": dataset.colour, "fit": dataset.fit}
    with atomic_write(path) as temporary:
        model.save(temporary)
    with atomic_write(_info_path(path)) as temporary:
        temporary.write_text(json.dumps(info, indent=2))
    return path


def load_classifier(path: str | Path) -> SavedClassifier:
    """Load a model saved with :func:`save_classifier`, with its class names and image rule."""
    path = Path(path).expanduser()
    info_file = _info_path(path)
    if not path.is_file() or not info_file.is_file():
        raise FileNotFoundError(f"path must name a .keras file saved by save_classifier, with its .json beside it; "
                                f"{path if not path.is_file() else info_file} does not exist.")
    info = json.loads(info_file.read_text())
    model = keras.models.load_model(path, compile=False)  # prediction needs no optimizer
    return SavedClassifier(model, tuple(info["class_names"]), int(info["image_size"]), info["colour"], info["fit"])


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
    table = pd.DataFrame({
        "file": [str(files[i].relative_to(folder)) for i in kept],
        "predicted class": [classifier.class_names[c] for c in probabilities.argmax(axis=1)],
    } | {f"P({name})": probabilities[:, c] for c, name in enumerate(classifier.class_names)})
    csv_path = Path(csv_path).expanduser() if csv_path is not None else folder / "predictions.csv"
    table.to_csv(csv_path, index=False, quoting=csv.QUOTE_MINIMAL)
    return table
