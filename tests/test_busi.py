"""The BUSI loader, its BreastMNIST fallback and the recovery of BreastMNIST's split.

Most tests build small BUSI-like folders and archives themselves (never BUSI's images, never the
network); the tests at the end read the real BUSI folder of ``../shared/data`` and are skipped without it.
"""

import zipfile

import numpy as np
import pytest
from PIL import Image

from utils import busi
from utils.config import COURSE_ROOT
from utils.folders import fit_to_square

SHARED_DATA = COURSE_ROOT.parent / "shared" / "data"  # the offline copy that CI uses
SMALL_COUNTS = {"benign": 3, "malignant": 2, "normal": 2}
TWO_LESIONS = "benign (2)"  # the synthetic image with a second mask file


def _lesion_box(number: int, height: int, width: int) -> tuple[slice, slice]:
    top, left = height // 4 + number, width // 5 + 2 * number
    return slice(top, top + height // 3), slice(left, left + width // 4)


def _write_busi(folder, counts=SMALL_COUNTS):
    """A BUSI-like folder: ``folder/<class>/<class> (n).png`` images of different sizes, dark with a bright
    lesion rectangle, and their masks (the same rectangle; empty for normal images); one image has a
    second lesion in ``_mask_1.png`` and one is stored as RGB with a coloured marker. Returns the number
    of mask files."""
    n_masks = 0
    for name, n in counts.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for number in range(1, n + 1):
            height, width = 40 + 7 * number, 60 + 5 * number + 11 * (name == "malignant")
            image = np.full((height, width), 30, np.uint8)
            mask = np.zeros((height, width), bool)
            if name != "normal":
                box = _lesion_box(number, height, width)
                image[box] = 220
                mask[box] = True
            stem = f"{name} ({number})"
            if stem == "benign (1)":
                image = np.repeat(image[..., None], 3, axis=-1)
                image[:3, :3] = (255, 0, 0)  # a coloured caliper mark: the image is stored as RGB
            Image.fromarray(image).save(folder / name / f"{stem}.png")
            Image.fromarray(mask).save(folder / name / f"{stem}_mask.png")
            n_masks += 1
            if stem == TWO_LESIONS:
                second = np.zeros((height, width), bool)
                second[-8:-2, -10:-2] = True
                Image.fromarray(second).save(folder / name / f"{stem}_mask_1.png")
                n_masks += 1
    return n_masks


def _zip_folder(folder, archive, prefix=busi.BUSI_FOLDER, leave_out=None):
    """Zip ``folder`` as the authors' archive does (``prefix/<class>/<file>``), with a macOS resource
    fork folder that must be ignored; ``leave_out`` leaves out the files whose name starts with it."""
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*.png")):
            if leave_out is None or not path.name.startswith(leave_out):
                z.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
        z.writestr(f"__MACOSX/{prefix}/benign/._benign (1).png", b"resource fork")
    return archive


@pytest.fixture
def busi_dir(course_env, tmp_path):
    """Course settings whose data folder holds a small BUSI-like folder."""
    n_masks = _write_busi(tmp_path / "data" / "busi" / busi.BUSI_FOLDER)
    course_env.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    return n_masks


@pytest.fixture
def small_release(course_env, monkeypatch):
    """The synthetic archives' counts taken for the authors' release."""
    monkeypatch.setattr(busi, "BUSI_COUNTS", SMALL_COUNTS)
    monkeypatch.setattr(busi, "BUSI_MASKS", sum(SMALL_COUNTS.values()) + 1)


# --- Layout --------------------------------------------------------------------------------------

def test_layout_orders_by_class_and_number_and_collects_masks():
    names = ["x/malignant/malignant (1).png", "x/malignant/malignant (1)_mask.png",
             "x/benign/benign (10).png", "x/benign/benign (10)_mask.png",
             "x/benign/benign (2).png", "x/benign/benign (2)_mask_1.png", "x/benign/benign (2)_mask.png",
             "__MACOSX/x/benign/._benign (3).png", "x/README.txt", "x/normal/benign (4).png"]
    entries = busi.busi_layout(names)
    assert [e.image.split("/")[-1] for e in entries] == ["benign (2).png", "benign (10).png", "malignant (1).png"]
    assert [e.label for e in entries] == [0, 0, 1]
    assert entries[0].masks == ("x/benign/benign (2)_mask.png", "x/benign/benign (2)_mask_1.png")


@pytest.mark.parametrize("names, problem", [
    (["benign/benign (1).png"], r"1 image\(s\) have no mask"),
    (["benign/benign (1)_mask.png"], r"1 mask\(s\) have no image"),
])
def test_layout_refuses_unpaired_files(names, problem):
    with pytest.raises(ValueError, match=problem):
        busi.busi_layout(names)


# --- Loading from a folder -----------------------------------------------------------------------

def test_load_from_data_dir(busi_dir, capsys):
    data = busi.load_busi(32)
    assert data.images.shape == data.masks.shape == (7, 32, 32)
    assert data.images.dtype == np.uint8 and data.masks.dtype == bool
    assert data.class_names == ("benign", "malignant", "normal")
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert data.files[:2] == ("benign (1).png", "benign (2).png")
    assert data.original_sizes[0].tolist() == [47, 65]  # (height, width) as stored
    assert not data.masks[data.labels == 2].any() and data.masks[data.labels < 2].any(axis=(1, 2)).all()
    assert "NOT the authors' release" in capsys.readouterr().out


def test_masks_are_aligned_with_their_images_and_or_ed(busi_dir):
    for fit in ("pad", "crop"):
        data = busi.load_busi(48, fit=fit)
        for image, mask, name in zip(data.images, data.masks, data.files):
            lesion = image > 127
            lesion[:4, :4] = False  # the caliper mark of benign (1)
            if name.startswith(TWO_LESIONS):
                extra = mask & ~lesion
                assert extra.sum() > 2, "the second mask file is OR-ed into the mask"
                mask = mask & ~extra
            # Bilinear and nearest-neighbour edges may differ by a pixel; the areas must coincide.
            assert (lesion ^ mask).sum() <= 0.25 * max(lesion.sum(), 1) + 2, (fit, name)


@pytest.mark.parametrize("shape", [(47, 65), (80, 31), (50, 50), (9, 200)])
@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_mask_geometry_is_that_of_the_course_resize_rule(shape, fit):
    # A mask that covers the whole image shows where fit_to_square puts the image (padding is 0).
    full = np.ones(shape, bool)
    image = fit_to_square(np.full(shape, 255, np.uint8), 24, fit)
    np.testing.assert_array_equal(busi.fit_mask_to_square(full, 24, fit), image > 127)


def test_colour_overlays_become_grey(busi_dir):
    data = busi.load_busi(32)
    assert data.images.ndim == 3 and data.images[0, 0, 0] < 255  # the red mark, as luma


def test_decoded_arrays_are_cached_and_refreshed_when_a_file_changes(busi_dir, tmp_path, capsys):
    first = busi.load_busi(32)
    second = busi.load_busi(32)
    assert "decoded arrays cached" in second.source
    for key in ("images", "masks", "original_sizes"):
        np.testing.assert_array_equal(getattr(first, key), getattr(second, key))
    changed = tmp_path / "data" / "busi" / busi.BUSI_FOLDER / "normal" / "normal (1).png"
    Image.fromarray(np.zeros((47, 65), np.uint8)).save(changed)
    third = busi.load_busi(32)
    assert "decoded, then cached" in third.source and third.images[5].max() == 0


def test_original_images_in_the_order_asked(busi_dir):
    originals = list(busi.original_images(["malignant (2).png", "benign (1).png"]))
    assert [o.shape for o in originals] == [(54, 81), (47, 65)]
    with pytest.raises(ValueError, match="files must be BUSI image names"):
        next(busi.original_images(["benign (1)_mask.png"]))


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": 4}, "image_size"), ({"image_size": 32.0}, "image_size"), ({"fit": "stretch"}, "fit must be"),
])
def test_bad_arguments(busi_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        busi.load_busi(**kwargs)


# --- Download, structure check, offline ----------------------------------------------------------

def test_download_checks_the_archive_then_unpacks_it_into_the_cache(small_release, tmp_path, monkeypatch, capsys):
    _write_busi(tmp_path / "release")
    archive = _zip_folder(tmp_path / "release", tmp_path / "Dataset_BUSI.zip")
    monkeypatch.setattr(busi, "BUSI_URL", archive.as_uri())
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    data = busi.load_busi(32)
    cache = tmp_path / "cache" / "busi"
    assert len(data.files) == 7 and "downloaded and checked" in data.source and "the authors' counts" in data.source
    assert sorted(p.name for p in (cache / busi.BUSI_FOLDER).iterdir()) == ["benign", "malignant", "normal"]
    assert not list(cache.glob(".download-*")), "the temporary download is removed"
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    assert "course cache" in busi.load_busi(32).source


@pytest.mark.parametrize("damage", ["missing image", "not a zip"])
def test_a_wrong_archive_is_rejected_and_nothing_is_kept(small_release, tmp_path, monkeypatch, damage):
    _write_busi(tmp_path / "release")
    archive = tmp_path / "Dataset_BUSI.zip"
    if damage == "missing image":
        _zip_folder(tmp_path / "release", archive, leave_out="malignant (2)")  # an image and its mask
        message = r"not the BUSI archive: it holds 6 images \(benign 3, malignant 1, normal 2\)"
    else:
        archive.write_text("<html>Moved</html>")
        message = "is not a zip archive"
    monkeypatch.setattr(busi, "BUSI_URL", archive.as_uri())
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    with pytest.raises(ValueError, match=message):
        busi.load_busi(32)
    assert not (tmp_path / "cache" / "busi" / busi.BUSI_FOLDER).exists()
    assert not list((tmp_path / "cache" / "busi").glob(".download-*"))


def test_offline_without_busi_says_so_and_falls_back_to_breastmnist(course_env, capsys):
    with pytest.raises(FileNotFoundError, match="COURSE_OFFLINE=1 forbids the download"):
        busi.load_busi(32)
    data = busi.load_busi_or_breastmnist(32)
    assert "NOTICE: BUSI is not available" in capsys.readouterr().out
    assert data.name == "breastmnist" and data.masks is None and data.images.shape == (780, 32, 32)
    assert data.class_names == ("malignant", "normal or benign") and data.source.startswith("FALLBACK")
    split = busi.official_split(data)
    assert {k: len(v) for k, v in split.items()} == {"train": 546, "val": 78, "test": 156}
    assert len(np.unique(np.concatenate(list(split.values())))) == 780


# --- Matching BreastMNIST to BUSI ----------------------------------------------------------------

def test_breastmnist_thumbnail_keeps_the_centred_square():
    image = np.full((40, 100), 200, np.uint8)
    image[:, :30] = image[:, 70:] = 0  # outside the centred 40 x 40 square
    thumbnail = busi.breastmnist_thumbnail(image)
    assert thumbnail.shape == (28, 28) and thumbnail.dtype == np.uint8 and (thumbnail == 200).all()
    gradient = np.tile(np.linspace(0, 255, 280), (280, 1)).astype(np.uint8)
    np.testing.assert_allclose(busi.breastmnist_thumbnail(gradient)[0], np.linspace(0, 255, 28), atol=6)


def _candidates(n=30, seed=0):
    rng = np.random.default_rng(seed)
    candidates = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = np.arange(n) % 2
    candidates[1] = candidates[0]  # byte-identical, other labels: the label decides
    candidates[3] = np.clip(candidates[2].astype(int) + 1, 0, 255)  # near-identical, same label
    labels[3] = labels[2]
    return candidates, labels


def test_match_images_is_one_to_one_and_respects_labels():
    candidates, labels = _candidates()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(candidates))
    noise = rng.integers(-2, 3, candidates.shape)
    queries = np.clip(candidates[order].astype(int) + noise[order], 0, 255).astype(np.uint8)
    match = busi.match_images(queries, labels[order], candidates, labels)
    np.testing.assert_array_equal(match.index, order)
    assert len(np.unique(match.index)) == len(queries) and match.rms.max() < 2
    # Pixels alone cannot tell candidates 0 and 1 apart: nearest neighbours collide, the assignment does not.
    assert len(np.unique(match.nearest)) < len(queries)


def test_match_images_refuses_what_is_not_a_copy():
    candidates, labels = _candidates()
    unrelated = np.random.default_rng(5).integers(0, 256, (2, 28, 28)).astype(np.uint8)
    with pytest.raises(ValueError, match="2 of 2 queries have no candidate of their label within 4.0"):
        busi.match_images(unrelated, labels[:2], candidates, labels)
    with pytest.raises(ValueError, match="candidates must be at least as many as queries"):
        busi.match_images(candidates, labels, candidates[:5], labels[:5])
    with pytest.raises(ValueError, match="have no candidate of their label"):  # right pixels, wrong label
        busi.match_images(candidates[4:6], 1 - labels[4:6], candidates[4:6], labels[4:6])


# --- The real BUSI folder (skipped without it) ---------------------------------------------------

real_busi = pytest.mark.skipif(not (SHARED_DATA / "busi" / busi.BUSI_FOLDER).is_dir(),
                               reason="the BUSI folder of ../shared/data is not on this machine")


@pytest.fixture
def real_env(course_env):
    course_env.setenv("COURSE_DATA_DIR", str(SHARED_DATA))
    return course_env


@real_busi
def test_real_busi_counts_and_masks(real_env):
    data = busi.load_busi(64)
    assert np.bincount(data.labels).tolist() == list(busi.BUSI_COUNTS.values())
    assert "the authors' counts" in data.source
    has_lesion = data.masks.any(axis=(1, 2))
    assert has_lesion[data.labels < 2].all() and not has_lesion[data.labels == 2].any()
    assert data.original_sizes[:, 1].min() == 190 and data.original_sizes[:, 0].max() == 719


@real_busi
def test_real_breastmnist_split_maps_every_image_with_its_label(real_env):
    split = busi.breastmnist_split()
    assert {k: len(v) for k, v in split.files.items()} == {"train": 546, "val": 78, "test": 156}
    every = [name for names in split.files.values() for name in names]
    assert len(set(every)) == 780
    breastmnist = busi.load_medmnist("breastmnist")
    for s, names in split.files.items():
        busi_labels = [busi.BREASTMNIST_LABEL[name.split(" ")[0]] for name in names]
        np.testing.assert_array_equal(getattr(breastmnist, f"y_{s}"), busi_labels)
        assert split.rms[s].max() < 2.5
    # Only the byte-identical benign (433) = malignant (145) is left to the label.
    assert split.nearest_distinct == 779 and split.collisions == (("benign (433).png", "malignant (145).png"),)
