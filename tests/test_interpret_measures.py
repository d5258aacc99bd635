"""Tests of utils.interpret.measures: deletion and insertion, randomisation, and the table of methods."""

import numpy as np
import pytest
from scipy import ndimage

from utils import interpret


def test_deletion_and_insertion_reward_the_right_region(models, image, region_mask):
    model = models["region"]
    blurred = ndimage.gaussian_filter(image, sigma=(3, 3, 0))  # the insertion curve's start
    probabilities = interpret.predict_scores(model, np.stack([image, blurred]), target="probability")
    class_index = int(np.argmax(probabilities[0] - probabilities[1]))  # evidence that blurring removes
    right = region_mask.astype(np.float32)
    good = interpret.deletion_insertion(model, image, class_index, right)
    bad = interpret.deletion_insertion(model, image, class_index, 1 - right)
    assert good.fractions[0] == 0 and good.fractions[-1] == 1
    assert good.deletion[0] == pytest.approx(good.insertion[-1])  # both: the intact image
    assert good.deletion_auc < bad.deletion_auc and good.insertion_auc > bad.insertion_auc


def test_randomization_changes_a_model_dependent_heatmap(models, image):
    model = models["gap_cnn"]
    randomized = interpret.randomized_copy(model, seed=0)
    assert not np.allclose(randomized.get_layer("logits").get_weights()[0], model.get_layer("logits").get_weights()[0])
    np.testing.assert_array_equal(randomized.get_layer("logits").get_weights()[1], model.get_layer("logits").get_weights()[1])
    heatmap = interpret.grad_cam_plus_plus(model, image, 0)
    assert interpret.rank_correlation(heatmap, heatmap) == pytest.approx(1.0)
    assert interpret.rank_correlation(heatmap, interpret.grad_cam_plus_plus(randomized, image, 0)) < 0.9
    assert interpret.rank_correlation(heatmap, np.zeros_like(heatmap)) == 0.0
    assert interpret.rank_correlation(np.zeros_like(heatmap), np.zeros_like(heatmap)) == 1.0


def test_evaluate_methods_gives_one_row_per_method_and_image(models, image):
    model = models["gap_cnn"]
    images = np.stack([image, image[::-1]])
    methods = {"saliency": interpret.saliency, "grad_cam": interpret.grad_cam}
    table = interpret.evaluate_methods(model, images, [1, 2], methods=methods)
    assert list(table["method"]) == ["saliency", "saliency", "grad_cam", "grad_cam"]
    assert (table["seconds"] > 0).all() and table[["deletion_auc", "insertion_auc"]].stack().between(0, 1).all()
    summary = interpret.summarize(table)
    assert list(summary.index) == ["saliency", "grad_cam"]
    assert {interpret.rank_of(summary, m, "insertion_auc") for m in methods} <= {1, 2}
    won, tied, lost = interpret.head_to_head(table, "saliency", "grad_cam", "deletion_auc")
    assert won + tied + lost == 2
    assert won == int((table["deletion_auc"][:2].values < table["deletion_auc"][2:].values).sum())
    verdict = interpret.judge_claim(table, "grad_cam")
    ranks = [interpret.rank_of(summary, "grad_cam", c) for c in ("deletion_auc", "insertion_auc")]
    expected = "supported" if ranks == [1, 1] else "partly supported" if 1 in ranks else "not supported"
    assert verdict.startswith(f"**{expected}**")


def test_deletion_insertion_needs_a_heatmap_of_the_image_size(models, image):
    with pytest.raises(ValueError, match="heatmap"):
        interpret.deletion_insertion(models["mnist_cnn"], image, 0, np.zeros((5, 5)))
