"""The MedMNIST loader, on small files the tests write themselves (never the network)."""

import hashlib

import numpy as np
import pytest

from utils import medmnist
from utils.data import DATASETS
from utils.config import COURSE_ROOT

SIZES = {"train": 12, "val": 4, "test": 6}
SHARED_DATA = COURSE_ROOT.parent / "shared" / "data"  # the offline copy that CI uses


def _write_medmnist(path, size=28, sizes=SIZES, seed=0, channels=1, **overrides):
    """A small file in the official layout: images (N, size, size[, 3]) uint8, labels (N, 1) uint8."""
    rng = np.random.default_rng(seed)
    shape = (size, size) if channels == 1 else (size, size, channels)
    arrays = {}
    for split, n in sizes.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).astype(np.uint8).reshape(n, 1)
    arrays.update(overrides)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


@pytest.fixture
def medmnist_env(course_env, tmp_path):
    """Course settings with a data folder, and neither the shipped files nor a medmnist-package folder."""
    (tmp_path / "data").mkdir()
    course_env.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    course_env.setattr(medmnist, "MEDMNIST_SHIPPED_DIR", tmp_path / "shipped")
    course_env.setattr(medmnist, "MEDMNIST_PACKAGE_ROOT", tmp_path / "dot_medmnist")
    return course_env


def test_local_file_shapes_and_flat_labels(medmnist_env, tmp_path, capsys):
    arrays = _write_medmnist(tmp_path / "data" / "medmnist" / "pneumoniamnist.npz")
    ds = medmnist.load_medmnist("pneumoniamnist")
    assert ds.x_train.shape == (12, 28, 28) and ds.x_val.shape == (4, 28, 28) and ds.x_test.shape == (6, 28, 28)
    for split in ("train", "val", "test"):
        labels = getattr(ds, f"y_{split}")
        assert labels.shape == (SIZES[split],) and labels.dtype == np.int64
        np.testing.assert_array_equal(labels, arrays[f"{split}_labels"].ravel())
    np.testing.assert_array_equal(ds.x_test, arrays["test_images"])
    assert ds.class_names == ("normal", "pneumonia") and ds.title == "PneumoniaMNIST" and ds.image_size == 28
    out = capsys.readouterr().out
    assert "COURSE_DATA_DIR" in out and "12 train / 4 val / 6 test" in out


def test_a_file_that_is_not_the_official_one_is_used_and_named(medmnist_env, tmp_path, capsys):
    path = tmp_path / "data" / "medmnist" / "breastmnist.npz"
    _write_medmnist(path)
    ds = medmnist.load_medmnist("breastmnist")
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    assert not ds.official and f"MD5 {md5} differs" in ds.source
    out = capsys.readouterr().out
    assert md5 in out and DATASETS["breastmnist"].md5[28] in out and "NOT the official" in out


def test_the_official_checksum_is_recognised(medmnist_env, tmp_path, capsys):
    path = tmp_path / "data" / "medmnist" / "pneumoniamnist_64.npz"
    _write_medmnist(path, size=64)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    medmnist_env.setitem(DATASETS["pneumoniamnist"].md5, 64, md5)
    ds = medmnist.load_medmnist("pneumoniamnist", size=64)
    assert ds.official and ds.x_train.shape == (12, 64, 64)
    assert "the official file" in capsys.readouterr().out


def test_download_is_verified_and_cached(medmnist_env, tmp_path, capsys):
    medmnist_env.setenv("COURSE_OFFLINE", "0")
    source = tmp_path / "zenodo" / "breastmnist_128.npz"
    _write_medmnist(source, size=128)
    medmnist_env.setitem(DATASETS["breastmnist"].md5, 128, hashlib.md5(source.read_bytes()).hexdigest())
    urls = []

    def fake_download(url, destination):
        urls.append(url)
        destination.write_bytes(source.read_bytes())

    medmnist_env.setattr(medmnist, "download", fake_download)
    ds = medmnist.load_medmnist("breastmnist", size=128)
    assert ds.official and ds.x_val.shape == (4, 128, 128)
    assert urls == [medmnist.MEDMNIST_URL.format(file_name="breastmnist_128.npz")]
    assert (tmp_path / "cache" / "medmnist" / "breastmnist_128.npz").is_file()
    medmnist.load_medmnist("breastmnist", size=128)  # now from the cache: no second download
    assert len(urls) == 1 and "course cache" in capsys.readouterr().out


def test_a_download_with_the_wrong_checksum_is_rejected_and_deleted(medmnist_env, tmp_path):
    medmnist_env.setenv("COURSE_OFFLINE", "0")

    def corrupt_download(url, destination):
        destination.write_bytes(b"truncated")

    medmnist_env.setattr(medmnist, "download", corrupt_download)
    with pytest.raises(medmnist.ChecksumError, match="MD5"):
        medmnist.load_medmnist("pneumoniamnist")
    assert not any((tmp_path / "cache" / "medmnist").iterdir())


def test_offline_without_a_file_says_what_to_do(medmnist_env):
    def forbidden(url, destination):
        raise AssertionError("the network was touched")

    medmnist_env.setattr(medmnist, "download", forbidden)
    with pytest.raises(FileNotFoundError, match="COURSE_OFFLINE"):
        medmnist.load_medmnist("pneumoniamnist", size=224)


@pytest.mark.parametrize("name", ["chestmnist", "pneumonia", "", None])
def test_unknown_names_are_refused(medmnist_env, name):
    with pytest.raises(ValueError, match="name must be one of"):
        medmnist.load_medmnist(name)


@pytest.mark.parametrize("size", [32, 256, "28", True, 28.5])
def test_unknown_sizes_are_refused(medmnist_env, size):
    with pytest.raises(ValueError, match="size must be one of"):
        medmnist.load_medmnist("pneumoniamnist", size=size)


def test_names_are_case_insensitive(medmnist_env, tmp_path):
    _write_medmnist(tmp_path / "data" / "medmnist" / "pneumoniamnist.npz")
    assert medmnist.load_medmnist("PneumoniaMNIST").name == "pneumoniamnist"


def test_a_file_in_another_layout_is_refused(medmnist_env, tmp_path):
    _write_medmnist(tmp_path / "data" / "medmnist" / "pneumoniamnist.npz", val_labels=None)
    with pytest.raises(ValueError, match="val_labels"):
        medmnist.load_medmnist("pneumoniamnist")


def test_a_file_of_the_wrong_size_is_refused(medmnist_env, tmp_path):
    _write_medmnist(tmp_path / "data" / "medmnist" / "pneumoniamnist_64.npz", size=28)
    with pytest.raises(ValueError, match="expected"):
        medmnist.load_medmnist("pneumoniamnist", size=64)


def test_multi_label_files_are_refused(medmnist_env, tmp_path):
    _write_medmnist(tmp_path / "data" / "medmnist" / "pneumoniamnist.npz",
                    test_labels=np.zeros((6, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="multi-label data sets are not supported"):
        medmnist.load_medmnist("pneumoniamnist")


def test_colour_files_keep_their_channels(medmnist_env, tmp_path):
    arrays = _write_medmnist(tmp_path / "data" / "medmnist" / "retinamnist.npz", channels=3)
    ds = medmnist.load_medmnist("retinamnist")
    assert ds.x_train.shape == (12, 28, 28, 3) and ds.x_test.dtype == np.uint8
    np.testing.assert_array_equal(ds.x_val, arrays["val_images"])
    assert len(ds.class_names) == 5 and ds.title == "RetinaMNIST"


@pytest.mark.parametrize("name, channels", [("retinamnist", 1), ("pneumoniamnist", 3)])
def test_a_file_with_the_wrong_channels_is_refused(medmnist_env, tmp_path, name, channels):
    _write_medmnist(tmp_path / "data" / "medmnist" / f"{name}.npz", channels=channels)
    with pytest.raises(ValueError, match="colour images" if channels == 1 else "grey images"):
        medmnist.load_medmnist(name)


def test_the_data_dir_comes_before_the_shipped_file(medmnist_env, tmp_path, capsys):
    _write_medmnist(tmp_path / "shipped" / "breastmnist.npz", seed=1)
    arrays = _write_medmnist(tmp_path / "data" / "medmnist" / "breastmnist.npz", seed=2)
    np.testing.assert_array_equal(medmnist.load_medmnist("breastmnist").x_train, arrays["train_images"])
    assert "(COURSE_DATA_DIR)" in capsys.readouterr().out


def test_the_shipped_file_comes_before_the_cache_and_the_download(medmnist_env, tmp_path, capsys):
    medmnist_env.setenv("COURSE_OFFLINE", "0")
    medmnist_env.delenv("COURSE_DATA_DIR")
    arrays = _write_medmnist(tmp_path / "shipped" / "breastmnist.npz", seed=1)
    _write_medmnist(tmp_path / "cache" / "medmnist" / "breastmnist.npz", seed=2)

    def forbidden(url, destination):
        raise AssertionError("the network was touched")

    medmnist_env.setattr(medmnist, "download", forbidden)
    np.testing.assert_array_equal(medmnist.load_medmnist("breastmnist").x_test, arrays["test_images"])
    assert "(shipped with the course)" in capsys.readouterr().out


# The files the course ships in data/medmnist/, as data/README.md describes them.
SHIPPED = {
    "pneumoniamnist": (4170669, (28, 28), {"train": [1214, 3494], "val": [135, 389], "test": [234, 390]}),
    "breastmnist": (559580, (28, 28), {"train": [147, 399], "val": [21, 57], "test": [42, 114]}),
    "retinamnist": (3291041, (28, 28, 3), {"train": [486, 128, 206, 194, 66], "val": [54, 12, 28, 20, 6],
                                           "test": [174, 46, 92, 68, 20]}),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_files_are_the_official_ones(course_env, capsys, name):
    n_bytes, image_shape, class_counts = SHIPPED[name]
    info = DATASETS[name]
    path = medmnist.MEDMNIST_SHIPPED_DIR / medmnist.medmnist_file_name(name)
    assert path.stat().st_size == n_bytes
    ds = medmnist.load_medmnist(name)  # no COURSE_DATA_DIR (course_env): found in data/medmnist/
    assert ds.official and f"MD5 {info.md5[28]}, the official file" in ds.source
    out = capsys.readouterr().out
    assert "shipped with the course" in out and "the official file" in out
    for split, counts in class_counts.items():
        images, labels = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        assert images.shape == (info.n_samples[split], *image_shape) and images.dtype == np.uint8
        assert np.bincount(labels).tolist() == counts and len(counts) == len(info.class_names)
    readme = (COURSE_ROOT / "data" / "README.md").read_text()
    assert info.md5[28] in readme and f"{n_bytes:,}" in readme


@pytest.mark.skipif(not (SHARED_DATA / "medmnist" / "pneumoniamnist.npz").is_file(),
                    reason="the shared data folder is absent")
def test_the_shared_copy_is_the_official_file(course_env, capsys):
    course_env.setenv("COURSE_DATA_DIR", str(SHARED_DATA))
    ds = medmnist.load_medmnist("pneumoniamnist")
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (4708, 524, 624)
    assert ds.official and "(COURSE_DATA_DIR)" in capsys.readouterr().out


@pytest.mark.parametrize("name, positive, ordinal", [("pneumoniamnist", "pneumonia", False),
                                                     ("breastmnist", "malignant", False),
                                                     ("retinamnist", None, True)])
def test_the_registry_names_the_positive_class_and_ordinal_grades(course_env, name, positive, ordinal):
    ds = medmnist.load_medmnist(name)
    assert (ds.class_names[ds.positive_class] if ds.positive_class is not None else None) == positive
    assert ds.ordinal == ordinal
