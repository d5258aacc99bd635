"""Fixtures shared by the unit tests."""

import pytest


@pytest.fixture
def course_env(monkeypatch, tmp_path):
    """A clean set of course settings: offline, no data dir, an empty Keras home and cache."""
    for name in ("COURSE_FAST", "COURSE_DATA_DIR", "COURSE_DATASET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch
