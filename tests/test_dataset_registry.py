"""One entry of utils.data.DATASETS adds a data set: COURSE_DATASET selects it, load_dataset reads it
and the notebooks' functions run on it, with no other edit."""

import numpy as np
import pytest

from utils import config, data, explore, features, training

CLASS_NAMES = ("dark", "bright", "striped")


def _write_tiny(path, n_train=30, n_test=12):
    """Grey 28x28 images of three easy classes, saved as a Keras-style .npz."""
    rng = np.random.default_rng(0)
    looks = np.stack([np.full((28, 28), 40.0), np.full((28, 28), 210.0), np.tile([40.0, 210.0], (28, 14))])
    split = {}
    for kind, n in (("train", n_train), ("test", n_test)):
        labels = np.arange(n) % len(CLASS_NAMES)
        split[f"x_{kind}"] = np.clip(looks[labels] + rng.normal(0, 10, (n, 28, 28)), 0, 255).astype(np.uint8)
        split[f"y_{kind}"] = labels
    np.savez(path, **split)


def _read(path):
    with np.load(path) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _register_tiny(monkeypatch, path, channels=1):
    """Add the one registry entry of a data set read from ``path``; monkeypatch removes it again."""
    monkeypatch.setitem(data.DATASETS, "tiny", data.DatasetInfo(
        title="Tiny", class_names=CLASS_NAMES, channels=channels,
        sources=lambda: [(f"{path} (a test)", lambda: _read(path))],
    ))


def test_one_registry_entry_adds_a_data_set(course_env, tmp_path, capsys):
    _write_tiny(tmp_path / "tiny.npz")
    _register_tiny(course_env, tmp_path / "tiny.npz")
    course_env.setenv("COURSE_DATASET", "tiny")
    assert config.settings().dataset == "tiny" and "data set: tiny" in config.describe()

    dataset = data.load_dataset()
    assert capsys.readouterr().out.startswith("Tiny: 30 train / 12 test images; source: ")
    assert (dataset.name, dataset.title, dataset.class_names) == ("tiny", "Tiny", CLASS_NAMES)
    x, y = training.cnn_training_set(dataset)  # notebook 03
    assert x.shape == (30, 28, 28, 1) and x.dtype == np.float32 and len(y) == 30
    hog = features.hog_features(dataset.x_train)  # notebook 02
    assert hog.shape == (30, features.hog_dimension())
    assert explore.neighbour_agreement(explore.to_vectors(dataset.x_test), dataset.y_test) == 1.0  # notebook 01


def test_images_must_have_the_channels_the_entry_says(course_env, tmp_path):
    _write_tiny(tmp_path / "tiny.npz")
    _register_tiny(course_env, tmp_path / "tiny.npz", channels=3)
    with pytest.raises(ValueError, match=r"Tiny from .*: the train images must have shape \(N, H, W, 3\) \(colour images\).*got \(30, 28, 28\)"):
        data.load_dataset("tiny")
