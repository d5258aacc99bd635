"""Tests of utils.descent: the one-neuron classifier, its gradient descent and the learning-rate sentence."""

import numpy as np
import pytest
import tensorflow as tf

from utils import descent


def _images_of_three_classes():
    """Class 0 bright on the left, classes 1 and 2 bright on the right (1 and 2 alike), with noise."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 40)
    images = rng.random((120, 6, 6)) * 0.3
    images[labels == 0, :, :3] += 0.6
    images[labels == 1, :, 3:] += 0.6
    images[labels == 2, :, 3:] += 0.5
    images[labels == 2, :3] += 0.1
    return images.astype(np.float32), labels


def test_pair_feature_takes_the_two_classes_with_the_closest_means_and_standardises():
    images, labels = _images_of_three_classes()
    z, t, classes = descent.pair_feature(images, labels)
    assert classes == (1, 2)
    assert len(z) == len(t) == 80
    assert abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-4
    assert z[t == 1].mean() > z[t == 0].mean()  # larger for the second class
    z, t, classes = descent.pair_feature(images, labels, classes=(2, 0))
    assert classes == (2, 0) and t.sum() == 40 and z[t == 1].mean() > z[t == 0].mean()
    with pytest.raises(ValueError, match="classes must be two different classes"):
        descent.pair_feature(images, labels, classes=(0, 7))
    with pytest.raises(ValueError, match="at least two classes"):
        descent.pair_feature(images[:40], labels[:40])


def test_neuron_loss_is_the_binary_cross_entropy_for_one_pair_or_many():
    z = np.array([-2.0, 0.0, 1.0, 3.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0], dtype=np.float32)
    w, b = 1.5, -0.5
    p = 1 / (1 + np.exp(-(w * z + b)))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert float(descent.neuron_loss([w, b], z, t)) == pytest.approx(expected, rel=1e-5)
    many = descent.neuron_loss(np.array([[w, b], [0.0, 0.0]]), z, t).numpy()
    assert many.shape == (2,)
    assert many[0] == pytest.approx(expected, rel=1e-5) and many[1] == pytest.approx(np.log(2), rel=1e-5)


def test_gradient_descent_steps_against_the_hand_computed_gradient_and_lowers_the_loss():
    images, labels = _images_of_three_classes()
    z, t, _ = descent.pair_feature(images, labels)
    path = descent.gradient_descent(z, t, start=(-1.0, 1.0), learning_rate=0.5, steps=15)
    assert path.weights.shape == (16, 2) and path.losses.shape == (16,)
    w, b = path.weights[0]
    p = 1 / (1 + np.exp(-(w * z + b)))
    by_hand = np.array([np.mean((p - t) * z), np.mean(p - t)])  # the chain rule, worked out
    np.testing.assert_allclose(path.weights[1], path.weights[0] - 0.5 * by_hand, rtol=1e-4, atol=1e-6)
    assert np.all(np.diff(path.losses) < 0)  # a small rate on a convex loss: every step goes down
    assert path.losses[-1] == pytest.approx(float(descent.neuron_loss(path.weights[-1], z, t)), rel=1e-6)
    with pytest.raises(ValueError, match="learning_rate"):
        descent.gradient_descent(z, t, learning_rate=0)
    with pytest.raises(ValueError, match="z and t"):
        descent.gradient_descent(z, t[:-1])
    with pytest.raises(ValueError, match="targets 0.0 or 1.0"):
        descent.gradient_descent(z, t * 2)


def test_loss_surface_holds_the_loss_at_each_grid_point():
    z = np.array([-1.0, 0.5, 2.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0], dtype=np.float32)
    w_values, b_values = np.linspace(-2, 2, 5), np.linspace(-1, 1, 3)
    surface = descent.loss_surface(z, t, w_values, b_values)
    assert surface.shape == (3, 5)
    assert surface[2, 4] == pytest.approx(float(descent.neuron_loss(tf.constant([2.0, 1.0]), z, t)), rel=1e-6)
    with pytest.raises(ValueError, match="w_values and b_values"):
        descent.loss_surface(z, t, [1.0], b_values)


def _history(val_loss):
    return {"loss": list(val_loss), "val_loss": list(val_loss)}


def test_describe_learning_rates_names_the_best_the_slow_and_the_failed_rate():
    histories = {1e-4: _history([1.9, 1.5, 1.2]), 1e-3: _history([0.6, 0.4, 0.3]),
                 3e-2: _history([2.31, 2.30, 2.30])}
    text = descent.describe_learning_rates(histories, n_classes=10)
    assert text.startswith("Learning rate 0.001 ends with the lowest validation loss (0.300).")
    assert "smaller rate 0.0001 ends at 1.200, still falling" in text
    assert "larger rate 0.03 did not learn" in text


def test_describe_learning_rates_can_find_a_larger_rate_best_and_a_small_one_stuck():
    histories = {1e-4: _history([2.3, 2.25, 2.2]), 1e-3: _history([0.6, 0.5, 0.45]),
                 1e-2: _history([0.5, 0.35, 0.4])}
    text = descent.describe_learning_rates(histories, n_classes=10)
    assert text.startswith("Learning rate 0.01 ends with the lowest")
    assert "smaller rate 0.0001 ends at 2.200, still near 2.30" in text
    assert "smaller rate 0.001 ends at 0.450, still falling" in text
    assert "did not learn" not in text
    stuck = {1e-4: _history([2.3, 2.3]), 1.0: _history([2.31, 2.31])}
    assert descent.describe_learning_rates(stuck, n_classes=10).startswith("No learning rate learned")
    with pytest.raises(ValueError, match="val_loss"):
        descent.describe_learning_rates({1e-3: {"loss": [1.0]}}, n_classes=10)
