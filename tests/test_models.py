"""The CNN builders and their input (utils.models, notebook 03)."""

import keras
import numpy as np
import pytest

from utils import models


# --- model input -----------------------------------------------------------------------------

def test_to_model_input_scales_and_adds_a_channel():
    images = np.array([[[0, 255], [128, 51]]], dtype=np.uint8)
    x = models.to_model_input(images)
    assert x.shape == (1, 2, 2, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, :, 0], images[0] / 255, rtol=1e-6)
    np.testing.assert_array_equal(models.to_model_input(x), x)  # already in [0, 1]: unchanged
    with pytest.raises(ValueError, match="divide by 255"):  # 0..255 floats are never divided silently
        models.to_model_input(images.astype(float))


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


def test_gap_cnn_filters_set_its_depth():
    model = models.build_gap_cnn(n_classes=3, input_shape=(128, 128, 1), filters=(16, 32, 64, 128, 128))
    assert model.get_layer("last_conv").output.shape == (None, 8, 8, 128)  # four poolings: 128 / 16
    assert [layer.name for layer in model.layers if "pool" in layer.name] == ["pool1", "pool2", "pool3", "pool4"]
    for bad in ((), (32, 0), (32, 2.5), 64):
        with pytest.raises(ValueError, match="filters"):
            models.build_gap_cnn(filters=bad)


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
