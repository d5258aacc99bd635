"""The experiment of a case study (notebooks 06 and 07, and any new one), written once.

A case study trains several candidate models, chooses one on the validation split, measures it once
on the test split, explains its most confident calls and sets its numbers beside a published
benchmark. The pieces that do not teach anything new live here:

- :func:`augmentation`: the case studies' augmentation recipe, flips a setting of the modality;
- :func:`train_head` and :func:`fine_tune`: transfer models trained through
  :func:`~utils.training.train_or_load`, so they are cached like every other network;
- :func:`average_ensemble`: one Keras model that averages the probabilities of several;
- :func:`flip_average`: one that averages a model's probabilities for an image and its mirror image;
- :func:`select_model`: candidates in, a validation table and the chosen one out, with a flag on
  any candidate that calls (almost) every validation image the same class;
- :func:`most_confident_cases`: per class, the most confident right and wrong call, to explain;
- :data:`MEDMNIST_BENCHMARKS` and :func:`benchmark_comparison`: published MedMNIST results as data,
  with their source and split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from utils.evaluation import Estimate, accuracy_interval, compare_with_published, macro_roc_auc
from utils.images import check_number
from utils.training import train_or_load
from utils.transfer import build_head, inception_classifier, unfreeze_top_blocks

SELECTION_METRICS = ("ROC AUC", "accuracy")


def augmentation(*, flip: bool) -> keras.Sequential:
    """The case studies' data augmentation: small rotations, shifts, zooms and contrast changes, and
    horizontal flips when ``flip`` (fine for fundus, microscopy, most ultrasound; wrong for chest
    X-rays and any image with a fixed orientation or text). Pass it to a model builder as
    ``functools.partial(augmentation, flip=...)``, so every model gets its own layers."""
    if not isinstance(flip, bool):
        raise TypeError(f"flip must be True or False (horizontal flips allowed for the modality), got {flip!r}.")
    flips = [keras.layers.RandomFlip("horizontal")] if flip else []
    return keras.Sequential([
        *flips,
        keras.layers.RandomRotation(0.05),  # +/- 18 degrees
        keras.layers.RandomTranslation(0.1, 0.1),
        keras.layers.RandomZoom(0.1),
        keras.layers.RandomContrast(0.2),
    ], name="augmentation")


def train_head(
    features: np.ndarray,
    y: np.ndarray,
    *,
    n_classes: int,
    epochs: int,
    name: str,
    patience: int = 5,
    batch_size: int = 32,
    **training,
) -> keras.Model:
    """A new head (:func:`~utils.transfer.build_head`: it standardises the features, whatever their
    scale) for a frozen backbone, trained on the backbone's extracted ``features`` through
    :func:`~utils.training.train_or_load`: cached, seeded, with early stopping. The cache key holds the
    features themselves, so other backbone weights (ImageNet or random) are another entry.

    Args:
        features: the backbone's features of the training images (``extract_features``).
        y: their class labels.
        n_classes: the number of classes.
        name: the name of the cache files, e.g. ``"breastmnist_head"``.
        **training: more options of ``train_or_load`` (``validation_data`` of features,
            ``class_weight``, ``seed``, ``verbose``, ...).

    Returns:
        The trained head: features in, class probabilities out (its weights are shared with the
        model :func:`fine_tune` builds).
    """
    head, _ = train_or_load(lambda: build_head(features, n_classes), features, y, epochs=epochs,
                            patience=patience, batch_size=batch_size, name=name, **training)
    return head


def fine_tune(
    backbone: keras.Model,
    head: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    name: str,
    learning_rate: float = 1e-4,
    patience: int = 2,
    batch_size: int = 32,
    **training,
) -> keras.Model:
    """One model from course images to probabilities (:func:`~utils.transfer.inception_classifier`),
    its top Inception blocks unfrozen (:func:`~utils.transfer.unfreeze_top_blocks`) and trained with
    ``head`` at a small learning rate through :func:`~utils.training.train_or_load` (cached).

    Args:
        x, y: course images (``to_model_input``) and their class labels.
        **training: more options of ``train_or_load`` (``validation_data``, ``class_weight``, ...).
    """
    # The head's layers without its compiled state, whose optimizer name Keras numbers anew in every
    # process and which would otherwise enter the cache key through the model's configuration.
    head = keras.Model(head.input, head.output, name=head.name)

    def unfrozen_classifier() -> keras.Model:
        model = inception_classifier(backbone, head, x.shape[1:])  # freezes the whole backbone
        unfreeze_top_blocks(backbone)
        return model

    model, _ = train_or_load(unfrozen_classifier, x, y, epochs=epochs,
                             learning_rate=learning_rate, patience=patience, batch_size=batch_size, name=name,
                             **training)
    return model


def average_ensemble(models: Sequence[keras.Model], *, name: str = "ensemble") -> keras.Model:
    """One Keras model whose output is the mean of the probabilities of ``models`` (same input shape),
    to predict, explain or save like any other."""
    if len(models) < 1 or not all(isinstance(m, keras.Model) for m in models):
        raise TypeError("models must be a non-empty list of Keras models.")
    shapes = {tuple(m.input_shape[1:]) for m in models}
    if len(shapes) > 1:
        raise ValueError(f"models must all take the same input shape, got {sorted(shapes)}.")
    # Each member gets a unique name: models trained apart may share one ("mnist_cnn").
    members = [keras.Model(m.input, m.output, name=f"member_{i}") for i, m in enumerate(models)]
    inputs = keras.Input(shape=shapes.pop(), name="image")
    outputs = keras.layers.Average(name="mean_probability")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name=name)


def flip_average(model: keras.Model, *, name: str | None = None) -> keras.Model:
    """One Keras model whose output is the mean of ``model``'s probabilities for each image and its
    mirror image (left and right swapped): test-time augmentation for a model trained with
    horizontal flips, so that its call does not depend on which side the image was taken from.
    Takes (N, H, W, C) images like ``model``."""
    if not isinstance(model, keras.Model) or len(model.input_shape) != 4:
        raise TypeError(f"model must be a Keras model of (N, H, W, C) images, got {model!r}.")
    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    mirrored = keras.layers.Lambda(lambda x: keras.ops.flip(x, axis=2), name="mirror")(inputs)
    outputs = keras.layers.Average(name="mean_probability")([model(inputs), model(mirrored)])
    return keras.Model(inputs, outputs, name=name or f"{model.name}_flip_average")


def selection_metric(n_classes: int) -> str:
    """The rule that chooses between models on validation images: ``"ROC AUC"`` with two classes (how
    well the positives are ranked, whatever the threshold), ``"accuracy"`` with more (the call is the
    most probable class)."""
    return "ROC AUC" if n_classes == 2 else "accuracy"


def selection_score(y_true: np.ndarray, probabilities: np.ndarray, metric: str) -> float:
    """``metric`` (``"ROC AUC"`` or ``"accuracy"``) of class ``probabilities`` (N, classes)."""
    if metric not in SELECTION_METRICS:
        raise ValueError(f"metric must be one of {SELECTION_METRICS}, got {metric!r}.")
    auc = macro_roc_auc(y_true, probabilities)  # also checks the labels and probabilities
    return auc if metric == "ROC AUC" else accuracy_interval(y_true, np.argmax(probabilities, axis=1)).value


@dataclass(frozen=True)
class Selection:
    """What :func:`select_model` found on the validation images."""

    table: pd.DataFrame  # one row per candidate: ROC AUC, accuracy, the share of its most common call, flagged
    chosen: str  # the candidate with the best ``metric``
    metric: str
    flagged: tuple[str, ...]  # candidates that call (almost) every image one class


def select_model(
    y_val: np.ndarray,
    candidates: Mapping[str, np.ndarray],
    *,
    metric: str | None = None,
    one_class_share: float = 0.9,
    class_names: Sequence[str] | None = None,
) -> Selection:
    """Choose one of several candidate models by one rule on the validation images.

    The chosen candidate is the best by ``metric``. A candidate that gives the same call (its most
    probable class) to at least ``one_class_share`` of the validation images is flagged: it may have
    learnt the class balance rather than the images (e.g. a head on features too small to train on),
    and its calls at the default threshold are of little use even when its ROC AUC, which ranks the
    images whatever the threshold, looks fair. A flag is a warning, not a rule: the selection rule
    stays the one fixed beforehand.

    Args:
        y_val: the validation labels (N,).
        candidates: name -> its validation probabilities (N, classes), in the order to show.
        metric: ``"ROC AUC"`` or ``"accuracy"``; by default :func:`selection_metric`.
        one_class_share: the share of one call from which a candidate is flagged, in (0, 1].
        class_names: if given, the table names each candidate's most common call by its class name.
    """
    if not candidates:
        raise ValueError("candidates must map at least one model name to its validation probabilities.")
    check_number("one_class_share", one_class_share, 0, 1)
    candidates = {name: np.asarray(p) for name, p in candidates.items()}
    shapes = {p.shape for p in candidates.values()}
    if len(shapes) > 1 or len(next(iter(shapes))) != 2:
        raise ValueError("candidates must all give validation probabilities of one shape (N, classes), got "
                         f"{ {name: p.shape for name, p in candidates.items()} }.")
    n_classes = shapes.pop()[1]
    if class_names is not None and len(class_names) != n_classes:
        raise ValueError(f"class_names must name the {n_classes} classes, got {len(class_names)}.")
    metric = selection_metric(n_classes) if metric is None else metric
    if metric not in SELECTION_METRICS:
        raise ValueError(f"metric must be one of {SELECTION_METRICS}, got {metric!r}.")
    rows = {}
    for name, p in candidates.items():
        calls = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
        share = float(calls.max() / len(p))
        rows[name] = {"ROC AUC": selection_score(y_val, p, "ROC AUC"),
                      "accuracy": selection_score(y_val, p, "accuracy"),
                      "most common call": int(calls.argmax()) if class_names is None else class_names[calls.argmax()],
                      "share of that call": share,
                      "flagged: one class": share >= one_class_share}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("candidate (validation split)")
    flagged = tuple(table.index[table["flagged: one class"]])
    return Selection(table, str(table[metric].idxmax()), metric, flagged)


@dataclass(frozen=True)
class ConfidentCase:
    """One image picked by :func:`most_confident_cases`."""

    index: int  # its position in the evaluated images
    called: int  # the class the model called
    correct: bool
    confidence: float  # the model's confidence in its call


def most_confident_cases(y_true: np.ndarray, called: np.ndarray, confidence: np.ndarray) -> list[ConfidentCase]:
    """For each class c: the most confident right call of c, then the most confident wrong call of c
    (an image of another class called c), where there is one. These are the calls to explain first.

    Args:
        y_true: the true class labels (N,).
        called: the model's calls (N,), e.g. ``probabilities.argmax(axis=1)`` or a thresholded score.
        confidence: the model's confidence in each call (N,), e.g. ``probabilities.max(axis=1)``.
    """
    y_true, called, confidence = (np.asarray(a) for a in (y_true, called, confidence))
    if y_true.ndim != 1 or called.shape != y_true.shape or confidence.shape != y_true.shape:
        raise ValueError("y_true, called and confidence must be 1-D arrays of one length, got shapes "
                         f"{y_true.shape}, {called.shape} and {confidence.shape}.")
    cases = []
    for c in np.unique(called):
        for correct in (True, False):
            mask = (called == c) & ((y_true == c) == correct)
            if mask.any():
                i = int(np.flatnonzero(mask)[np.argmax(confidence[mask])])
                cases.append(ConfidentCase(i, int(c), correct, float(confidence[i])))
    return cases


@dataclass(frozen=True)
class PublishedBenchmark:
    """Published test results of one data set: each model's numbers, where they come from, on which split."""

    dataset: str
    source: str
    split: str
    metrics: tuple[str, ...]  # the columns of ``results``
    results: Mapping[str, tuple[float, ...]]  # model -> its numbers, in the order of ``metrics``


_MEDMNIST_SOURCE = ('J. Yang et al., "MedMNIST v2", Scientific Data 10, 41 (2023), Table 3 (their numbers, '
                    "not computed here)")
_MEDMNIST_SPLIT = "the official MedMNIST test split ({} images); accuracy of the most probable class"


def _medmnist(dataset: str, n_test: int, results: dict[str, tuple[float, float]]) -> PublishedBenchmark:
    return PublishedBenchmark(dataset, _MEDMNIST_SOURCE, _MEDMNIST_SPLIT.format(n_test), ("ROC AUC", "accuracy"),
                              results)


MEDMNIST_BENCHMARKS: dict[str, PublishedBenchmark] = {
    "pneumoniamnist": _medmnist("pneumoniamnist", 624, {
        "ResNet-18 (28)": (0.944, 0.854), "ResNet-18 (224)": (0.956, 0.864),
        "ResNet-50 (28)": (0.948, 0.854), "ResNet-50 (224)": (0.962, 0.884),
        "auto-sklearn": (0.942, 0.855), "AutoKeras": (0.947, 0.878), "Google AutoML Vision": (0.991, 0.946)}),
    "breastmnist": _medmnist("breastmnist", 156, {
        "ResNet-18 (28)": (0.901, 0.863), "ResNet-18 (224)": (0.891, 0.833),
        "ResNet-50 (28)": (0.857, 0.812), "ResNet-50 (224)": (0.866, 0.842),
        "auto-sklearn": (0.836, 0.803), "AutoKeras": (0.871, 0.831), "Google AutoML Vision": (0.919, 0.861)}),
    "retinamnist": _medmnist("retinamnist", 400, {
        "ResNet-18 (28)": (0.717, 0.524), "ResNet-18 (224)": (0.710, 0.493),
        "ResNet-50 (28)": (0.726, 0.528), "ResNet-50 (224)": (0.716, 0.511),
        "auto-sklearn": (0.690, 0.515), "AutoKeras": (0.719, 0.503), "Google AutoML Vision": (0.750, 0.531)}),
}


def benchmark_comparison(
    benchmark: PublishedBenchmark,
    ours: Mapping[str, Estimate],
    *,
    published_metric: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The published numbers beside where each of our intervals lies (``"above"``, ``"overlaps"``,
    ``"below"``, :func:`~utils.evaluation.compare_with_published`). Meaningful only on the benchmark's split.

    Args:
        benchmark: e.g. ``MEDMNIST_BENCHMARKS["breastmnist"]``.
        ours: label -> our estimate, e.g. ``{"ROC AUC": ..., "accuracy at 0.5": ...}``.
        published_metric: label -> the benchmark's metric it is compared with (by default the label
            itself), e.g. ``{"accuracy at 0.5": "accuracy"}``.

    Returns:
        One row per published model: a column ``published <metric>`` per metric of the benchmark, then
        ``our <label>: interval lies`` per estimate.
    """
    published_metric = dict(published_metric or {})
    columns = {label: published_metric.get(label, label) for label in ours}
    unknown = {label: metric for label, metric in columns.items() if metric not in benchmark.metrics}
    if unknown:
        raise ValueError(f"each estimate must be compared with one of the benchmark's metrics {benchmark.metrics}; "
                         f"name it in published_metric for {sorted(unknown)}.")
    published = {metric: {model: values[i] for model, values in benchmark.results.items()}
                 for i, metric in enumerate(benchmark.metrics)}
    table = {f"published {metric}": published[metric] for metric in benchmark.metrics}
    table |= {f"our {label}: interval lies": compare_with_published(estimate, published[columns[label]])
              for label, estimate in ours.items()}
    return pd.DataFrame(table).rename_axis(f"published model ({benchmark.dataset})")

