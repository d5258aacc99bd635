"""Training the course's CNNs: ``train_or_load`` caches the trained weights under a fingerprint of
the architecture, data and settings, and ``course_cnn`` gives notebooks 03, 04 and 05 one shared model
trained with one budget (``cnn_budget``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import h5py
import keras
import numpy as np
from sklearn.model_selection import train_test_split

from utils.config import atomic_write, by_mode, cache_path, settings
from utils.data import Dataset, stratified_subset
from utils.images import as_float_images, check_int, check_labels, check_number
from utils.models import SEED, build_gap_cnn, build_mnist_cnn, output_activation, to_model_input
from utils.streaming import EpochEstimate, ImageBatches, TimeBudget, hash_into, is_streamed

CNN_VARIANTS = ("features", "gap")


@dataclass(frozen=True)
class CNNBudget:
    """How much the course CNN trains: the one place notebooks 03, 04 and 05 take it from."""

    epochs: int  # at most; early stopping may end training sooner
    batch_size: int
    n_train: int | None  # training images used at most (None: all of them)
    patience: int  # epochs without a better validation loss before training stops
    reduce_lr_patience: int  # epochs without a better validation loss before the learning rate is halved


def cnn_budget() -> CNNBudget:
    """The training budget of the course CNN in the current mode (``by_mode``)."""
    return CNNBudget(
        epochs=by_mode(full=15, fast=4),
        batch_size=32,  # many small steps: converges in fewer epochs than 128 at the same cost
        n_train=by_mode(full=None, fast=4000),
        patience=3,
        reduce_lr_patience=1,
    )


def _model_layer_names(node) -> list[str]:
    """The names of all layers of every model in a ``to_json()`` config, in order: the model's own,
    then those of models nested in it (e.g. an augmentation ``Sequential`` and its input layer)."""
    if isinstance(node, list):
        return [name for value in node for name in _model_layer_names(value)]
    if not isinstance(node, dict):
        return []
    own = ([layer["config"]["name"] for layer in node["config"]["layers"]]
           if node.get("class_name") in ("Functional", "Sequential") else [])
    return own + [name for value in node.values() for name in _model_layer_names(value)]


def _architecture(model: keras.Model) -> str:
    """``model.to_json()`` with every layer's name replaced by its position, so that the names
    Keras numbers automatically (``dense_3``, ``functional_7``, ``random_translation_2``) do not
    change the cache key."""
    config = json.loads(model.to_json())
    positions = {layer.name: f"layer{i}" for i, layer in enumerate(model.layers)}
    positions[model.name] = "model"
    for name in _model_layer_names(config):  # layers of nested models come after the model's own
        positions.setdefault(name, f"layer{len(positions)}")

    def rename(node):
        if isinstance(node, dict):
            return {key: rename(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rename(value) for value in node]
        return positions.get(node, node) if isinstance(node, str) else node

    return json.dumps(rename(config), sort_keys=True)


def weights_fingerprint(model: keras.Model) -> str:
    """A short hash of all the weights of a model (their shapes and values), in layer order.
    Layer names are left out: Keras numbers them anew each time a model is built."""
    digest = hashlib.sha256(f"{model.input_shape}{model.output_shape}".encode())
    for weights in model.get_weights():
        digest.update(f"{weights.shape}".encode())
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()[:12]


def _fingerprint(model: keras.Model, initial: str, arrays: list[np.ndarray], settings: dict) -> str:
    """A short hash of the architecture, the initial weights (their :func:`weights_fingerprint`
    ``initial``: a pre-trained and a random backbone of the same architecture differ), the data (training,
    and validation if any) and the training settings."""
    digest = hashlib.sha256(_architecture(model).encode())
    digest.update(initial.encode())
    for array in arrays:
        hash_into(digest, array)  # a chunk at a time: a memory-mapped folder is never read whole
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


class _EpochClock(keras.callbacks.Callback):
    """Records how many seconds each epoch took."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def train_or_load(
    build_fn: Callable[[], keras.Model],
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 128,
    validation_split: float = 0.1,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    class_weight: dict[int, float] | None = None,
    patience: int = 3,
    reduce_lr_patience: int | None = None,
    learning_rate: float = 1e-3,
    name: str | None = None,
    seed: int = SEED,
    verbose: int = 2,
    time_budget: TimeBudget | None = None,
) -> tuple[keras.Model, dict | None]:
    """Train a classifier with early stopping, or load its weights if it was trained before.

    The trained weights are cached in ``cache_path("models", ...)`` under a key made of the
    architecture (``model.to_json()``), a hash of the initial weights that ``build_fn`` returns (a
    pre-trained backbone, or a head's adapted normalisation, gives another key than random weights),
    a hash of the training (and validation) data and the training settings (epochs, batch size, class weights, ...), so a second call with the same
    inputs loads in a second.
    Seeds are set (``keras.utils.set_random_seed(seed)``) before building, so training repeats.

    Args:
        build_fn: called without arguments; returns an uncompiled Keras model whose output is
            softmax probabilities (e.g. ``build_mnist_cnn`` or ``functools.partial(...)``).
        x_train: model inputs: uint8 images (in memory or memory-mapped, e.g. a folder's split), turned
            into float32 in [0, 1] a batch at a time (:class:`~utils.streaming.ImageBatches`; small ones,
            below ``streaming.IN_MEMORY_BYTES`` as floats, at once), or floats (e.g. from
            :func:`to_model_input`, or features), used as they are.
        y_train: integer class labels, shape (N,).
        epochs: the most epochs to train; training stops earlier when the validation loss has
            not improved for ``patience`` epochs, and the best weights are kept. The time of the first
            epoch gives an estimate of the whole, printed.
        validation_split: the fraction of the training data held out for validation, drawn by index,
            stratified by class and shuffled (``seed``).
        validation_data: ``(x_val, y_val)``, a separate validation set (e.g. an official split);
            when given, it is used instead of ``validation_split`` and all of ``x_train`` trains.
        class_weight: Keras' ``class_weight``, e.g. from ``utils.evaluation.class_weights``: how much
            each class counts in the loss.
        reduce_lr_patience: if given, the learning rate is halved whenever the validation loss has
            not improved for that many epochs (Keras' ``ReduceLROnPlateau``): smaller steps let the
            weights settle into a minimum instead of jumping around it.
        name: the name of the cache files (default: the model's name).
        time_budget: training stops after the epoch that would end past its deadline (the weights
            are then not cached, so a run with more time trains in full).

    Returns:
        The compiled model and its training history (per-epoch ``loss``, ``accuracy``,
        ``val_loss``, ``val_accuracy`` and ``epoch_seconds``), which is also cached and returned
        when the model is loaded; None if the cache lacks it.

    Raises:
        TypeError, ValueError: before any training, for what :func:`_check_training_inputs` refuses (a
            ``build_fn`` that returns no functional or Sequential model ending in softmax, images off the
            image rule, one class, labels beyond the outputs, negative / NaN / missing class weights), or a
            cache file in the way (a folder where a file goes).
        FloatingPointError: the loss became NaN; nothing is cached.

    A cache entry's weights file carries its key and the initial weights' fingerprint; an entry whose
    key differs (copied or renamed), that cannot be read or holds NaN is trained again, with a note.
    """
    if isinstance(build_fn, keras.Model) or not callable(build_fn):
        raise TypeError(f"build_fn must be a function that returns a Keras model, got {build_fn!r}.")
    check_int("epochs", epochs)
    check_int("batch_size", batch_size)
    check_int("patience", patience, 0)
    check_number("validation_split", validation_split, 0, 1, exclusive=True)
    check_number("learning_rate", learning_rate, 0, exclusive=True)
    if reduce_lr_patience is not None:
        check_int("reduce_lr_patience", reduce_lr_patience)

    keras.utils.set_random_seed(seed)
    model = build_fn()
    data, class_weight = _check_training_inputs(model, x_train, y_train, validation_data, class_weight)
    x_train, y_train = data[:2]
    training = dict(epochs=int(epochs), batch_size=int(batch_size), validation_split=validation_split,
                    patience=int(patience), learning_rate=learning_rate, seed=int(seed))
    if validation_data is not None:
        training["validation_split"] = "validation_data"
    if class_weight is not None:
        training["class_weight"] = {str(c): w for c, w in class_weight.items()}
    if reduce_lr_patience is not None:
        training["reduce_lr_patience"] = int(reduce_lr_patience)
    initial = weights_fingerprint(model)
    key = _fingerprint(model, initial, data, training)  # before compiling: the optimizer's name varies
    name = name or re.sub(r"_\d+$", "", model.name)  # "functional_7" -> "functional"
    weights_file, history_file = _entry_files(name, key)
    # Before compiling, so Keras does not warn about the optimizer's saved state.
    cached, history = _load_cached(model, weights_file, history_file, key, initial)
    if not cached and weights_file.is_file():  # damaged: start again from the same random weights
        keras.utils.set_random_seed(seed)
        model = build_fn()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    if cached:
        print(f"Loaded the trained {model.name} from the cache ({weights_file.name}); no training needed.")
        return model, history

    held_out = (f"validated on {len(validation_data[0]):,} separate images" if validation_data is not None
                else f"of which {validation_split:.0%} for validation")
    print(f"Training {model.name} on {len(x_train):,} images ({held_out}) for at most {epochs} epochs...")
    stop_early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                               restore_best_weights=True)
    clock = _EpochClock()
    estimate = EpochEstimate(epochs, time_budget)
    callbacks = [keras.callbacks.TerminateOnNaN(), stop_early, clock, estimate]
    if reduce_lr_patience is not None:
        callbacks.insert(0, keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                              patience=reduce_lr_patience))
    fit = model.fit(**_feed(data, validation_split, batch_size, seed), epochs=epochs, class_weight=class_weight,
                    callbacks=callbacks, verbose=verbose)
    history = {metric: [float(v) for v in values] for metric, values in fit.history.items()}
    history["epoch_seconds"] = clock.seconds
    seconds = sum(clock.seconds)
    if not _finite(model, history):
        raise FloatingPointError(f"Training {model.name} diverged: its loss became NaN or infinite (loss per epoch: "
                                 f"{history['loss']}); nothing was cached. Lower learning_rate (now {learning_rate:g}) "
                                 "or check the inputs and the model.")
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    if estimate.stopped_at is not None:
        print(f"Trained {model.name} for {estimate.stopped_at} of {epochs} epochs (time budget) in {seconds:.0f} s; "
              "not cached.")
        return model, history
    # History first, weights last: a complete cache entry is one whose weights file exists. Each file
    # is written whole or not at all, so a crash or a second kernel never leaves a damaged entry. The
    # weights file carries its key, checked when it is loaded.
    with atomic_write(history_file) as temporary:
        temporary.write_text(json.dumps(history))
    with atomic_write(weights_file) as temporary:
        model.save_weights(temporary)
        with h5py.File(temporary, "a") as entry:
            entry.attrs[ENTRY_KEY], entry.attrs[ENTRY_INITIAL] = key, initial
    print(f"Trained {model.name} for {len(history['loss'])} epochs in {seconds:.0f} s; kept the weights of "
          f"epoch {best_epoch} (lowest validation loss); cached as {weights_file.name}.")
    return model, history


def _feed(data: list[np.ndarray], validation_split: float, batch_size: int, seed: int) -> dict:
    """``model.fit``'s data arguments: ``data`` is ``[x, y]`` or ``[x, y, x_val, y_val]``. Without a
    validation set, ``validation_split`` of the rows is held out, stratified by class (when every class
    has two rows) and shuffled. uint8 images go as :class:`ImageBatches` (float batches read when needed:
    the training ones shuffled every epoch from ``seed``), or, when small, as one float array."""
    x, y = data[:2]
    if len(data) == 4:
        x_val, y_val, rows, val_rows = data[2], data[3], np.arange(len(y)), np.arange(len(data[3]))
    else:
        try:
            rows, val_rows = train_test_split(np.arange(len(y)), test_size=validation_split, stratify=y,
                                              shuffle=True, random_state=seed)
        except ValueError:  # a class of one row, or fewer validation rows than classes: not stratified
            rows, val_rows = train_test_split(np.arange(len(y)), test_size=validation_split, shuffle=True,
                                              random_state=seed)
        x_val, y_val = x, y

    def feed(images, labels, indices, shuffle):
        if is_streamed(images):
            return ImageBatches(images, labels, batch_size=batch_size, indices=indices, shuffle=shuffle, seed=seed)
        chosen = images if len(indices) == len(images) else images[indices]
        return to_model_input(chosen) if images.dtype == np.uint8 else chosen, labels[indices]

    train, validation = feed(x, y, rows, True), feed(x_val, y_val, val_rows, False)
    if isinstance(train, ImageBatches):
        return dict(x=train, validation_data=validation, shuffle=False)
    return dict(x=train[0], y=train[1], batch_size=batch_size, validation_data=validation)


def _check_training_inputs(model, x_train, y_train, validation_data, class_weight) -> tuple[list, dict | None]:
    """The one check of what ``train_or_load`` trains on, before any training: the model ``build_fn``
    returned (a functional or Sequential model ending in softmax), images by the one image rule (uint8, or
    floats in [0, 1]; features (N, D) finite), labels against the model's outputs (at least two classes;
    a class without images is questioned), and class weights (a finite weight of at least 0 for every
    class in ``y_train``, keys among the model's outputs).

    Returns:
        ``[x_train, y_train]`` (and ``x_val, y_val``), labels as int64 (N,), and the class weights as
        ``{int: float}`` (or None).
    """
    kind = type(model).__name__
    if not isinstance(model, keras.Model):
        hint = {"tuple": " (return the model alone)", "NoneType": " (does build_fn end with `return model`?)"}
        raise TypeError(f"build_fn must return a Keras model, got {kind}{hint.get(kind, '')}.")
    try:
        n_classes = int(model.outputs[0].shape[-1])  # labels are checked against the model's outputs
    except (AttributeError, IndexError, ValueError, TypeError):
        raise TypeError(f"build_fn must return a functional or Sequential Keras model that starts with keras.Input "
                        f"(its outputs, and the cache key, are known before training), got the subclassed or "
                        f"unbuilt model {kind}.") from None
    activation = output_activation(model)
    if activation != "softmax":
        raise ValueError(f"build_fn's model must end in softmax: train_or_load minimises sparse categorical "
                         f"cross-entropy, which reads the outputs as probabilities; its output layer's activation "
                         f"is {activation!r}. End the model with keras.layers.Activation('softmax').")
    data = [_check_x(x_train, "x_train")]
    data.append(check_labels(y_train, n_classes, name="y_train", n_images=len(data[0])))
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val).")
        x_val = _check_x(validation_data[0], "x_val")
        data += [x_val, check_labels(validation_data[1], n_classes, name="y_val", n_images=len(x_val))]
    present = np.unique(data[1])
    if len(present) < 2:
        raise ValueError(f"y_train holds one class only ({present.tolist()}): a classifier learns from at least two.")
    absent = sorted(set(range(n_classes)) - set(present.tolist()))
    if absent:
        warnings.warn(f"y_train has no image of class {', '.join(map(str, absent))} (the model has {n_classes} "
                      "outputs): the model learns never to predict it. Give the model one output per class "
                      "present, or add images of it.", stacklevel=3)
    if class_weight is None:
        return data, None
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict class -> weight, got {type(class_weight).__name__}.")
    weights = {check_int(f"class_weight key {c!r} (a class index)", c, 0, n_classes - 1):
               check_number(f"class_weight[{c!r}]", w, 0) for c, w in class_weight.items()}
    lacking = [int(c) for c in present if c not in weights]
    if lacking:
        raise ValueError(f"class_weight must give a weight to every class in y_train; it lacks class(es) {lacking}.")
    if not any(weights.values()):
        raise ValueError(f"class_weight must give at least one class a weight above 0, got {class_weight}.")
    return data, weights


def _check_x(x: np.ndarray, name: str) -> np.ndarray:
    """Model inputs: a non-empty array of finite numbers (N, ...); images (N, H, W[, C]) by the one image rule,
    checked a chunk at a time (uint8 passes as it is)."""
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0 or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"{name} must be a non-empty array of numbers (N, ...), got shape {x.shape}, dtype {x.dtype}.")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must hold finite numbers, got NaN or infinite values.")
    if x.ndim >= 3 and x.dtype != np.uint8:
        for start in range(0, len(x), 1024):
            as_float_images(x[start:start + 1024], name=name)
    return x


ENTRY_KEY = "course_cache_key"  # the attributes of a cached weights file: its key, and the fingerprint
ENTRY_INITIAL = "course_initial_weights"  # of the initial weights it was trained from


def _entry_files(name: str, key: str):
    """The weights and history files of a cache entry, after checking that neither (nor the folder) is in
    the way: found now, not when the trained weights are saved."""
    folder = settings().cache_dir / "models"
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder: the cache of trained models needs that name. Delete it, "
                         "or set COURSE_CACHE_DIR to another folder.")
    weights_file = cache_path("models", f"{name}-{key}.weights.h5")
    history_file = weights_file.with_name(f"{name}-{key}.history.json")
    for path in (weights_file, history_file):
        if path.is_dir():
            raise ValueError(f"{path} is a folder, not a cache file: the trained weights could not be saved. "
                             "Delete it, then train again.")
    return weights_file, history_file


def _finite(model: keras.Model, history: dict | None) -> bool:
    """True when the model's weights and the history's losses are finite numbers."""
    losses = [v for metric in ("loss", "val_loss") for v in (history or {}).get(metric, [])]
    return bool(np.all(np.isfinite(losses))) and all(np.all(np.isfinite(w)) for w in model.get_weights())


def _load_cached(model: keras.Model, weights_file, history_file, key: str, initial: str) -> tuple[bool, dict | None]:
    """Load a cache entry into ``model`` (which holds its initial weights, of fingerprint ``initial``):
    ``(True, history)`` (history None when the cache lacks it), or ``(False, None)`` when it is absent,
    cannot be read, belongs to another key or other initial weights (copied or renamed) or holds NaN (an
    entry not to trust counts as absent)."""
    if not weights_file.is_file():
        return False, None
    try:
        with h5py.File(weights_file, "r") as entry:
            found = entry.attrs.get(ENTRY_KEY), entry.attrs.get(ENTRY_INITIAL)
        history = json.loads(history_file.read_text()) if history_file.is_file() else None
        model.load_weights(weights_file)
    except Exception as error:  # a truncated file, a foreign one, or one of another architecture
        problem = f"cannot be read ({str(error).splitlines()[0][:120]})"
    else:
        problem = (None if found == (key, initial) and _finite(model, history)
                   else "was saved without its key (an older version of the course)" if found[0] is None
                   else f"belongs to another entry ({found[0]}, initial weights {found[1]}: copied or renamed?)"
                   if found != (key, initial)
                   else "holds NaN or infinite values (a training that diverged)")
    if problem is None:
        return True, history
    print(f"The cached {weights_file.name} {problem}; training again, and the new weights replace it.")
    return False, None


def cnn_training_set(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The images (as model inputs) and labels the course CNN trains on: ``dataset``'s
    training split, cut to ``cnn_budget().n_train`` images (a stratified subset) in fast mode."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a utils.data.Dataset, got {type(dataset).__name__}.")
    n_train = cnn_budget().n_train
    x, y = dataset.x_train, dataset.y_train
    if n_train is not None and n_train < len(y):
        x, y = stratified_subset(x, y, n_train, seed=SEED)
    return to_model_input(x), y


def course_cnn(dataset: Dataset, variant: str = "features") -> keras.Model:
    """The course's trained CNN for ``dataset``: trained once, then loaded from the cache.

    Uses exactly the data and budget notebook 03 uses (:func:`cnn_training_set`,
    :func:`cnn_budget`), so notebooks 04 and 05 reuse the model notebook 03 trained.

    Args:
        dataset: as returned by ``utils.data.load_dataset()``.
        variant: ``"features"`` for :func:`build_mnist_cnn`, ``"gap"`` for :func:`build_gap_cnn`.
    """
    builders = {"features": build_mnist_cnn, "gap": build_gap_cnn}
    if variant not in builders:
        raise ValueError(f"variant must be one of {CNN_VARIANTS}, got {variant!r}.")
    x_train, y_train = cnn_training_set(dataset)
    budget = cnn_budget()
    build = functools.partial(builders[variant], n_classes=len(dataset.class_names),
                              input_shape=x_train.shape[1:])
    model, _ = train_or_load(build, x_train, y_train, epochs=budget.epochs,
                             batch_size=budget.batch_size, patience=budget.patience,
                             reduce_lr_patience=budget.reduce_lr_patience)
    return model
