"""Training the course CNN and its cache (utils.training): train_or_load, the budget, course_cnn."""

import warnings

import keras
import numpy as np
import pytest

from utils import data, models, training
from utils.config import settings


def _tiny_model() -> keras.Model:
    inputs = keras.Input(shape=(6, 6, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(3, name="logits")(x)
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(x), name="tiny")


def _tiny_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.random((n, 6, 6, 1)).astype("float32") * 0.3
    x[np.arange(n), y, y, 0] += 0.7  # a class-specific bright pixel (at most 1: the image rule): learnable
    return x, y


def test_train_or_load_trains_once_then_loads(course_env, capsys):
    x, y = _tiny_data()
    model, history = training.train_or_load(_tiny_model, x, y, epochs=3, batch_size=16, verbose=0)
    assert "Training tiny" in capsys.readouterr().out
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"}
    assert len(history["loss"]) == len(history["epoch_seconds"]) == 3
    assert list((settings().cache_dir / "models").glob("tiny-*.weights.h5"))

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # learners see warnings: loading must not warn
        again, history_again = training.train_or_load(_tiny_model, x, y, epochs=3, batch_size=16, verbose=0)
    assert "Loaded the trained tiny" in capsys.readouterr().out
    assert history_again == history
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_train_or_load_retrains_when_epochs_or_data_change(course_env, capsys):
    x, y = _tiny_data()
    training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0)
    capsys.readouterr()
    training.train_or_load(_tiny_model, x, y, epochs=3, batch_size=16, verbose=0)
    assert "Training" in capsys.readouterr().out
    x_other, y_other = _tiny_data(seed=1)
    training.train_or_load(_tiny_model, x_other, y_other, epochs=3, batch_size=16, verbose=0)
    assert "Training" in capsys.readouterr().out


def test_train_or_load_keys_the_initial_weights(course_env, capsys):
    """A pre-trained and a random backbone of one architecture must not share a cache entry."""
    x, y = _tiny_data()
    training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0)
    capsys.readouterr()

    def pretrained():  # the same architecture, other starting weights (as if loaded from a file)
        model = _tiny_model()
        model.set_weights([w + 0.5 for w in model.get_weights()])
        return model

    training.train_or_load(pretrained, x, y, epochs=2, batch_size=16, verbose=0)
    assert "Training" in capsys.readouterr().out
    training.train_or_load(pretrained, x, y, epochs=2, batch_size=16, verbose=0)
    assert "from the cache" in capsys.readouterr().out
    assert len(list(settings().cache_dir.glob("models/tiny-*.weights.h5"))) == 2


def test_train_or_load_with_a_validation_set_and_class_weights(course_env, capsys):
    x, y = _tiny_data()
    x_val, y_val = _tiny_data(n=12, seed=1)
    _, history = training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0,
                                      validation_data=(x_val, y_val))
    assert len(history["val_loss"]) == 2 and "validated on 12 separate images" in capsys.readouterr().out
    training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x_val, y_val),
                         class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    assert "Training" in capsys.readouterr().out  # other class weights: another cache entry
    training.train_or_load(_tiny_model, x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x_val, y_val))
    assert "Loaded" in capsys.readouterr().out
    with pytest.raises(ValueError, match="y_val must .* one label per image"):
        training.train_or_load(_tiny_model, x, y, epochs=1, validation_data=(x_val, y_val[:-1]))
    with pytest.raises(TypeError, match="class_weight"):
        training.train_or_load(_tiny_model, x, y, epochs=1, class_weight=[1.0, 2.0, 1.0])


def test_train_or_load_rejects_bad_input(course_env):
    x, y = _tiny_data()
    with pytest.raises(ValueError, match="epochs"):
        training.train_or_load(_tiny_model, x, y, epochs=0)
    with pytest.raises(ValueError, match="y_train must .* one label per image"):
        training.train_or_load(_tiny_model, x, y[:-1], epochs=1)
    with pytest.raises(TypeError, match="build_fn"):
        training.train_or_load(_tiny_model(), x, y, epochs=1)


def _fake_dataset(n_train=40, n_test=10):
    rng = np.random.default_rng(0)
    return data.Dataset(
        "mnist", rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), np.arange(n_train) % 10,
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), np.arange(n_test) % 10,
        data.DATASETS["mnist"].class_names, "fake",
    )


def test_reduce_lr_patience_halves_the_learning_rate_and_keys_the_cache(course_env, capsys):
    x, y = _tiny_data()
    x_val, y_val = x[:12], (y[:12] + 1) % 3  # wrong labels: the better the fit, the worse the validation loss
    options = dict(epochs=4, batch_size=16, verbose=0, patience=4, learning_rate=0.05, validation_data=(x_val, y_val))
    _, history = training.train_or_load(_tiny_model, x, y, reduce_lr_patience=1, **options)
    assert history["val_loss"][-1] > history["val_loss"][0]  # never better than after epoch 1
    assert history["learning_rate"] == pytest.approx([0.05, 0.05, 0.025, 0.0125])  # the rate each epoch used
    capsys.readouterr()
    training.train_or_load(_tiny_model, x, y, **options)
    assert "Training" in capsys.readouterr().out  # without the schedule: another cache entry
    with pytest.raises(ValueError, match="reduce_lr_patience"):
        training.train_or_load(_tiny_model, x, y, epochs=1, reduce_lr_patience=0)


def test_budget_differs_by_mode(course_env):
    full = training.cnn_budget()
    course_env.setenv("COURSE_FAST", "1")
    fast = training.cnn_budget()
    assert fast.epochs < full.epochs and full.n_train is None and fast.n_train is not None


def test_course_cnn_shares_the_cache_of_notebook_03(course_env, capsys):
    course_env.setenv("COURSE_FAST", "1")
    dataset = _fake_dataset()
    model = training.course_cnn(dataset)
    assert "Training mnist_cnn" in capsys.readouterr().out
    assert model.get_layer("features").output.shape == (None, 128)
    # notebook 03 trains with the same call, so it finds course_cnn's model (and vice versa)
    budget = training.cnn_budget()
    x_train, y_train = training.cnn_training_set(dataset)
    training.train_or_load(models.build_mnist_cnn, x_train, y_train, epochs=budget.epochs,
                           batch_size=budget.batch_size, patience=budget.patience,
                           reduce_lr_patience=budget.reduce_lr_patience)
    assert "Loaded the trained mnist_cnn" in capsys.readouterr().out


def test_course_cnn_gap_variant_and_bad_variant(course_env, capsys):
    course_env.setenv("COURSE_FAST", "1")
    model = training.course_cnn(_fake_dataset(), "gap")
    assert model.get_layer("last_conv").output.shape == (None, 7, 7, 64)
    with pytest.raises(ValueError, match="variant"):
        training.course_cnn(_fake_dataset(), "resnet")
    with pytest.raises(TypeError, match="Dataset"):
        training.cnn_training_set(np.zeros((3, 28, 28)))


def test_cnn_training_set_caps_the_training_images_in_fast_mode(course_env):
    course_env.setenv("COURSE_FAST", "1")
    n_train = training.cnn_budget().n_train
    x, y = training.cnn_training_set(_fake_dataset(n_train=n_train + 50))
    assert x.shape == (n_train, 28, 28, 1) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [n_train // 10] * 10


def test_the_cache_key_ignores_keras_numbering_of_nested_layers():
    def shift():
        return keras.Sequential([keras.layers.RandomTranslation(0.1, 0.1)], name="augmentation")

    first, second = (models.build_mnist_cnn(n_classes=2, augmentation=shift) for _ in range(2))
    assert first.layers[1].layers[0].name != second.layers[1].layers[0].name  # random_translation, _1, ...
    assert training._architecture(first) == training._architecture(second)
    assert training._architecture(first) != training._architecture(models.build_mnist_cnn(n_classes=2))
