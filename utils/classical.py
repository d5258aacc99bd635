"""Fitting, tuning, timing and comparing scikit-learn models on hand-crafted features.

The notebooks keep the pipelines (what a learner should read); this module keeps the bookkeeping:
cross-validation on a stratified subset of the training set, wall-clock timing, a comparison
table and the class pairs a model confuses most.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from utils.data import stratified_subset
from utils.images import check_class_names


def _check_xy(x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> None:
    if not isinstance(x, np.ndarray) or x.ndim != 2:
        raise ValueError(f"{names[0]} must be a 2-D array (samples, features), got "
                         f"{getattr(x, 'shape', type(x).__name__)}.")
    if not isinstance(y, np.ndarray) or y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{names[1]} must be a 1-D array with one label per row of {names[0]} "
                         f"({len(x)}), got {getattr(y, 'shape', type(y).__name__)}.")


def extract(
    extractor: Callable[..., np.ndarray], x_train: np.ndarray, x_test: np.ndarray, **options
) -> tuple[np.ndarray, np.ndarray, float]:
    """Run a feature extractor on the training and test images.

    Returns:
        ``(train_features, test_features, seconds)``, seconds being the wall-clock time of both.
    """
    start = time.perf_counter()
    train_features = extractor(x_train, **options)
    test_features = extractor(x_test, **options)
    return train_features, test_features, time.perf_counter() - start


def tune(
    model: BaseEstimator,
    param_grid: dict[str, Sequence],
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    n_samples: int | None = None,
    cv: int = 3,
    n_jobs: int = 2,
    seed: int = 0,
) -> tuple[dict, pd.DataFrame]:
    """Choose hyper-parameters by stratified k-fold cross-validation on the TRAINING set only.

    Args:
        model: an estimator or pipeline (it is cloned, not changed).
        param_grid: as for ``GridSearchCV``, e.g. ``{"svc__C": [1, 10]}``.
        x_train, y_train: training features and labels; the test set never enters here.
        n_samples: cross-validate on a stratified subset of this many training samples
            (to save time); None uses them all.
        cv: the number of folds.
        n_jobs: parallel fits.
        seed: the seed of the subset and of the folds.

    Returns:
        ``(best_params, table)``: the parameters with the best mean validation accuracy, and a
        table with one row per candidate (mean and std of the validation accuracy, fit seconds).
    """
    _check_xy(x_train, y_train, ("x_train", "y_train"))
    if n_samples is not None and n_samples < len(y_train):
        x_train, y_train = stratified_subset(x_train, y_train, n_samples, seed=seed)
    search = GridSearchCV(
        clone(model), param_grid, scoring="accuracy", n_jobs=n_jobs,
        cv=StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed),
    )
    search.fit(x_train, y_train)
    results = search.cv_results_
    table = pd.DataFrame({
        **{name.removeprefix("param_"): results[name] for name in results if name.startswith("param_")},
        "validation accuracy": results["mean_test_score"],
        "std": results["std_test_score"],
        "fit seconds": results["mean_fit_time"],
    })
    table.attrs["n_samples"] = len(y_train)
    return search.best_params_, table


@dataclass
class ModelResult:
    """A fitted model's test accuracy, timings and predictions."""

    name: str
    model: BaseEstimator = field(repr=False)
    dimension: int
    classifier_dimension: int  # what the last step sees, e.g. after a PCA
    accuracy: float
    fit_seconds: float
    predict_seconds: float
    y_pred: np.ndarray = field(repr=False)
    extract_seconds: float = 0.0


def fit_and_score(
    name: str,
    model: BaseEstimator,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    extract_seconds: float = 0.0,
) -> ModelResult:
    """Fit ``model`` on the whole training set, predict the test set, and time both.

    Args:
        name: how the comparison table calls this model.
        extract_seconds: the time spent computing the features (shown in the table).
    """
    _check_xy(x_train, y_train, ("x_train", "y_train"))
    _check_xy(x_test, y_test, ("x_test", "y_test"))
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"x_train and x_test must have the same number of features, got "
                         f"{x_train.shape[1]} and {x_test.shape[1]}.")
    start = time.perf_counter()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    y_pred = model.predict(x_test)
    predict_seconds = time.perf_counter() - start
    accuracy = accuracy_score(y_test, y_pred)
    print(f"{name}: test accuracy {accuracy:.2%} (fit {fit_seconds:.1f} s, predict {predict_seconds:.1f} s)")
    last_step = model[-1] if isinstance(model, Pipeline) else model
    return ModelResult(name, model, x_train.shape[1], getattr(last_step, "n_features_in_", x_train.shape[1]),
                       accuracy, fit_seconds, predict_seconds, y_pred, extract_seconds)


def comparison_table(results: Sequence[ModelResult]) -> pd.DataFrame:
    """One row per model: the number of features it receives and the number its classifier sees
    (after a PCA, say), test accuracy, and the seconds spent on each step."""
    if not results:
        raise ValueError("results must hold at least one ModelResult.")
    return pd.DataFrame([{
        "model": e.name,
        "features": e.dimension,
        "classifier input": e.classifier_dimension,
        "test accuracy": e.accuracy,
        "feature seconds": e.extract_seconds,
        "fit seconds": e.fit_seconds,
        "predict seconds": e.predict_seconds,
    } for e in results]).set_index("model")


def most_confused_pairs(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], *, top: int = 5
) -> pd.DataFrame:
    """The ``top`` (true class, predicted class) pairs with the most mistakes.

    Returns a table with the two class names, the number of test images of the true class that
    went to the predicted one, and that number as a share of the true class.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D arrays of the same length, got "
                         f"{y_true.shape} and {y_pred.shape}.")
    class_names = check_class_names(class_names)
    n_classes = len(class_names)
    counts = confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))
    class_sizes = counts.sum(axis=1)
    np.fill_diagonal(counts, 0)
    order = np.argsort(counts, axis=None, kind="stable")[::-1][:top]
    rows = []
    for true, predicted in zip(*np.unravel_index(order, counts.shape)):
        if counts[true, predicted] == 0:
            break
        rows.append({
            "true class": class_names[true],
            "predicted as": class_names[predicted],
            "mistakes": int(counts[true, predicted]),
            "share of the true class": counts[true, predicted] / class_sizes[true],
        })
    return pd.DataFrame(rows, columns=["true class", "predicted as", "mistakes", "share of the true class"])
