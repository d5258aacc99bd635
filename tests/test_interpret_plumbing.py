"""Tests of utils.interpret.plumbing: the pre-softmax score, feature maps in nested models, argument checks."""

import keras
import numpy as np
import pytest

from utils import interpret


def dense_softmax_copy(model: keras.Model) -> keras.Model:
    """The course CNN with its last two layers fused into Dense(softmax): no "logits" layer."""
    inputs = keras.Input(model.inputs[0].shape[1:])
    x = inputs
    for layer in model.layers[1:-2]:
        x = layer.__class__.from_config(layer.get_config())(x)
    x = keras.layers.Dense(model.get_layer("logits").units, activation="softmax", name="head")(x)
    copy = keras.Model(inputs, x)
    copy.set_weights(model.get_weights())
    return copy


def test_a_dense_softmax_head_is_explained_through_its_linear_score(models, image):
    model = models["mnist_cnn"]
    fused = dense_softmax_copy(model)
    np.testing.assert_allclose(interpret.predict_scores(fused, image[None]),
                               interpret.predict_scores(model, image[None]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(interpret.saliency(fused, image, 4), interpret.saliency(model, image, 4), atol=1e-5)
    np.testing.assert_allclose(interpret.grad_cam(fused, image, 4), interpret.grad_cam(model, image, 4), atol=1e-5)


def test_a_backbone_nested_in_the_model_is_explained_inside(image):
    """As for InceptionV3 transfer models: a CNN backbone (ending in average pooling) as one layer."""
    keras.utils.set_random_seed(0)
    backbone_inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(backbone_inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="mixed")(x)
    backbone = keras.Model(backbone_inputs, keras.layers.GlobalAveragePooling2D()(x), name="backbone")
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(backbone(inputs)))
    class_index = int(interpret.predict_scores(model, image[None]).argmax())
    grad_cam = interpret.grad_cam(model, image, class_index)  # default layer: the backbone's "mixed"
    np.testing.assert_allclose(grad_cam, interpret.grad_cam(model, image, class_index, layer_name="mixed"))
    assert np.corrcoef(grad_cam.ravel(), interpret.cam(model, image, class_index).ravel())[0, 1] > 0.99


def test_grad_cam_explains_an_inception_v3_transfer_model():
    """InceptionV3 (random weights) as the backbone: at 75x75 its last block is 1x1, so Grad-CAM
    explains the last block that still has a spatial layout, "mixed7" (3x3)."""
    keras.utils.set_random_seed(0)
    backbone = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg", input_shape=(75, 75, 3))
    inputs = keras.Input((75, 75, 3))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(backbone(inputs)))
    disk = (np.hypot(*np.indices((75, 75)) - 37) < 15).astype(np.float32)
    image = np.repeat(disk[..., None] * 2 - 1, 3, axis=-1)  # values in [-1, 1], as preprocess_input gives
    heatmap = interpret.grad_cam(model, image, 1)
    assert heatmap.shape == (75, 75) and heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)
    assert heatmap.std() > 0  # a real map, not the flat one of a 1x1 layer
    np.testing.assert_allclose(heatmap, interpret.grad_cam(model, image, 1, layer_name="mixed7"))


def test_model_calls_hold_a_bounded_number_of_pixels(models, image):
    """batch_size images per call at 28 px (as before), fewer for large images, never none."""
    from utils.interpret.plumbing import MAX_BATCH_PIXELS, _batch_ranges

    assert _batch_ranges(600, (28, 28, 1), 256) == [(0, 256), (256, 512), (512, 600)]
    sizes = [stop - start for start, stop in _batch_ranges(100, (299, 299, 3), 256)]
    assert sum(sizes) == 100 and max(sizes) * 299 * 299 <= MAX_BATCH_PIXELS < (max(sizes) + 1) * 299 * 299
    assert _batch_ranges(3, (2000, 2000, 1), 256) == [(0, 1), (1, 2), (2, 3)]
    images = np.random.default_rng(0).random((30, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(interpret.predict_scores(models["gap_cnn"], images, batch_size=4),
                               interpret.predict_scores(models["gap_cnn"], images), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, error, message", [
    (lambda m, x: interpret.saliency("model", x, 0), TypeError, "keras.Model"),
    (lambda m, x: interpret.saliency(m, (x * 255).astype(np.uint8), 0), TypeError, "to_model_input"),
    (lambda m, x: interpret.saliency(m, x[None], 0), ValueError, "images\\[i\\]"),
    (lambda m, x: interpret.saliency(m, x[:20], 0), ValueError, "input shape"),
    (lambda m, x: interpret.saliency(m, x, 10), ValueError, "class_index"),
    (lambda m, x: interpret.saliency(m, x, 1.0), TypeError, "class_index"),
    (lambda m, x: interpret.saliency(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                                       keras.layers.Dense(3)]), x, 0), ValueError, "logits"),
])
def test_bad_arguments_get_clear_errors(models, image, call, error, message):
    with pytest.raises(error, match=message):
        call(models["mnist_cnn"], image)
