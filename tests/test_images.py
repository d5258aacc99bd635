"""The one rule for images and the shared argument checks (utils.images), and atomic cache writes
(utils.config.atomic_write)."""

import os

import numpy as np
import pytest

from utils.config import atomic_write
from utils.images import (
    ArgumentTypeError,
    as_float_image,
    as_float_images,
    check_class_names,
    check_int,
    check_labels,
    check_layout,
    check_number,
)


def test_uint8_becomes_float_in_unit_range_and_floats_in_unit_range_stay():
    images = np.array([[[0, 128], [255, 1]]], np.uint8)
    x = as_float_images(images)
    assert x.dtype == np.float32 and x.shape == (1, 2, 2)
    np.testing.assert_allclose(x, images / 255, rtol=1e-6)
    np.testing.assert_array_equal(as_float_images(x), x)
    np.testing.assert_allclose(as_float_images(images.astype(np.int64)), x)  # whole numbers 0..255 of any dtype


def test_floats_above_one_are_an_error_that_says_what_to_do():
    with pytest.raises(ValueError, match="divide by 255 first, or pass the uint8 images"):
        as_float_images(np.full((1, 2, 2), 200.0))
    with pytest.raises(ValueError, match="must hold values in \\[0, 1\\]"):
        as_float_images(np.full((1, 2, 2), -0.5))


def test_layouts():
    assert as_float_images(np.zeros((2, 3, 3, 3), np.uint8)).shape == (2, 3, 3, 3)
    with pytest.raises(ValueError, match="\\(N, H, W\\) \\(grey images\\)"):
        as_float_images(np.zeros((2, 3, 3, 3), np.uint8), channels=1)
    with pytest.raises(ValueError, match="\\(N, H, W, 3\\)"):
        check_layout(np.zeros((2, 3, 3)), channels=3)
    with pytest.raises(ValueError, match="my_images must have shape"):
        check_layout(np.zeros(5), name="my_images")


def test_one_image():
    assert as_float_image(np.zeros((4, 4), np.uint8), channels=1).shape == (4, 4)
    assert as_float_image(np.zeros((4, 4, 3), np.uint8)).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="a batch of images, not one image"):
        as_float_image(np.zeros((2, 4, 4, 1), np.float32))


def test_check_int_and_check_number():
    assert check_int("n", np.int64(3)) == 3 and isinstance(check_int("n", np.int64(3)), int)
    assert check_int("n", 0, 0) == 0
    with pytest.raises(ValueError, match="n must be a whole number between 1 and 5, got 6"):
        check_int("n", 6, 1, 5)
    with pytest.raises(ArgumentTypeError):
        check_int("n", 1.0)
    assert check_number("p", 1, 0, 1) == 1.0
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        check_number("p", 1, 0, 1, exclusive=True)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            check_number("p", bad)
    with pytest.raises(TypeError):
        check_number("p", "0.5")


def test_check_labels_and_class_names():
    np.testing.assert_array_equal(check_labels(np.array([[0.0], [2.0]]), 3), [0, 2])
    with pytest.raises(ValueError, match="class indices 0..2"):
        check_labels([0, 3], 3)
    with pytest.raises(ValueError, match="one label per image \\(3\\)"):
        check_labels([0, 1], 3, n_images=3)
    assert check_class_names(["a", 1]) == ("a", "1")
    with pytest.raises(ValueError, match="non-empty list"):
        check_class_names("ab")


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "sub" / "model.weights.h5"
    with atomic_write(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.endswith("model.weights.h5")
        temporary.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_write(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "new" and os.listdir(target.parent) == ["model.weights.h5"]


def test_atomic_write_removes_what_a_dead_process_left(tmp_path):
    target = tmp_path / "x.npy"
    dead = tmp_path / f".tmp-{2**22 + 12345}-abc-x.npy"  # a pid above Linux's maximum: never running
    alive = tmp_path / f".tmp-{os.getpid()}-abc-x.npy"
    dead.write_text("half")
    alive.write_text("being written")
    with atomic_write(target) as temporary:
        temporary.write_text("whole")
    assert not dead.exists() and alive.exists()
