"""Image folders: reading every format and layout, and writing them."""

import numpy as np
import pytest
from PIL import Image

from utils import folders
from utils.data import Dataset


def _save(path, pixels, **options):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **options)


@pytest.fixture
def mixed_folder(tmp_path):
    """Two classes: grey PNGs of two sizes, an RGB JPEG, a 16-bit TIFF and a corrupt file."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    _save(root / "cells" / "a.png", rng.integers(0, 256, (20, 20), dtype=np.uint8))
    _save(root / "cells" / "b.PNG", rng.integers(0, 256, (10, 30), dtype=np.uint8))
    _save(root / "cells" / "c.tif", np.full((16, 16), 257 * 100, np.uint16))
    _save(root / "debris" / "d.jpg", np.dstack([np.full((12, 12), v, np.uint8) for v in (250, 10, 10)]), quality=95)
    _save(root / "debris" / "e.bmp", np.full((20, 20), 7, np.uint8))
    (root / "debris" / "broken.png").write_bytes(b"not a png")
    (root / "debris" / "notes.txt").write_text("not an image")
    return root


def test_load_image_folder_reads_formats_sizes_and_skips_a_corrupt_file(mixed_folder):
    with pytest.warns(UserWarning, match=r"1 file\(s\) could not be read.*broken\.png"):
        dataset = folders.load_image_folder(mixed_folder, image_size=16)

    assert dataset.class_names == ("cells", "debris")
    assert dataset.colour == "rgb"  # the JPEG is colour
    assert dataset.x_train.shape == (5, 16, 16, 3) and dataset.x_train.dtype == np.uint8
    assert dataset.y_train.tolist() == [0, 0, 0, 1, 1]
    assert len(dataset.x_test) == 0 and len(dataset.x_val) == 0 and "(class folders;" in dataset.source
    assert dataset.sizes_found == {(20, 20): 2, (10, 30): 1, (16, 16): 1, (12, 12): 1}
    assert [p.split("/")[-1] for p in dataset.files["train"]] == ["a.png", "b.PNG", "c.tif", "d.jpg", "e.bmp"]
    tiff = dataset.x_train[2]
    assert (tiff == 100).all()  # 16 bits: 25,700 / 257 = 100, copied to three channels
    red = dataset.x_train[3]
    assert red[..., 0].mean() > 200 and red[..., 1].mean() < 60  # the colour survives
    assert "1 unreadable skipped" in dataset.source


def test_load_image_folder_forces_grey(mixed_folder):
    with pytest.warns(UserWarning):
        dataset = folders.load_image_folder(mixed_folder, image_size=16, colour="grey")
    assert dataset.x_train.shape == (5, 16, 16) and dataset.colour == "grey"


def test_fit_pads_or_crops_keeping_the_aspect_ratio():
    wide = np.full((10, 20), 200, np.uint8)
    padded = folders.fit_to_square(wide, 20, "pad")
    assert padded.shape == (20, 20)
    assert (padded[:5] == 0).all() and (padded[-5:] == 0).all() and (padded[5:15] == 200).all()
    cropped = folders.fit_to_square(wide, 10, "crop")
    assert cropped.shape == (10, 10) and (cropped == 200).all()
    with pytest.raises(ValueError, match="fit must be one of"):
        folders.fit_to_square(wide, 10, "stretch")


@pytest.mark.parametrize("layout, message", [
    ({"a": 2, "b": 0}, "hold no images"),
    ({"a": 2}, "single class folder"),
    ({}, "has no class sub-folders and no images"),
    ({"train/a": 1, "train/b": 1, "test/a": 1, "test/c": 1}, "differ from those of"),
    ({"train/a": 1, "train/b": 1, "val/a": 1, "val/b": 1}, "needs train/ and test/"),
])
def test_bad_layouts_raise_errors_naming_the_folder(tmp_path, layout, message):
    root = tmp_path / "bad"
    root.mkdir()
    for folder, n in layout.items():
        (root / folder).mkdir(parents=True)
        for i in range(n):
            _save(root / folder / f"{i}.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match=message) as error:
        folders.load_image_folder(root, image_size=8)
    assert str(root) in str(error.value)


def test_loose_images_and_missing_folder_are_explained(tmp_path):
    _save(tmp_path / "x.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="holds 1 images directly"):
        folders.load_image_folder(tmp_path, image_size=8)
    with pytest.raises(ValueError, match="path must be an existing folder"):
        folders.load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="image_size"):
        folders.load_image_folder(tmp_path, image_size=0)


def _dataset(n_per_class=6, colour=False, with_val=True):
    rng = np.random.default_rng(1)
    shape = (3 * n_per_class, 12, 12) + ((3,) if colour else ())
    labels = np.repeat(np.arange(3), n_per_class)
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    fields = dict(name="toy", x_train=x, y_train=labels, x_test=x[::-1].copy(), y_test=labels[::-1].copy(),
                  class_names=("alpha", "beta", "gamma"), source="a test")
    if not with_val:
        return Dataset(**fields)
    return Dataset(**fields, x_val=x[::3], y_val=labels[::3])


@pytest.mark.parametrize("colour", [False, True])
def test_export_then_load_gives_back_the_same_pixels(tmp_path, colour):
    original = _dataset(colour=colour)
    folders.export_image_folder(original, tmp_path / "export")
    loaded = folders.load_image_folder(tmp_path / "export", image_size=12)

    assert "(split folders;" in loaded.source and loaded.class_names == original.class_names
    assert loaded.colour == ("rgb" if colour else "grey")
    for split in folders.SPLITS:
        positions = [int(p.split("/")[-1][:-4]) for p in loaded.files[split]]  # files are named by position
        np.testing.assert_array_equal(getattr(loaded, f"x_{split}"), getattr(original, f"x_{split}")[positions])
        np.testing.assert_array_equal(getattr(loaded, f"y_{split}"), getattr(original, f"y_{split}")[positions])


def test_export_rejects_class_names_that_are_not_folder_names(tmp_path):
    bad = Dataset("toy", *(np.zeros((2, 4, 4), np.uint8), np.array([0, 1])) * 2, ("T-shirt/top", "Bag"), "test")
    with pytest.raises(ValueError, match="cannot be folder names"):
        folders.export_image_folder(bad, tmp_path)


def test_split_dataset_is_stratified_and_keeps_the_files(tmp_path):
    folders.export_image_folder(_dataset(n_per_class=20, with_val=False), tmp_path / "export")
    flat = tmp_path / "flat"
    for path in (tmp_path / "export" / "train").rglob("*.png"):
        _save(flat / path.parent.name / path.name, np.asarray(Image.open(path)))
    dataset = folders.load_image_folder(flat, image_size=12)

    split = folders.split_dataset(dataset, val_fraction=0.2, test_fraction=0.2, seed=0)

    assert [len(split.y_train), len(split.y_val), len(split.y_test)] == [36, 12, 12]
    assert np.bincount(split.y_test).tolist() == [4, 4, 4] and np.bincount(split.y_val).tolist() == [4, 4, 4]
    assert not set(split.files["train"]) & set(split.files["test"])
    index = {f: i for i, f in enumerate(dataset.files["train"])}
    np.testing.assert_array_equal(split.x_test, dataset.x_train[[index[f] for f in split.files["test"]]])
    assert "test and val split drawn stratified" in split.source
    assert folders.split_dataset(split) is split  # nothing left to draw


def test_image_folder_accepts_a_folder_or_a_medmnist_name(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    assert folders.image_folder(tmp_path) == tmp_path
    demo = folders.image_folder("breastmnist")
    assert sorted(p.name for p in (demo / "test").iterdir()) == ["malignant", "normal or benign"]
    assert sum(1 for _ in (demo / "test").rglob("*.png")) == 156
    dataset = folders.load_image_folder(demo)
    assert dataset.class_names[dataset.positive_class] == "malignant" and not dataset.ordinal  # the registry's
    graded = folders.load_image_folder(folders.image_folder("retinamnist"))
    assert graded.positive_class is None and graded.ordinal
    with pytest.raises(ValueError, match="existing folder or one of"):
        folders.image_folder(tmp_path / "nowhere")


def test_the_positive_class_comes_from_the_argument_the_setting_or_the_export(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_POSITIVE_CLASS", raising=False)
    plain = folders.export_image_folder(_dataset(), tmp_path / "plain")  # a data set without a finding
    assert folders.load_image_folder(plain, image_size=12).positive_class is None
    graded = Dataset("graded", *(np.zeros((3, 4, 4), np.uint8), np.arange(3)) * 2, ("a", "b", "c"), "test",
                     positive_class=2, ordinal=True)
    exported = folders.export_image_folder(graded, tmp_path / "graded")
    loaded = folders.load_image_folder(exported, image_size=8)
    assert (loaded.positive_class, loaded.ordinal) == (2, True)
    monkeypatch.setenv("COURSE_POSITIVE_CLASS", "b")
    assert folders.load_image_folder(exported, image_size=8).positive_class == 1
    assert folders.load_image_folder(exported, image_size=8, positive_class="a").positive_class == 0
    split = folders.split_dataset(folders.load_image_folder(plain, image_size=12, positive_class="beta"))
    assert split.positive_class == 1


def test_a_positive_class_that_is_no_class_folder_is_named(tmp_path, monkeypatch):
    exported = folders.export_image_folder(_dataset(), tmp_path / "toy")
    monkeypatch.setenv("COURSE_POSITIVE_CLASS", "malignant")
    with pytest.raises(ValueError, match=r"COURSE_POSITIVE_CLASS must name one of the class folders .* "
                                         r"\(alpha, beta, gamma\), got 'malignant'"):
        folders.load_image_folder(exported, image_size=12)
