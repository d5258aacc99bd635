from pathlib import Path

import pytest

from utils import config


def test_defaults(course_env):
    course_env.delenv("COURSE_OFFLINE")
    s = config.settings()
    assert (s.fast, s.offline, s.data_dir, s.dataset) == (False, False, None, "mnist")


def test_by_mode_follows_the_fast_flag(course_env):
    assert config.by_mode(full=10, fast=2) == 10
    course_env.setenv("COURSE_FAST", "1")
    assert config.by_mode(full=10, fast=2) == 2


@pytest.mark.parametrize(
    "name, value, message",
    [("COURSE_FAST", "maybe", "COURSE_FAST must be 1 or 0"),
     ("COURSE_DATASET", "../cifar", "COURSE_DATASET must be the name of a data set"),
     ("COURSE_DATA_DIR", "no/such/folder", "COURSE_DATA_DIR must be a folder, got 'no/such/folder'"),
     ("COURSE_POSITIVE_CLASS", "train/malignant", "COURSE_POSITIVE_CLASS must be the name of one class folder")],
)
def test_bad_settings_are_named(course_env, name, value, message):
    course_env.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        config.settings()


def test_cache_path_creates_parent(course_env, tmp_path):
    path = config.cache_path("models", "cnn.keras")
    assert path.parent.is_dir() and path.parent.parent == tmp_path / "cache"


def test_one_network_and_keras_cache_policy(course_env, tmp_path):
    assert config.keras_home() == tmp_path / "keras_home"
    assert not config.network_allowed()
    course_env.setenv("COURSE_OFFLINE", "0")
    assert config.network_allowed()
    course_env.delenv("KERAS_HOME")
    assert config.keras_home() == Path.home() / ".keras"


def test_the_positive_class_setting_is_a_folder_name_or_unset(course_env):
    assert config.settings().positive_class is None
    course_env.setenv("COURSE_POSITIVE_CLASS", " malignant ")
    assert config.settings().positive_class == "malignant"


def test_describe_names_the_data_a_notebook_reads(course_env):
    assert "data set: image folder retinamnist |" in config.describe("image folder retinamnist")
    assert f"data set: {config.settings().dataset} |" in config.describe()
