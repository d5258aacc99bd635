"""Serving: a model saved with what prediction needs labels a folder of new images, here or in a fresh process."""

import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from test_folders import _dataset, _save  # the folder tests' toy data set and image writer

from utils import folders, serving
from utils.config import COURSE_ROOT
from utils.models import build_mnist_cnn, to_model_input


@pytest.fixture
def saved_model(tmp_path):
    dataset = folders.load_image_folder(folders.export_image_folder(_dataset(colour=True), tmp_path / "data"),
                                        image_size=12)
    keras.utils.set_random_seed(0)
    model = build_mnist_cnn(n_classes=3, input_shape=(12, 12, 3))
    path = serving.save_classifier(model, tmp_path / "model" / "best.keras", dataset)
    new_images = tmp_path / "new"
    rng = np.random.default_rng(2)
    for i, size in enumerate((12, 24, 18)):  # different sizes: the saved rule brings them to 12 x 12
        _save(new_images / "batch" / f"{i}.png", rng.integers(0, 256, (size, 12, 3), dtype=np.uint8))
    return model, path, new_images


def test_predict_folder_csv_matches_model_predict(saved_model):
    model, path, new_images = saved_model
    table = serving.predict_folder(path, new_images)

    from_csv = pd.read_csv(new_images / "predictions.csv")
    assert list(from_csv.columns) == ["file", "predicted class", "P(alpha)", "P(beta)", "P(gamma)"]
    assert from_csv["file"].tolist() == ["batch/0.png", "batch/1.png", "batch/2.png"]
    images = np.stack([folders.fit_to_square(np.asarray(Image.open(new_images / f)), 12, "pad")
                       for f in from_csv["file"]])
    expected = model.predict(to_model_input(images), verbose=0)
    np.testing.assert_allclose(from_csv.iloc[:, 2:].to_numpy(), expected, atol=1e-6)
    assert from_csv["predicted class"].tolist() == [("alpha", "beta", "gamma")[c] for c in expected.argmax(1)]
    pd.testing.assert_frame_equal(table.reset_index(drop=True), from_csv, check_dtype=False, atol=1e-6)


def test_saved_model_predicts_the_same_in_a_fresh_process(saved_model, tmp_path):
    _, path, new_images = saved_model
    here = serving.predict_folder(path, new_images, csv_path=tmp_path / "here.csv")
    script = (f"import sys; sys.path.insert(0, {str(COURSE_ROOT)!r})\n"
              "from utils.serving import predict_folder\n"
              f"predict_folder({str(path)!r}, {str(new_images)!r}, csv_path={str(tmp_path / 'there.csv')!r})\n")
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    there = pd.read_csv(tmp_path / "there.csv")
    np.testing.assert_allclose(there.iloc[:, 2:].to_numpy(), here.iloc[:, 2:].to_numpy(), atol=1e-6)
    assert there["predicted class"].tolist() == here["predicted class"].tolist()


def test_save_classifier_checks_the_model_fits_the_data(saved_model, tmp_path):
    model, path, _ = saved_model
    dataset = folders.load_image_folder(folders.export_image_folder(_dataset(), tmp_path / "grey"), image_size=12)
    with pytest.raises(ValueError, match="model must take images"):
        serving.save_classifier(model, tmp_path / "m.keras", dataset)  # colour model, grey data
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        serving.save_classifier(model, tmp_path / "m.h5", dataset)
    with pytest.raises(FileNotFoundError, match="saved by save_classifier"):
        serving.load_classifier(tmp_path / "missing.keras")



def test_save_classifier_needs_a_data_set_read_from_a_folder(saved_model, tmp_path):
    model, _, _ = saved_model
    with pytest.raises(TypeError, match="read by load_image_folder"):
        serving.save_classifier(model, tmp_path / "m.keras", _dataset(colour=True))  # arrays, no fit rule


def test_predict_folder_names_a_folder_without_readable_images(saved_model, tmp_path):
    _, path, _ = saved_model
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match=r"1 file\(s\) could not be read"), \
            pytest.raises(ValueError, match="none of the 1 files could be read"):
        serving.predict_folder(path, tmp_path / "broken")
