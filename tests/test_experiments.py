import keras
import numpy as np
import pytest

from utils import experiments
from utils.evaluation import Estimate
from utils.data import DATASETS
from utils.transfer import inception_input_model


def _tiny_backbone() -> keras.Model:
    """A stand-in for InceptionV3: (75, 75, 3) images (its smallest input) -> 4 features, with a layer
    named like its top blocks' cut."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((75, 75, 3))
    x = keras.layers.Conv2D(4, 3, strides=8, activation="relu", name="mixed8")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="mixed9")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="tiny_backbone")


def test_augmentation_flips_only_when_the_modality_allows():
    with_flip, without = experiments.augmentation(flip=True), experiments.augmentation(flip=False)
    assert with_flip.name == without.name == "augmentation"
    assert isinstance(with_flip.layers[0], keras.layers.RandomFlip)
    assert not any(isinstance(layer, keras.layers.RandomFlip) for layer in without.layers)
    assert len(with_flip.layers) == len(without.layers) + 1
    with pytest.raises(TypeError, match="flip"):
        experiments.augmentation(flip="horizontal")


def test_select_model_chooses_by_the_rule_and_flags_a_one_class_candidate():
    y = np.repeat([0, 1], 10)
    rng = np.random.default_rng(0)
    good = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.25, 20), 0.01, 0.99)
    one_class = 0.2 + 0.1 * y  # ranks perfectly (AUC 1) but calls every image class 0
    candidates = {"good": np.stack([1 - good, good], 1), "one class": np.stack([1 - one_class, one_class], 1)}
    selection = experiments.select_model(y, candidates)
    assert selection.metric == "ROC AUC"
    assert selection.table.loc["one class", "ROC AUC"] == 1.0 > selection.table.loc["good", "ROC AUC"]
    assert selection.flagged == ("one class",)
    assert selection.table.loc["one class", "share of that call"] == 1.0
    assert selection.table.loc["one class", "most common call"] == 0
    named = experiments.select_model(y, candidates, class_names=("benign", "malignant"))
    assert named.table.loc["one class", "most common call"] == "benign"
    assert selection.chosen == "one class"  # the rule fixed beforehand decides; the flag warns
    assert not selection.table.loc["good", "flagged: one class"]
    by_accuracy = experiments.select_model(y, candidates, metric="accuracy")
    assert by_accuracy.table.loc["good", "accuracy"] == pytest.approx(np.mean((good >= 0.5) == y))
    assert by_accuracy.chosen == "good" and by_accuracy.table.loc["one class", "accuracy"] == 0.5


def test_select_model_rejects_bad_candidates():
    y = np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match="candidates"):
        experiments.select_model(y, {})
    with pytest.raises(ValueError, match="one shape"):
        experiments.select_model(y, {"a": np.full((4, 3), 1 / 3), "b": np.full((3, 3), 1 / 3)})
    with pytest.raises(ValueError, match="metric"):
        experiments.select_model(y, {"a": np.full((4, 3), 1 / 3)}, metric="F1")
    with pytest.raises(ValueError, match="class_names must name the 3 classes"):
        experiments.select_model(y, {"a": np.full((4, 3), 1 / 3)}, class_names=("a", "b"))
    assert experiments.selection_metric(2) == "ROC AUC" and experiments.selection_metric(5) == "accuracy"


def test_average_ensemble_averages_the_members_probabilities():
    keras.utils.set_random_seed(0)
    members = []
    for _ in range(2):
        inputs = keras.Input((3,))
        members.append(keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs), name="same_name"))
    ensemble = experiments.average_ensemble(members, name="pair")
    x = np.random.default_rng(0).random((5, 3)).astype("float32")
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="same input shape"):
        experiments.average_ensemble([members[0], keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])])


def test_flip_average_averages_an_image_and_its_mirror_image():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 6, 1))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs)))
    x = np.random.default_rng(0).random((5, 4, 6, 1)).astype("float32")
    expected = (model.predict(x, verbose=0) + model.predict(x[:, :, ::-1], verbose=0)) / 2
    averaged = experiments.flip_average(model)
    np.testing.assert_allclose(averaged.predict(x, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(averaged.predict(x[:, :, ::-1], verbose=0), expected, rtol=1e-5)  # mirror-invariant
    with pytest.raises(TypeError, match="model must be"):
        experiments.flip_average(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


def test_most_confident_cases_picks_the_surest_right_and_wrong_call_per_class():
    y_true = np.array([0, 0, 1, 1, 1, 0])
    called = np.array([0, 0, 1, 1, 0, 1])
    confidence = np.array([0.6, 0.9, 0.7, 0.8, 0.95, 0.55])
    cases = experiments.most_confident_cases(y_true, called, confidence)
    assert [(c.called, c.correct, c.index) for c in cases] == [(0, True, 1), (0, False, 4), (1, True, 3), (1, False, 5)]
    assert cases[1].confidence == 0.95
    right_only = experiments.most_confident_cases(y_true[:4], called[:4], confidence[:4])
    assert all(case.correct for case in right_only)  # no wrong call: none is invented
    with pytest.raises(ValueError, match="one length"):
        experiments.most_confident_cases(y_true, called[:3], confidence)


def test_published_benchmarks_say_where_they_come_from_and_compare_like_with_like():
    for name, benchmark in experiments.MEDMNIST_BENCHMARKS.items():
        assert name in DATASETS and benchmark.dataset == name
        assert "MedMNIST v2" in benchmark.source and "test split" in benchmark.split
        assert all(len(values) == len(benchmark.metrics) for values in benchmark.results.values())
    benchmark = experiments.MEDMNIST_BENCHMARKS["breastmnist"]
    ours = {"ROC AUC": Estimate(0.88, 0.86, 0.905), "accuracy at 0.5": Estimate(0.70, 0.65, 0.75)}
    table = experiments.benchmark_comparison(benchmark, ours, published_metric={"accuracy at 0.5": "accuracy"})
    assert list(table.columns) == ["published ROC AUC", "published accuracy", "our ROC AUC: interval lies",
                                   "our accuracy at 0.5: interval lies"]
    assert table.loc["ResNet-18 (28)", "our ROC AUC: interval lies"] == "overlaps"  # 0.901
    assert table.loc["auto-sklearn", "our ROC AUC: interval lies"] == "above"  # 0.836
    assert table.loc["Google AutoML Vision", "our ROC AUC: interval lies"] == "below"  # 0.919
    assert (table["our accuracy at 0.5: interval lies"] == "below").all()
    with pytest.raises(ValueError, match="published_metric"):
        experiments.benchmark_comparison(benchmark, ours)


def test_train_head_and_fine_tune_go_through_the_training_cache(course_env, capsys):
    backbone = _tiny_backbone()
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 16)
    images = np.clip(rng.random((32, 8, 8, 3)) * 0.5 + 0.4 * y[:, None, None, None], 0, 1).astype("float32")
    features = backbone.predict(inception_input_model(75, 3)(images), verbose=0)
    options = dict(n_classes=2, epochs=2, name="tiny_head", validation_data=(features, y), verbose=0)
    head = experiments.train_head(features, y, **options)
    assert head.predict(features, verbose=0).shape == (32, 2)
    assert "Training" in capsys.readouterr().out
    again = experiments.train_head(features, y, **options)
    assert "Loaded" in capsys.readouterr().out
    np.testing.assert_allclose(again.predict(features, verbose=0), head.predict(features, verbose=0), rtol=1e-5)
    other_features = features + 1.0  # other backbone weights give other features: another cache entry
    experiments.train_head(other_features, y, **options)
    assert "Training" in capsys.readouterr().out

    grey = images[..., :1]  # course images: the model makes them three channels itself
    tuning = dict(epochs=1, name="tiny_tuned", validation_data=(grey, y), verbose=0)
    model = experiments.fine_tune(backbone, head, grey, y, **tuning)
    assert model.predict(grey, verbose=0).shape == (32, 2)
    assert backbone.get_layer("mixed9").trainable and not backbone.get_layer("mixed8").trainable
    capsys.readouterr()
    backbone = _tiny_backbone()  # a second run of the notebook: the same backbone and head, both from the cache
    experiments.fine_tune(backbone, experiments.train_head(features, y, **options), grey, y, **tuning)
    assert capsys.readouterr().out.count("Loaded") == 2
