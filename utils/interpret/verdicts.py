"""Reading a table of measures (:func:`utils.interpret.evaluate_methods`, the randomisation
cascade): means with bootstrap intervals, differences between methods, and verdicts on claims.

:func:`summarize` gives means with percentile bootstrap intervals (over images, and over seeds for
a random method), :func:`compare` the paired interval of a difference between two methods,
:func:`same_map_groups` the methods that gave the same map on every image, and :func:`judge_claim`
a verdict that names a winner only when the interval of the difference excludes zero, counting
methods with the same map as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Lower is better for every measure except these.
HIGHER_IS_BETTER = frozenset({"insertion_auc"})
MEASURES = {
    "deletion_auc": "deletion AUC (lower is better)",
    "insertion_auc": "insertion AUC (higher is better)",
    "rho_abs": "randomisation, Spearman of absolute maps (lower is better)",
    "rho_signed": "randomisation, Spearman of signed maps (lower is better)",
    "ssim": "randomisation, SSIM of absolute maps (lower is better)",
    "ms_per_image": "time per image in ms (lower is better)",
}


def _matrix(table: pd.DataFrame, column: str) -> np.ndarray:
    """One method's values as (images, seeds); a deterministic method has one seed column."""
    seeds = table["seed"].fillna(-1) if "seed" in table else pd.Series(-1, index=table.index)
    return table.assign(seed=seeds).pivot_table(index="image", columns="seed", values=column,
                                                aggfunc="mean", dropna=False).to_numpy(dtype=np.float64)


def _bootstrap_means(matrix: np.ndarray, image_draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Means of ``matrix`` (images, seeds) over resampled images (``image_draws``: resamples x images)
    and, within each image, resampled seeds."""
    seed_draws = rng.integers(0, matrix.shape[1], size=(*image_draws.shape, matrix.shape[1]))
    with np.errstate(all="ignore"):
        return np.nanmean(matrix[image_draws[..., None], seed_draws].reshape(len(image_draws), -1), axis=1)


def _image_draws(n_images: int, n_boot: int, seed: int) -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_images, size=(n_boot, n_images)), rng


def _check_one_reference(table: pd.DataFrame, by: Sequence[str] = ()) -> None:
    """Refuse to pool the AUCs of several deletion/insertion references into one mean."""
    if "reference" in table and "reference" not in by and table["reference"].nunique() > 1:
        raise ValueError(f"table holds the references {sorted(table['reference'].unique())}; pass the rows of one "
                         "reference (table[table['reference'] == ...]) or summarize by 'reference'.")


def summarize(
    table: pd.DataFrame,
    *,
    by: str | Sequence[str] = "method",
    columns: Sequence[str] | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Means of a measures table's ``columns`` per method (or per ``by``) with percentile bootstrap
    intervals: ``<column>``, ``<column>_low``, ``<column>_high``.

    The bootstrap resamples the images, and for a method with several seeds, the seeds within each
    image, so the interval holds both kinds of variation. ``seconds`` is reported as
    ``ms_per_image``. NaN values (undefined similarities) are left out of the means. A table of
    several references is summarised by reference (``by=["reference", "method"]``), never pooled.
    """
    by = [by] if isinstance(by, str) else list(by)
    _check_one_reference(table, by)
    columns = [c for c in (columns or ("deletion_auc", "insertion_auc", "rho_abs", "rho_signed", "ssim", "seconds"))
               if c in table]
    rows = {}
    for key, group in table.groupby(by if len(by) > 1 else by[0], sort=False):
        row = {}
        draws, rng = _image_draws(group["image"].nunique(), n_boot, seed)
        for column in columns:
            scale, name = (1000.0, "ms_per_image") if column == "seconds" else (1.0, column)
            matrix = _matrix(group, column) * scale
            low, high = np.nanpercentile(_bootstrap_means(matrix, draws, rng), [50 * (1 - level), 50 * (1 + level)])
            row |= {name: float(np.nanmean(matrix)), f"{name}_low": float(low), f"{name}_high": float(high)}
        rows[key] = row
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.names = by
    return summary


def format_intervals(summary: pd.DataFrame, *, digits: int = 3) -> pd.DataFrame:
    """:func:`summarize`'s table as text, one column per measure: "mean (low to high)"."""
    measures = [c for c in summary.columns if not c.endswith(("_low", "_high"))]
    return pd.DataFrame({
        m: [f"{v:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})" if np.isfinite(v) else "undefined"
            for v, lo, hi in zip(summary[m], summary[f"{m}_low"], summary[f"{m}_high"])]
        for m in measures}, index=summary.index)


@dataclass(frozen=True)
class Difference:
    """The difference ``method - other`` of the mean of one measure, with its bootstrap interval."""

    method: str
    other: str
    column: str
    difference: float
    low: float
    high: float

    @property
    def separated(self) -> bool:
        """True when the interval excludes zero: the data tell the two methods apart."""
        return self.low > 0 or self.high < 0

    @property
    def method_better(self) -> bool:
        """True when ``method`` is better than ``other`` and the interval says so."""
        return self.separated and (self.difference > 0) == (self.column in HIGHER_IS_BETTER)


def compare(table: pd.DataFrame, method: str, other: str, column: str, *, level: float = 0.95,
            n_boot: int = 2000, seed: int = 0) -> Difference:
    """The paired bootstrap interval of ``mean(method) - mean(other)`` in ``column``: both methods'
    values on the same resampled images (and each method's seeds resampled within an image)."""
    _check_one_reference(table)
    for name in (method, other):
        if name not in set(table["method"]):
            raise ValueError(f"method {name!r} is not in the table; it has {sorted(set(table['method']))}.")
    a, b = (_matrix(table[table["method"] == name], column) for name in (method, other))
    if len(a) != len(b):
        raise ValueError(f"methods {method!r} and {other!r} must be measured on the same images.")
    draws, rng = _image_draws(len(a), n_boot, seed)
    differences = _bootstrap_means(a, draws, rng) - _bootstrap_means(b, draws, rng)
    low, high = np.nanpercentile(differences, [50 * (1 - level), 50 * (1 + level)])
    return Difference(method, other, column, float(np.nanmean(a) - np.nanmean(b)), float(low), float(high))


def rank_of(summary: pd.DataFrame, method: str, column: str) -> int:
    """The rank (1 = best) of ``method`` in ``summary[column]``; higher is better for insertion AUC,
    lower for the other measures."""
    if method not in summary.index:
        raise ValueError(f"method {method!r} is not in the summary; it has {list(summary.index)}.")
    if column not in summary.columns:
        raise ValueError(f"column must be one of {list(summary.columns)}, got {column!r}.")
    return int(summary[column].rank(ascending=column not in HIGHER_IS_BETTER, method="min")[method])


def same_map_groups(table: pd.DataFrame) -> dict[str, list[str]]:
    """The methods that gave the same map as an earlier method on every image (and seed) of
    ``table``, by its ``same_map_as`` column (:func:`utils.interpret.evaluate_methods`): the
    earlier method -> its twins, e.g. ``{"cam": ["grad_cam"]}`` on a global-average-pooling CNN.
    Empty for a table without that column."""
    if "same_map_as" not in table:
        return {}
    groups: dict[str, list[str]] = {}
    for method, twin in table.groupby("method", sort=False)["same_map_as"]:
        if twin.notna().all() and twin.nunique() == 1:
            groups.setdefault(twin.iloc[0], []).append(method)
    return groups


def _one_per_map(table: pd.DataFrame, method: str) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with one method per group of same maps (``method`` for its own group, the first
    method for the others), and a sentence per group merged."""
    groups = same_map_groups(table)
    group_of = {twin: first for first, twins in groups.items() for twin in twins}
    own = group_of.get(method, method)
    dropped = {m for m in table["method"].unique()
               if m != method and (m in group_of or (m == own and own != method))}
    notes = [f"{' and '.join([first, *twins])} give the same map on every image here, so they count as one method"
             for first, twins in groups.items()]
    return table[~table["method"].isin(dropped)], notes


def judge_claim(
    table: pd.DataFrame,
    method: str,
    *,
    columns: Sequence[str] = ("deletion_auc", "insertion_auc"),
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> str:
    """Markdown that judges the claim "``method`` explains these images best" from the numbers.

    Methods that gave the same map on every image (:func:`same_map_groups`) count as one method:
    a twin of ``method`` is not its rival, and twins among the others are one rival. For each
    column, ``method`` *wins* when it has the best mean and the paired interval of its difference to
    every other method (:func:`compare`) excludes zero, *loses* when some method is better and the
    interval says so, and is *not distinguishable* otherwise. The claim is *supported* (wins on
    every column), *partly supported* (wins on some, loses on none), *not supported* (loses on some,
    wins on none), *mixed* (wins on some, loses on others), or *not distinguishable on this data*.

    The claim compares ``method`` with each of the other k - 1 methods, and the rival it loses to is
    picked as the best of them; so that picking does not make chance differences look real, the
    intervals of the differences are Bonferroni-corrected: at level 1 - (1 - ``level``) / (k - 1).
    The means are shown with intervals at ``level``. A table with a ``reference`` column must hold
    one reference (the verdict names it).
    """
    _check_one_reference(table)
    if method not in set(table["method"]):
        raise ValueError(f"method {method!r} is not in the table; it has {sorted(set(table['method']))}.")
    table, notes = _one_per_map(table, method)
    summary = summarize(table, columns=columns, level=level, n_boot=n_boot, seed=seed)
    if len(summary) < 2:
        raise ValueError(f"judging a claim needs a rival to {method!r} with another map; the table has none.")
    pairwise = 1 - (1 - level) / (len(summary) - 1)
    outcomes, lines = [], []
    for column in columns:
        ordered = summary[column].sort_values(ascending=column not in HIGHER_IS_BETTER, kind="stable")
        rival = ordered.drop(method).index[0]
        if ordered.index[0] == method:
            differences = [compare(table, method, other, column, level=pairwise, n_boot=n_boot, seed=seed)
                           for other in ordered.index[1:]]
            outcome = "win" if all(d.method_better for d in differences) else "tie"
            shown = next((d for d in differences if not d.method_better), differences[0])  # a tie: with whom
        else:
            shown = compare(table, method, rival, column, level=pairwise, n_boot=n_boot, seed=seed)
            outcome = "loss" if shown.separated else "tie"
        outcomes.append(outcome)
        words = {"win": f"{method} is best, and the interval of every difference excludes 0",
                 "loss": f"{rival} is better, and the interval of the difference excludes 0",
                 "tie": "not distinguishable on this data (the interval of the difference includes 0)"}[outcome]
        lines.append(
            f"- {MEASURES[column]}: {method} {_with_interval(summary, method, column)}, rank "
            f"{rank_of(summary, method, column)} of {len(summary)}; "
            + ("the best other method" if shown.other == rival else "the closest one it is not separated from")
            + f", {shown.other}, {_with_interval(summary, shown.other, column)}; difference {shown.difference:+.3f} "
            f"({shown.low:+.3f} to {shown.high:+.3f}): {words}."
        )
    wins, losses = outcomes.count("win"), outcomes.count("loss")
    verdict = ("supported" if wins == len(columns) else "mixed" if wins and losses else "partly supported" if wins
               else "not supported" if losses else "not distinguishable on this data")
    reference = f" with the {table['reference'].iloc[0]} reference" if "reference" in table else ""
    return (f"**{verdict}** on these {table['image'].nunique()} images{reference} (means with {level:.0%} bootstrap "
            f"intervals, differences with {pairwise:.1%} intervals, corrected for {len(summary) - 1} comparisons"
            + "".join(f"; {note}" for note in notes) + "):\n" + "\n".join(lines))


def _with_interval(summary: pd.DataFrame, method: str, column: str) -> str:
    row = summary.loc[method]
    return f"{row[column]:.3f} ({row[f'{column}_low']:.3f} to {row[f'{column}_high']:.3f})"


def seed_variation(table: pd.DataFrame, column: str) -> pd.Series:
    """For each method run with several seeds: how far its mean of ``column`` over the images moves
    from seed to seed (largest minus smallest)."""
    _check_one_reference(table)
    seeded = table.dropna(subset=["seed"])
    means = seeded.groupby(["method", "seed"], sort=False)[column].mean()
    return means.groupby(level="method", sort=False).agg(lambda m: m.max() - m.min())
