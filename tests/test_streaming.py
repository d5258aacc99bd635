"""A folder decoded once into a memory-mapped cache, then read batch by batch (utils.streaming)."""

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import folders, streaming, training
from utils.config import COURSE_ROOT, settings
from utils.models import build_mnist_cnn, to_model_input


@pytest.fixture
def folder(tmp_path):
    """Two classes of 16 grey PNGs of several sizes, dark and light."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for name, level in (("dark", 60), ("light", 180)):
        (root / name).mkdir(parents=True)
        for k in range(16):
            pixels = np.clip(rng.normal(level, 40, (20 + k, 24)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{k:02d}.png")
    return root


def _decoded_files():
    return sorted(p.name for p in (settings().cache_dir / "decoded").iterdir())


def test_a_folder_is_decoded_once_into_a_memory_mapped_cache(course_env, folder, capsys):
    in_memory = folders.load_image_folder(folder, image_size=16, cache=False)
    first = folders.load_image_folder(folder, image_size=16)
    assert "found in the cache" not in capsys.readouterr().out
    assert isinstance(first.x_train, np.memmap) and not isinstance(in_memory.x_train, np.memmap)
    np.testing.assert_array_equal(first.x_train, in_memory.x_train)
    assert first.files == in_memory.files and first.sizes_found == in_memory.sizes_found

    second = folders.load_image_folder(folder, image_size=16)
    assert "found in the cache" in capsys.readouterr().out
    np.testing.assert_array_equal(second.x_train, in_memory.x_train)
    assert len([f for f in _decoded_files() if f.endswith(".u8")]) == 1

    changed = folder / "dark" / "00.png"  # a changed file (size or modification time) is a new key
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(changed)
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = folders.load_image_folder(folder, image_size=16)
    assert "found in the cache" not in capsys.readouterr().out and (third.x_train[0] == 0).all()
    assert folders.load_image_folder(folder, image_size=20).image_size == 20  # the size is in the key


def test_a_colour_image_among_grey_ones_widens_the_cache(course_env, folder):
    Image.fromarray(np.dstack([np.full((20, 24), v, np.uint8) for v in (250, 10, 10)])).save(
        folder / "light" / "99.png")
    cached = folders.load_image_folder(folder, image_size=16)
    in_memory = folders.load_image_folder(folder, image_size=16, cache=False)
    assert cached.x_train.shape == (33, 16, 16, 3)
    np.testing.assert_array_equal(cached.x_train, in_memory.x_train)
    assert not [f for f in _decoded_files() if f.startswith(".tmp")]


def test_a_damaged_or_incomplete_cache_entry_is_decoded_again(course_env, folder, capsys):
    folders.load_image_folder(folder, image_size=16)
    rows = next((settings().cache_dir / "decoded").glob("*.u8"))
    rows.with_suffix(".json").unlink()  # killed between the rows and their description
    folders.load_image_folder(folder, image_size=16)
    assert "found in the cache" not in capsys.readouterr().out
    with open(rows, "r+b") as handle:
        handle.truncate(100)  # a file of another size is never trusted
    dataset = folders.load_image_folder(folder, image_size=16)
    assert "found in the cache" not in capsys.readouterr().out and dataset.x_train.shape == (32, 16, 16)


def test_a_killed_cache_build_leaves_nothing_a_later_run_trusts(course_env, folder, tmp_path, capsys):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(COURSE_ROOT)!r})
        from utils import folders
        decode = folders._decode
        def slow(*args):
            print("DECODING", flush=True)
            time.sleep(0.3)
            return decode(*args)
        folders._decode = slow
        folders.load_image_folder({str(folder)!r}, image_size=16)
        print("DONE", flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        assert "DECODING" in child.stdout.readline()  # two threads may print on one line
        time.sleep(1.0)  # a few files into the build
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    left = _decoded_files()
    assert left and all(name.startswith(".tmp-") for name in left), left  # only the killed writer's temporaries
    dataset = folders.load_image_folder(folder, image_size=16)
    assert "found in the cache" not in capsys.readouterr().out
    np.testing.assert_array_equal(dataset.x_train, folders.load_image_folder(folder, image_size=16, cache=False).x_train)
    assert not [name for name in _decoded_files() if name.startswith(".tmp-")]  # the orphans were removed
    folders.load_image_folder(folder, image_size=16)
    assert "found in the cache" in capsys.readouterr().out


def test_split_dataset_draws_indices_and_keeps_memory_mapped_splits_on_disk(course_env, folder):
    cached = folders.split_dataset(folders.load_image_folder(folder, image_size=16), seed=3)
    in_memory = folders.split_dataset(folders.load_image_folder(folder, image_size=16, cache=False), seed=3)
    for split in ("train", "val", "test"):
        images = getattr(cached, f"x_{split}")
        assert isinstance(images, np.memmap)
        np.testing.assert_array_equal(images, getattr(in_memory, f"x_{split}"))
        np.testing.assert_array_equal(getattr(cached, f"y_{split}"), getattr(in_memory, f"y_{split}"))
    assert cached.files == in_memory.files
    again = folders.split_dataset(folders.load_image_folder(folder, image_size=16), seed=3)
    assert again.x_test.filename == cached.x_test.filename  # the split's file is reused


def _build():
    return build_mnist_cnn(2, (16, 16, 1))


def test_a_streamed_and_an_in_memory_run_of_one_folder_give_the_same_predictions(course_env, folder, tmp_path,
                                                                                  monkeypatch):
    cached = folders.split_dataset(folders.load_image_folder(folder, image_size=16), seed=0)
    in_memory = folders.split_dataset(folders.load_image_folder(folder, image_size=16, cache=False), seed=0)
    monkeypatch.setattr(streaming, "IN_MEMORY_BYTES", 0)  # both read batch by batch
    recipe = dict(epochs=2, batch_size=8, verbose=0, validation_data=None)
    streamed, _ = training.train_or_load(_build, cached.x_train, cached.y_train, **recipe)
    assert streaming.is_streamed(cached.x_train)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "other_cache"))  # trained again, not loaded
    held, _ = training.train_or_load(_build, np.array(in_memory.x_train), in_memory.y_train, **recipe)
    p_streamed = streaming.predict(streamed, cached.x_test, batch_size=4)
    p_held = held.predict(to_model_input(in_memory.x_test), verbose=0)
    np.testing.assert_allclose(p_streamed, p_held, atol=1e-6)


def test_small_uint8_images_train_as_their_float_copy(course_env, folder, tmp_path, monkeypatch):
    dataset = folders.load_image_folder(folder, image_size=16, cache=False)
    recipe = dict(epochs=2, batch_size=8, verbose=0)
    from_uint8, _ = training.train_or_load(_build, dataset.x_train, dataset.y_train, **recipe)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "other_cache"))
    from_floats, _ = training.train_or_load(_build, to_model_input(dataset.x_train), dataset.y_train, **recipe)
    x = to_model_input(dataset.x_train)
    np.testing.assert_allclose(from_uint8.predict(x, verbose=0), from_floats.predict(x, verbose=0), atol=1e-6)


def test_the_validation_split_is_stratified_and_shuffled():
    y = np.repeat([0, 1, 2], [60, 30, 10])  # sorted by class, as a folder is
    data = [np.zeros((100, 4, 4), np.float32), y]
    feed = training._feed(data, 0.2, 8, seed=0)
    held_out = feed["validation_data"][1]
    assert np.bincount(held_out, minlength=3).tolist() == [12, 6, 2]


def test_image_batches_read_rows_in_the_given_order_as_floats():
    images = np.arange(5 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2)
    batches = streaming.ImageBatches(images, np.arange(5), batch_size=2, indices=[4, 0, 2])
    x, y = batches[0]
    assert len(batches) == 2 and x.shape == (2, 2, 2, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], images[[4, 0]] / 255, atol=1e-7)
    assert y.tolist() == [4, 0]
    shuffled = streaming.ImageBatches(images, np.arange(5), batch_size=5, shuffle=True, seed=1)
    first = shuffled[0][1].tolist()
    shuffled.on_epoch_end()
    assert sorted(first) == [0, 1, 2, 3, 4] and shuffled[0][1].tolist() != first


def test_hashing_a_chunk_at_a_time_equals_hashing_the_whole(monkeypatch):
    import hashlib

    array = np.random.default_rng(0).integers(0, 256, (50, 7, 3), dtype=np.uint8)
    whole = hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 50)
    digest = hashlib.sha256()
    streaming.hash_into(digest, array)
    assert digest.hexdigest() == whole


def test_the_time_budget_says_what_it_skipped(course_env, capsys):
    course_env.setenv("COURSE_TIME_BUDGET", "0.5")
    budget = streaming.TimeBudget()
    assert budget.allows("a short step", 5)
    assert not budget.allows("fine-tuning", 3600)
    assert "skipping fine-tuning" in capsys.readouterr().out and "skipped fine-tuning" in budget.summary()
    course_env.delenv("COURSE_TIME_BUDGET")
    assert math.isinf(streaming.TimeBudget().remaining()) and "every step ran" in streaming.TimeBudget().summary()
    course_env.setenv("COURSE_TIME_BUDGET", "soon")
    with pytest.raises(ValueError, match="COURSE_TIME_BUDGET must be a positive number of minutes"):
        settings()


def test_at_image_size_reads_the_same_files_in_the_same_splits_again(course_env, folder):
    small = folders.split_dataset(folders.load_image_folder(folder, image_size=16), seed=1)
    large = folders.at_image_size(small, 32)
    assert large.x_train.shape[1:] == (32, 32) and large.files == small.files
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(large, f"y_{split}"), getattr(small, f"y_{split}"))
    direct = folders.read_image_files([Path(f) for f in small.files["test"]], image_size=32,
                                      colour="grey", fit="pad")[0]
    np.testing.assert_array_equal(large.x_test, direct)


def test_a_time_budget_stops_training_and_the_cut_model_is_not_cached(course_env, folder, capsys):
    dataset = folders.load_image_folder(folder, image_size=16, cache=False)
    budget = streaming.TimeBudget(minutes=1e-6)  # already over
    model, history = training.train_or_load(_build, dataset.x_train, dataset.y_train, epochs=5, batch_size=8,
                                            verbose=0, time_budget=budget)
    out = capsys.readouterr().out
    assert len(history["loss"]) == 1 and "stopped after epoch 1 of 5" in out and "not cached" in out
    assert budget.skipped and "epochs 2-5" in budget.summary()
    training.train_or_load(_build, dataset.x_train, dataset.y_train, epochs=5, batch_size=8, verbose=0)
    assert "Loaded" not in capsys.readouterr().out  # trained in full, not served the cut model


def test_features_from_the_memory_mapped_cache_equal_those_of_the_float_images(course_env, folder):
    from utils.transfer import build_inception_backbone, extract_features

    dataset = folders.load_image_folder(folder, image_size=16)
    backbone, _ = build_inception_backbone(75, weights="random")
    streamed = extract_features(backbone, streaming.with_channel_axis(dataset.x_train), batch_size=8, cache_key=None)
    held = extract_features(backbone, to_model_input(np.array(dataset.x_train)), batch_size=8, cache_key=None)
    np.testing.assert_allclose(streamed, held, rtol=1e-5, atol=1e-6)


def test_seconds_per_image_times_the_backbone_before_a_long_extraction(course_env):
    from utils.transfer import build_inception_backbone, seconds_per_image

    backbone, _ = build_inception_backbone(75, weights="random")
    images = np.random.default_rng(0).integers(0, 256, (40, 16, 16, 1), dtype=np.uint8)
    per_image = seconds_per_image(backbone, images, n_images=8)
    assert 0 < per_image < 10
    with pytest.raises(ValueError, match="n_images"):
        seconds_per_image(backbone, images, n_images=0)
