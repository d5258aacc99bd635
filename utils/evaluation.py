"""The numbers a clinician asks of a binary classifier, with their uncertainty.

Sensitivity (recall of the positive class: how many sick patients the test finds), specificity
(how many healthy ones it clears), the ROC curve and its area (AUC), and confidence intervals for
all of them by bootstrap: resample the test set with replacement, recompute, read the spread.
The positive class is data, never assumed: the binary functions take class labels 0 / 1 and
``positive_class``, the class the test is to find (the finding: malignant, pneumonia), and scores
that are the predicted probability of that class, one per image. For any number of classes,
:func:`overall_metrics` (accuracy, ROC AUC) and :func:`per_class_metrics` (each class against the
others) take the predicted probabilities (N, classes); for ordered classes (grades),
:func:`ordinal_metrics` adds the quadratic-weighted kappa and the share of calls within one grade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from utils.images import check_class_names, check_int, check_number

Metric = Callable[[np.ndarray, np.ndarray], float]
RocBand = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (fpr, tpr, tpr_low, tpr_high): roc_band's result


@dataclass(frozen=True)
class Estimate:
    """A value with its bootstrap confidence interval ``[low, high]``."""

    value: float
    low: float
    high: float
    confidence: float = 0.95

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.confidence:.0%} CI {self.low:.3f}–{self.high:.3f})"


def _check_labels(y_true: np.ndarray, argument: str = "y_true") -> np.ndarray:
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"{argument} must be a non-empty 1-D array of 0 / 1 labels, got shape {y_true.shape}.")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"{argument} must hold only 0 (negative) and 1 (positive), got values {np.unique(y_true)}.")
    return y_true.astype(np.int64)


def _check_pair(y_true: np.ndarray, other: np.ndarray, argument: str) -> tuple[np.ndarray, np.ndarray]:
    y_true = _check_labels(y_true)
    other = np.asarray(other)
    if other.ndim == 2 and other.shape[1] == 2:
        raise ValueError(f"{argument} must be 1-D; for softmax outputs of shape (N, 2) pass probabilities[:, 1].")
    if other.shape != y_true.shape:
        raise ValueError(f"{argument} must have the shape of y_true {y_true.shape}, got {other.shape}.")
    return y_true, other


def _check_scores(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0 / 1 labels and finite probabilities of class 1 in [0, 1], one per label."""
    y_true, y_score = _check_pair(y_true, y_score, "y_score")
    if not (np.issubdtype(y_score.dtype, np.floating) or np.issubdtype(y_score.dtype, np.integer)):
        raise TypeError(f"y_score must hold numbers (probabilities of class 1), got dtype {y_score.dtype}.")
    if not np.all(np.isfinite(y_score)):
        raise ValueError("y_score must hold finite probabilities, got NaN or infinite values.")
    if y_score.min() < 0 or y_score.max() > 1:
        raise ValueError(
            f"y_score must hold probabilities of class 1 in [0, 1], got values from {y_score.min():.3g} to "
            f"{y_score.max():.3g}: logits need a softmax or sigmoid first, percentages a division by 100."
        )
    return y_true, y_score


def _check_predictions(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0 / 1 labels and 0 / 1 predicted labels, one per label."""
    y_true, y_pred = _check_pair(y_true, y_pred, "y_pred")
    if not np.isin(y_pred, (0, 1)).all():
        raise ValueError("y_pred must hold predicted labels 0 / 1 (e.g. (y_score >= threshold).astype(int)), "
                         f"got values {np.unique(y_pred)[:5]}{' ...' if len(np.unique(y_pred)) > 5 else ''}.")
    return y_true, y_pred


def _check_both_classes(y_true: np.ndarray, what: str) -> None:
    if len(np.unique(y_true)) < 2:
        raise ValueError(f"{what} needs both classes in y_true, positives (1) and negatives (0).")


def _fraction(numerator: int, denominator: int, what: str, missing: str) -> float:
    if denominator == 0:
        raise ValueError(f"{what} is undefined: y_true has no {missing}.")
    return numerator / denominator


def _is_positive(y: np.ndarray, positive_class: int) -> np.ndarray:
    """0 / 1 labels (or calls) -> 1 where they are ``positive_class``, 0 elsewhere."""
    if isinstance(positive_class, bool) or positive_class not in (0, 1):
        raise ValueError(f"positive_class must be the label of the class to find, 0 or 1, got {positive_class!r}.")
    return (y == positive_class).astype(np.int64)


def sensitivity(y_true: np.ndarray, y_pred: np.ndarray, *, positive_class: int) -> float:
    """True-positive rate, TP / (TP + FN): the fraction of the images of ``positive_class`` (the finding,
    0 or 1) called that class. ``y_true`` and ``y_pred``: true and predicted class labels, 0 / 1."""
    y_true, y_pred = _check_predictions(y_true, y_pred)
    return _sensitivity(_is_positive(y_true, positive_class), _is_positive(y_pred, positive_class))


def specificity(y_true: np.ndarray, y_pred: np.ndarray, *, positive_class: int) -> float:
    """True-negative rate, TN / (TN + FP): the fraction of the other images not called ``positive_class``
    (arguments as for :func:`sensitivity`)."""
    y_true, y_pred = _check_predictions(y_true, y_pred)
    return _specificity(_is_positive(y_true, positive_class), _is_positive(y_pred, positive_class))


def _sensitivity(positive: np.ndarray, called: np.ndarray) -> float:
    """Sensitivity of checked 0 / 1 arrays, 1 = positive: what the bootstrap repeats."""
    positives = positive == 1
    return _fraction(int(np.sum(called[positives] == 1)), int(positives.sum()), "sensitivity", "positives")


def _specificity(positive: np.ndarray, called: np.ndarray) -> float:
    """Specificity of checked 0 / 1 arrays, 1 = positive: what the bootstrap repeats."""
    negatives = positive == 0
    return _fraction(int(np.sum(called[negatives] == 0)), int(negatives.sum()), "specificity", "negatives")


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve of the class labelled 1 (``y_score`` its probability): the probability
    that a random image of class 1 scores above a random image of class 0. (The area of class 0 with
    its own probability, 1 - ``y_score``, is the same number.)

    Computed from ranks (the Mann-Whitney U statistic), ties counting one half; equal to
    ``sklearn.metrics.roc_auc_score`` and fast enough to bootstrap.
    """
    y_true, y_score = _check_scores(y_true, y_score)
    _check_both_classes(y_true, "ROC AUC")
    return _rank_auc(y_true, y_score)


def _rank_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """:func:`roc_auc` of checked inputs with both classes: what the bootstrap repeats on each resample."""
    n_positive = int(y_true.sum())
    n_negative = len(y_true) - n_positive
    ranks = rankdata(y_score)
    return float((ranks[y_true == 1].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def _resamples(y_true: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` index arrays drawn with replacement within each class: every resample keeps the class counts."""
    classes = [np.flatnonzero(y_true == c) for c in np.unique(y_true)]
    for _ in range(n):
        yield np.concatenate([members[rng.integers(0, len(members), len(members))] for members in classes])


def bootstrap_ci(
    metric: Metric,
    y_true: np.ndarray,
    y_other: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """``metric(y_true, y_other)`` with a percentile bootstrap confidence interval.

    The test set is resampled with replacement ``n_bootstrap`` times, within each class (a stratified
    bootstrap, as pROC does for the AUC), and the interval is the central ``confidence`` fraction of
    the resampled values. It measures how much the number would move on another test set of the same
    size drawn from the same population, not any bias of that population.

    Args:
        metric: e.g. :func:`roc_auc` (with scores), or a function of the labels and predicted labels.
        y_true: 0 / 1 labels.
        y_other: the scores or predicted labels ``metric`` expects, one per sample.
        n_bootstrap: the number of resamples (1,000 gives stable 95 % intervals).
        confidence: the interval's coverage, between 0 and 1.
        seed: the seed of the resampling.
    """
    y_true, y_other = _check_pair(y_true, y_other, "y_other")
    if not callable(metric):
        raise TypeError(f"metric must be a function (y_true, y_other) -> float, e.g. roc_auc, got {metric!r}.")
    return _bootstrap(metric, y_true, y_other, n_bootstrap=n_bootstrap, confidence=confidence, seed=seed)


def _bootstrap(metric: Callable, y_true: np.ndarray, y_other: np.ndarray, *, n_bootstrap: int, confidence: float,
               seed: int) -> Estimate:
    """The resampling of :func:`bootstrap_ci`, for labels of any number of classes."""
    _check_bootstrap(n_bootstrap, confidence)
    rng = np.random.default_rng(seed)
    values = np.array([metric(y_true[i], y_other[i]) for i in _resamples(y_true, n_bootstrap, rng)])
    if np.isnan(values).all():  # e.g. the PPV of a model that never predicts positive
        low = high = float("nan")
    else:
        low, high = np.nanquantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Estimate(float(metric(y_true, y_other)), float(low), float(high), confidence)


def _check_bootstrap(n_bootstrap: int, confidence: float) -> None:
    check_int("n_bootstrap", n_bootstrap, 10)
    check_number("confidence (e.g. 0.95)", confidence, 0, 1, exclusive=True)


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true == y_pred))


def _ppv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    predicted = y_pred == 1
    return float(np.mean(y_true[predicted] == 1)) if predicted.any() else float("nan")


def _npv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    predicted = y_pred == 0
    return float(np.mean(y_true[predicted] == 0)) if predicted.any() else float("nan")


def clinical_metrics(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    positive_class: int,
    threshold: float = 0.5,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Estimate]:
    """ROC AUC, and sensitivity, specificity, accuracy, PPV and NPV at ``threshold``, each with its CI.

    An image is called ``positive_class`` when ``y_score``, the probability of that class, is at
    least ``threshold``. PPV and NPV (the chance that a positive / negative call is right) depend on
    the prevalence of the test set: on a balanced test set they are not what a clinic with another
    prevalence would see.

    Args:
        y_true: class labels 0 / 1.
        y_score: the predicted probability of ``positive_class``, e.g. ``probabilities[:, positive_class]``.
        positive_class: the class the test is to find (the finding, e.g. malignant), 0 or 1.
    """
    y_true, y_score = _check_scores(y_true, y_score)
    check_number("threshold", threshold, 0, 1)
    y_true = _is_positive(y_true, positive_class)
    y_pred = (y_score >= threshold).astype(np.int64)
    options = {"n_bootstrap": n_bootstrap, "confidence": confidence, "seed": seed}
    return {
        "ROC AUC": bootstrap_ci(roc_auc, y_true, y_score, **options),
        "sensitivity": bootstrap_ci(_sensitivity, y_true, y_pred, **options),
        "specificity": bootstrap_ci(_specificity, y_true, y_pred, **options),
        "accuracy": bootstrap_ci(_accuracy, y_true, y_pred, **options),
        "PPV": bootstrap_ci(_ppv, y_true, y_pred, **options),
        "NPV": bootstrap_ci(_npv, y_true, y_pred, **options),
    }


def metrics_table(results: dict[str, dict[str, Estimate]], *, digits: int = 3) -> str:
    """A Markdown table, one row per model, one column per metric: ``value [low, high]``; an undefined
    value (NaN, e.g. the precision of a class the model never predicts) shows as "undefined"."""
    if not isinstance(results, dict) or not results:
        raise ValueError("results must map at least one model name to its metrics.")
    columns = list(next(iter(results.values())))
    for model, metrics in results.items():
        if not isinstance(metrics, dict) or list(metrics) != columns:
            raise ValueError(f"results[{model!r}] must have the same metrics as the first model {columns}, "
                             f"got {list(metrics) if isinstance(metrics, dict) else type(metrics).__name__}.")
        wrong = [c for c in columns if not isinstance(metrics[c], Estimate)]
        if wrong:
            raise TypeError(f"results[{model!r}] must map each metric to an Estimate; {wrong} are not.")
    header = "| model | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns) + "\n"
    def cell(estimate: Estimate) -> str:
        if np.isnan(estimate.value):
            return "undefined"
        return f"{estimate.value:.{digits}f} [{estimate.low:.{digits}f}, {estimate.high:.{digits}f}]"

    rows = [f"| {model} | " + " | ".join(cell(m[c]) for c in columns) + " |" for model, m in results.items()]
    return header + "\n".join(rows)


def roc_band(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    positive_class: int,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    n_points: int = 101,
) -> RocBand:
    """The ROC curve of ``positive_class`` on a grid of false-positive rates, with a pointwise bootstrap band.

    Args:
        y_true: class labels 0 / 1.
        y_score: the predicted probability of ``positive_class``.
        positive_class: the class the test is to find, 0 or 1: its images count as positives.

    Returns:
        ``(fpr, tpr, tpr_low, tpr_high)``, arrays of ``n_points`` values, for plotting.
    """
    from sklearn.metrics import roc_curve

    y_true, y_score = _check_scores(y_true, y_score)
    y_true = _is_positive(y_true, positive_class)
    _check_both_classes(y_true, "An ROC curve")
    _check_bootstrap(n_bootstrap, confidence)
    fpr_grid = np.linspace(0, 1, check_int("n_points", n_points, 2))

    def tpr_on_grid(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
        fpr, tpr, _ = roc_curve(labels, scores)
        return np.interp(fpr_grid, fpr, tpr)

    rng = np.random.default_rng(seed)
    curves = np.array([tpr_on_grid(y_true[i], y_score[i]) for i in _resamples(y_true, n_bootstrap, rng)])
    low, high = np.quantile(curves, [(1 - confidence) / 2, (1 + confidence) / 2], axis=0)
    return fpr_grid, tpr_on_grid(y_true, y_score), low, high


def threshold_for_sensitivity(y_true: np.ndarray, y_score: np.ndarray, target: float = 0.95, *,
                              positive_class: int) -> float:
    """The highest threshold on ``y_score`` (the probability of ``positive_class``) whose sensitivity
    on ``(y_true, y_score)`` is at least ``target``.

    Choose it on the validation set, then report sensitivity and specificity on the test set:
    a threshold tuned on the test set makes the test numbers optimistic.
    """
    y_true, y_score = _check_scores(y_true, y_score)
    y_true = _is_positive(y_true, positive_class)
    if check_number("target", target, 0, 1) == 0:
        raise ValueError("target must be a sensitivity above 0, got 0.")
    positive_scores = np.sort(y_score[y_true == 1])[::-1]
    if len(positive_scores) == 0:
        raise ValueError("y_true has no positives: sensitivity is undefined.")
    needed = int(np.ceil(target * len(positive_scores)))  # positives that must score >= threshold
    return float(positive_scores[needed - 1])


def balanced_threshold(y_true: np.ndarray, y_score: np.ndarray, *, positive_class: int) -> float:
    """The threshold on ``y_score`` (the probability of ``positive_class``) at which sensitivity
    equals specificity on ``(y_true, y_score)``, as near as the data allow (the equal-error point of
    the ROC curve).

    Neither number depends on how common the positive class is, so a threshold chosen this way on
    the validation set carries over to a test set with another prevalence, where the threshold of
    best accuracy would not. It is also stable: on a nearly separable validation set, the maximum
    of sensitivity + specificity (Youden's J) lies on a long flat stretch and can fall anywhere on
    it, while the point where the two are equal moves little. The threshold returned lies halfway
    between two neighbouring scores, so it does not sit exactly on a validation image's score.
    """
    y_true, y_score = _check_scores(y_true, y_score)
    y_true = _is_positive(y_true, positive_class)
    _check_both_classes(y_true, "The balanced threshold")
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y_true, y_score, drop_intermediate=False)  # one per distinct score
    best = int(np.argmin(np.abs(tpr - (1 - fpr))))
    if best == 0:  # sklearn's first threshold is +inf: nobody is called positive
        return 1.0
    below = thresholds[best + 1] if best + 1 < len(thresholds) else 0.0
    return float(np.clip((thresholds[best] + below) / 2, 0.0, 1.0))


def accuracy_interval(y_true: np.ndarray, y_pred: np.ndarray, *, confidence: float = 0.95) -> Estimate:
    """Accuracy (any number of classes) with its Wilson score confidence interval.

    Each test image is right or wrong, so the number of right answers is binomial; the Wilson
    interval is the usual one for such a proportion and stays inside [0, 1] near 100 %.
    """
    from scipy.stats import norm

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError("y_true and y_pred must be non-empty 1-D arrays of the same length, got shapes "
                         f"{y_true.shape} and {y_pred.shape}.")
    check_number("confidence (e.g. 0.95)", confidence, 0, 1, exclusive=True)
    n, p = len(y_true), float(np.mean(y_true == y_pred))
    z = norm.ppf((1 + confidence) / 2)
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return Estimate(p, float(max(0.0, centre - half)), float(min(1.0, centre + half)), confidence)


def compare_with_published(estimate: Estimate, published: dict[str, float]) -> dict[str, str]:
    """Where a result's confidence interval lies relative to each published number.

    Returns, per published model: ``"above"`` (the whole interval lies above its number),
    ``"below"`` (the whole interval lies below it) or ``"overlaps"`` (its number lies inside the
    interval: this test set cannot tell the two apart), or ``"undefined"`` when the estimate or its interval
    is not a number (NaN: e.g. a metric of a class the test set lacks), which says nothing about any
    number. Only meaningful on the same test split.
    """
    if not isinstance(estimate, Estimate):
        raise TypeError(f"estimate must be an Estimate (a value with its interval), got {type(estimate).__name__}.")
    published = {model: check_number(f"published[{model!r}]", value) for model, value in published.items()}
    if not all(np.isfinite([estimate.value, estimate.low, estimate.high])):
        return dict.fromkeys(published, "undefined")
    return {
        model: "above" if estimate.low > value else "below" if estimate.high < value else "overlaps"
        for model, value in published.items()
    }


def class_weights(y: np.ndarray, n_classes: int | None = None) -> dict[int, float]:
    """Keras ``class_weight`` that make every class count as much in the loss: n / (k * n_c).

    A balanced data set gets weight 1 for every class; a rare class gets a weight above 1.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(f"y must be a non-empty 1-D array of class indices, got shape {y.shape}, dtype {y.dtype}.")
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    counts = np.bincount(y, minlength=n_classes)
    if len(counts) > n_classes or (counts == 0).any():
        raise ValueError(f"every class 0..{n_classes - 1} must occur in y (and no other); counts {counts.tolist()}.")
    return {c: float(len(y) / (n_classes * n)) for c, n in enumerate(counts)}


def _check_probabilities(y_true: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2 or y_true.shape != (len(probabilities),):
        raise ValueError("probabilities must have shape (N, n_classes) with n_classes >= 2 and y_true shape (N,), "
                         f"got {probabilities.shape} and {y_true.shape}.")
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min() < 0 or y_true.max() >= probabilities.shape[1]:
        raise ValueError(f"y_true must hold class indices 0..{probabilities.shape[1] - 1}, got {np.unique(y_true)}.")
    if not np.all(np.isfinite(probabilities)) or probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError("probabilities must be finite and in [0, 1] (a softmax output): logits need a softmax "
                         "first, percentages a division by 100.")
    return y_true.astype(np.int64), probabilities


def macro_roc_auc(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """ROC AUC for any number of classes: with two, the AUC of class 1's probability; with more, the mean
    over classes of the one-vs-rest AUC (each class against all others), as scikit-learn's
    ``roc_auc_score(..., multi_class="ovr", average="macro")``. Classes absent from ``y_true`` are left out."""
    return _macro_auc(*_check_probabilities(y_true, probabilities))


def _macro_auc(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """:func:`macro_roc_auc` of checked inputs: what the bootstrap repeats on each resample."""
    if probabilities.shape[1] == 2:
        y_positive = (y_true == 1).astype(np.int64)
        _check_both_classes(y_positive, "ROC AUC")
        return _rank_auc(y_positive, probabilities[:, 1])
    present = [c for c in range(probabilities.shape[1]) if 0 < np.sum(y_true == c) < len(y_true)]
    if not present:
        raise ValueError("ROC AUC needs at least two classes in y_true.")
    return float(np.mean([_rank_auc((y_true == c).astype(np.int64), probabilities[:, c]) for c in present]))


def overall_metrics(y_true: np.ndarray, probabilities: np.ndarray, *, n_bootstrap: int = 1000,
                    confidence: float = 0.95, seed: int = 0) -> dict[str, Estimate]:
    """Accuracy (the most probable class) and ROC AUC (:func:`macro_roc_auc`) of a classifier with any
    number of classes, each with a bootstrap interval (test images resampled within each class)."""
    y_true, probabilities = _check_probabilities(y_true, probabilities)
    options = {"n_bootstrap": n_bootstrap, "confidence": confidence, "seed": seed}
    return {"accuracy": _bootstrap(lambda t, p: _accuracy(t, p.argmax(axis=1)), y_true, probabilities, **options),
            "ROC AUC": _bootstrap(_macro_auc, y_true, probabilities, **options)}


def per_class_metrics(y_true: np.ndarray, probabilities: np.ndarray, class_names: tuple[str, ...], *,
                      n_bootstrap: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict[str, dict[str, Estimate]]:
    """Per class, each against all the others: sensitivity (recall), specificity and precision (PPV) of
    the most-probable-class call, and the one-vs-rest ROC AUC of the class's probability, with bootstrap
    intervals. The result is a row per class for :func:`metrics_table`."""
    y_true, probabilities = _check_probabilities(y_true, probabilities)
    class_names = check_class_names(class_names)
    if len(class_names) != probabilities.shape[1]:
        raise ValueError(f"class_names must name the {probabilities.shape[1]} classes, got {len(class_names)}.")
    predicted = probabilities.argmax(axis=1)
    options = {"n_bootstrap": n_bootstrap, "confidence": confidence, "seed": seed}
    table = {}
    for c, name in enumerate(class_names):
        is_class, called = (y_true == c).astype(np.int64), (predicted == c).astype(np.int64)
        if is_class.all() or not is_class.any():
            raise ValueError(f"class {name!r} must occur in y_true, beside other classes, for per-class metrics.")
        table[name] = {"sensitivity": bootstrap_ci(_sensitivity, is_class, called, **options),
                       "specificity": bootstrap_ci(_specificity, is_class, called, **options),
                       "precision": bootstrap_ci(_ppv, is_class, called, **options),
                       "ROC AUC (one vs rest)": _bootstrap(_rank_auc, is_class, probabilities[:, c], **options)}
    return table


def _quadratic_kappa(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Cohen's kappa with quadratic weights of checked grade labels: what the bootstrap repeats."""
    observed = np.zeros((n_classes, n_classes))
    np.add.at(observed, (y_true, y_pred), 1)
    weights = np.subtract.outer(np.arange(n_classes), np.arange(n_classes)) ** 2
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(y_true)
    chance = float(np.sum(weights * expected))
    return 1 - float(np.sum(weights * observed)) / chance if chance > 0 else float("nan")


def ordinal_metrics(y_true: np.ndarray, probabilities: np.ndarray, *, n_bootstrap: int = 1000,
                    confidence: float = 0.95, seed: int = 0) -> dict[str, Estimate]:
    """For ordered classes (grades 0 < 1 < 2 ...; e.g. diabetic retinopathy), two numbers accuracy
    misses, each with a bootstrap interval (test images resampled within each class):

    - ``"quadratic-weighted kappa"``: agreement of the most probable grade with the true grade beyond
      chance, where a call two grades off costs four times one grade off (1 perfect, 0 chance level;
      as scikit-learn's ``cohen_kappa_score(..., weights="quadratic")``);
    - ``"within one grade"``: the share of images whose call is at most one grade from the truth.
    """
    y_true, probabilities = _check_probabilities(y_true, probabilities)
    n_classes = probabilities.shape[1]
    options = {"n_bootstrap": n_bootstrap, "confidence": confidence, "seed": seed}
    measures = {"quadratic-weighted kappa": lambda t, p: _quadratic_kappa(t, p.argmax(axis=1), n_classes),
                "within one grade": lambda t, p: float(np.mean(np.abs(t - p.argmax(axis=1)) <= 1))}
    return {name: _bootstrap(measure, y_true, probabilities, **options) for name, measure in measures.items()}
