"""Headline results that a notebook shows to the learner and hands to the course report.

A notebook calls :func:`show_metrics` with the numbers it computed. The learner sees a small
table; the executed notebook also carries the numbers as JSON (under :data:`RESULTS_MIME`), which
``tools/build_course.py`` reads back to write ``docs/results.md``. No number is typed twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

RESULTS_MIME = "application/vnd.course-results+json"


def _format(value: float | int | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def metrics_markdown(title: str, metrics: Mapping[str, float | int | str]) -> str:
    """A Markdown table of ``metrics`` under a bold ``title``."""
    rows = "\n".join(f"| {name} | {_format(value)} |" for name, value in metrics.items())
    return f"**{title}**\n\n| metric | value |\n|---|---|\n{rows}\n"


def show_metrics(title: str, metrics: Mapping[str, float | int | str]) -> None:
    """Display ``metrics`` as a table and record them for the course report.

    Args:
        title: what the numbers are, e.g. ``"CNN from scratch, test set"``.
        metrics: metric name -> value (numbers, or short strings such as a weights name).
    """
    from IPython.display import display

    if not isinstance(title, str) or not title:
        raise ValueError(f"title must be a non-empty string, got {title!r}.")
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError(f"metrics must be a non-empty mapping of name -> value, got {metrics!r}.")
    clean: dict[str, float | int | str] = {}
    for name, value in metrics.items():
        if hasattr(value, "item"):  # NumPy scalars
            value = value.item()
        if not isinstance(value, (int, float, str)) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"metrics[{name!r}] must be a finite number or a string, got {value!r}.")
        clean[str(name)] = value
    # Name-value pairs, not a mapping: saved notebooks sort JSON keys, and the order is the notebook's.
    payload = {"title": title, "metrics": [[name, value] for name, value in clean.items()]}
    display({"text/markdown": metrics_markdown(title, clean), RESULTS_MIME: payload}, raw=True)
