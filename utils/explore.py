"""Unsupervised exploration of an image data set: PCA, t-SNE, UMAP and Gaussian-mixture clustering.

The functions take arrays and return arrays (or small result objects), so notebook 01 can show
each step in a line or two. Every random step takes a ``seed``, so a figure is the same every run.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from utils.images import as_float_images, check_int, check_number


def _as_2d_float(x: Any, argument: str, *, min_samples: int = 2) -> np.ndarray:
    """Check that ``x`` is a finite (n_samples, n_features) array and return it as float32."""
    x = np.asarray(x)
    if x.ndim != 2 or len(x) < min_samples or x.shape[1] < 1:
        raise ValueError(
            f"{argument} must be a 2-D array (n_samples, n_features) with at least {min_samples} "
            f"samples, got shape {x.shape}."
        )
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"{argument} must hold real numbers, got dtype {x.dtype}.")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{argument} must not contain NaN or infinite values.")
    return x


def _as_labels(labels: Any, argument: str, n: int | None = None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{argument} must be a 1-D array of integer labels, got shape {labels.shape} "
                         f"and dtype {labels.dtype}.")
    if n is not None and len(labels) != n:
        raise ValueError(f"{argument} must have one label per sample ({n}), got {len(labels)}.")
    if len(labels) and labels.min() < 0:
        raise ValueError(f"{argument} must not contain negative labels.")
    return labels


def to_vectors(images: Any) -> np.ndarray:
    """Flatten grey images (N, H, W) into rows (N, H*W) of float32 in [0, 1].

    Images are uint8 0..255 or floats already in [0, 1] (:func:`utils.images.as_float_images`).
    """
    images = as_float_images(images, channels=1)
    return images.reshape(len(images), -1)


def n_components_for_variance(explained_variance_ratio: Any, threshold: float = 0.95) -> int:
    """The smallest number of principal components whose explained variance reaches ``threshold``.

    Args:
        explained_variance_ratio: the fraction of variance of each component, largest first
            (``PCA().fit(x).explained_variance_ratio_``).
        threshold: the fraction of the total variance to keep, in (0, 1].

    Raises:
        ValueError: if the threshold is out of range, the ratios are not a 1-D array of
            non-negative numbers, or all of them together do not reach the threshold.
    """
    ratios = np.asarray(explained_variance_ratio, dtype=float)
    if ratios.ndim != 1 or len(ratios) == 0 or np.any(ratios < 0) or not np.all(np.isfinite(ratios)):
        raise ValueError("explained_variance_ratio must be a non-empty 1-D array of non-negative fractions.")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a fraction in (0, 1], got {threshold!r}.")
    cumulative = np.cumsum(ratios)
    tolerance = 1e-9  # the ratios of a full PCA sum to 1 only up to round-off
    if cumulative[-1] < threshold - tolerance:
        raise ValueError(
            f"The {len(ratios)} components explain only {cumulative[-1]:.1%} of the variance, "
            f"less than threshold={threshold:.1%}: fit PCA with more components."
        )
    return int(np.searchsorted(cumulative, threshold - tolerance) + 1)


def reconstruct_from_pca(pca: Any, coordinates: Any) -> np.ndarray:
    """Rebuild data from its first ``k`` principal-component coordinates, ``k = coordinates.shape[1]``.

    The result is the mean plus the first ``k`` components weighted by the coordinates: the best
    approximation of the data that keeps only those components.

    Args:
        pca: a fitted ``sklearn.decomposition.PCA`` (without whitening).
        coordinates: shape (n_samples, k), e.g. ``pca.transform(x)[:, :k]``.

    Returns:
        Shape (n_samples, n_features), in the units of the data PCA was fitted on.
    """
    components = getattr(pca, "components_", None)
    if components is None or getattr(pca, "mean_", None) is None:
        raise TypeError("pca must be a fitted sklearn.decomposition.PCA.")
    if getattr(pca, "whiten", False):
        raise ValueError("pca must be fitted with whiten=False.")
    coordinates = _as_2d_float(coordinates, "coordinates", min_samples=1)
    if coordinates.shape[1] > len(components):
        raise ValueError(f"coordinates can have at most {len(components)} columns (the components of pca), "
                         f"got {coordinates.shape[1]}.")
    return coordinates @ components[: coordinates.shape[1]] + pca.mean_


def tsne_embedding(
    x: Any, *, perplexity: float = 30.0, max_iter: int = 500, seed: int = 0, n_threads: int | None = 1,
    verbose: bool = True,
) -> np.ndarray:
    """Embed the rows of ``x`` in 2-D with t-SNE (scikit-learn, Barnes-Hut, PCA initialisation).

    Args:
        x: data of shape (n_samples, n_features), e.g. flattened images or their PCA projection.
        perplexity: roughly the number of neighbours each point keeps close; must be smaller
            than the number of samples.
        max_iter: gradient-descent iterations (at least 250, the early-exaggeration phase).
        seed: the random seed.
        n_threads: OpenMP threads for the gradient steps. One thread is the safe default: on a
            small or busy machine, threads that wait for each other at every step make t-SNE
            several times slower. ``None`` uses all cores (faster on an idle multi-core machine).
        verbose: print scikit-learn's progress (the error every 50 iterations).

    Returns:
        The embedding, shape (n_samples, 2).
    """
    from sklearn.manifold import TSNE

    x = _as_2d_float(x, "x")
    check_number("perplexity (less than the number of samples)", perplexity, 0, len(x), exclusive=True)
    check_int("max_iter", max_iter, 250)
    tsne = TSNE(n_components=2, perplexity=perplexity, max_iter=max_iter, init="pca",
                learning_rate="auto", random_state=seed, verbose=2 if verbose else 0)
    with threadpool_limits(limits=n_threads, user_api="openmp"):
        return tsne.fit_transform(x)


def umap_embedding(
    x: Any, *, n_neighbors: int = 15, min_dist: float = 0.1, n_epochs: int = 200, seed: int = 0,
    verbose: bool = True,
) -> tuple[Any, np.ndarray]:
    """Embed the rows of ``x`` in 2-D with UMAP and return the fitted model with the embedding.

    The model is returned because it can map points of the plane back to the data space
    (:func:`umap_inverse_grid`). A seed makes UMAP reproducible but single-threaded.

    The nearest neighbours are computed exactly with scikit-learn and handed to UMAP, instead of
    UMAP's approximate search (pynndescent), whose numba compilation alone takes about a minute
    of CPU time on every fresh start. The model therefore cannot ``transform`` new data, but it
    can ``inverse_transform``.

    Args:
        x: data of shape (n_samples, n_features).
        n_neighbors: the size of the neighbourhood UMAP preserves (larger: more global structure).
        min_dist: how tightly points may be packed in the embedding.
        n_epochs: optimisation epochs.
        seed: the random seed.
        verbose: print a line when each step starts and when UMAP is done, with its time.

    Returns:
        ``(reducer, embedding)``: the fitted ``umap.UMAP`` and an array of shape (n_samples, 2).
    """
    x = _as_2d_float(x, "x")
    check_int("n_neighbors (fewer than the samples)", n_neighbors, 2, len(x) - 1)
    start = time.perf_counter()
    say = print if verbose else (lambda *args, **kwargs: None)
    say(f"UMAP of {len(x):,} points: finding each point's {n_neighbors} nearest neighbours...", flush=True)
    # Each point's neighbours, itself first at distance 0, as UMAP expects them.
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(x).kneighbors(x)
    say(f"UMAP: building the neighbour graph and laying it out in {n_epochs} epochs "
        "(the first call in a session also compiles UMAP's code: up to a minute)...", flush=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by umap
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")  # no transform(): fine here
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, n_epochs=n_epochs,
                            random_state=seed, n_jobs=1, precomputed_knn=(indices, distances))
        embedding = reducer.fit_transform(x)
    say(f"UMAP: done in {time.perf_counter() - start:.0f} s.")
    return reducer, embedding


def umap_inverse_grid(
    reducer: Any, *, n_points: int = 10, percentiles: tuple[float, float] = (2.0, 98.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Map a regular grid of points of a UMAP embedding back to the data space.

    The grid spans the central part of the embedding (``percentiles`` of each coordinate), so
    that its corners are not far outside the data.

    Args:
        reducer: a ``umap.UMAP`` fitted with a 2-D embedding (see :func:`umap_embedding`).
        n_points: points per side of the grid.
        percentiles: the range of each coordinate the grid covers.

    Returns:
        ``(grid, generated)``: the grid points, shape (n_points**2, 2), row by row from the top
        left (largest second coordinate) to the bottom right, and the data points UMAP generates
        for them, shape (n_points**2, n_features).
    """
    embedding = getattr(reducer, "embedding_", None)
    if embedding is None or np.ndim(embedding) != 2 or np.shape(embedding)[1] != 2:
        raise TypeError("reducer must be a umap.UMAP fitted with n_components=2.")
    check_int("n_points", n_points, 2)
    low, high = percentiles
    if not 0 <= low < high <= 100:
        raise ValueError(f"percentiles must be (low, high) with 0 <= low < high <= 100, got {percentiles!r}.")
    (x_min, y_min), (x_max, y_max) = np.percentile(embedding, [low, high], axis=0)
    xs = np.linspace(x_min, x_max, n_points)
    ys = np.linspace(y_max, y_min, n_points)  # top row first, as an image is drawn
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
    return grid, np.asarray(reducer.inverse_transform(grid))


def neighbour_agreement(x: Any, labels: Any) -> float:
    """The fraction of samples whose nearest other sample (Euclidean distance) has the same label.

    It measures how well a space, or a 2-D map of it, keeps the classes together: 1 when every
    point's closest neighbour is of its own class, about ``1 / n_classes`` for a random layout.
    (In the original space it is the leave-one-out accuracy of a 1-nearest-neighbour classifier.)
    """
    x = _as_2d_float(x, "x")
    labels = _as_labels(labels, "labels", len(x))
    nearest = NearestNeighbors(n_neighbors=1).fit(x).kneighbors(return_distance=False)[:, 0]
    return float(np.mean(labels[nearest] == labels))


@dataclass(frozen=True)
class MixtureSelection:
    """Gaussian mixtures fitted for several numbers of components, and their BIC."""

    n_components: np.ndarray
    bic: np.ndarray
    models: tuple[GaussianMixture, ...]

    @property
    def best_index(self) -> int:
        return int(np.argmin(self.bic))

    @property
    def best_n_components(self) -> int:
        """The number of components with the lowest BIC."""
        return int(self.n_components[self.best_index])

    @property
    def best_model(self) -> GaussianMixture:
        return self.models[self.best_index]

    def model(self, n_components: int) -> GaussianMixture:
        """The mixture fitted with ``n_components`` components."""
        matches = np.flatnonzero(self.n_components == n_components)
        if len(matches) == 0:
            raise ValueError(f"n_components must be one of those tried {self.n_components.tolist()}, "
                             f"got {n_components!r}.")
        return self.models[matches[0]]


def select_gaussian_mixture(
    x: Any,
    n_components: Iterable[int] = range(2, 21),
    *,
    covariance_type: str = "full",
    seed: int = 0,
) -> MixtureSelection:
    """Fit a Gaussian mixture for each number of components and score each by its BIC.

    The Bayesian information criterion, ``BIC = -2 log L + p log n``, trades the fit
    (log-likelihood ``L``) against the number of parameters ``p``; the lowest BIC wins.

    Args:
        x: data of shape (n_samples, n_features), e.g. a 2-D embedding.
        n_components: the numbers of components to try, each at least 1 and at most n_samples.
        covariance_type: ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
        seed: the random seed of every fit.
    """
    x = _as_2d_float(x, "x")
    candidates = np.array(sorted(set(int(n) for n in n_components)), dtype=int)
    if len(candidates) == 0 or candidates[0] < 1 or candidates[-1] > len(x):
        raise ValueError(f"n_components must be numbers from 1 to the number of samples ({len(x)}), "
                         f"got {candidates.tolist()}.")
    if covariance_type not in ("full", "tied", "diag", "spherical"):
        raise ValueError("covariance_type must be 'full', 'tied', 'diag' or 'spherical', "
                         f"got {covariance_type!r}.")
    # One BLAS thread: on small matrices, threads only wait for each other (10x slower on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        models = tuple(
            GaussianMixture(n, covariance_type=covariance_type, init_params="k-means++",
                            random_state=seed).fit(x)
            for n in candidates
        )
    bic = np.array([model.bic(x) for model in models])
    return MixtureSelection(candidates, bic, models)


@dataclass(frozen=True)
class ClusterComparison:
    """How clusters found without labels line up with the true classes.

    Attributes:
        table: counts, shape (n_clusters, n_classes): ``table[i, c]`` images of class ``c`` in
            cluster ``clusters[i]``. Rows are sorted by majority class, then by size.
        clusters: the cluster id of each row of ``table``.
        majority_class: the most frequent class of each row's cluster.
        ari: the adjusted Rand index (1: the same partition up to renaming; about 0: chance).
        purity: the fraction of samples whose cluster's majority class is their own class.
    """

    table: np.ndarray
    clusters: np.ndarray
    majority_class: np.ndarray
    ari: float
    purity: float

    @property
    def clusters_per_class(self) -> np.ndarray:
        """For each class, how many clusters have it as their majority class."""
        return np.bincount(self.majority_class, minlength=self.table.shape[1])


def compare_clusters(labels: Any, clusters: Any, *, n_classes: int | None = None) -> ClusterComparison:
    """Compare a clustering with the true classes: contingency table, adjusted Rand index, purity.

    Args:
        labels: the true class of each sample, integers 0..n_classes-1.
        clusters: the cluster of each sample, non-negative integers (any numbering).
        n_classes: the number of classes (columns of the table); default ``labels.max() + 1``.
    """
    labels = _as_labels(labels, "labels")
    if len(labels) == 0:
        raise ValueError("labels must not be empty.")
    clusters = _as_labels(clusters, "clusters", len(labels))
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    if n_classes <= labels.max():
        raise ValueError(f"n_classes must exceed the largest label ({labels.max()}), got {n_classes}.")
    cluster_ids = np.unique(clusters)
    table = contingency_matrix(clusters, labels)  # rows: clusters present; columns: labels present
    full = np.zeros((len(cluster_ids), n_classes), dtype=int)
    full[:, np.unique(labels)] = table
    majority = full.argmax(axis=1)
    order = np.lexsort((-full.sum(axis=1), majority))
    return ClusterComparison(
        table=full[order],
        clusters=cluster_ids[order],
        majority_class=majority[order],
        ari=float(adjusted_rand_score(labels, clusters)),
        purity=float(full.max(axis=1).sum() / len(labels)),
    )
