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
