"""The course's settings, read from environment variables in this one place.

=================  =====================================================================
Variable           Meaning
=================  =====================================================================
COURSE_FAST        ``1``: small subsets and few epochs (the test command sets it).
COURSE_OFFLINE     ``1``: never touch the network; use cached or bundled data only.
COURSE_DATA_DIR    A folder searched first for data files (e.g. ``mnist.npz``).
COURSE_DATASET     ``mnist`` (default), ``fashion_mnist`` or another key of ``utils.data.DATASETS``:
                   the data set notebooks use.
COURSE_CACHE_DIR   Where downloads, features and trained models are cached
                   (default: ``data/cache`` in the course folder, ignored by git).
=================  =====================================================================

``COURSE_IMAGE_FOLDER`` gives notebook 07 its images: a folder, or the name of a MedMNIST data set
(``breastmnist``, the default, or ``retinamnist``) that is exported to a folder in the cache.

Settings are read on every call, so a change to ``os.environ`` takes effect at once. The one
network and download-cache policy of the data and the weights is here too: :func:`network_allowed`
and :func:`keras_home` (Keras' own ``KERAS_HOME``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

COURSE_ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """A snapshot of the course settings."""

    fast: bool
    offline: bool
    data_dir: Path | None
    dataset: str
    cache_dir: Path
    image_folder: str = "breastmnist"


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0 (or true/false), got {value!r}.")


def settings() -> Settings:
    """Read the course settings from the environment.

    Raises:
        ValueError: if a variable has a value the course does not understand.
    """
    from utils.data import DATASETS  # here, not at the top: utils.data imports this module

    dataset = os.environ.get("COURSE_DATASET", "mnist").strip().lower() or "mnist"
    if dataset not in DATASETS:
        raise ValueError(f"COURSE_DATASET must be one of {tuple(DATASETS)}, got {dataset!r}.")
    data_dir = os.environ.get("COURSE_DATA_DIR", "").strip()
    data_path = Path(data_dir).expanduser().resolve() if data_dir else None
    if data_path is not None and not data_path.is_dir():
        raise ValueError(f"COURSE_DATA_DIR must be a folder, got {data_dir!r}, which is {data_path} here "
                         f"(a relative path counts from {Path.cwd()}); use an absolute path, or unset it.")
    cache_dir = os.environ.get("COURSE_CACHE_DIR", "").strip()
    return Settings(
        fast=_flag("COURSE_FAST"),
        offline=_flag("COURSE_OFFLINE"),
        data_dir=data_path,
        dataset=dataset,
        cache_dir=Path(cache_dir).expanduser() if cache_dir else COURSE_ROOT / "data" / "cache",
        image_folder=os.environ.get("COURSE_IMAGE_FOLDER", "").strip() or "breastmnist",
    )


def by_mode(*, full: T, fast: T) -> T:
    """Return ``fast`` in fast mode (``COURSE_FAST=1``) and ``full`` otherwise.

    Notebooks use it for every budget that differs between the two modes, e.g.
    ``epochs = by_mode(full=15, fast=2)``, so both modes run the same code.
    """
    return fast if settings().fast else full


def cache_path(*parts: str) -> Path:
    """A path inside the course cache folder; its parent folders are created."""
    path = settings().cache_dir.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def network_allowed() -> bool:
    """True unless ``COURSE_OFFLINE=1``: every download of data or weights asks this first."""
    return not settings().offline


def keras_home() -> Path:
    """Keras' download folder, shared by data (``datasets/``) and weights (``models/``):
    ``$KERAS_HOME``, by default ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()


def describe() -> str:
    """One line that says which mode, data set and network policy are in force."""
    s = settings()
    return (
        f"Mode: {'FAST (small subsets, few epochs)' if s.fast else 'full'} | "
        f"data set: {s.dataset} | network: {'off' if s.offline else 'allowed'} | "
        f"data dir: {s.data_dir or '-'}"
    )
