"""Transfer learning (notebooks 04, 06 and 07): InceptionV3 with its ImageNet weights (or random ones,
on purpose or with a notice), one input stack (:func:`inception_input_model`) for feature extraction and
the saved classifier, cached feature extraction, a head that standardises its features (so it learns on
any backbone), fine-tuning, and a transfer experiment without ImageNet (a CNN pre-trained on some
classes learns the others).

The usual path::

    backbone, weights = build_inception_backbone(75)            # "imagenet" or "random"
    features = extract_features(backbone, x_train)             # (N, 2048), cached
    head = build_head(features, n_classes)                     # standardises with these features' statistics
    head.compile(...); head.fit(features, y_train, ...)        # or train_or_load(partial(build_head, features, n_classes), ...)
    classifier = inception_classifier(backbone, head, x_train.shape[1:])  # course images in, probabilities out
    unfreeze_top_blocks(backbone); classifier.compile(...); classifier.fit(to_model_input(x), y)  # fine-tuning
"""

from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from utils.config import atomic_write, cache_path, keras_home, network_allowed
from scipy import stats

from utils.images import as_float_images, check_int, check_layout, check_number
from utils.models import SEED, _check_classes, build_mnist_cnn, parameter_counts, to_model_input
from utils.streaming import StepClock, float_batches, short_hash
from utils.training import train_or_load, weights_fingerprint

INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                         + INCEPTION_WEIGHTS_FILE)
INCEPTION_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"
INCEPTION_MIN_SIZE = 75  # the smallest input InceptionV3 accepts
INCEPTION_NATIVE_SIZE = 299  # the size of its ImageNet training images
INCEPTION_TOP_BLOCKS = "mixed8"  # fine-tuning unfreezes the layers after it: blocks mixed9 and mixed10
WEIGHTS = ("imagenet", "random")


def keras_weights_path() -> Path:
    """Where Keras keeps the InceptionV3 ImageNet weights: ``$KERAS_HOME/models`` (``~/.keras/models``)."""
    return keras_home() / "models" / INCEPTION_WEIGHTS_FILE


def _find_imagenet_weights() -> tuple[Path | None, str]:
    """The ImageNet weight file (Keras' cache first, then Keras' download) and how it was found,
    or None and why it could not be had."""
    cached = keras_weights_path()
    if cached.is_file():
        return cached, f"Keras' cache ({cached})"
    if not network_allowed():
        return None, f"offline (COURSE_OFFLINE=1) and not in Keras' cache ({cached})"
    try:
        path = keras.utils.get_file(INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL, cache_subdir="models",
                                    cache_dir=str(keras_home()), file_hash=INCEPTION_WEIGHTS_MD5)
    except Exception as error:  # no network, proxy, server error...: each is reported
        return None, f"the download from {INCEPTION_WEIGHTS_URL} failed ({str(error).splitlines()[0][:160]})"
    return Path(path), "Keras' download"


def imagenet_weights_available() -> bool:
    """True if InceptionV3's ImageNet weights can be had: in Keras' cache, or downloaded now
    (when ``COURSE_OFFLINE`` allows it)."""
    return _find_imagenet_weights()[0] is not None


def _random_weights_notice(reason: str) -> str:
    bar = "!" * 100
    return (f"{bar}\n"
            "!!  NOTICE: InceptionV3 has RANDOM weights, not ImageNet weights; weights source: none.\n"
            f"!!  Why: {reason}.\n"
            "!!  Every transfer-learning number computed with this network is MEANINGLESS as a measure of\n"
            "!!  ImageNet transfer: it shows what a random, untrained InceptionV3 does.\n"
            f"!!  Fix: copy {INCEPTION_WEIGHTS_FILE}\n"
            f"!!  into {keras_weights_path().parent} (see the README), or run with network access.\n"
            f"{bar}")


def build_inception_backbone(
    input_size: int = INCEPTION_MIN_SIZE, *, weights: str = "imagenet", seed: int = SEED
) -> tuple[keras.Model, str]:
    """InceptionV3 without its ImageNet classifier (``include_top=False``), average-pooled to
    2,048 features per image, with ImageNet weights when they can be had, or random ones on purpose.

    With ``weights="imagenet"`` the weights come from Keras' cache, else from Keras' download (unless
    ``COURSE_OFFLINE=1``). When neither works, the network keeps random weights and a prominent notice
    is printed. With ``weights="random"`` it keeps random weights on purpose: the control that shows
    what the architecture alone, untrained, does. Random weights are seeded with ``seed`` (through
    ``keras.utils.set_random_seed``), so they repeat.

    Args:
        input_size: the height and width of the input images, at least 75.
        weights: ``"imagenet"`` (when they can be had) or ``"random"``.

    Returns:
        The model, input shape ``(input_size, input_size, 3)``, output shape ``(None, 2048)``,
        and ``"imagenet"`` or ``"random"``: the weights in use.
    """
    _check_size(input_size)
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}.")
    keras.utils.set_random_seed(seed)
    backbone = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                              input_shape=(input_size, input_size, 3))
    if weights == "random":
        print(f"InceptionV3 ({input_size}x{input_size} input): random weights, as asked (seed {seed}).")
        return backbone, "random"
    path, how = _find_imagenet_weights()
    if path is not None:
        try:
            backbone.load_weights(path)
        except Exception as error:  # a truncated or foreign file
            how = f"{path} could not be loaded ({str(error).splitlines()[0][:160]})"
        else:
            print(f"InceptionV3 ({input_size}x{input_size} input): ImageNet weights; source: {how}.")
            return backbone, "imagenet"
    print(_random_weights_notice(how))
    return backbone, "random"


def inception_size(image_size: int) -> int:
    """The input size InceptionV3 gets for images of ``image_size`` pixels: its smallest, 75, for
    thumbnails of at most 75 pixels (upsampling them further adds no detail, only time), else its own
    299 (the size its ImageNet weights learnt at; read the folder at that size, not upsampled)."""
    check_int("image_size (pixels)", image_size, 1)
    return INCEPTION_MIN_SIZE if image_size <= INCEPTION_MIN_SIZE else INCEPTION_NATIVE_SIZE


def compute_setup() -> tf.distribute.Strategy:
    """Where the networks run, printed in one line: with one or more GPUs, mixed precision (float16
    arithmetic, float32 weights) and ``tf.distribute.MirroredStrategy`` over all of them (build and
    train models inside ``strategy.scope()``); without, the CPU in float32 (the default strategy)."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print(f"Running on the CPU ({os.cpu_count()} cores), float32: no GPU found.")
        return tf.distribute.get_strategy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    strategy = tf.distribute.MirroredStrategy()
    print(f"Running on {len(gpus)} GPU(s) ({', '.join(g.name for g in gpus)}), mixed precision float16, "
          f"tf.distribute.MirroredStrategy over {strategy.num_replicas_in_sync} replica(s).")
    return strategy


def _check_size(size: int) -> None:
    check_int("size (InceptionV3's smallest input is 75 pixels)", size, INCEPTION_MIN_SIZE)


def _check_images(images: np.ndarray) -> np.ndarray:
    """Grey or RGB images (N, H, W), (N, H, W, 1) or (N, H, W, 3), uint8 or floats in [0, 1] (the course's
    image rule, :func:`~utils.images.as_float_images`), checked and returned as they are: uint8 images,
    e.g. memory-mapped, are turned into floats a batch at a time when read."""
    checked = check_layout(images)
    if checked.ndim == 4 and checked.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, (N, H, W), (N, H, W, 1) or (N, H, W, 3), "
                         f"got {checked.shape}.")
    if checked.dtype != np.uint8:
        as_float_images(checked)  # in memory already: every value is checked now, not in the pipeline
    return images if isinstance(images, np.ndarray) else checked


def inception_input_model(size: int = INCEPTION_MIN_SIZE, channels: int = 1) -> keras.Model:
    """InceptionV3's input stack, the one place it is written: float images (N, H, W, ``channels``) in
    [0, 1], any H and W -> (N, ``size``, ``size``, 3) in [-1, 1].

    It resizes (bilinear), copies grey to three channels and scales [0, 1] to [-1, 1] (what
    ``keras.applications.inception_v3.preprocess_input`` does to 0-255 values). Feature extraction
    (:func:`to_inception_input`) and the saved classifier (:func:`inception_classifier`) both run it,
    so a model trained on extracted features sees the same input when it is given images. Built from
    Keras' own layers, it saves and loads without this package.
    """
    _check_size(size)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (colour), got {channels!r}.")
    inputs = keras.Input(shape=(None, None, channels), name="image")
    x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(inputs)
    if channels == 1:
        x = keras.layers.Concatenate(name="grey_to_rgb")([x, x, x])
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_inception_range")(x)
    return keras.Model(inputs, x, name="inception_input")


def to_inception_input(
    images: np.ndarray,
    size: int = INCEPTION_MIN_SIZE,
    batch_size: int = 128,
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline that turns small images into InceptionV3 inputs, batch by batch
    through :func:`inception_input_model`: (N, ``size``, ``size``, 3) in [-1, 1].

    Args:
        images: (N, H, W) or (N, H, W, C) with C = 1 or 3; uint8 0-255, or floats in [0, 1].
        size: the output height and width, at least 75.
        batch_size: images per batch.
    """
    images = _check_images(images)
    _check_size(size)
    check_int("batch_size", batch_size)
    channels = images.shape[3] if images.ndim == 4 else 1
    stack = inception_input_model(size, channels)
    pipeline = tf.data.Dataset.from_generator(
        lambda: float_batches(images, batch_size),
        output_signature=tf.TensorSpec((None,) + images.shape[1:3] + (channels,), tf.float32))
    return pipeline.map(lambda x: stack(x, training=False), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def inception_images(images: np.ndarray, size: int = INCEPTION_MIN_SIZE) -> np.ndarray:
    """The InceptionV3 inputs of a few ``images`` as one array (N, size, size, 3) in [-1, 1]:
    what :func:`to_inception_input` feeds the network, e.g. to look at or to explain."""
    return np.concatenate(list(to_inception_input(images, size).as_numpy_iterator()))


def _data_fingerprint(images: np.ndarray) -> str:
    return short_hash(images)


def extract_features(
    backbone: keras.Model,
    images: np.ndarray,
    *,
    size: int | None = None,
    batch_size: int = 128,
    cache_key: str | None = "inception",
) -> np.ndarray:
    """Run ``images`` through ``backbone`` and return its output: InceptionV3's deep features.

    A progress bar shows the work. The result is cached in ``cache_path("features", ...)``
    under ``cache_key`` plus hashes of the images, the input size and the backbone's weights,
    so a second call with the same inputs loads the file instead of computing.

    Args:
        backbone: e.g. from :func:`build_inception_backbone`; its output is (N, n_features).
        images: as for :func:`to_inception_input`.
        size: the input size; by default the backbone's (a different one is a ValueError).
        cache_key: a readable prefix of the cache file's name; None turns the cache off.

    Returns:
        float32 array (N, n_features), e.g. (N, 2048).
    """
    if not isinstance(backbone, keras.Model):
        raise TypeError(f"backbone must be a Keras model, got {type(backbone).__name__}.")
    model_size = backbone.input_shape[1]
    size = model_size if size is None else size
    if model_size is not None and size != model_size:
        raise ValueError(f"size must match the backbone's input size {model_size}, got {size!r}.")
    pipeline = to_inception_input(images, size, batch_size)
    n_images = len(images)

    cache_file = None
    if cache_key is not None:
        key = f"weights_{weights_fingerprint(backbone)}-data_{_data_fingerprint(images)}"
        cache_file = cache_path("features", f"{cache_key}-{size}px-{key}.npy")
        cached = _read_features(cache_file, (n_images, backbone.output_shape[-1]))
        if cached is not None:
            print(f"Loaded the features of {n_images:,} images from the cache ({cache_file.name}).")
            return cached

    print(f"Extracting {backbone.output_shape[-1]:,} features from each of {n_images:,} images "
          f"at {size}x{size} pixels...")
    progress = keras.utils.Progbar(n_images, unit_name="image")
    clock = StepClock("feature extraction", -(-n_images // batch_size), first=2)
    start = time.perf_counter()
    batches = []
    for batch in pipeline:
        batches.append(np.asarray(backbone.predict_on_batch(batch), dtype=np.float32))
        progress.add(len(batches[-1]))
        clock.done(len(batches))
    features = np.concatenate(batches)
    seconds = time.perf_counter() - start
    print(f"Done in {seconds:.0f} s ({1000 * seconds / n_images:.1f} ms per image).")
    if cache_file is not None:
        with atomic_write(cache_file) as temporary:
            np.save(temporary, features)
    return features


def seconds_per_image(backbone: keras.Model, images: np.ndarray, *, n_images: int = 32) -> float:
    """How long ``backbone`` takes per image, measured on the first ``n_images`` of ``images`` (after one
    warm-up call): what :func:`extract_features` will take, before starting it."""
    check_int("n_images", n_images)
    sample = images[:n_images]
    pipeline = to_inception_input(sample, backbone.input_shape[1] or INCEPTION_MIN_SIZE, batch_size=len(sample))
    batch = next(iter(pipeline))
    backbone.predict_on_batch(batch)  # the first call also compiles
    start = time.perf_counter()
    backbone.predict_on_batch(batch)
    return (time.perf_counter() - start) / len(sample)


def _read_features(cache_file: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """The cached features, or None when the file is absent or unreadable (then they are computed again)."""
    if not cache_file.is_file():
        return None
    try:
        features = np.load(cache_file)
        if features.shape != shape or not np.all(np.isfinite(features)):
            raise ValueError(f"shape {features.shape} instead of {shape}, or values that are not finite")
    except Exception as error:  # a truncated or foreign file: computed again, and overwritten
        print(f"The cached features {cache_file.name} cannot be read ({str(error).splitlines()[0][:120]}); "
              "extracting them again.")
        return None
    return features


def build_head(features: np.ndarray, n_classes: int, *, dropout: float = 0.2) -> keras.Model:
    """A new classification head for a backbone's features, which learns whatever their scale.

    ``standardise`` (a Keras ``Normalization`` layer, adapted here on ``features``) subtracts each feature's
    mean on the training images and divides by its standard deviation, or by the typical one (the root of
    the mean variance over features) when that is larger, so a feature that barely varies on a few
    training images cannot blow up on new ones; then dropout and one dense layer (``logits``) with softmax. Without it, a head on the features of a random InceptionV3 (values around 1e-4) barely moves
    and predicts one class. The statistics are weights of the layer (not trained), so they are saved
    with the model and enter :func:`~utils.training.train_or_load`'s cache key.

    Args:
        features: the training features the head will learn from, (N, n_features).
        n_classes: the number of classes.
        dropout: the dropout rate before the dense layer, in [0, 1).

    Returns:
        The head: (N, n_features) features -> (N, n_classes) probabilities; ``n_features * n_classes
        + n_classes`` trainable weights. Train it on ``features``, or through ``train_or_load`` with
        ``functools.partial(build_head, features, n_classes)``.
    """
    _check_classes(n_classes)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
    features = np.asarray(features)
    if features.ndim != 2 or len(features) < 2 or not np.issubdtype(features.dtype, np.number):
        raise ValueError(f"features must be numbers of shape (N, n_features) with N >= 2, got shape "
                         f"{features.shape}, dtype {features.dtype}.")
    if not np.all(np.isfinite(features)):
        raise ValueError("features must be finite numbers, got NaN or infinite values.")
    inputs = keras.Input(shape=features.shape[1:], name="features")
    standardise = keras.layers.Normalization(name="standardise")
    standardise.adapt(features.astype(np.float32))
    variance = np.asarray(standardise.adapt_variance)  # never divide by less than a typical feature's spread:
    standardise.adapt_variance.assign(np.maximum(variance, variance.mean()))  # a feature (nearly) constant
    standardise.finalize_state()  # on few training images would blow up on new ones
    x = keras.layers.Dropout(dropout, name="dropout")(standardise(inputs))
    x = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(x), name="head")


def unfreeze_top_blocks(backbone: keras.Model, after_layer: str = INCEPTION_TOP_BLOCKS) -> int:
    """Make the layers of ``backbone`` after ``after_layer`` trainable (by default InceptionV3's
    top two Inception blocks, ``mixed9`` and ``mixed10``), keep the others frozen.

    Batch-normalisation layers stay frozen everywhere, so they keep normalising with their
    ImageNet statistics: in Keras 3 a frozen ``BatchNormalization`` layer runs in inference mode,
    also inside ``fit``. (Calling the backbone with ``training=False`` is not enough in Keras 3:
    ``fit`` calls the outer model with ``training=True``, which overrides it; keras-team/keras#20285.)

    Recompile the model afterwards (with a low learning rate) for the change to take effect.

    Returns:
        The number of layers made trainable.
    """
    names = [layer.name for layer in backbone.layers]
    if after_layer not in names:
        raise ValueError(f"after_layer must name a layer of the backbone (e.g. 'mixed8'), "
                         f"got {after_layer!r}.")
    cut = names.index(after_layer) + 1
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= cut and not isinstance(layer, keras.layers.BatchNormalization)
    return sum(layer.trainable for layer in backbone.layers)


def inception_classifier(backbone: keras.Model, head: keras.Model, input_shape: tuple[int, int, int]) -> keras.Model:
    """One model from course images to class probabilities: input stack, frozen backbone, head.

    The model takes what :func:`~utils.models.to_model_input` makes (float32 (H, W, C) in [0, 1], C = 1
    or 3), runs :func:`inception_input_model` (the stack feature extraction runs), then ``backbone`` and
    ``head`` (e.g. from :func:`build_head`), whose weights it shares. The backbone is frozen
    (``trainable = False``), so all its layers, batch normalisation included, run in inference mode, and
    the model's output on an image is the head's output on that image's extracted features: training the
    head on features trains this model. :func:`unfreeze_top_blocks` then unfreezes the top of the
    backbone for fine-tuning on course images. Saved as one ``.keras`` file, it needs nothing else to predict.
    """
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3):
        raise ValueError(f"input_shape must be (height, width, 1 or 3), got {input_shape!r}.")
    if not isinstance(backbone, keras.Model) or not isinstance(head, keras.Model):
        raise TypeError(f"backbone and head must be Keras models, got {type(backbone).__name__} and "
                        f"{type(head).__name__}.")
    if head.input_shape[1:] != backbone.output_shape[1:]:
        raise ValueError(f"head must take the backbone's features {backbone.output_shape[1:]}, "
                         f"got a head for {head.input_shape[1:]}.")
    backbone.trainable = False
    inputs = keras.Input(shape=input_shape, name="image")
    x = inception_input_model(backbone.input_shape[1], input_shape[-1])(inputs)
    return keras.Model(inputs, head(backbone(x, training=False)), name="inception_classifier")


@dataclass(frozen=True)
class FewShotResult:
    """Test accuracies of :func:`few_shot_transfer_experiment`, one row per repeat."""

    labels_per_class: np.ndarray  # (K,) labelled training images per target class
    pretrained: np.ndarray  # (repeats, K) frozen pre-trained base + new head
    scratch: np.ndarray  # (repeats, K) the same network trained from scratch
    source_classes: tuple[int, ...]
    target_classes: tuple[int, ...]
    source_accuracy: float  # the pre-trained network on test images of the source classes
    head_parameters: int  # trainable weights of the new head on the pre-trained base
    scratch_parameters: int  # trainable weights of the network from scratch

    def gain_interval(self, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The paired gain of pre-training (pre-trained minus scratch, on the same draw of labelled
        images) per number of labels: its mean over the draws and a Student-t confidence interval,
        as three arrays (K,) ``(mean, low, high)``. With one draw the interval is unknown (NaN)."""
        check_number("confidence", confidence, 0, 1, exclusive=True)
        gains = self.pretrained - self.scratch
        mean = gains.mean(axis=0)
        if len(gains) < 2:
            return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
        half = stats.t.ppf((1 + confidence) / 2, len(gains) - 1) * gains.std(axis=0, ddof=1) / np.sqrt(len(gains))
        return mean, mean - half, mean + half


def _fit_steps(model: keras.Model, x: np.ndarray, y: np.ndarray, *, steps: int, batch_size: int,
               learning_rate: float, seed: int) -> keras.Model:
    """Train ``model`` for exactly ``steps`` mini-batches drawn from (x, y), reshuffled each pass."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    batches = (tf.data.Dataset.from_tensor_slices((x, y))
               .shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size))
    model.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return model


def _accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    probabilities = np.concatenate([model(x[i:i + 512], training=False) for i in range(0, len(x), 512)])
    return float(np.mean(probabilities.argmax(axis=1) == y))


def few_shot_transfer_experiment(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    source_classes: tuple[int, ...] = (0, 1, 2, 3, 4),
    labels_per_class: tuple[int, ...] = (10, 50, 200),
    repeats: int = 10,
    pretrain_epochs: int = 10,
    steps: int = 100,
    min_epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = SEED,
) -> FewShotResult:
    """Transfer without ImageNet: does a CNN pre-trained on some classes help to learn others
    from a handful of labelled examples?

    1. Pre-train the course CNN (:func:`build_mnist_cnn`) on all training images of
       ``source_classes`` (cached, through :func:`train_or_load`).
    2. For the other classes (the targets) and each n in ``labels_per_class``, draw n labelled
       training images per target class and train two networks on them for ``steps`` mini-batches
       of ``batch_size`` (or more, to pass over the images at least ``min_epochs`` times):
       the pre-trained convolution blocks (up to ``flatten``), frozen, with a small new head
       (:func:`build_head`: standardised features -> dropout -> one dense layer; trained on the
       base's features of the labelled images, which is the same as training it on the images);
       and the course CNN from scratch (random weights, all trainable).
    3. Measure both on all test images of the target classes.

    The draws are nested (the 10 images per class are among the 50, ...) and differ between
    repeats; both networks see the same draw, so :meth:`FewShotResult.gain_interval` compares them
    in pairs. The seed fixes everything, so a call repeats its numbers.

    Args:
        x_train, y_train, x_test, y_test: images (N, 28, 28) and integer labels, e.g. a Dataset's.
        source_classes: the classes to pre-train on; all other classes are the targets.
        labels_per_class: the numbers of labelled images per target class to try.
        repeats: how many independent draws of the labelled images (at least 2 for an interval).
        pretrain_epochs: the most epochs of pre-training (early stopping may stop it sooner).
    """
    x_train, y_train, x_test, y_test = map(np.asarray, (x_train, y_train, x_test, y_test))
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError("x_train/y_train and x_test/y_test must have matching lengths, got "
                         f"{len(x_train)}/{len(y_train)} and {len(x_test)}/{len(y_test)}.")
    classes = np.unique(y_train)
    source = tuple(int(c) for c in source_classes)
    target = tuple(int(c) for c in classes if c not in source)
    if len(source) < 2 or not set(source) < set(classes.tolist()) or len(target) < 2:
        raise ValueError(f"source_classes must name at least 2 of the classes {classes.tolist()} and "
                         f"leave at least 2 others, got {source_classes!r}.")
    counts = np.array([np.sum(y_train == c) for c in target])
    sizes = np.asarray(labels_per_class)
    if sizes.ndim != 1 or len(sizes) == 0 or sizes.min() < 1 or sizes.max() > counts.min():
        raise ValueError(f"labels_per_class must hold numbers from 1 to {counts.min()} (the images of the "
                         f"rarest target class), got {labels_per_class!r}.")
    check_int("repeats", repeats)

    def relabel(labels: np.ndarray, kept: tuple[int, ...]) -> np.ndarray:
        return np.searchsorted(np.array(kept), labels)

    in_source, in_source_test = np.isin(y_train, source), np.isin(y_test, source)
    build = functools.partial(build_mnist_cnn, n_classes=len(source), input_shape=(*x_train.shape[1:], 1))
    pretrained, _ = train_or_load(build, to_model_input(x_train[in_source]),
                                  relabel(y_train[in_source], source), epochs=pretrain_epochs,
                                  name="cnn_source_classes", seed=seed, verbose=0)
    source_accuracy = _accuracy(pretrained, to_model_input(x_test[in_source_test]),
                                relabel(y_test[in_source_test], source))
    base = keras.Model(pretrained.inputs, pretrained.get_layer("flatten").output, name="pretrained_base")
    base.trainable = False  # the two pre-trained convolution blocks, frozen

    in_target_test = np.isin(y_test, target)
    x_eval, y_eval = to_model_input(x_test[in_target_test]), relabel(y_test[in_target_test], target)
    features_eval = base.predict(x_eval, batch_size=512, verbose=0)
    scores = {"pretrained": np.zeros((repeats, len(sizes))), "scratch": np.zeros((repeats, len(sizes)))}
    parameters = {}
    for repeat in range(repeats):
        rng = np.random.default_rng(seed + repeat)
        order = {c: rng.permutation(np.flatnonzero(y_train == c)) for c in target}
        for j, n in enumerate(sizes):
            chosen = np.concatenate([order[c][:n] for c in target])
            x, y = to_model_input(x_train[chosen]), relabel(y_train[chosen], target)
            n_steps = max(steps, math.ceil(min_epochs * len(x) / batch_size))
            fit = functools.partial(_fit_steps, steps=n_steps, batch_size=batch_size,
                                    learning_rate=learning_rate, seed=seed + repeat)
            features = base.predict(x, batch_size=512, verbose=0)
            keras.utils.set_random_seed(seed + repeat)
            head = fit(build_head(features, len(target)), features, y)
            scores["pretrained"][repeat, j] = _accuracy(head, features_eval, y_eval)
            keras.utils.set_random_seed(seed + repeat)
            scratch = fit(build_mnist_cnn(n_classes=len(target), input_shape=x.shape[1:]), x, y)
            scores["scratch"][repeat, j] = _accuracy(scratch, x_eval, y_eval)
            parameters = {"head": parameter_counts(head)["trainable"], "scratch": parameter_counts(scratch)["trainable"]}
            print(f"repeat {repeat + 1}/{repeats}, {n:>4} labels per class: pre-trained base "
                  f"{scores['pretrained'][repeat, j]:.1%}, from scratch {scores['scratch'][repeat, j]:.1%}")
    return FewShotResult(sizes, scores["pretrained"], scores["scratch"], source, target, source_accuracy,
                         parameters["head"], parameters["scratch"])

