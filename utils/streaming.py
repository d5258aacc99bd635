"""Images that stay on disk: memory-mapped uint8 arrays, fed to a model as float batches.

A folder of images is decoded once into a uint8 file in the cache (:mod:`utils.folders`); the data
set then holds memory-mapped arrays (``np.memmap``), which behave like arrays but read only the rows
used. Training, feature extraction and prediction take them batch by batch: :class:`ImageBatches`
turns each batch into float32 in [0, 1] (the course's image rule) when it is needed, so no float copy
of the whole set is ever made. Small sets (below :data:`IN_MEMORY_BYTES` as floats: the MNIST
notebooks, the 28-pixel demo folders), in memory or not, go to Keras as one float array, as before.

Also here: writing such a file whole or not at all (:func:`write_rows`), hashing an array a chunk at
a time (:func:`hash_into`), and the time a long step will take (:class:`StepClock`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np

from utils.config import atomic_write, settings
from utils.images import as_float_images, check_int

IN_MEMORY_BYTES = 32 * 2**20  # uint8 images whose float32 copy is smaller go to Keras as one array
CHUNK_BYTES = 64 * 2**20  # rows read at a time when hashing or copying a memory-mapped array


def float_bytes(images: np.ndarray) -> int:
    """The size in bytes of the float32 copy of ``images``."""
    return 4 * math.prod(images.shape)


def is_streamed(images: np.ndarray) -> bool:
    """True for images read batch by batch: uint8 arrays whose float copy would exceed :data:`IN_MEMORY_BYTES`."""
    return images.dtype == np.uint8 and float_bytes(images) > IN_MEMORY_BYTES


def with_channel_axis(images: np.ndarray) -> np.ndarray:
    """(N, H, W) grey images as (N, H, W, 1), a view (a memory-mapped array stays on disk); (N, H, W, C) as they are."""
    return images[..., np.newaxis] if images.ndim == 3 else images


def _chunk_rows(array: np.ndarray) -> int:
    return max(1, CHUNK_BYTES // max(1, array[:1].nbytes))


def hash_into(digest, array: np.ndarray) -> None:
    """Update ``digest`` (a hashlib object) with ``array``'s dtype, shape and bytes, a chunk of rows at a
    time; the same digest as ``digest.update(array.tobytes())`` after the dtype and shape."""
    array = np.atleast_1d(np.asarray(array))
    digest.update(f"{array.dtype}{array.shape}".encode())
    rows = _chunk_rows(array)
    for start in range(0, len(array), rows):
        digest.update(np.ascontiguousarray(array[start:start + rows]).tobytes())


def short_hash(array: np.ndarray, length: int = 12) -> str:
    """A short hash of an array's dtype, shape and values (see :func:`hash_into`)."""
    digest = hashlib.sha256()
    hash_into(digest, array)
    return digest.hexdigest()[:length]


def open_rows(path: Path, shape: tuple[int, ...]) -> np.memmap | None:
    """The uint8 array of ``shape`` stored in ``path`` (read-only, memory-mapped), or None when the file
    is missing or has another size (then it is not trusted)."""
    if not path.is_file() or path.stat().st_size != math.prod(shape):
        return None
    return np.memmap(path, np.uint8, mode="r", shape=shape) if math.prod(shape) else np.zeros(shape, np.uint8)


def write_rows(path: Path, shape: tuple[int, ...], fill: Callable[[np.memmap], None]) -> np.memmap:
    """Write a uint8 array of ``shape`` to ``path`` whole or not at all: ``fill`` writes the rows into a
    memory-mapped temporary sibling (``config.atomic_write``), which replaces ``path`` when it returns.
    A process killed meanwhile leaves only the temporary file, deleted by the next writer."""
    with atomic_write(path) as temporary:
        if math.prod(shape):
            rows = np.memmap(temporary, np.uint8, mode="w+", shape=shape)
            fill(rows)
            rows.flush()
            del rows
    return open_rows(path, shape)


def take_rows(images: np.ndarray, indices: np.ndarray, path: Path) -> np.ndarray:
    """``images[indices]``: in memory for an in-memory array; for a memory-mapped one, written to
    ``path`` (once, a chunk at a time; ``path``'s name must say which rows) and memory-mapped."""
    indices = np.asarray(indices, np.int64)
    if not isinstance(images, np.memmap):
        return images[indices]
    shape = (len(indices),) + images.shape[1:]
    found = open_rows(path, shape)
    if found is not None:
        return found
    rows = _chunk_rows(images)

    def fill(out: np.memmap) -> None:
        for start in range(0, len(indices), rows):
            chosen = indices[start:start + rows]
            order = np.argsort(chosen)  # read the file forwards
            out[start + order] = images[chosen[order]]

    return write_rows(path, shape, fill)


class ImageBatches(keras.utils.PyDataset):
    """Batches of uint8 images (in memory or memory-mapped) as float32 (B, H, W, C) in [0, 1], with their
    labels if given: what ``model.fit``, ``model.predict`` and the explanations read.

    Args:
        images: uint8 (N, H, W) or (N, H, W, C), or floats in [0, 1].
        labels: (N,) integer labels, or None (prediction).
        batch_size: images per batch.
        indices: the rows used, in order (default: all).
        shuffle: a new order of the rows every epoch, drawn from ``seed``.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, *, batch_size: int = 128,
                 indices: np.ndarray | None = None, shuffle: bool = False, seed: int = 0):
        super().__init__()
        check_int("batch_size", batch_size)
        self.images, self.labels, self.batch_size, self.shuffle = images, labels, int(batch_size), shuffle
        self.rows = np.arange(len(images)) if indices is None else np.asarray(indices, np.int64)
        self._rng = np.random.default_rng(seed)
        self.order = self._rng.permutation(self.rows) if shuffle else self.rows

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int):
        chosen = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        order = np.argsort(chosen, kind="stable")
        read = np.empty((len(chosen),) + self.images.shape[1:], self.images.dtype)
        read[order] = self.images[chosen[order]]  # forwards through the file
        batch = model_input(read)
        return batch if self.labels is None else (batch, np.asarray(self.labels)[chosen])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self._rng.permutation(self.rows)


def float_batches(images: np.ndarray, batch_size: int = 128) -> Iterator[np.ndarray]:
    """The images as float32 (B, H, W, C) in [0, 1], one batch after the other."""
    batches = ImageBatches(images, batch_size=batch_size)
    return (batches[i] for i in range(len(batches)))


def model_input(images: np.ndarray) -> np.ndarray:
    """Images as float32 (N, H, W, C) in [0, 1] (the rule of ``models.to_model_input``, for one batch)."""
    batch = as_float_images(images)
    return batch[..., np.newaxis] if batch.ndim == 3 else batch


def predict(model: keras.Model, images: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """``model``'s output for images (uint8, e.g. a folder's memory-mapped split, or floats in [0, 1]):
    read batch by batch when they are streamed (:func:`is_streamed`), else as one float array."""
    if is_streamed(images):
        return model.predict(ImageBatches(images, batch_size=batch_size), verbose=0)
    return model.predict(model_input(images), batch_size=batch_size, verbose=0)


class StepClock:
    """The time a long step will take, from its first parts: ``clock = StepClock("feature extraction",
    n_parts)``, then ``clock.done(k)`` after each part; after ``first`` parts it prints one estimate."""

    def __init__(self, step: str, total: int, *, first: int = 1, unit: str = "batches"):
        self.step, self.total, self.first, self.unit = step, total, first, unit
        self.start, self.reported = time.perf_counter(), False

    def done(self, parts: int) -> None:
        if self.reported or parts < self.first or parts >= self.total:
            return
        seconds = (time.perf_counter() - self.start) / parts * self.total
        print(f"{self.step}: {parts} of {self.total} {self.unit} in {time.perf_counter() - self.start:.0f} s; "
              f"the whole step takes about {format_seconds(seconds)}.")
        self.reported = True


def format_seconds(seconds: float) -> str:
    """``"45 s"``, ``"12 min"`` or ``"2.5 h"``."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class EpochEstimate(keras.callbacks.Callback):
    """Prints, after the first epoch, how long training takes at most (all epochs; early stopping may
    end it sooner), and stops training after the epoch that would end past ``time_budget``'s deadline
    (:class:`TimeBudget`), recording the epochs it skipped."""

    def __init__(self, epochs: int, time_budget: TimeBudget | None = None):
        super().__init__()
        self.epochs, self.budget, self.stopped_at = epochs, time_budget, None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        if epoch == 0 and self.epochs > 1:
            print(f"epoch 1 took {seconds:.0f} s: at most {self.epochs} epochs take up to "
                  f"{format_seconds(seconds * self.epochs)} (early stopping may end sooner).")
        if self.budget is not None and epoch + 1 < self.epochs and self.budget.remaining() < seconds:
            self.stopped_at = epoch + 1
            self.model.stop_training = True
            self.budget.skipped.append(f"epochs {epoch + 2}-{self.epochs} of {self.model.name}")
            print(f"Time budget (COURSE_TIME_BUDGET): {self.model.name} stopped after epoch {epoch + 1} of "
                  f"{self.epochs}.")


class TimeBudget:
    """The time a notebook may take, from ``COURSE_TIME_BUDGET`` (minutes; unset: no limit), started when
    it is created: ``budget.allows(step, seconds)`` says whether a step of that estimated length still
    fits (and records what it skipped); ``train_or_load(..., time_budget=budget)`` stops training at its
    deadline (:class:`EpochEstimate`)."""

    def __init__(self, minutes: float | None = None):
        minutes = settings().time_budget if minutes is None else minutes
        self.deadline = None if minutes is None else time.monotonic() + 60 * minutes
        self.minutes, self.skipped = minutes, []

    def remaining(self) -> float:
        """Seconds left (infinite without a budget)."""
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def allows(self, step: str, seconds: float = 0.0) -> bool:
        """True when ``step``, estimated to take ``seconds``, fits in what is left; else it is recorded as skipped."""
        if seconds <= self.remaining():
            return True
        self.skipped.append(step)
        print(f"Time budget: skipping {step} (about {format_seconds(seconds)}; "
              f"{format_seconds(max(0.0, self.remaining()))} left of {self.minutes:g} min).")
        return False

    def summary(self) -> str:
        """One line: the budget and what it skipped."""
        if self.deadline is None:
            return "No time budget (COURSE_TIME_BUDGET unset): every step ran."
        return (f"Time budget {self.minutes:g} min: " + (f"skipped {', '.join(self.skipped)}." if self.skipped
                                                            else "every step fitted."))
