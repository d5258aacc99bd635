import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix, roc_auc_score

from utils import evaluation as ev


def _scores(n=400, separation=1.0, seed=0):
    """Labels with 40 % positives and scores in [0, 1] whose separation sets the AUC."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    logits = rng.normal(separation * (2 * y - 1), 1.0)
    return y, 1 / (1 + np.exp(-logits))


def test_sensitivity_and_specificity_match_the_confusion_matrix():
    y, score = _scores()
    y_pred = (score >= 0.5).astype(int)
    (tn, fp), (fn, tp) = confusion_matrix(y, y_pred)
    assert ev.sensitivity(y, y_pred, positive_class=1) == pytest.approx(tp / (tp + fn))
    assert ev.specificity(y, y_pred, positive_class=1) == pytest.approx(tn / (tn + fp))
    assert ev.sensitivity([1, 1, 0, 0], [1, 0, 0, 0], positive_class=1) == 0.5
    assert ev.specificity([1, 1, 0, 0], [1, 0, 0, 0], positive_class=1) == 1.0


def test_roc_auc_equals_sklearn_with_ties():
    y, score = _scores()
    assert ev.roc_auc(y, score) == pytest.approx(roc_auc_score(y, score))
    rounded = np.round(score, 1)  # many ties
    assert ev.roc_auc(y, rounded) == pytest.approx(roc_auc_score(y, rounded))
    assert ev.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert ev.roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0


def test_bootstrap_interval_contains_the_value_and_shrinks_with_more_data():
    small = ev.bootstrap_ci(ev.roc_auc, *_scores(n=100), n_bootstrap=300)
    large = ev.bootstrap_ci(ev.roc_auc, *_scores(n=2000), n_bootstrap=300)
    for estimate in (small, large):
        assert estimate.low <= estimate.value <= estimate.high
    assert (large.high - large.low) < 0.6 * (small.high - small.low)  # about 1 / sqrt(20)


def test_bootstrap_interval_covers_the_true_auc():
    # The population AUC of two unit normals 2 apart is Phi(2 / sqrt(2)) = 0.921.
    population_auc = 0.9214
    covered = [ev.bootstrap_ci(ev.roc_auc, *_scores(n=300, seed=seed), n_bootstrap=200, seed=seed)
               for seed in range(20)]
    assert sum(e.low <= population_auc <= e.high for e in covered) >= 16  # 95 % nominal


def test_bootstrap_is_reproducible_and_keeps_class_counts():
    y, score = _scores()
    assert ev.bootstrap_ci(ev.roc_auc, y, score, seed=3) == ev.bootstrap_ci(ev.roc_auc, y, score, seed=3)
    for indices in ev._resamples(y, 3, np.random.default_rng(0)):
        assert np.bincount(y[indices]).tolist() == np.bincount(y).tolist()
        assert len(np.unique(indices)) < len(y)  # drawn with replacement


def test_estimate_prints_value_and_interval():
    assert str(ev.Estimate(0.9123, 0.88, 0.94)) == "0.912 (95% CI 0.880–0.940)"


def test_clinical_metrics_at_a_threshold():
    y, score = _scores(separation=1.5)
    metrics = ev.clinical_metrics(y, score, threshold=0.5, n_bootstrap=100, positive_class=1)
    assert set(metrics) == {"ROC AUC", "sensitivity", "specificity", "accuracy", "PPV", "NPV"}
    y_pred = (score >= 0.5).astype(int)
    assert metrics["sensitivity"].value == pytest.approx(ev.sensitivity(y, y_pred, positive_class=1))
    assert metrics["accuracy"].value == pytest.approx(np.mean(y == y_pred))
    lenient = ev.clinical_metrics(y, score, threshold=0.2, n_bootstrap=100, positive_class=1)
    assert lenient["sensitivity"].value > metrics["sensitivity"].value
    assert lenient["specificity"].value < metrics["specificity"].value
    assert lenient["ROC AUC"] == metrics["ROC AUC"]  # the AUC does not depend on the threshold


def test_metrics_table_is_markdown():
    y, score = _scores()
    table = ev.metrics_table({"model A": ev.clinical_metrics(y, score, n_bootstrap=20, positive_class=1)})
    lines = table.splitlines()
    assert lines[0].startswith("| model | ROC AUC | sensitivity") and lines[1].startswith("|---|")
    assert lines[2].startswith("| model A | 0.") and len(lines) == 3


def test_roc_band_brackets_the_curve():
    y, score = _scores()
    fpr, tpr, low, high = ev.roc_band(y, score, n_bootstrap=50, positive_class=1)
    assert fpr.shape == tpr.shape == low.shape == high.shape == (101,)
    assert np.all(low <= tpr + 1e-9) and np.all(tpr <= high + 1e-9)
    assert tpr[-1] == 1.0 and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(ev.roc_auc(y, score), abs=0.02)


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 1.0])
def test_threshold_for_sensitivity_reaches_the_target(target):
    y, score = _scores()
    threshold = ev.threshold_for_sensitivity(y, score, target, positive_class=1)
    assert ev.sensitivity(y, (score >= threshold).astype(int), positive_class=1) >= target
    just_above = np.min(score[score > threshold])  # one step stricter misses the target
    assert ev.sensitivity(y, (score >= just_above).astype(int), positive_class=1) < target


def test_class_weights_balance_the_loss():
    assert ev.class_weights(np.array([0, 1] * 50)) == {0: 1.0, 1: 1.0}
    y = np.array([0] * 25 + [1] * 75)
    weights = ev.class_weights(y)
    assert weights[0] == pytest.approx(2.0) and weights[1] == pytest.approx(2 / 3)
    assert weights[0] * 25 == pytest.approx(weights[1] * 75)
    with pytest.raises(ValueError, match="every class"):
        ev.class_weights(np.array([0, 0, 2]))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ev.roc_auc([0, 1, 2], [0.1, 0.2, 0.3]), "only 0"),
        (lambda: ev.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]), "both classes"),
        (lambda: ev.roc_auc([0, 1], np.zeros((2, 2))), r"probabilities\[:, 1\]"),
        (lambda: ev.roc_auc([0, 1], [0.5]), "shape"),
        (lambda: ev.sensitivity([0, 0], [0, 1], positive_class=1), "no positives"),
        (lambda: ev.specificity([1, 1], [0, 1], positive_class=1), "no negatives"),
        (lambda: ev.bootstrap_ci(ev.roc_auc, [0, 1], [0.2, 0.8], n_bootstrap=5), "n_bootstrap"),
        (lambda: ev.bootstrap_ci(ev.roc_auc, [0, 1], [0.2, 0.8], confidence=95), "confidence"),
        (lambda: ev.clinical_metrics([0, 1], [0.2, 0.8], threshold=50, positive_class=1), "threshold"),
        (lambda: ev.threshold_for_sensitivity([0, 1], [0.2, 0.8], target=95, positive_class=1), "target"),
        (lambda: ev.class_weights(np.array([0.5, 1.0])), "class indices"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_an_undefined_metric_gives_nan_without_warnings(recwarn):
    y, score = _scores()
    metrics = ev.clinical_metrics(y, score, threshold=1.0, n_bootstrap=20, positive_class=1)  # none called positive
    assert np.isnan(metrics["PPV"].value) and np.isnan(metrics["PPV"].low)
    assert metrics["sensitivity"].value == 0 and not recwarn.list


def test_balanced_threshold_separates_separable_scores():
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])  # prevalence 0.7: accuracy would favour "positive"
    score = np.array([0.1, 0.2, 0.6, 0.65, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99])
    threshold = ev.balanced_threshold(y, score, positive_class=1)
    assert 0.6 < threshold <= 0.65  # between the last negative and the first positive
    predicted = (score >= threshold).astype(int)
    assert ev.sensitivity(y, predicted, positive_class=1) == 1 and ev.specificity(y, predicted, positive_class=1) == 1
    with pytest.raises(ValueError, match="both classes"):
        ev.balanced_threshold(np.ones(4, int), np.linspace(0, 1, 4), positive_class=1)


def test_balanced_threshold_equals_sensitivity_and_specificity_whatever_the_prevalence():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200, int), np.ones(200, int)]
    score = np.clip(np.r_[rng.normal(0.35, 0.1, 200), rng.normal(0.55, 0.1, 200)], 0, 1)
    keep = np.r_[np.arange(200), 200 + np.arange(0, 200, 4)]  # a quarter of the positives only
    for labels, scores in ((y, score), (y[keep], score[keep])):
        threshold = ev.balanced_threshold(labels, scores, positive_class=1)
        predicted = (scores >= threshold).astype(int)
        sensitivity = ev.sensitivity(labels, predicted, positive_class=1)
        assert abs(sensitivity - ev.specificity(labels, predicted, positive_class=1)) < 0.03
        assert abs(threshold - 0.45) < 0.04  # midway between the two classes, not pulled by the mix


def test_accuracy_interval_is_the_wilson_interval():
    y_true = np.arange(100) % 3
    y_pred = np.where(np.arange(100) < 50, y_true, (y_true + 1) % 3)  # 50 of 100 right
    estimate = ev.accuracy_interval(y_true, y_pred)
    assert estimate.value == 0.5
    assert estimate.low == pytest.approx(0.4038, abs=1e-4) and estimate.high == pytest.approx(0.5962, abs=1e-4)
    perfect = ev.accuracy_interval(y_true, y_true)
    assert perfect.value == perfect.high == 1.0 and 0.95 < perfect.low < 1.0
    with pytest.raises(ValueError, match="same length"):
        ev.accuracy_interval(y_true, y_pred[:-1])


def test_compare_with_published_reads_the_interval():
    estimate = ev.Estimate(0.95, 0.93, 0.97)
    verdicts = ev.compare_with_published(estimate, {"weaker": 0.90, "similar": 0.96, "stronger": 0.99})
    assert verdicts == {"weaker": "above", "similar": "overlaps", "stronger": "below"}
    with pytest.raises(TypeError, match="estimate"):
        ev.compare_with_published(0.95, {"a": 0.9})


def _three_classes(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3)) + 1.5 * np.eye(3)[y]
    return y, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_macro_roc_auc_matches_scikit_learn():
    y, p = _three_classes()
    assert ev.macro_roc_auc(y, p) == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    y2, score = _scores()
    assert ev.macro_roc_auc(y2, np.stack([1 - score, score], axis=1)) == pytest.approx(roc_auc_score(y2, score))
    with pytest.raises(ValueError, match="probabilities must have shape"):
        ev.macro_roc_auc(y, p[:, 0])


def test_overall_and_per_class_metrics_with_intervals():
    y, p = _three_classes()
    overall = ev.overall_metrics(y, p, n_bootstrap=200)
    assert overall["accuracy"].value == pytest.approx(np.mean(p.argmax(1) == y))
    assert overall["accuracy"].low < overall["accuracy"].value < overall["accuracy"].high
    per_class = ev.per_class_metrics(y, p, ("a", "b", "c"), n_bootstrap=200)
    matrix = confusion_matrix(y, p.argmax(1))
    for c, name in enumerate("abc"):
        row = per_class[name]
        assert row["sensitivity"].value == pytest.approx(matrix[c, c] / matrix[c].sum())
        assert row["precision"].value == pytest.approx(matrix[c, c] / matrix[:, c].sum())
        others = np.delete(matrix, c, axis=0)  # the rows of the other true classes
        assert row["specificity"].value == pytest.approx(1 - others[:, c].sum() / others.sum())
        assert row["ROC AUC (one vs rest)"].value == pytest.approx(roc_auc_score(y == c, p[:, c]))
        assert all(e.low <= e.value <= e.high for e in row.values())
    with pytest.raises(ValueError, match="class_names must name the 3 classes"):
        ev.per_class_metrics(y, p, ("a", "b"))
    with pytest.raises(ValueError, match="class 'c' must occur"):
        ev.per_class_metrics(y[y < 2], p[y < 2], ("a", "b", "c"))


def test_metrics_table_says_undefined_for_a_nan_estimate():
    nan = ev.Estimate(float("nan"), float("nan"), float("nan"))
    table = ev.metrics_table({"never predicts class 4": {"precision": nan}})
    assert table.endswith("| never predicts class 4 | undefined |")


def test_the_positive_class_is_an_argument_not_label_1():
    y, score = _scores(separation=1.5)  # score: the probability of class 1
    as_one = ev.clinical_metrics(y, score, positive_class=1, n_bootstrap=50)
    as_zero = ev.clinical_metrics(y, 1 - score, positive_class=0, n_bootstrap=50)  # the same model, class 0 to find
    assert as_zero["sensitivity"].value == pytest.approx(np.mean(score[y == 0] <= 0.5))
    assert as_zero["specificity"].value == pytest.approx(np.mean(score[y == 1] > 0.5))
    assert as_zero["ROC AUC"].value == pytest.approx(as_one["ROC AUC"].value)
    assert as_zero["PPV"].value == pytest.approx(np.mean(y[score <= 0.5] == 0))
    predicted = (score >= 0.5).astype(int)
    sensitivity_of_0 = ev.sensitivity(y, predicted, positive_class=0)
    assert sensitivity_of_0 == pytest.approx(ev.specificity(y, predicted, positive_class=1))
    fpr, tpr, _, _ = ev.roc_band(y, 1 - score, positive_class=0, n_bootstrap=20)
    assert np.trapezoid(tpr, fpr) == pytest.approx(as_one["ROC AUC"].value, abs=0.02)
    threshold = ev.threshold_for_sensitivity(y, 1 - score, 0.9, positive_class=0)
    assert ev.sensitivity(y, np.where(1 - score >= threshold, 0, 1), positive_class=0) >= 0.9
    assert ev.balanced_threshold(y, 1 - score, positive_class=0) == pytest.approx(
        1 - ev.balanced_threshold(y, score, positive_class=1), abs=0.05)
    for bad in (2, True, "malignant"):
        with pytest.raises(ValueError, match="positive_class"):
            ev.clinical_metrics(y, score, positive_class=bad, n_bootstrap=20)


def test_ordinal_metrics_match_scikit_learn_and_reward_near_misses():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    near = np.clip(y + rng.integers(-1, 2, 300), 0, 4)  # calls at most one grade off
    far = np.where(rng.random(300) < 0.3, 4 - y, y)  # some calls at the other end of the scale
    metrics = {}
    for name, called in (("near", near), ("far", far)):
        probabilities = np.full((300, 5), 0.05)
        probabilities[np.arange(300), called] = 0.8
        metrics[name] = ev.ordinal_metrics(y, probabilities, n_bootstrap=200)
        kappa = metrics[name]["quadratic-weighted kappa"]
        assert kappa.value == pytest.approx(cohen_kappa_score(y, called, weights="quadratic"))
        assert kappa.low <= kappa.value <= kappa.high
        assert metrics[name]["within one grade"].value == pytest.approx(np.mean(np.abs(called - y) <= 1))
    assert metrics["near"]["within one grade"].value == 1.0
    assert metrics["near"]["quadratic-weighted kappa"].value > metrics["far"]["quadratic-weighted kappa"].value
    with pytest.raises(ValueError, match="probabilities must have shape"):
        ev.ordinal_metrics(y, np.ones(300))
