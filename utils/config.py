"""The course's settings, read from environment variables in this one place.

=================  =====================================================================
Variable           Meaning
=================  =====================================================================
COURSE_FAST        ``1``: small subsets and few epochs (the test command sets it).
COURSE_OFFLINE     ``1``: never touch the network; use cached or bundled data only.
COURSE_DATA_DIR    A folder searched first for data files (e.g. ``mnist.npz``).
COURSE_DATASET     ``mnist`` (default), ``fashion_mnist`` or another key of ``utils.data.DATASETS``
                   that has sources: the data set notebooks use (``utils.data`` checks the name).
COURSE_CACHE_DIR   Where downloads, features and trained models are cached
                   (default: ``data/cache`` in the course folder, ignored by git).
COURSE_TIME_BUDGET Minutes a notebook may take (notebook 07): long steps that would not fit are
                   cut (fewer epochs) or skipped, and the notebook says which. Unset: no limit.
=================  =====================================================================

``COURSE_IMAGE_FOLDER`` gives notebook 07 its images: a folder, or the name of a MedMNIST data set
(``breastmnist``, the default, or ``retinamnist``) that is exported to a folder in the cache, or
``fetal_planes`` / ``fetal_planes_brain``, FETAL_PLANES_DB's official split laid out as a folder.
``COURSE_POSITIVE_CLASS`` names the class folder of that folder's clinically positive class (the
finding, e.g. ``malignant``): ROC curves, sensitivity and specificity are computed for it. Unset, a
folder written from a registered data set keeps the registry's positive class, any other has none.

Settings are read on every call, so a change to ``os.environ`` takes effect at once. The one
network and download-cache policy of the data and the weights is here too: :func:`network_allowed`
and :func:`keras_home` (Keras' own ``KERAS_HOME``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    positive_class: str | None = None
    time_budget: float | None = None  # minutes



def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0 (or true/false), got {value!r}.")


def settings() -> Settings:
    """Read the course settings from the environment.

    Only the form of each value is checked here; what it names (a data set) is checked where it is used.

    Raises:
        ValueError: if a variable has a value the course does not understand.
    """
    dataset = os.environ.get("COURSE_DATASET", "mnist").strip().lower() or "mnist"  # utils.data checks the name
    if not dataset.replace("_", "").isalnum():
        raise ValueError(f"COURSE_DATASET must be the name of a data set (letters, digits, '_'), got {dataset!r}.")
    data_dir = os.environ.get("COURSE_DATA_DIR", "").strip()
    data_path = Path(data_dir).expanduser().resolve() if data_dir else None
    if data_path is not None and not data_path.is_dir():
        raise ValueError(f"COURSE_DATA_DIR must be a folder, got {data_dir!r}, which is {data_path} here "
                         f"(a relative path counts from {Path.cwd()}); use an absolute path, or unset it.")
    if data_path is not None and not os.access(data_path, os.R_OK | os.X_OK):
        raise ValueError(f"COURSE_DATA_DIR must be a folder you can read, got {data_path}, which you may not "
                         "read; fix its permissions, or unset it.")
    cache_dir = os.environ.get("COURSE_CACHE_DIR", "").strip()
    cache_path = Path(cache_dir).expanduser() if cache_dir else COURSE_ROOT / "data" / "cache"
    _check_writable_folder(cache_path)
    return Settings(
        fast=_flag("COURSE_FAST"),
        offline=_flag("COURSE_OFFLINE"),
        data_dir=data_path,
        dataset=dataset,
        cache_dir=cache_path,
        image_folder=os.environ.get("COURSE_IMAGE_FOLDER", "").strip() or "breastmnist",
        positive_class=_folder_name("COURSE_POSITIVE_CLASS"),
        time_budget=_minutes("COURSE_TIME_BUDGET"),
    )


def _minutes(name: str) -> float | None:
    """The value of ``name`` as a positive number of minutes (None when unset)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        minutes = float(value)
    except ValueError:
        minutes = float("nan")
    if not 0 < minutes < float("inf"):
        raise ValueError(f"{name} must be a positive number of minutes (e.g. 30), got {value!r}; or unset it.")
    return minutes


def _folder_name(name: str) -> str | None:
    """The value of ``name`` as the name of one folder (None when unset); which folders exist is checked
    where the folder is read."""
    value = os.environ.get(name, "").strip()
    if any(character in value for character in "/\\") or value.startswith("."):
        raise ValueError(f"{name} must be the name of one class folder (no '/', not starting with '.'), "
                         f"got {value!r}.")
    return value or None


def _check_writable_folder(folder: Path) -> None:
    """COURSE_CACHE_DIR must be a folder that can be written, or can be created: checked before any
    work, so that hours of training do not end in a PermissionError when the result is saved."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = (
        f"{existing} is a file, not a folder" if not existing.is_dir()
        else f"{existing} may not be written" if not os.access(existing, os.W_OK | os.X_OK)
        else None
    )
    if problem:
        raise ValueError(f"COURSE_CACHE_DIR must be a folder the course can create and write, got {str(folder)!r}: "
                         f"{problem}. Set COURSE_CACHE_DIR to another folder, or unset it.")


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


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Write a file so that a crash never leaves half of it: ``with atomic_write(path) as temporary:``
    write ``temporary``; when the block ends without error, it replaces ``path`` in one step
    (``os.replace``), else it is deleted.

    The temporary file is unique (``tempfile.mkstemp``) and in ``path``'s folder, and its name ends
    with ``path``'s name (so Keras still sees ``.weights.h5``): two processes that write the same file
    at once each write their own, and the last complete one wins. Temporary files that a killed
    process left behind for ``path`` are deleted first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{os.getpid()}-", suffix=f"-{path.name}")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Write a folder so that a crash never leaves half of it, as :func:`atomic_write` writes a file:
    ``with atomic_folder(path) as temporary:`` fill the folder ``temporary`` (a hidden sibling of ``path``);
    when the block ends without error it takes ``path``'s name in one step (``os.replace``; ``path`` must
    not exist, or be an empty folder), else it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".tmp-{os.getpid()}-", suffix=f"-{path.name}"))
    umask = os.umask(0)
    os.umask(umask)
    temporary.chmod(0o777 & ~umask)  # mkdtemp's folder is private; the result gets the usual permissions
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)


def _remove_orphans(path: Path) -> None:
    """Delete the temporary files (or folders) of ``path`` whose writing process no longer runs (killed
    mid-write)."""
    for orphan in path.parent.glob(f".tmp-*-{path.name}"):
        pid = orphan.name.split("-")[1]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(orphan) if orphan.is_dir() else orphan.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def network_allowed() -> bool:
    """True unless ``COURSE_OFFLINE=1``: every download of data or weights asks this first."""
    return not settings().offline


DOWNLOAD_CHUNK = 1 << 20  # bytes read at a time
DOWNLOAD_REPORT = 100 << 20  # a progress line every this many bytes


def download(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` (overwritten: give a temporary file, checked before it is used).
    Callers ask :func:`network_allowed` first.

    The bytes go to ``destination`` + ``.part`` first, renamed to ``destination`` only when complete.
    A ``.part`` left by an interrupted download is resumed (HTTP ``Range``) when the server allows it,
    else downloaded again from the start; a large download prints its progress.

    Raises:
        OSError: no connection, an HTTP error, a timeout, or a download cut short (its ``.part`` is kept,
            so the next call resumes it).
    """
    import http.client
    import urllib.error
    import urllib.request

    destination = Path(destination)
    part = destination.with_name(destination.name + ".part")
    done = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            resumed = bool(done) and response.status == 206  # else the server sends the whole file
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            if resumed:
                print(f"Resuming {url} after {done / 1e6:,.0f} MB.")
            written = _copy_with_progress(response, part, start=done if resumed else 0, expected=expected)
    except urllib.error.HTTPError as error:
        if not (error.code == 416 and done):  # 416: nothing left after the .part's bytes
            raise
        expected = written = None
    except http.client.HTTPException as error:  # e.g. IncompleteRead: the connection closed early
        raise OSError(f"the download of {url} was cut short ({type(error).__name__}); {part} is kept: "
                      "run again to resume it.") from error
    if expected is not None and written != expected:
        raise OSError(f"the download of {url} was cut short ({written:,} of {expected:,} bytes); {part} is kept: "
                      "run again to resume it.")
    os.replace(part, destination)


def _copy_with_progress(response, path: Path, *, start: int, expected: int | None) -> int:
    """Copy ``response`` into ``path``, appended after its first ``start`` bytes (0: overwritten), printing
    the megabytes the file holds as it grows; returns the bytes written."""
    written = 0
    total = f" of {(start + expected) / 1e6:,.0f}" if expected else ""
    with open(path, "ab" if start else "wb") as f:
        while chunk := response.read(DOWNLOAD_CHUNK):
            f.write(chunk)
            written += len(chunk)
            if written // DOWNLOAD_REPORT != (written - len(chunk)) // DOWNLOAD_REPORT:
                print(f"  {(start + written) / 1e6:,.0f}{total} MB", flush=True)
    return written


def keras_home() -> Path:
    """Keras' download folder, shared by data (``datasets/``) and weights (``models/``):
    ``$KERAS_HOME``, by default ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()


def describe(data: str | None = None) -> str:
    """One line that says which mode, data and network policy are in force: ``data`` names what the
    notebook reads (e.g. ``"image folder breastmnist"``), by default the ``COURSE_DATASET`` setting."""
    s = settings()
    return (
        f"Mode: {'FAST (small subsets, few epochs)' if s.fast else 'full'} | "
        f"data set: {data or s.dataset} | network: {'off' if s.offline else 'allowed'} | "
        f"data dir: {s.data_dir or '-'}"
    )
