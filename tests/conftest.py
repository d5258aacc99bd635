"""Fixtures shared by the unit tests."""

import keras
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from utils.models import build_gap_cnn, build_mnist_cnn


@pytest.fixture
def course_env(monkeypatch, tmp_path):
    """A clean set of course settings: offline, no data dir, an empty Keras home and cache."""
    for name in ("COURSE_FAST", "COURSE_DATA_DIR", "COURSE_DATASET", "COURSE_POSITIVE_CLASS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


@pytest.fixture
def blobs():
    """Four well-separated 2-D blobs of 100 points each."""
    centres = [(-20, -20), (-20, 20), (20, -20), (20, 20)]
    return make_blobs(n_samples=400, centers=centres, cluster_std=1.0, random_state=0)


# --- utils.interpret -----------------------------------------------------------------------------

# The hand-built region_model sees only this region of the image (rows 8-15, columns 12-23).
REGION = (slice(8, 16), slice(12, 24))


def region_model() -> keras.Model:
    """A CNN whose output depends only on the pixels in REGION: the input is multiplied by a mask,
    and bias-free 'same' convolutions keep everything outside at exactly zero."""
    keras.utils.set_random_seed(0)
    mask = np.zeros((28, 28, 1), np.float32)
    mask[REGION] = 1
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Lambda(lambda t: t * mask, name="keep_region")(inputs)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", use_bias=False, name="conv")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", use_bias=False, name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(10, name="logits", kernel_initializer=keras.initializers.RandomNormal(stddev=20.0))(x)
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(x))


@pytest.fixture(scope="session")
def models():
    """Untrained models to explain: the course CNN, its global-average-pooling variant, region_model."""
    keras.utils.set_random_seed(0)
    return {"mnist_cnn": build_mnist_cnn(), "gap_cnn": build_gap_cnn(), "region": region_model()}


@pytest.fixture(scope="session")
def image():
    """One random 28x28 grey image, values in [0, 1)."""
    return np.random.default_rng(1).random((28, 28, 1)).astype(np.float32)


@pytest.fixture(scope="session")
def region_mask():
    """True in REGION, the only pixels the "region" model sees."""
    mask = np.zeros((28, 28), bool)
    mask[REGION] = True
    return mask
