"""Tests of utils.explore (notebook 01's logic)."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA

from utils import explore


# --- to_vectors -----------------------------------------------------------------------------------

def test_to_vectors_scales_uint8_to_unit_range():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[1, 0, 0] = 255
    vectors = explore.to_vectors(images)
    assert vectors.shape == (3, 784) and vectors.dtype == np.float32
    assert vectors[1, 0] == 1.0 and vectors.sum() == 1.0


def test_to_vectors_rejects_bad_input():
    with pytest.raises(ValueError, match="images"):
        explore.to_vectors(np.zeros((28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="0..255"):
        explore.to_vectors(np.full((2, 28, 28), 300, dtype=np.int32))
    with pytest.raises(ValueError, match="divide by 255"):
        explore.to_vectors(np.full((2, 28, 28), 200.0))


# --- n_components_for_variance --------------------------------------------------------------------

def test_variance_threshold_on_known_ratios():
    ratios = [0.5, 0.3, 0.15, 0.05]
    assert explore.n_components_for_variance(ratios, 0.5) == 1
    assert explore.n_components_for_variance(ratios, 0.8) == 2
    assert explore.n_components_for_variance(ratios, 0.81) == 3
    assert explore.n_components_for_variance(ratios, 0.95) == 3  # reached exactly, despite round-off
    assert explore.n_components_for_variance(ratios, 1.0) == 4


def test_variance_threshold_finds_the_rank_of_synthetic_data():
    rng = np.random.default_rng(0)
    rank = 5
    x = rng.normal(size=(300, rank)) @ rng.normal(size=(rank, 40))
    ratios = PCA().fit(x).explained_variance_ratio_
    assert explore.n_components_for_variance(ratios, 1 - 1e-6) == rank
    assert explore.n_components_for_variance(ratios, 0.5) < rank


def test_variance_threshold_rejects_bad_input():
    with pytest.raises(ValueError, match="threshold"):
        explore.n_components_for_variance([0.5, 0.5], 0.0)
    with pytest.raises(ValueError, match="threshold"):
        explore.n_components_for_variance([0.5, 0.5], 1.5)
    with pytest.raises(ValueError, match="more components"):
        explore.n_components_for_variance([0.4, 0.3], 0.95)
    with pytest.raises(ValueError, match="explained_variance_ratio"):
        explore.n_components_for_variance([[0.5, 0.5]], 0.9)
    with pytest.raises(ValueError, match="explained_variance_ratio"):
        explore.n_components_for_variance([0.9, -0.1], 0.5)


def test_reconstruct_from_pca_is_exact_with_all_components_and_truncates_otherwise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 12))
    pca = PCA().fit(x)
    coordinates = pca.transform(x)
    np.testing.assert_allclose(explore.reconstruct_from_pca(pca, coordinates), x, atol=1e-5)
    truncated = coordinates.copy()
    truncated[:, 3:] = 0
    np.testing.assert_allclose(explore.reconstruct_from_pca(pca, coordinates[:, :3]),
                               pca.inverse_transform(truncated), atol=1e-5)


def test_reconstruct_from_pca_rejects_bad_input():
    pca = PCA(3).fit(np.random.default_rng(0).normal(size=(20, 5)))
    with pytest.raises(TypeError, match="fitted"):
        explore.reconstruct_from_pca(PCA(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="at most 3 columns"):
        explore.reconstruct_from_pca(pca, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="whiten"):
        explore.reconstruct_from_pca(PCA(2, whiten=True).fit(np.eye(5)), np.zeros((2, 2)))

# --- t-SNE and UMAP ------------------------------------------------------------------------------

def test_tsne_separates_blobs_and_is_reproducible():
    x, y = make_blobs(n_samples=90, centers=3, n_features=10, cluster_std=0.5, random_state=1)
    embedding = explore.tsne_embedding(x, perplexity=10, max_iter=300, seed=0)
    assert embedding.shape == (90, 2)
    np.testing.assert_allclose(embedding, explore.tsne_embedding(x, perplexity=10, max_iter=300, seed=0))
    # every point's nearest neighbour in the map is from its own blob
    distances = np.linalg.norm(embedding[:, None] - embedding[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    assert np.all(y[distances.argmin(axis=1)] == y)


def test_tsne_rejects_bad_input():
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="perplexity"):
        explore.tsne_embedding(x, perplexity=20)
    with pytest.raises(ValueError, match="max_iter"):
        explore.tsne_embedding(x, perplexity=5, max_iter=100)
    with pytest.raises(ValueError, match="2-D array"):
        explore.tsne_embedding(x[:, 0], perplexity=5)
    with pytest.raises(ValueError, match="NaN"):
        explore.tsne_embedding(np.full((20, 3), np.nan), perplexity=5)
    with pytest.raises(TypeError, match="real numbers"):
        explore.tsne_embedding(np.full((20, 3), "a"), perplexity=5)


def test_umap_rejects_bad_input_before_fitting():
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="n_neighbors"):
        explore.umap_embedding(x, n_neighbors=20)
    with pytest.raises(ValueError, match="2-D array"):
        explore.umap_embedding(x.ravel())


class _LinearReducer:
    """Stands in for a fitted UMAP: embedding_ and an inverse_transform that is a known map."""

    def __init__(self, embedding):
        self.embedding_ = embedding

    def inverse_transform(self, points):
        return np.column_stack([points[:, 0], points[:, 1], points.sum(axis=1)])


def test_inverse_grid_spans_the_embedding_top_row_first():
    rng = np.random.default_rng(0)
    embedding = np.column_stack([rng.uniform(0, 10, 500), rng.uniform(-5, 5, 500)])
    grid, generated = explore.umap_inverse_grid(_LinearReducer(embedding), n_points=4, percentiles=(0, 100))
    assert grid.shape == (16, 2) and generated.shape == (16, 3)
    np.testing.assert_allclose(grid[0], [embedding[:, 0].min(), embedding[:, 1].max()], rtol=1e-6)
    np.testing.assert_allclose(grid[-1], [embedding[:, 0].max(), embedding[:, 1].min()], rtol=1e-6)
    assert np.all(np.diff(grid[:4, 0]) > 0) and np.all(grid[:4, 1] == grid[0, 1])  # first row: left to right
    np.testing.assert_allclose(generated[:, 2], grid.sum(axis=1), rtol=1e-6)


def test_inverse_grid_rejects_bad_input():
    embedding = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(TypeError, match="reducer"):
        explore.umap_inverse_grid(object())
    with pytest.raises(ValueError, match="n_points"):
        explore.umap_inverse_grid(_LinearReducer(embedding), n_points=1)
    with pytest.raises(ValueError, match="percentiles"):
        explore.umap_inverse_grid(_LinearReducer(embedding), percentiles=(90, 10))


def test_neighbour_agreement_is_one_for_separated_classes_and_chance_for_random_labels(blobs):
    x, y = blobs
    assert explore.neighbour_agreement(x, y) == 1.0
    random_labels = np.random.default_rng(0).integers(0, 4, len(y))
    assert explore.neighbour_agreement(x, random_labels) == pytest.approx(0.25, abs=0.08)
    with pytest.raises(ValueError, match="one label per sample"):
        explore.neighbour_agreement(x, y[:-1])

# --- Gaussian mixtures and BIC --------------------------------------------------------------------

def test_bic_picks_the_number_of_well_separated_blobs(blobs):
    x, y = blobs
    selection = explore.select_gaussian_mixture(x, range(1, 9), seed=0)
    assert selection.n_components.tolist() == list(range(1, 9))
    assert selection.bic.shape == (8,)
    assert selection.best_n_components == 4
    assert selection.best_model.n_components == 4
    assert selection.model(2).n_components == 2
    assert explore.compare_clusters(y, selection.best_model.predict(x)).ari == pytest.approx(1.0)


def test_mixture_selection_rejects_bad_input(blobs):
    x, _ = blobs
    with pytest.raises(ValueError, match="n_components"):
        explore.select_gaussian_mixture(x, [])
    with pytest.raises(ValueError, match="n_components"):
        explore.select_gaussian_mixture(x, [0, 2])
    with pytest.raises(ValueError, match="n_components"):
        explore.select_gaussian_mixture(x[:5], [2, 6])
    with pytest.raises(ValueError, match="covariance_type"):
        explore.select_gaussian_mixture(x, [2], covariance_type="round")
    selection = explore.select_gaussian_mixture(x, [2, 3])
    with pytest.raises(ValueError, match="one of those tried"):
        selection.model(4)


# --- clusters against classes ---------------------------------------------------------------------

def test_a_perfect_relabelling_has_ari_one_and_a_diagonal_table():
    labels = np.repeat(np.arange(4), 5)
    clusters = np.array([7, 3, 0, 5])[labels]  # the same partition under other names
    comparison = explore.compare_clusters(labels, clusters)
    assert comparison.ari == pytest.approx(1.0)
    assert comparison.purity == 1.0
    np.testing.assert_array_equal(comparison.table, 5 * np.eye(4, dtype=int))
    assert comparison.clusters.tolist() == [7, 3, 0, 5]
    assert comparison.majority_class.tolist() == [0, 1, 2, 3]
    assert comparison.clusters_per_class.tolist() == [1, 1, 1, 1]


def test_a_split_class_keeps_purity_but_lowers_ari():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    clusters = np.array([0, 0, 1, 1, 2, 2, 2, 2, 3, 3])
    comparison = explore.compare_clusters(labels, clusters, n_classes=4)
    assert comparison.purity == 1.0
    assert 0 < comparison.ari < 1
    assert comparison.table.shape == (4, 4) and comparison.table[:, 3].sum() == 0
    assert comparison.clusters_per_class.tolist() == [2, 1, 1, 0]


def test_random_clusters_have_ari_near_zero():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 5000)
    comparison = explore.compare_clusters(labels, rng.integers(0, 10, 5000))
    assert abs(comparison.ari) < 0.01
    assert comparison.table.sum() == 5000


def test_compare_clusters_rejects_bad_input():
    with pytest.raises(ValueError, match="one label per sample"):
        explore.compare_clusters([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        explore.compare_clusters([0.0, 1.0], [0, 1])
    with pytest.raises(ValueError, match="negative"):
        explore.compare_clusters([0, 1], [0, -1])
    with pytest.raises(ValueError, match="n_classes"):
        explore.compare_clusters([0, 3], [0, 1], n_classes=3)
