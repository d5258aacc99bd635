"""Fault injection: bad inputs a new user may pass, and files a crash or a second process may damage.

Each case must end in a named error (the argument or the file, and what was expected) or in a
recovery that says so in one line; none may return a wrong result in silence or leave a damaged
file behind for the next run. Everything is tiny: the whole file runs in well under two minutes.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from test_training import _tiny_data, _tiny_model  # the training tests' tiny classifier and its data
from utils import data, evaluation, explore, features, interpret, medmnist, models, plots, training, transfer
from utils.config import COURSE_ROOT, settings
from utils.images import ArgumentTypeError, as_float_image, as_float_images, check_int

GREY_255 = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype(np.float32)  # floats, not divided

# --- 1. One rule for images: floats must be in [0, 1], never silently divided ---------------------

@pytest.mark.parametrize("convert", [
    models.to_model_input, explore.to_vectors, features.raw_pixels, features.hog_features,
    lambda x: transfer.to_inception_input(x, 75), lambda x: as_float_images(x),
], ids=["to_model_input", "to_vectors", "raw_pixels", "hog_features", "to_inception_input", "as_float_images"])
def test_float_images_in_0_255_are_an_error_everywhere(convert):
    with pytest.raises(ValueError, match="divide by 255"):
        convert(GREY_255)


@pytest.mark.parametrize("bad, error", [
    (np.full((2, 4, 4), np.nan, np.float32), "finite"),
    (np.full((2, 4, 4), -1, np.int64), "0..255"),
    (np.zeros((0, 4, 4), np.uint8), "N > 0"),
    (np.zeros((4, 4), np.uint8), "image\\[None\\]"),
])
def test_images_that_are_not_images_are_named(bad, error):
    with pytest.raises(ValueError, match=error):
        models.to_model_input(bad)


@pytest.mark.parametrize("single_image_function", [features.hog_image, features.lbp_image, features.foreground_region])
def test_single_image_functions_refuse_a_batch(single_image_function):
    with pytest.raises(ValueError, match="not one image: pass images\\[i\\]"):
        single_image_function(np.zeros((3, 28, 28), np.uint8))


def test_strings_are_not_images():
    with pytest.raises(TypeError, match="uint8"):
        as_float_image(np.array([["a"]]))


# --- 2. Loaders check what they read and name the file -------------------------------------------

def _write_npz(path: Path, **overrides) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), "y_train": np.arange(40) % 10,
              "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), "y_test": np.arange(20) % 10}
    arrays.update(overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


@pytest.fixture
def data_dir(course_env, tmp_path):
    course_env.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


@pytest.mark.parametrize("overrides, error", [
    ({"y_train": np.arange(40) % 10 + 10}, "labels must be class indices 0..9"),
    ({"y_test": np.arange(20) % 10 + 0.5}, "whole numbers"),
    ({"y_train": np.arange(39) % 10}, "one label per image \\(40\\)"),
    ({"x_train": np.zeros((40, 28, 28), np.float32)}, "must be uint8"),
    ({"x_test": np.zeros((20, 28, 28, 3), np.uint8)}, "\\(N, H, W\\) \\(grey images\\)"),
    ({"y_train": np.full(40, 3)}, "train labels hold one class only"),  # issue 25: splits that cannot be right
    ({"y_test": np.full(20, 7)}, "test labels hold one class only"),
    ({"x_test": np.zeros((20, 32, 32), np.uint8)}, "32x32.*28x28|28x28.*32x32"),
])
def test_a_data_file_with_bad_contents_is_named(data_dir, overrides, error):
    path = _write_npz(data_dir / "mnist.npz", **overrides)
    with pytest.raises(ValueError, match=error) as caught:
        data.load_mnist()
    assert str(path) in str(caught.value)


def test_labels_of_shape_n_1_are_flattened(data_dir):
    _write_npz(data_dir / "mnist.npz", y_train=(np.arange(40) % 10).reshape(40, 1))
    (_, y_train), _ = data.load_mnist()
    assert y_train.shape == (40,) and y_train.dtype == np.int64


def test_a_truncated_file_in_the_data_dir_is_named_not_skipped(data_dir):
    path = _write_npz(data_dir / "mnist.npz")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(data.DamagedFileError, match="replace it or delete it") as caught:
        data.load_mnist()
    assert str(path) in str(caught.value)


def _truncated_keras_mnist(course_env, tmp_path) -> Path:
    path = _write_npz(tmp_path / "keras_home" / "datasets" / "mnist.npz")
    path.write_bytes(path.read_bytes()[:1000])  # what a killed Keras download leaves
    return path


def test_a_truncated_keras_mnist_offline_says_which_file_to_delete(course_env, tmp_path):
    path = _truncated_keras_mnist(course_env, tmp_path)
    with pytest.raises(data.DamagedFileError, match="delete it") as caught:
        data.load_mnist()
    assert str(path) in str(caught.value)


def test_a_truncated_keras_mnist_online_is_downloaded_again(course_env, tmp_path, capsys):
    _truncated_keras_mnist(course_env, tmp_path)
    course_env.setenv("COURSE_OFFLINE", "0")
    downloads = []
    fresh = ((np.zeros((20, 28, 28), np.uint8), np.arange(20) % 10), (np.zeros((10, 28, 28), np.uint8), np.arange(10)))
    course_env.setattr(data, "_keras_download", lambda name: downloads.append(name) or fresh)
    (x_train, _), _ = data.load_mnist()
    assert downloads == ["mnist"] and len(x_train) == 20
    assert "damaged" in capsys.readouterr().out


@pytest.fixture
def medmnist_env(course_env, tmp_path):
    course_env.setattr(medmnist, "MEDMNIST_SHIPPED_DIR", tmp_path / "shipped")
    course_env.setattr(medmnist, "MEDMNIST_PACKAGE_ROOT", tmp_path / "dot_medmnist")
    return course_env


def _write_medmnist(path: Path, labels_offset: int = 0) -> Path:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in {"train": 8, "val": 4, "test": 4}.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2 + labels_offset).reshape(n, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def test_medmnist_labels_outside_the_classes_name_the_file(medmnist_env, tmp_path):
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    path = _write_medmnist(tmp_path / "medmnist" / "pneumoniamnist.npz", labels_offset=1)
    with pytest.raises(ValueError, match="class indices 0..1") as caught:
        medmnist.load_medmnist("pneumoniamnist")
    assert str(path) in str(caught.value)


def test_a_truncated_medmnist_file_is_named(medmnist_env, tmp_path):
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    path = _write_medmnist(tmp_path / "medmnist" / "pneumoniamnist.npz")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="cannot be read") as caught:
        medmnist.load_medmnist("pneumoniamnist")
    assert str(path) in str(caught.value)


def test_a_cached_medmnist_download_with_a_wrong_md5_is_named_offline(medmnist_env):
    path = _write_medmnist(settings().cache_dir / "medmnist" / "breastmnist.npz")
    with pytest.raises(medmnist.ChecksumError, match="delete it") as caught:
        medmnist.load_medmnist("breastmnist")
    assert str(path) in str(caught.value)


def _official_download(medmnist_env, tmp_path, name="breastmnist"):
    """Make the "official" MD5 that of a small local file, and the download copy it."""
    source = _write_medmnist(tmp_path / "official" / f"{name}.npz")
    medmnist_env.setitem(data.DATASETS[name].md5, 28, medmnist.file_md5(source))
    targets = []

    def download(url, destination):
        targets.append(Path(destination))
        Path(destination).write_bytes(source.read_bytes())

    medmnist_env.setattr(medmnist, "download", download)
    medmnist_env.setenv("COURSE_OFFLINE", "0")
    return targets


def test_a_cached_medmnist_download_with_a_wrong_md5_is_downloaded_again_online(medmnist_env, tmp_path, capsys):
    cached = settings().cache_dir / "medmnist" / "breastmnist.npz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a file")
    targets = _official_download(medmnist_env, tmp_path)
    dataset = medmnist.load_medmnist("breastmnist")
    assert dataset.official and len(targets) == 1
    assert "downloading it again" in capsys.readouterr().out


def test_two_downloads_use_different_temporary_names(medmnist_env, tmp_path):
    targets = _official_download(medmnist_env, tmp_path)
    medmnist.load_medmnist("breastmnist")
    (settings().cache_dir / "medmnist" / "breastmnist.npz").unlink()
    medmnist.load_medmnist("breastmnist")
    assert len(targets) == 2 and targets[0] != targets[1]
    assert all(t.parent == targets[0].parent and not t.exists() for t in targets)  # moved into place


# --- 2. utils.interpret: images in [0, 1], finite options ----------------------------------------

@pytest.mark.parametrize("explain, error", [
    (lambda m, x: interpret.saliency(m, x * 255, 0), "by 255"),
    (lambda m, x: interpret.saliency(m, np.full_like(x, np.nan), 0), "finite"),
    (lambda m, x: interpret.integrated_gradients(m, x, 0, baseline=float("nan")), "baseline"),
    (lambda m, x: interpret.integrated_gradients(m, x, 0, baseline=np.full_like(x, np.inf)), "baseline"),
    (lambda m, x: interpret.smoothgrad(m, x, 0, noise_level=float("inf")), "noise_level"),
    (lambda m, x: interpret.smoothgrad(m, x, 0, noise_level=float("nan")), "noise_level"),
], ids=["0-255 image", "NaN image", "NaN baseline", "inf baseline array", "inf noise", "NaN noise"])
def test_interpret_refuses_images_and_options_it_would_explain_wrongly(models, image, explain, error):
    with pytest.raises(ValueError, match=error):
        explain(models["mnist_cnn"], image)


# --- 2. utils.evaluation: probabilities, 0 / 1 predictions, both classes -------------------------

Y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
P = np.array([0.1, 0.9, 0.3, 0.6, 0.8, 0.2, 0.4, 0.45])


@pytest.mark.parametrize("call, error", [
    (lambda: evaluation.roc_auc(Y, np.log(P / (1 - P))), "softmax or sigmoid"),
    (lambda: evaluation.clinical_metrics(Y, P * 100, positive_class=1, n_bootstrap=10), "percentages"),
    (lambda: evaluation.roc_auc(Y, np.where(Y, np.nan, P)), "finite"),
    (lambda: evaluation.sensitivity(Y, P, positive_class=1), "0 / 1"),
    (lambda: evaluation.specificity(Y, P, positive_class=1), "0 / 1"),
    (lambda: evaluation.roc_band(np.ones(8, int), P, positive_class=1, n_bootstrap=10), "both classes"),
    (lambda: evaluation.clinical_metrics(Y, P, positive_class=1, threshold=float("nan"), n_bootstrap=10), "threshold"),
    (lambda: evaluation.bootstrap_ci(evaluation.roc_auc, Y, P, n_bootstrap=True), "n_bootstrap"),
], ids=["logits", "percentages", "NaN scores", "sensitivity of scores", "specificity of scores",
        "roc_band one class", "NaN threshold", "bool n_bootstrap"])
def test_evaluation_refuses_what_would_give_wrong_numbers(call, error):
    with pytest.raises(ValueError, match=error):
        call()


def test_metrics_table_with_mismatched_metrics_is_named():
    full = evaluation.clinical_metrics(Y, P, positive_class=1, n_bootstrap=10)
    with pytest.raises(ValueError, match="results\\['b'\\] must have the same metrics"):
        evaluation.metrics_table({"a": full, "b": {"ROC AUC": full["ROC AUC"]}})


# --- 2. train_or_load: batch size and labels ----------------------------------------------------

@pytest.mark.parametrize("change, error", [
    ({"batch_size": 0}, "batch_size"),
    ({"y": np.arange(30) % 3 + 0.5}, "whole numbers"),
    ({"y": np.arange(30) % 3 + 10}, "class indices 0..2"),
    ({"y": np.arange(29) % 3}, "one label per image"),
    ({"x": np.full((30, 6, 6, 1), np.nan, np.float32)}, "finite"),
    ({"epochs": 2.5}, "epochs"),
], ids=["batch_size 0", "float labels", "labels 10-12", "too few labels", "NaN inputs", "float epochs"])
def test_train_or_load_refuses_bad_arguments_before_training(course_env, change, error):
    x, y = _tiny_data(30)
    arguments = {"x": x, "y": y, "epochs": 1, "batch_size": 8, **change}
    with pytest.raises(ValueError, match=error):
        training.train_or_load(_tiny_model, arguments.pop("x"), arguments.pop("y"), verbose=0, **arguments)
    assert not list(settings().cache_dir.glob("models/*"))


def test_train_or_load_takes_labels_of_shape_n_1(course_env):
    x, y = _tiny_data(30)
    _, history = training.train_or_load(_tiny_model, x, y.reshape(-1, 1), epochs=1, batch_size=8, verbose=0)
    assert len(history["loss"]) == 1


# --- 2. Plots ----------------------------------------------------------------------------------

@pytest.mark.parametrize("draw, error", [
    (lambda: plots.show_misclassified(np.zeros((3, 4, 4)), [0, 1, 5], [1, 0, 0], ["a", "b"]), "0..1"),
    (lambda: plots.plot_confusion_matrix([0, 1], [1, 0], []), "non-empty list of class names"),
    (lambda: plots.plot_confusion_matrix([0, 1], [1, 0], ["a", ""]), "empty names"),
    (lambda: plots.plot_embedding(np.zeros((0, 2)), [], ["a"]), "N > 0"),
    (lambda: plots.show_predictions(np.zeros((1, 4, 4)), np.array([[0.5, 0.5]]), [2], ["a", "b"]), "0..1"),
    (lambda: plots.plot_embeddings({"x": np.zeros((2, 2))}, [0, 3], ["a", "b"]), "0..1"),
], ids=["misclassified label 5", "no class names", "an empty class name", "empty embedding",
        "prediction label 2", "embeddings label 3"])
def test_plots_name_empty_inputs_and_labels_outside_the_class_names(draw, error):
    with pytest.raises(ValueError, match=error):
        draw()


# --- 3. Caches that survive a crash --------------------------------------------------------------

def _weights_files():
    return sorted(path for path in (settings().cache_dir / "models").glob("*.weights.h5")
                  if not path.name.startswith("."))


def test_a_damaged_weights_file_counts_as_absent(course_env, capsys):
    x, y = _tiny_data(30)
    training.train_or_load(_tiny_model, x, y, epochs=1, batch_size=8, verbose=0)
    (weights,) = _weights_files()
    weights.write_bytes(weights.read_bytes()[:96])  # what a kill during save_weights left before
    capsys.readouterr()
    training.train_or_load(_tiny_model, x, y, epochs=1, batch_size=8, verbose=0)
    out = capsys.readouterr().out
    assert "cannot be read" in out and "Training tiny" in out
    assert _weights_files() == [weights] and weights.stat().st_size > 96
    training.train_or_load(_tiny_model, x, y, epochs=1, batch_size=8, verbose=0)
    assert "Loaded the trained tiny" in capsys.readouterr().out


def test_a_damaged_history_counts_as_absent(course_env, capsys):
    x, y = _tiny_data(30)
    training.train_or_load(_tiny_model, x, y, epochs=1, batch_size=8, verbose=0)
    (history,) = (settings().cache_dir / "models").glob("*.history.json")
    history.write_text('{"loss": [0.5')
    capsys.readouterr()
    _, again = training.train_or_load(_tiny_model, x, y, epochs=1, batch_size=8, verbose=0)
    assert "cannot be read" in capsys.readouterr().out
    assert json.loads(history.read_text()) == again


def test_a_save_that_fails_leaves_no_file(course_env, monkeypatch):
    x, y = _tiny_data(30)

    def failing_save(self, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n" + b"\0" * 90)
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save_weights", failing_save)
    with pytest.raises(OSError, match="disk full"):
        training.train_or_load(_tiny_model, x, y, epochs=1, batch_size=8, verbose=0)
    assert not _weights_files() and not list((settings().cache_dir / "models").glob(".tmp-*"))


def test_damaged_cached_features_are_extracted_again(course_env, capsys):
    inputs = keras.Input((75, 75, 3))
    backbone = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8), dtype=np.uint8)
    first = transfer.extract_features(backbone, images, cache_key="tiny")
    (cached,) = (settings().cache_dir / "features").glob("tiny-*.npy")
    cached.write_bytes(cached.read_bytes()[:100])
    capsys.readouterr()
    again = transfer.extract_features(backbone, images, cache_key="tiny")
    assert "cannot be read" in capsys.readouterr().out
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(np.load(cached), first)


CHILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import keras
    sys.path[:0] = [{root!r}, {tests!r}]
    from test_training import _tiny_data, _tiny_model  # the parent's model and data: the same cache entry
    from utils import training

    mode = sys.argv[1]
    if mode == "hang-in-save":  # write part of the file, tell the parent, wait to be killed
        def save_weights(self, path, *args, **kwargs):
            Path(path).write_bytes(b"\\x89HDF\\r\\n\\x1a\\n" + b"\\0" * 88)
            print("INSIDE-SAVE", flush=True)
            time.sleep(600)
        keras.Model.save_weights = save_weights

    x, y = _tiny_data(30)
    print("READY", flush=True)
    training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=8, verbose=0)
    print("DONE", flush=True)
""")


def _child(tmp_path: Path, mode: str) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(COURSE_ROOT), tests=str(Path(__file__).parent)))
    return subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _wait_for(child: subprocess.Popen, signal_line: str) -> None:
    deadline = time.monotonic() + 150
    line = ""
    while signal_line not in line and time.monotonic() < deadline and child.poll() is None:
        line = child.stdout.readline()
    assert signal_line in line, f"the child never printed {signal_line}"


def test_a_kill_in_the_middle_of_saving_weights_leaves_nothing_that_breaks_the_next_run(course_env, tmp_path, capsys):
    child = _child(tmp_path, "hang-in-save")
    try:
        _wait_for(child, "INSIDE-SAVE")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    models_dir = settings().cache_dir / "models"
    assert not _weights_files(), "a half-written weights file took the real name"
    assert len(list(models_dir.glob(".tmp-*"))) == 1  # the killed writer's own temporary file

    capsys.readouterr()
    x, y = _tiny_data(30)
    training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=8, verbose=0)  # a fresh run recovers
    assert "Training tiny" in capsys.readouterr().out
    assert len(_weights_files()) == 1
    assert not list(models_dir.glob(".tmp-*")), "the killed writer's temporary file was not cleaned up"
    training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=8, verbose=0)
    assert "Loaded the trained tiny" in capsys.readouterr().out


def test_two_processes_training_the_same_model_end_with_one_valid_entry(course_env, tmp_path, capsys):
    child = _child(tmp_path, "normal")
    try:
        _wait_for(child, "READY")  # both train and save at about the same time
        x, y = _tiny_data(30)
        training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=8, verbose=0)
        out, _ = child.communicate(timeout=150)
    finally:
        child.kill()
    assert child.returncode == 0 and "DONE" in out
    models_dir = settings().cache_dir / "models"
    assert len(_weights_files()) == 1 and len(list(models_dir.glob("*.history.json"))) == 1
    assert not list(models_dir.glob(".tmp-*"))
    capsys.readouterr()
    _, history = training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=8, verbose=0)
    assert "Loaded the trained tiny" in capsys.readouterr().out and len(history["loss"]) == 2


# --- Folder walk: every file is read, or counted and named in one warning ----------------------

def _png(path, pixels):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _walk_folder(tmp_path):
    """Two classes of 3 grey PNGs each, one of them in a sub-folder of its class."""
    root = tmp_path / "walk"
    for name, level in (("a", 40), ("b", 200)):
        for k in range(3):
            _png(root / name / ("nested" if k == 2 else "") / f"{k}.png", np.full((12, 16), level, np.uint8))
    return root


def _bomb_png(path):
    """A PNG whose header claims 20,000 x 20,000 pixels (Pillow's decompression-bomb guard)."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + data)))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))


def test_images_in_sub_folders_of_a_class_folder_are_read(course_env, tmp_path):
    from utils import folders

    dataset = folders.load_image_folder(_walk_folder(tmp_path), image_size=8)
    assert len(dataset.y_train) == 6 and np.bincount(dataset.y_train).tolist() == [3, 3]
    assert any("/nested/" in f for f in dataset.files["train"])


@pytest.mark.parametrize("make, reason", [
    (lambda p: (p / "a" / "gone.png").symlink_to(p / "nowhere.png"), "1 dangling symlink"),
    (lambda p: (p / "a" / "notes.txt").write_text("x"), "1 unsupported type"),
    (lambda p: (p / "a" / ".DS_Store").write_bytes(b"\0"), "1 hidden"),
    (lambda p: (p / "b" / "old").symlink_to(p / "a", target_is_directory=True), "1 symlinked folder"),
])
def test_files_the_walk_does_not_read_are_counted_and_named(course_env, tmp_path, make, reason):
    from utils import folders

    root = _walk_folder(tmp_path)
    make(root)
    with pytest.warns(UserWarning, match=rf"read 6 images; skipped 1 file\(s\): {reason}"):
        dataset = folders.load_image_folder(root, image_size=8)
    assert len(dataset.y_train) == 6


def test_an_animated_gif_is_listed_as_an_unsupported_type(course_env, tmp_path):
    from PIL import Image

    from utils import folders

    root = _walk_folder(tmp_path)
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (0, 255)]
    frames[0].save(root / "a" / "moving.gif", save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match=r"1 unsupported type: .*moving\.gif"):
        folders.load_image_folder(root, image_size=8)


def test_a_multi_frame_tiff_is_listed_as_unreadable_not_cut_to_its_first_frame(course_env, tmp_path):
    from PIL import Image

    from utils import folders

    root = _walk_folder(tmp_path)
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (0, 255)]
    frames[0].save(root / "a" / "stack.tif", save_all=True, append_images=frames[1:])
    with pytest.warns(UserWarning, match=r"1 file\(s\) could not be read: .*stack\.tif \(2 frames"):
        dataset = folders.load_image_folder(root, image_size=8)
    assert len(dataset.y_train) == 6


def test_a_decompression_bomb_header_is_listed_as_unreadable_instead_of_aborting(course_env, tmp_path):
    from utils import folders

    root = _walk_folder(tmp_path)
    _bomb_png(root / "b" / "huge.png")
    with pytest.warns(UserWarning, match=r"1 file\(s\) could not be read: .*huge\.png \(.*decompression bomb"):
        dataset = folders.load_image_folder(root, image_size=8)
    assert len(dataset.y_train) == 6 and "1 unreadable skipped" in dataset.source


def test_a_class_whose_only_file_is_a_bomb_is_named_with_the_reason(course_env, tmp_path):
    from utils import folders

    root = _walk_folder(tmp_path)
    (root / "c").mkdir()
    _bomb_png(root / "c" / "huge.png")
    with pytest.raises(ValueError, match=r"no readable image in the class folder\(s\) c .*decompression bomb"):
        folders.load_image_folder(root, image_size=8)


def test_exif_orientation_is_applied(course_env, tmp_path):
    from PIL import Image

    from utils import folders

    root = _walk_folder(tmp_path)
    pixels = np.zeros((10, 30, 3), np.uint8)
    pixels[:, :10] = (255, 0, 0)  # red on the left as stored; a phone held upright rotates it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    Image.fromarray(pixels).save(root / "a" / "phone.jpg", exif=exif, quality=100)
    dataset = folders.load_image_folder(root, image_size=30, colour="rgb")
    phone = dataset.x_train[dataset.files["train"].index(str(root / "a" / "phone.jpg"))]
    assert (30, 10) in dataset.sizes_found  # standing: 30 high, 10 wide
    assert phone[:10, 10:20, 0].mean() > 200 and phone[-10:, 10:20, 0].mean() < 50  # red now on top


def test_many_skipped_files_are_one_warning_with_counts(course_env, tmp_path):
    from utils import folders

    root = _walk_folder(tmp_path)
    for k in range(8):
        (root / "a" / f"broken{k}.png").write_bytes(b"not a png")
    (root / "b" / "notes.txt").write_text("x")
    with pytest.warns(UserWarning) as caught:
        folders.load_image_folder(root, image_size=8)
    messages = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(messages) == 1
    assert "skipped 9 file(s): " in messages[0] and "8 file(s) could not be read" in messages[0]
    assert "and 3 more" in messages[0] and "1 unsupported type" in messages[0]


def test_predict_folder_and_load_image_folder_walk_alike(tmp_path):
    from utils import folders

    root = _walk_folder(tmp_path)
    files, skipped = folders.walk_images(root)
    assert len(files) == 6 and not skipped


# --- 4. Settings ---------------------------------------------------------------------------------

def test_a_cache_dir_that_cannot_be_created_is_named_by_the_settings(course_env, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    course_env.setenv("COURSE_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(ValueError, match="COURSE_CACHE_DIR .* is a file, not a folder"):
        settings()


def test_a_cache_dir_that_cannot_be_written_is_named_by_the_settings(course_env, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    course_env.setenv("COURSE_CACHE_DIR", str(locked / "cache"))
    try:
        if os.access(locked, os.W_OK):  # root may write anywhere: nothing to test
            pytest.skip("this user may write into a read-only folder")
        with pytest.raises(ValueError, match="COURSE_CACHE_DIR .* may not be written"):
            settings()
    finally:
        locked.chmod(0o700)


def test_an_unreadable_data_dir_is_named_by_the_settings(course_env, tmp_path):
    locked = tmp_path / "data"
    locked.mkdir()
    locked.chmod(0)
    course_env.setenv("COURSE_DATA_DIR", str(locked))
    try:
        if os.access(locked, os.R_OK | os.X_OK):  # root may read anywhere: nothing to test
            pytest.skip("this user may read a folder without permissions")
        with pytest.raises(ValueError, match="COURSE_DATA_DIR must be a folder you can read"):
            settings()
    finally:
        locked.chmod(0o700)


# --- The shared argument checks -------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, 2.0, "3", None])
def test_a_whole_number_is_a_whole_number(value):
    with pytest.raises(ArgumentTypeError, match="n must be a whole number"):
        check_int("n", value)


def test_a_wrong_type_is_both_a_type_and_a_value_error():
    with pytest.raises(TypeError):
        data.stratified_subset(np.zeros((10, 2)), np.arange(10) % 2, 2.5)
    with pytest.raises(ValueError):
        data.stratified_subset(np.zeros((10, 2)), np.arange(10) % 2, 2.5)


# === Round two (issue 25): a researcher's own images, saved classifiers, training, loaders ===========
# Imported here, not at the top, so that this round's sections stay one block.
import dataclasses  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import warnings  # noqa: E402
import zipfile  # noqa: E402

import h5py  # noqa: E402
from PIL import Image  # noqa: E402
from test_folders import _dataset  # noqa: E402  the folder tests' toy data set: 3 classes, 12x12

from utils import classical, folders, serving  # noqa: E402
from utils.data import Dataset  # noqa: E402
from utils.images import check_class_names  # noqa: E402


def _tree(root: Path) -> list[str]:
    """Every path under ``root`` (relative), or [] when it does not exist: to show that nothing changed."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def _forced(dataset: Dataset, **fields) -> Dataset:
    """``dataset`` with fields changed after its own checks ran (as code that edits a data set in place does)."""
    for key, value in fields.items():
        object.__setattr__(dataset, key, value)
    return dataset


# --- 5. Export writes what it was given, or refuses ----------------------------------------------

@pytest.mark.parametrize("convert", [
    lambda x: (x / 255).astype(np.float32), lambda x: x / 255, lambda x: x.astype(np.int64),
    lambda x: x.astype(np.uint16),
], ids=["float32 in [0, 1]", "float64 in [0, 1]", "int64 0..255", "uint16 0..255"])
@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_export_writes_images_of_any_rule_abiding_type_as_their_grey_levels(tmp_path, convert, colour):
    original = _dataset(colour=colour)
    converted = dataclasses.replace(original, x_train=convert(original.x_train))
    loaded = folders.load_image_folder(folders.export_image_folder(converted, tmp_path / "out"), image_size=12)
    positions = [int(Path(p).stem) for p in loaded.files["train"]]
    np.testing.assert_array_equal(loaded.x_train, original.x_train[positions])


def test_export_writes_one_channel_images_as_grey(tmp_path):
    original = _dataset()
    loaded = folders.load_image_folder(folders.export_image_folder(
        dataclasses.replace(original, x_train=original.x_train[..., None]), tmp_path / "out"), image_size=12)
    positions = [int(Path(p).stem) for p in loaded.files["train"]]
    assert loaded.colour == "grey"
    np.testing.assert_array_equal(loaded.x_train, original.x_train[positions])


def test_export_takes_labels_of_shape_n_1(tmp_path):
    original = _dataset()
    loaded = folders.load_image_folder(folders.export_image_folder(
        dataclasses.replace(original, y_train=original.y_train.reshape(-1, 1)), tmp_path / "out"), image_size=12)
    positions = [int(Path(p).stem) for p in loaded.files["train"]]
    np.testing.assert_array_equal(loaded.y_train, original.y_train[positions])


@pytest.mark.parametrize("change, error", [
    (lambda d: {"x_train": d.x_train.astype(np.float32)}, "divide by 255"),
    (lambda d: {"x_train": d.x_train.astype(np.int64) + 200}, "0..255"),
    (lambda d: {"x_train": d.x_train.astype(np.int64) - 300}, "0..255"),
    (lambda d: {"x_train": np.where(d.x_train > 200, np.nan, d.x_train / 255)}, "finite"),
    (lambda d: {"x_test": d.x_test > 128}, "uint8"),
    (lambda d: {"x_train": np.repeat(d.x_train[..., None], 4, axis=-1)}, "1 or 3 channels"),
    (lambda d: {"y_train": d.y_train - 1}, "class indices 0..2"),
    (lambda d: {"y_val": d.y_val + 1}, "class indices 0..2"),
    (lambda d: {"y_test": d.y_test + 0.5}, "whole numbers"),
    (lambda d: {"class_names": ("alpha", "alpha", "gamma")}, "more than once"),
    (lambda d: {"class_names": ("alpha", "Alpha", "gamma")}, "differ only in case"),
    (lambda d: {"class_names": ("alpha", "..", "gamma")}, "cannot be folder names"),
    (lambda d: {"class_names": ("alpha", "be\0ta", "gamma")}, "cannot be folder names"),
], ids=["floats 0-255", "ints above 255", "negative ints", "NaN", "booleans", "4 channels", "label -1",
        "label 3", "label 0.5", "duplicate names", "names differing in case", "name ..", "NUL in a name"])
def test_export_refuses_what_it_would_write_wrongly_and_writes_nothing(tmp_path, change, error):
    target = tmp_path / "out"
    with pytest.raises((ValueError, TypeError), match=error):
        original = _dataset()
        folders.export_image_folder(_forced(original, **change(original)), target)
    assert _tree(tmp_path) == []


@pytest.mark.parametrize("split, cut", [("train", 3), ("test", 1), ("val", 2)])
def test_export_refuses_more_images_than_labels(tmp_path, split, cut):
    original = _dataset()
    labels = getattr(original, f"y_{split}")
    with pytest.raises(ValueError, match=rf"one label per image \({len(labels)}\)"):
        folders.export_image_folder(_forced(original, **{f"y_{split}": labels[:-cut]}), tmp_path / "out")
    assert _tree(tmp_path) == []


@pytest.mark.parametrize("before", ["an earlier export", "other files", "a file"])
def test_export_refuses_a_path_that_already_holds_something(tmp_path, before):
    target = tmp_path / "out"
    if before == "an earlier export":
        folders.export_image_folder(_dataset(n_per_class=9), target)
    elif before == "other files":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    else:
        target.write_text("a file")
    snapshot = _tree(tmp_path)
    with pytest.raises(FileExistsError, match=re.escape(str(target))):
        folders.export_image_folder(_dataset(), target)
    assert _tree(tmp_path) == snapshot


def test_export_into_an_empty_folder_is_fine(tmp_path):
    (tmp_path / "out").mkdir()
    loaded = folders.load_image_folder(folders.export_image_folder(_dataset(), tmp_path / "out"), image_size=12)
    assert len(loaded.y_train) == 18 and len(loaded.y_test) == 18 and len(loaded.y_val) == 6


def test_an_export_that_fails_half_way_leaves_no_folder(tmp_path, monkeypatch):
    saved = []
    original_save = Image.Image.save

    def failing_save(self, path, *args, **kwargs):
        if len(saved) == 20:
            raise OSError("disk full")
        saved.append(path)
        return original_save(self, path, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        folders.export_image_folder(_dataset(), tmp_path / "out")
    assert _tree(tmp_path) == [], "a failed export left files behind"


EXPORT_CHILD = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from PIL import Image
    from test_folders import _dataset
    from utils import folders

    saved = []
    original_save = Image.Image.save

    def save(self, path, *args, **kwargs):  # all but the last two images, then wait to be killed
        original_save(self, path, *args, **kwargs)
        saved.append(path)
        if len(saved) == 40:
            print("INSIDE-EXPORT", flush=True)
            time.sleep(600)

    Image.Image.save = save
    folders.export_image_folder(_dataset(), sys.argv[1])
""")


def _script_child(tmp_path: Path, script: str, *arguments: str) -> subprocess.Popen:
    path = tmp_path / "child_script.py"
    path.write_text(script.format(root=str(COURSE_ROOT), tests=str(Path(__file__).parent)))
    return subprocess.Popen([sys.executable, str(path), *arguments], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _kill_when(child: subprocess.Popen, signal_line: str) -> None:
    try:
        _wait_for(child, signal_line)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()


def test_a_killed_export_leaves_no_folder_that_loads_as_complete(tmp_path):
    target = tmp_path / "exports" / "toy"
    _kill_when(_script_child(tmp_path, EXPORT_CHILD, str(target)), "INSIDE-EXPORT")
    if target.exists():  # whatever is left must not read as the data set
        with pytest.raises(ValueError):
            folders.load_image_folder(target, image_size=12)
    folders.export_image_folder(_dataset(), target)  # the next export is not blocked by the killed one
    loaded = folders.load_image_folder(target, image_size=12)
    assert [len(loaded.y_train), len(loaded.y_val), len(loaded.y_test)] == [18, 6, 18]
    assert [p.name for p in target.parent.iterdir()] == ["toy"], "the killed export's temporary folder is left"


# --- 6. A saved classifier and its description cannot disagree ------------------------------------

@pytest.fixture
def folder_data(tmp_path):
    """A colour data set read from a folder (12x12, 3 classes: alpha, beta, gamma), as save_classifier needs."""
    return folders.load_image_folder(folders.export_image_folder(_dataset(colour=True), tmp_path / "data"),
                                     image_size=12)


def _small_classifier(n_outputs=3, ending="softmax", channels=3, seed=0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, channels))
    x = keras.layers.Flatten()(inputs)
    if ending == "dense softmax":
        return keras.Model(inputs, keras.layers.Dense(n_outputs, activation="softmax")(x))
    if ending == "dense relu":
        return keras.Model(inputs, keras.layers.Dense(n_outputs, activation="relu")(x))
    x = keras.layers.Dense(n_outputs, name="logits")(x)
    if ending == "Softmax layer":
        return keras.Model(inputs, keras.layers.Softmax()(x))
    if ending == "logits":
        return keras.Model(inputs, x)
    return keras.Model(inputs, keras.layers.Activation(ending)(x))


def _new_images(folder: Path, n: int = 3, colour: bool = True) -> Path:
    rng = np.random.default_rng(5)
    for i in range(n):
        folders_image = rng.integers(0, 256, (12, 12, 3) if colour else (12, 12), dtype=np.uint8)
        (folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(folders_image).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize("ending", ["logits", "dense relu", "linear"])
def test_save_classifier_refuses_a_model_that_does_not_output_probabilities(folder_data, tmp_path, ending):
    with pytest.raises(ValueError, match="softmax"):
        serving.save_classifier(_small_classifier(ending=ending), tmp_path / "m.keras", folder_data)
    assert not (tmp_path / "m.keras").exists() and not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("ending", ["softmax", "dense softmax", "Softmax layer", "sigmoid"])
def test_a_probability_model_round_trips_and_predicts_probabilities(folder_data, tmp_path, ending):
    model = _small_classifier(ending=ending)
    path = serving.save_classifier(model, tmp_path / "m.keras", folder_data)
    loaded = serving.load_classifier(path)
    assert loaded.class_names == ("alpha", "beta", "gamma") and (loaded.image_size, loaded.colour) == (12, "rgb")
    table = serving.predict_folder(loaded, _new_images(tmp_path / "new"))
    probabilities = table[["P(alpha)", "P(beta)", "P(gamma)"]].to_numpy()
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_a_sequential_probability_model_round_trips(folder_data, tmp_path):
    model = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Flatten(), keras.layers.Dense(3),
                              keras.layers.Activation("softmax")])
    loaded = serving.load_classifier(serving.save_classifier(model, tmp_path / "m.keras", folder_data))
    assert loaded.class_names == ("alpha", "beta", "gamma")


@pytest.mark.parametrize("members, saved", [(("softmax", "softmax"), True), (("softmax", "logits"), False)],
                         ids=["mean of probabilities", "mean of probabilities and logits"])
def test_an_ensemble_is_saved_only_when_it_averages_probabilities(folder_data, tmp_path, members, saved):
    from utils.experiments import average_ensemble  # the ensemble notebook 07 saves

    ensemble = average_ensemble([_small_classifier(ending=ending, seed=i) for i, ending in enumerate(members)])
    if saved:
        loaded = serving.load_classifier(serving.save_classifier(ensemble, tmp_path / "m.keras", folder_data))
        assert loaded.class_names == ("alpha", "beta", "gamma")
    else:
        with pytest.raises(ValueError, match="softmax"):
            serving.save_classifier(ensemble, tmp_path / "m.keras", folder_data)


def _description_of(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text())


def _rewrite_description(path: Path, text: str) -> None:
    """Damage the saved description wherever it is kept: the .json beside, and the copy in the .keras file."""
    path.with_suffix(".json").write_text(text)
    entry = getattr(serving, "DESCRIPTION_ENTRY", None)
    if entry is None:
        return
    with zipfile.ZipFile(path) as old:
        contents = {name: old.read(name) for name in old.namelist()}
    contents[entry] = text.encode()
    with zipfile.ZipFile(path, "w") as new:
        for name, data in contents.items():
            new.writestr(name, data)


@pytest.mark.parametrize("damage, error", [
    (lambda d: json.dumps(d)[:25], "cannot be read|not valid JSON"),
    (lambda d: json.dumps({k: v for k, v in d.items() if k != "class_names"}), "class_names"),
    (lambda d: json.dumps({k: v for k, v in d.items() if k != "image_size"}), "image_size"),
    (lambda d: json.dumps({k: v for k, v in d.items() if k != "colour"}), "colour"),
    (lambda d: json.dumps({k: v for k, v in d.items() if k != "fit"}), "fit"),
    (lambda d: json.dumps(d | {"class_names": ["alpha", "beta"]}), "2 class names .* 3 outputs"),
    (lambda d: json.dumps(d | {"class_names": ["alpha", "beta", "gamma", "delta"]}), "4 class names .* 3 outputs"),
    (lambda d: json.dumps(d | {"image_size": 28}), "28x28"),
    (lambda d: json.dumps(d | {"colour": "grey"}), "grey"),
    (lambda d: json.dumps(d | {"fit": "stretch"}), "fit"),
    (lambda d: json.dumps(d | {"class_names": "abc"}), "class_names"),
    (lambda d: "[1, 2, 3]", "class_names"),
], ids=["truncated", "no class_names", "no image_size", "no colour", "no fit", "fewer names", "more names",
        "other size", "other colour", "unknown fit", "names as a string", "not an object"])
def test_a_saved_description_that_does_not_fit_the_model_is_named(folder_data, tmp_path, damage, error):
    path = serving.save_classifier(_small_classifier(), tmp_path / "m.keras", folder_data)
    _rewrite_description(path, damage(_description_of(path)))
    with pytest.raises(ValueError, match=error) as caught:
        serving.load_classifier(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("edit", [
    lambda text: text[:20], lambda text: "{}", lambda text: text.replace("alpha", "omega"),
    lambda text: text.replace("12", "28"),
], ids=["truncated", "empty", "other class names", "other size"])
def test_an_edited_json_beside_the_model_is_stated_and_the_model_file_wins(folder_data, tmp_path, edit):
    path = serving.save_classifier(_small_classifier(), tmp_path / "m.keras", folder_data)
    info = path.with_suffix(".json")
    info.write_text(edit(info.read_text()))
    with pytest.warns(UserWarning, match=re.escape(str(info))):
        loaded = serving.load_classifier(path)
    assert loaded.class_names == ("alpha", "beta", "gamma") and loaded.image_size == 12


@pytest.mark.parametrize("make", ["plain model.save", "HTML page", "truncated", "a folder", "missing"])
def test_a_model_file_not_saved_by_save_classifier_is_named(folder_data, tmp_path, make):
    path = tmp_path / "m.keras"
    if make == "plain model.save":
        _small_classifier().save(path)
    elif make == "HTML page":
        path.write_text("<html><body>404 Not Found</body></html>")
    elif make == "truncated":
        serving.save_classifier(_small_classifier(), path, folder_data)
        path.write_bytes(path.read_bytes()[:300])
    elif make == "a folder":
        path.mkdir()
    with pytest.raises((ValueError, FileNotFoundError), match="save_classifier") as caught:
        serving.load_classifier(path)
    assert str(path) in str(caught.value)


def test_a_classifier_with_non_finite_outputs_is_named_by_predict_folder(folder_data, tmp_path):
    model = _small_classifier()
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    path = serving.save_classifier(model, tmp_path / "m.keras", folder_data)
    with pytest.raises(ValueError, match="NaN|finite"):
        serving.predict_folder(path, _new_images(tmp_path / "new"))
    assert not (tmp_path / "new" / "predictions.csv").exists()


@pytest.mark.parametrize("batch_size", [0, 2.5, True])
def test_predict_folder_checks_its_batch_size(folder_data, tmp_path, batch_size):
    path = serving.save_classifier(_small_classifier(), tmp_path / "m.keras", folder_data)
    with pytest.raises(ValueError, match="batch_size"):
        serving.predict_folder(path, _new_images(tmp_path / "new"), batch_size=batch_size)


def test_a_save_that_fails_keeps_the_earlier_pair(folder_data, tmp_path, monkeypatch):
    path = serving.save_classifier(_small_classifier(), tmp_path / "m.keras", folder_data)
    before = path.read_bytes(), path.with_suffix(".json").read_text()

    def failing_save(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        serving.save_classifier(_small_classifier(seed=1), path, folder_data)
    assert (path.read_bytes(), path.with_suffix(".json").read_text()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "m.json", "m.keras"]


SAVE_CHILD = textwrap.dedent("""
    import dataclasses, pathlib, sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    import keras
    import numpy as np
    from utils import folders, serving

    mode, data_folder, model_path = sys.argv[1:]
    dataset = folders.load_image_folder(data_folder, image_size=12)
    two = np.isin(dataset.y_train, (0, 1))
    dataset = dataclasses.replace(dataset, x_train=dataset.x_train[two], y_train=dataset.y_train[two],
                                  class_names=("x", "y", "z")[:2], x_val=None, y_val=None,
                                  x_test=dataset.x_test[:0], y_test=dataset.y_test[:0])
    keras.utils.set_random_seed(1)
    inputs = keras.Input((12, 12, 3))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs)))
    if mode == "in-model":  # write part of the model file, then wait to be killed
        def save(self, path, *args, **kwargs):
            pathlib.Path(path).write_bytes(b"PK\\x03\\x04 half a zip")
            print("INSIDE-SAVE", flush=True)
            time.sleep(600)
        keras.Model.save = save
    else:  # the model file is written; wait to be killed while the description is written
        original = pathlib.Path.write_text
        def write_text(self, *args, **kwargs):
            if self.suffix == ".json" or self.name.endswith(".json"):
                print("INSIDE-SAVE", flush=True)
                time.sleep(600)
            return original(self, *args, **kwargs)
        pathlib.Path.write_text = write_text
    serving.save_classifier(model, model_path, dataset)
""")


@pytest.mark.parametrize("mode", ["in-model", "in-description"])
def test_a_save_killed_midway_leaves_a_pair_that_agrees(folder_data, tmp_path, mode):
    path = serving.save_classifier(_small_classifier(), tmp_path / "saved" / "m.keras", folder_data)
    _kill_when(_script_child(tmp_path, SAVE_CHILD, mode, str(tmp_path / "data"), str(path)), "INSIDE-SAVE")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = serving.load_classifier(path)  # the old pair, or the new one: never one of each
    stale_copy = any("m.json disagrees" in str(w.message) for w in caught)
    assert stale_copy == (loaded.model.output_shape[-1] == 2), "a stale .json beside must be stated, only then"
    assert len(loaded.class_names) == loaded.model.output_shape[-1]
    assert loaded.class_names == (("alpha", "beta", "gamma") if loaded.model.output_shape[-1] == 3 else ("x", "y"))
    serving.save_classifier(_small_classifier(), path, folder_data)  # and the next save works
    assert serving.load_classifier(path).class_names == ("alpha", "beta", "gamma")
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.json", "m.keras"]


# --- 7. train_or_load refuses or questions what it should not train on -----------------------------

def _train(build=_tiny_model, n=30, **change):
    x, y = _tiny_data(n)
    arguments = {"x": x, "y": y, "epochs": 1, "batch_size": 8, **change}
    return training.train_or_load(build, arguments.pop("x"), arguments.pop("y"), verbose=0, **arguments)


def _model_ending(ending: str, n_outputs: int = 3):
    def build():
        inputs = keras.Input(shape=(6, 6, 1))
        x = keras.layers.Dense(n_outputs, name="logits")(keras.layers.Flatten()(inputs))
        return keras.Model(inputs, x if ending == "logits" else keras.layers.Activation(ending)(x), name="tiny")
    return build


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3, activation="softmax")

    def call(self, inputs):
        return self.dense(keras.ops.reshape(inputs, (-1, 36)))


X30, Y30 = _tiny_data(30)


@pytest.mark.parametrize("change, error", [
    ({"x": X30 * 255}, "divide by 255"),
    ({"x": X30 - 0.5}, r"\[0, 1\]"),
    ({"x": (X30 * 1000).astype(np.int64)}, "0..255"),
    ({"validation_data": (X30[:9] * 255, Y30[:9])}, "x_val.*divide by 255"),
    ({"y": np.zeros(30, int)}, "one class"),
    ({"class_weight": {0: -1.0, 1: 1.0, 2: 1.0}}, "class_weight"),
    ({"class_weight": {0: float("nan"), 1: 1.0, 2: 1.0}}, "class_weight"),
    ({"class_weight": {0: float("inf"), 1: 1.0, 2: 1.0}}, "class_weight"),
    ({"class_weight": {0: 1.0, 1: 1.0}}, "class_weight.*2"),
    ({"class_weight": {0: 1.0, 1: 1.0, 2: 1.0, 5: 1.0}}, "class_weight.*5"),
    ({"class_weight": {"0": 1.0, "1": 1.0, "2": 1.0}}, "class_weight"),
    ({"class_weight": {0: 0.0, 1: 0.0, 2: 0.0}}, "class_weight"),
    ({"class_weight": {0: "1", 1: 1.0, 2: 1.0}}, "class_weight"),
    ({"build": _model_ending("logits")}, "softmax"),
    ({"build": _model_ending("sigmoid")}, "softmax"),
    ({"build": _model_ending("relu")}, "softmax"),
], ids=["floats 0-255", "floats below 0", "ints above 255", "x_val 0-255", "one class", "negative weight",
        "NaN weight", "infinite weight", "a class without weight", "a weight for no class", "string keys",
        "all weights 0", "a weight that is a string", "logits output", "sigmoid output", "relu output"])
def test_train_or_load_refuses_inputs_it_would_train_on_wrongly(course_env, capsys, change, error):
    with pytest.raises(ValueError, match=error):
        _train(**change)
    assert "Training" not in capsys.readouterr().out
    assert not list(settings().cache_dir.glob("models/*"))


@pytest.mark.parametrize("build, error", [
    (lambda: (_tiny_model(), "extra"), "tuple"),
    (lambda: None, "None"),
    (lambda: "tiny", "str"),
    (_Subclassed, "subclass|functional or Sequential"),
], ids=["a tuple", "None", "a string", "a subclassed model"])
def test_a_build_fn_that_returns_no_usable_model_is_named(course_env, build, error):
    with pytest.raises(TypeError, match=f"build_fn must return.*{error}"):
        _train(build=build)


def test_a_model_with_more_outputs_than_classes_is_questioned(course_env):
    x, y = _tiny_data(30)
    with pytest.warns(UserWarning, match=r"class 2 .*never|no image of class 2"):
        training.train_or_load(_tiny_model, x, y % 2, epochs=1, batch_size=8, verbose=0)


def _exploding_model() -> keras.Model:
    inputs = keras.Input(shape=(6, 6, 1))
    x = keras.layers.Dense(3, name="logits", kernel_initializer=keras.initializers.Constant(1e38))(
        keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(x), name="tiny")


def test_a_loss_that_became_nan_is_named_and_never_cached(course_env):
    with pytest.raises(FloatingPointError, match="NaN.*learning_rate"):
        _train(build=_exploding_model, epochs=2)
    assert not _weights_files() and not list((settings().cache_dir / "models").glob("*.history.json"))


def test_a_cached_entry_with_nan_weights_is_not_trusted(course_env, capsys):
    _train()
    (weights,) = _weights_files()
    with h5py.File(weights, "a") as f:
        f.visititems(lambda name, item: item.__setitem__(..., np.full(item.shape, np.nan, item.dtype))
                     if isinstance(item, h5py.Dataset) and item.dtype.kind == "f" else None)
    capsys.readouterr()
    model, _ = _train()
    assert "Training tiny" in capsys.readouterr().out
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_a_cached_entry_with_a_nan_history_is_not_trusted(course_env, capsys):
    _train()
    (history,) = (settings().cache_dir / "models").glob("*.history.json")
    history.write_text(json.dumps(json.loads(history.read_text()) | {"loss": [float("nan")]}))
    capsys.readouterr()
    _, again = _train()
    assert "Training tiny" in capsys.readouterr().out and np.isfinite(again["loss"]).all()


def test_an_entry_whose_content_belongs_to_another_key_is_not_served(course_env, capsys):
    _train(epochs=1)
    first = {p.name: p.read_bytes() for p in (settings().cache_dir / "models").glob("tiny-*")}
    for p in (settings().cache_dir / "models").glob("tiny-*"):
        p.unlink()
    _train(epochs=2)
    second = sorted((settings().cache_dir / "models").glob("tiny-*"))
    for target, (_, content) in zip(second, sorted(first.items())):  # the epochs=1 entry under the epochs=2 names
        target.write_bytes(content)
    capsys.readouterr()
    _, history = _train(epochs=2)
    assert "Training tiny" in capsys.readouterr().out and len(history["loss"]) == 2


def _entry_names(course_env) -> tuple[Path, Path]:
    _train()
    (weights,) = _weights_files()
    history = weights.with_name(weights.name.replace(".weights.h5", ".history.json"))
    weights.unlink()
    history.unlink()
    return weights, history


@pytest.mark.parametrize("blocked", ["weights", "history"])
def test_a_cache_entry_that_is_a_folder_is_named_before_training(course_env, capsys, blocked):
    weights, history = _entry_names(course_env)
    (weights if blocked == "weights" else history).mkdir()
    capsys.readouterr()
    with pytest.raises(ValueError, match="is a folder"):
        _train()
    assert "Training" not in capsys.readouterr().out


def test_a_cache_sub_folder_that_is_a_file_is_named_before_training(course_env, capsys):
    (settings().cache_dir).mkdir(parents=True, exist_ok=True)
    (settings().cache_dir / "models").write_text("not a folder")
    with pytest.raises(ValueError, match="models.*is a file"):
        _train()
    assert "Training" not in capsys.readouterr().out


# --- 8. Loaders check what a file holds ------------------------------------------------------------

def _not_an_npz(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "HTML page":
        path.write_text("<!DOCTYPE html><html><body>Rate limit exceeded</body></html>")
    elif kind == "renamed .npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros((4, 28, 28), np.uint8))
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize("kind", ["HTML page", "renamed .npy", "empty file"])
@pytest.mark.parametrize("file_name, load", [
    ("mnist.npz", data.load_mnist), ("medmnist/pneumoniamnist.npz", lambda: medmnist.load_medmnist("pneumoniamnist")),
], ids=["mnist", "pneumoniamnist"])
def test_a_data_file_that_is_not_an_npz_is_named(medmnist_env, tmp_path, kind, file_name, load):
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    _not_an_npz(tmp_path / file_name, kind)
    with pytest.raises(data.DamagedFileError, match="not an .npz file") as caught:
        load()
    assert str(tmp_path / file_name) in str(caught.value)


def test_a_data_file_with_object_arrays_is_named_without_suggesting_pickle(data_dir):
    path = _write_npz(data_dir / "mnist.npz", y_train=np.array([str(i % 10) for i in range(40)], dtype=object))
    with pytest.raises(data.DamagedFileError, match="object") as caught:
        data.load_mnist()
    assert str(path) in str(caught.value) and "pickle" not in str(caught.value)


def test_a_data_file_without_x_test_is_named(data_dir):
    path = data_dir / "mnist.npz"
    np.savez(path, x_train=np.zeros((4, 28, 28), np.uint8), y_train=np.arange(4))
    with pytest.raises(data.DamagedFileError, match="x_test") as caught:
        data.load_mnist()
    assert str(path) in str(caught.value)


def test_a_medmnist_file_with_object_arrays_is_named_without_suggesting_pickle(medmnist_env, tmp_path):
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    path = _write_medmnist(tmp_path / "medmnist" / "pneumoniamnist.npz")
    with np.load(path) as f:
        arrays = dict(f)
    np.savez(path, **arrays | {"val_labels": np.array([["0"], ["1"], ["0"], ["1"]], dtype=object)})
    with pytest.raises(ValueError, match="object") as caught:
        medmnist.load_medmnist("pneumoniamnist")
    assert str(path) in str(caught.value) and "pickle" not in str(caught.value)


def test_a_medmnist_split_with_one_class_is_named(medmnist_env, tmp_path):
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    path = _write_medmnist(tmp_path / "medmnist" / "pneumoniamnist.npz")
    with np.load(path) as f:
        arrays = dict(f)
    np.savez(path, **arrays | {"train_labels": np.zeros((8, 1), np.int64)})
    with pytest.raises(ValueError, match="train labels hold one class only"):
        medmnist.load_medmnist("pneumoniamnist")


def test_a_medmnist_file_holding_another_registered_data_set_is_named(medmnist_env, tmp_path):
    """PneumoniaMNIST's official file, copied under BreastMNIST's name: its MD5 says what it is."""
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    path = tmp_path / "medmnist" / "breastmnist.npz"
    path.parent.mkdir(parents=True)
    shutil.copy(COURSE_ROOT / "data" / "medmnist" / "pneumoniamnist.npz", path)
    with pytest.raises(ValueError, match="PneumoniaMNIST") as caught:
        medmnist.load_medmnist("breastmnist")
    assert str(path) in str(caught.value)


def test_a_medmnist_file_with_the_split_sizes_of_another_data_set_is_named(medmnist_env, tmp_path):
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    medmnist_env.setitem(data.DATASETS["pneumoniamnist"].n_samples, "train", 8)
    medmnist_env.setitem(data.DATASETS["pneumoniamnist"].n_samples, "val", 4)
    medmnist_env.setitem(data.DATASETS["pneumoniamnist"].n_samples, "test", 4)
    path = _write_medmnist(tmp_path / "medmnist" / "breastmnist.npz")
    with pytest.raises(ValueError, match="PneumoniaMNIST") as caught:
        medmnist.load_medmnist("breastmnist")
    assert str(path) in str(caught.value)


def test_a_medmnist_subset_of_the_right_data_set_loads_and_says_so(medmnist_env, tmp_path, capsys):
    medmnist_env.setenv("COURSE_DATA_DIR", str(tmp_path))
    _write_medmnist(tmp_path / "medmnist" / "breastmnist.npz")
    dataset = medmnist.load_medmnist("breastmnist")
    assert dataset.official is False and "NOT the official download" in capsys.readouterr().out


# --- 9. Explanations, metrics and figures answer only questions that have an answer ----------------

@pytest.mark.parametrize("explain", [
    lambda m, x: interpret.lime(m, x, 0, n_samples=50),
    lambda m, x: interpret.occlusion(m, x, 0),
], ids=["lime", "occlusion"])
def test_a_perturbation_that_changes_nothing_gives_a_stated_empty_map(models, explain):
    black = np.zeros((28, 28, 1), np.float32)  # hiding black with black changes nothing
    with pytest.warns(UserWarning, match="never changed"):
        heatmap = explain(models["mnist_cnn"], black)
    assert heatmap.shape == (28, 28) and heatmap.max() == 0


@pytest.mark.parametrize("explain", [
    lambda m, x: interpret.integrated_gradients(m, x, 0, baseline=255.0),
    lambda m, x: interpret.integrated_gradients(m, x, 0, baseline=np.full_like(x, 128)),
    lambda m, x: interpret.integrated_gradients(m, x, 0, baseline=-0.5),
    lambda m, x: interpret.integrated_gradients(m, x, 0, baseline=np.zeros((28, 28))),
    lambda m, x: interpret.integrated_gradients(m, x, 0, baseline=np.zeros((14, 14, 1))),
    lambda m, x: interpret.integrated_gradients(m, x, 0, baseline="black"),
    lambda m, x: interpret.occlusion(m, x, 0, baseline=255.0),
    lambda m, x: interpret.occlusion(m, x, 0, baseline=float("nan")),
    lambda m, x: interpret.occlusion(m, x, 0, baseline=np.zeros((4, 4))),
    lambda m, x: interpret.lime(m, x, 0, n_samples=20, baseline=128.0),
    lambda m, x: interpret.lime(m, x, 0, n_samples=20, baseline=float("nan")),
    lambda m, x: interpret.lime(m, x, 0, n_samples=20, baseline=np.zeros((28, 28, 1))),
], ids=["IG 255", "IG array 0-255", "IG below black", "IG (H, W) for (H, W, 1)", "IG smaller", "IG a string",
        "occlusion 255", "occlusion NaN", "occlusion array", "LIME 128", "LIME NaN", "LIME array"])
def test_a_baseline_off_the_image_scale_or_shape_is_named_as_the_baseline(models, image, explain):
    with pytest.raises(ValueError, match="baseline"):
        explain(models["mnist_cnn"], image)


def test_to_heatmap_refuses_non_finite_attributions():
    with pytest.raises(ValueError, match="finite"):
        interpret.to_heatmap(np.array([[0.0, np.nan], [1.0, 2.0]]))


@pytest.mark.parametrize("estimate, published", [
    (evaluation.Estimate(float("nan"), float("nan"), float("nan")), {"ResNet": 0.9}),
    (evaluation.Estimate(0.9, float("nan"), float("nan")), {"ResNet": 0.9}),
], ids=["NaN estimate", "NaN interval"])
def test_an_undefined_estimate_is_not_said_to_overlap(estimate, published):
    assert evaluation.compare_with_published(estimate, published) == {"ResNet": "undefined"}


@pytest.mark.parametrize("published", [{"ResNet": float("nan")}, {"ResNet": "0.9"}, {"ResNet": None}])
def test_a_published_number_that_is_no_number_is_named(published):
    with pytest.raises(ValueError, match="published\\['ResNet'\\]"):
        evaluation.compare_with_published(evaluation.Estimate(0.8, 0.7, 0.9), published)


@pytest.mark.parametrize("call", [
    lambda: evaluation.per_class_metrics(np.arange(9) % 3, np.full((9, 3), 1 / 3), "abc", n_bootstrap=10),
    lambda: evaluation.per_class_metrics(np.arange(9) % 3, np.full((9, 3), 1 / 3), ["a", "a", "b"], n_bootstrap=10),
    lambda: Dataset("toy", np.zeros((2, 4, 4), np.uint8), np.array([0, 1]), np.zeros((2, 4, 4), np.uint8),
                    np.array([0, 1]), "ab", "test"),
    lambda: Dataset("toy", np.zeros((2, 4, 4), np.uint8), np.array([0, 1]), np.zeros((2, 4, 4), np.uint8),
                    np.array([0, 1]), ("a", "a"), "test"),
    lambda: check_class_names(["benign", "malignant", "benign"]),
    lambda: plots.plot_confusion_matrix([0, 1], [1, 0], "ab"),
    lambda: classical.most_confused_pairs(np.array([0, 1, 2]), np.array([1, 2, 0]), "abc"),
], ids=["per_class_metrics string", "per_class_metrics duplicates", "Dataset string", "Dataset duplicates",
        "check_class_names duplicates", "confusion matrix string", "most_confused_pairs string"])
def test_class_names_that_are_a_string_or_repeat_are_refused(call):
    with pytest.raises(ValueError, match="class_names|class names"):
        call()


GREY_IMAGES = np.random.default_rng(3).random((2, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("maps, error", [
    (np.random.default_rng(0).integers(0, 256, (2, 8, 8)).astype(np.float32), r"\[0, 1\]"),
    (np.full((2, 8, 8), np.nan, np.float32), "finite"),
    (np.random.default_rng(0).uniform(-1, 1, (2, 8, 8)).astype(np.float32), "signed"),
], ids=["0-255", "NaN", "signed"])
def test_heatmaps_off_the_0_1_scale_are_refused_by_the_grid(maps, error):
    with pytest.raises(ValueError, match=error):
        plots.plot_heatmap_grid(GREY_IMAGES, {"saliency": maps})


@pytest.mark.parametrize("scale", [255.0, float("nan")], ids=["0-255", "NaN"])
def test_signed_maps_off_the_minus_1_1_scale_are_refused_by_the_cascade_plot(scale):
    stack = np.full((2, 8, 8), scale, np.float32)
    with pytest.raises(ValueError, match=r"maps\['saliency'\]"):
        plots.plot_cascade(GREY_IMAGES[0], {"saliency": stack}, ["logits"])
