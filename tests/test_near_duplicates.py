"""Near-duplicate search and the group split, on scikit-image's sample pictures and on toy groups;
the last test reads the real BUSI folder of ``../shared/data`` and is skipped without it."""

import numpy as np
import pytest
import skimage.data
from PIL import Image

from utils import near_duplicates as nd
from utils.config import COURSE_ROOT

SHARED_DATA = COURSE_ROOT.parent / "shared" / "data"
PICTURES = ("camera", "coins", "moon", "text", "page", "brick", "grass", "gravel", "clock", "astronaut",
            "coffee", "chelsea", "rocket", "immunohistochemistry")


@pytest.fixture(scope="module")
def pictures():
    return [getattr(skimage.data, name)() for name in PICTURES]


def _copies(image):
    """What a web-scraped data set does to a picture: saved again smaller, flipped, re-cropped by 2 % of its
    side, brightened, or with a caliper-like mark on it."""
    height, width = image.shape[:2]
    smaller = np.asarray(Image.fromarray(image).resize((width // 3, height // 3), Image.Resampling.BILINEAR))
    cropped = image[height // 50: height - height // 100, width // 50:]
    brighter = np.clip(image.astype(int) * 0.9 + 20, 0, 255).astype(np.uint8)
    marked = image.copy()
    marked[height // 2: height // 2 + 6, width // 3: width // 3 + 40] = 255
    return {"smaller": smaller, "flipped": image[:, ::-1], "cropped": cropped, "brighter": brighter,
            "marked": marked}


def test_hash_layout_and_bad_input(pictures):
    hashes = nd.perceptual_hashes(pictures[:3])
    assert hashes.shape == (3, 2, 63) and hashes.dtype == bool
    assert (hashes.sum(axis=2) == 31).all()  # above the median of 63 coefficients: 31 bits set
    with pytest.raises(ValueError, match="images must be"):
        nd.perceptual_hashes([np.zeros((4, 4, 4, 4))])
    with pytest.raises(ValueError, match="at least one image"):
        nd.perceptual_hashes([])
    with pytest.raises(ValueError, match="hashes must be what perceptual_hashes returns"):
        nd.hash_distances(hashes[:, 0])


def test_copies_are_near_and_different_pictures_are_far(pictures):
    for picture in pictures:
        copies = _copies(picture)
        hashes = nd.perceptual_hashes([picture, *copies.values()])
        distances = nd.hash_distances(hashes)[0, 1:]
        assert distances[list(copies).index("flipped")] == 0
        assert (distances <= nd.DEFAULT_THRESHOLD).all(), dict(zip(copies, distances))
    distances = nd.hash_distances(nd.perceptual_hashes(pictures))
    assert (distances[~np.eye(len(pictures), dtype=bool)] > nd.DEFAULT_THRESHOLD).all()


def test_pairs_and_groups_join_chains(pictures):
    camera, coins, moon = pictures[:3]
    # camera ~ its re-cropped copy ~ that copy with a mark; coins ~ its mirror image; moon alone.
    cropped = _copies(camera)["cropped"]
    images = [coins, camera, moon, cropped, _copies(cropped)["marked"], coins[:, ::-1]]
    hashes = nd.perceptual_hashes(images)
    pairs = nd.near_duplicate_pairs(hashes)
    assert (pairs.first < pairs.second).all() and (np.diff(pairs.distance) >= 0).all()
    assert {(i, j) for i, j in zip(pairs.first, pairs.second)} >= {(0, 5), (1, 3), (3, 4)}
    np.testing.assert_array_equal(nd.near_duplicate_groups(hashes), [0, 1, 2, 1, 1, 0])
    exact = nd.near_duplicate_groups(hashes, threshold=0)
    assert exact[0] == exact[5] and exact[1] != exact[3], "threshold 0: mirror images only, not re-crops"
    with pytest.raises(ValueError, match="threshold"):
        nd.near_duplicate_pairs(hashes, threshold=-1)


def test_pairs_computed_by_blocks_are_the_same(pictures, monkeypatch):
    images = [p for picture in pictures[:5] for p in (picture, *_copies(picture).values())]
    hashes = nd.perceptual_hashes(images)
    whole = nd.near_duplicate_pairs(hashes)
    monkeypatch.setattr(nd, "_BLOCK", 4)
    blocks = nd.near_duplicate_pairs(hashes)
    for attribute in ("first", "second", "distance"):
        np.testing.assert_array_equal(getattr(whole, attribute), getattr(blocks, attribute))
    assert len(whole) >= 5 * 5  # each picture with each of its five copies at least


def _toy_groups(seed=0):
    rng = np.random.default_rng(seed)
    group_sizes = rng.integers(1, 5, 150)
    groups = np.repeat(np.arange(150), group_sizes)
    group_class = rng.choice(3, 150, p=[0.55, 0.3, 0.15])
    labels = group_class[groups]
    mixed = rng.choice(len(labels), 10, replace=False)
    labels[mixed] = (labels[mixed] + 1) % 3  # a few groups hold two classes, as BUSI's do
    return labels, groups


def test_group_split_keeps_groups_together_and_stratifies():
    labels, groups = _toy_groups()
    split = nd.group_split(labels, groups, val_fraction=0.15, test_fraction=0.2, seed=3)
    every = np.concatenate(list(split.values()))
    assert sorted(every.tolist()) == list(range(len(labels)))
    seen = [set(groups[indices]) for indices in split.values()]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2]), "a group crosses splits"
    for name, fraction in (("train", 0.65), ("val", 0.15), ("test", 0.2)):
        for c in range(3):
            share = (labels[split[name]] == c).sum() / (labels == c).sum()
            assert abs(share - fraction) < 0.06, (name, c, share)


def test_group_split_options_and_errors():
    labels, groups = _toy_groups()
    split = nd.group_split(labels, groups, val_fraction=0, test_fraction=0.3)
    assert len(split["val"]) == 0 and abs(len(split["test"]) / len(labels) - 0.3) < 0.03
    other_seed = nd.group_split(labels, groups, test_fraction=0.3, seed=1)
    assert not np.array_equal(nd.group_split(labels, groups, test_fraction=0.3)["test"], other_seed["test"])
    with pytest.raises(ValueError, match="groups must be integers, one per label"):
        nd.group_split(labels, groups[:-1])
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction must be below 1"):
        nd.group_split(labels, groups, val_fraction=0.5, test_fraction=0.5)


@pytest.mark.skipif(not (SHARED_DATA / "busi").is_dir(), reason="the BUSI folder of ../shared/data is not here")
def test_real_busi_cross_class_duplicates_are_grouped(course_env):
    from utils import busi

    course_env.setenv("COURSE_DATA_DIR", str(SHARED_DATA))
    folder = busi.find_busi()[0]
    files = [p.name for c in busi.BUSI_CLASSES for p in sorted((folder / c).glob(f"{c} (*).png"))
             if "_mask" not in p.name]
    hashes = nd.perceptual_hashes(busi.original_images(files))
    groups = nd.near_duplicate_groups(hashes)
    for a, b in (("benign (433).png", "malignant (145).png"), ("benign (399).png", "malignant (93).png"),
                 ("benign (437).png", "normal (34).png")):
        assert groups[files.index(a)] == groups[files.index(b)], (a, b)
    labels = np.array([busi.BUSI_CLASSES.index(name.split(" ")[0]) for name in files])
    split = nd.group_split(labels, groups)
    seen = [set(groups[indices]) for indices in split.values()]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
