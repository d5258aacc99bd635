"""Tests of utils.interpret.measures: deletion and insertion, the randomisation cascade, the table of
methods and the verdicts read from it."""

import keras
import numpy as np
import pandas as pd
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


def test_the_reference_is_what_deletion_ends_at_and_insertion_starts_from(models, image):
    model = models["gap_cnn"]
    heatmap = np.random.default_rng(0).random((28, 28))
    references = {"black": np.zeros_like(image), "mean": np.full_like(image, image.mean()),
                  "blurred": ndimage.gaussian_filter(image, sigma=(3, 3, 0))}
    for reference, canvas in references.items():
        curves = interpret.deletion_insertion(model, image, 2, heatmap, reference=reference)
        p_canvas, p_image = interpret.predict_scores(model, np.stack([canvas, image]), target="probability")[:, 2]
        assert curves.deletion[-1] == pytest.approx(p_canvas, abs=1e-5), reference
        assert curves.insertion[0] == pytest.approx(p_canvas, abs=1e-5), reference
        assert curves.deletion[0] == pytest.approx(p_image, abs=1e-5), reference
    with pytest.raises(ValueError, match="reference must be one of"):
        interpret.deletion_insertion(model, image, 2, heatmap, reference="white")


def test_pixel_order_puts_negative_evidence_last_and_breaks_ties_by_position():
    heatmap = np.array([[0.0, 0.5, 0.0], [-1.0, 0.5, 0.0]])
    np.testing.assert_array_equal(interpret.pixel_order(heatmap), [1, 4, 0, 2, 5, 3])


def test_a_heatmap_with_nan_is_an_error_not_an_auc(models, image):
    heatmap = np.zeros((28, 28))
    heatmap[3, 4] = np.nan
    with pytest.raises(ValueError, match="heatmap has 1 NaN"):
        interpret.deletion_insertion(models["gap_cnn"], image, 0, heatmap)
    with pytest.raises(ValueError, match="randomised has 1 NaN"):
        interpret.map_similarity(np.ones((28, 28)), heatmap)


def test_deletion_insertion_needs_a_heatmap_of_the_image_size(models, image):
    with pytest.raises(ValueError, match="heatmap"):
        interpret.deletion_insertion(models["mnist_cnn"], image, 0, np.zeros((5, 5)))


def test_deterministic_methods_get_the_same_aucs_whatever_the_seed(models, image):
    model = models["gap_cnn"]
    images = np.stack([image, image[::-1], image[:, ::-1]])
    names = ("integrated_gradients", "occlusion", "grad_cam", "lime")
    methods = {name: interpret.ATTRIBUTION_METHODS[name] for name in names}  # records: lime takes a seed
    tables = [interpret.evaluate_methods(model, images, [1, 2, 3], methods=methods, seeds=seeds, progress=False)
              for seeds in ((0,), (7, 8))]
    columns = ["deletion_auc", "insertion_auc"]
    for name in ("integrated_gradients", "occlusion", "grad_cam"):
        first, second = (t[t["method"] == name] for t in tables)
        assert first["seed"].isna().all() and len(first) == len(second) == 3
        np.testing.assert_array_equal(first[columns].to_numpy(), second[columns].to_numpy())
    lime = tables[1][tables[1]["method"] == "lime"]
    assert sorted(lime["seed"].unique()) == [7, 8] and len(lime) == 6  # a random method: once per seed


def test_a_plain_function_is_deterministic_and_a_record_says_whether_it_takes_a_seed(models, image):
    model = models["gap_cnn"]
    methods = {"plain lime": interpret.lime, "seeded lime": interpret.Method(interpret.lime, "LIME", takes_seed=True)}
    table = interpret.evaluate_methods(model, image[None], [1], methods=methods, options={"plain lime": {"n_samples": 50},
                                       "seeded lime": {"n_samples": 50}}, seeds=(3, 4), progress=False)
    assert table.groupby("method")["seed"].apply(list).to_dict() == {"plain lime": [pd.NA], "seeded lime": [3, 4]}


def test_evaluate_methods_finds_methods_with_the_same_map_by_their_maps(models, image):
    model = models["gap_cnn"]  # a GAP model: Grad-CAM computes CAM's map (to float32 rounding)
    images = np.stack([image, image[::-1]])
    names = ("cam", "saliency", "grad_cam", "grad_cam_plus_plus")
    table = interpret.evaluate_methods(model, images, [1, 2], methods={n: interpret.ATTRIBUTION_METHODS[n] for n in names},
                                       references=("black", "blurred"), progress=False)
    assert len(table) == 4 * 2 * 2 and set(table["reference"]) == {"black", "blurred"}
    twins = table.groupby("method", sort=False)["same_map_as"].agg(lambda s: set(s.dropna()))
    assert twins.to_dict() == {"cam": set(), "saliency": set(), "grad_cam": {"cam"}, "grad_cam_plus_plus": set()}
    assert interpret.same_map_groups(table) == {"cam": ["grad_cam"]}
    with pytest.raises(ValueError, match="references must be taken from"):
        interpret.evaluate_methods(model, images, [1, 2], methods={"cam": interpret.cam}, references=("white",))


def test_evaluate_methods_ranks_the_signed_map(models, image):
    model = models["gap_cnn"]
    signed = interpret.integrated_gradients(model, image, 1, signed=True)
    assert signed.min() < 0  # there is evidence against the class to rank last
    table = interpret.evaluate_methods(model, image[None], [1], methods={"ig": interpret.integrated_gradients},
                                       progress=False)
    curves = interpret.deletion_insertion(model, image, 1, signed)
    assert table["deletion_auc"][0] == curves.deletion_auc and table["insertion_auc"][0] == curves.insertion_auc


def test_blurred_keeps_class_says_whether_the_canvas_still_shows_the_class(models, image):
    model = models["mnist_cnn"]
    images = np.stack([image, image[::-1]])
    blurred = ndimage.gaussian_filter(images, sigma=(0, 3, 3, 0))
    top = interpret.predict_scores(model, blurred).argmax(axis=1)
    np.testing.assert_array_equal(interpret.blurred_keeps_class(model, images, top), [True, True])
    np.testing.assert_array_equal(interpret.blurred_keeps_class(model, images, (top + 1) % 10), [False, False])


def test_randomized_copy_reinitialises_from_the_top(models, image):
    model = models["gap_cnn"]
    top = interpret.randomized_copy(model, seed=0, n_layers=1)
    kernel, bias = top.get_layer("logits").get_weights()
    assert not np.allclose(kernel, model.get_layer("logits").get_weights()[0]) and not bias.any()
    np.testing.assert_array_equal(top.get_layer("last_conv").get_weights()[0],
                                  model.get_layer("last_conv").get_weights()[0])
    everything = interpret.randomized_copy(model, seed=0)
    assert not np.allclose(everything.get_layer("conv1").get_weights()[0], model.get_layer("conv1").get_weights()[0])
    heatmap = interpret.grad_cam_plus_plus(model, image, 0)
    assert interpret.rank_correlation(heatmap, heatmap) == pytest.approx(1.0)
    assert interpret.rank_correlation(heatmap, interpret.grad_cam_plus_plus(everything, image, 0)) < 0.9


def test_a_constant_map_is_undefined_not_a_pass():
    varied = np.random.default_rng(0).random((28, 28))
    assert np.isnan(interpret.rank_correlation(varied, np.zeros((28, 28))))
    assert np.isnan(interpret.rank_correlation(np.zeros((28, 28)), np.zeros((28, 28))))
    assert all(np.isnan(v) for v in interpret.map_similarity(varied, np.zeros((28, 28))).values())
    same = interpret.map_similarity(varied - 0.5, varied - 0.5)
    assert same == pytest.approx({"rho_signed": 1.0, "rho_abs": 1.0, "ssim": 1.0})


def test_the_cascade_catches_a_map_that_ignores_the_model(models, image):
    """A "method" that returns the image passes every stage unchanged (similarity 1: the check
    fails it); a real gradient method on the GAP CNN moves away from the trained map."""
    model = models["gap_cnn"]
    images = np.stack([image, image[::-1]])
    weights_before = model.get_weights()

    def edges(model, image, class_index, *, signed=False):
        return interpret.to_heatmap(ndimage.sobel(image[..., 0]), signed=signed)

    methods = {"edges": edges, "ig": interpret.integrated_gradients}
    table, pictures = interpret.randomization_cascade(model, images, [1, 2], methods=methods, seeds=(0, 1), progress=False)
    assert list(table.columns) == ["method", "image", "seed", "stage", "layer",
                                   "rho_signed", "rho_abs", "ssim", "undefined"]
    assert len(table) == 2 * 2 * 2 * 4  # methods x images x seeds x stages (logits, last_conv, conv2, conv1)
    assert list(table["layer"][:8:2]) == ["logits", "last_conv", "conv2", "conv1"]
    edge_rows = table[table["method"] == "edges"]
    np.testing.assert_allclose(edge_rows[["rho_signed", "rho_abs", "ssim"]].to_numpy(), 1.0, rtol=1e-6)
    ig = table[(table["method"] == "ig") & (table["stage"] == 4)]
    assert ig["rho_abs"].mean() < 0.8
    assert pictures["ig"].shape == (5, 28, 28)
    for before, after in zip(weights_before, model.get_weights()):  # the cascade works on a copy
        np.testing.assert_array_equal(before, after)


def test_the_cascade_of_a_model_whose_score_ignores_the_image_is_undefined(image):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", name="last_conv")(keras.layers.Lambda(lambda t: 0 * t)(inputs))
    logits = keras.layers.Dense(3, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    table, _ = interpret.randomization_cascade(model, image[None], [0], methods={"ig": interpret.integrated_gradients},
                                               seeds=(0,), progress=False)
    assert table["undefined"].all() and table["rho_abs"].isna().all()


def fake_table(rng, means, n_images=30, seeds=(None,)):
    rows = []
    for method, mean in means.items():
        noise = rng.normal(0, 0.05, n_images)  # image-to-image variation
        for seed in seeds:
            rows += [{"method": method, "image": i, "seed": seed, "deletion_auc": mean + noise[i] + rng.normal(0, 0.01),
                      "insertion_auc": 1 - mean - noise[i] + rng.normal(0, 0.01), "seconds": 0.001} for i in range(n_images)]
    table = pd.DataFrame(rows)
    table["seed"] = table["seed"].astype("Int64")
    return table


def test_summarize_gives_means_with_intervals():
    table = fake_table(np.random.default_rng(0), {"a": 0.2, "b": 0.4}, seeds=(0, 1, 2))
    summary = interpret.summarize(table)
    assert list(summary.index) == ["a", "b"]
    for column in ("deletion_auc", "insertion_auc", "ms_per_image"):
        assert (summary[f"{column}_low"] <= summary[column]).all() and (summary[column] <= summary[f"{column}_high"]).all()
    assert summary.loc["a", "deletion_auc"] == pytest.approx(table[table["method"] == "a"]["deletion_auc"].mean())
    assert interpret.rank_of(summary, "a", "deletion_auc") == 1 and interpret.rank_of(summary, "a", "insertion_auc") == 1
    assert "(" in interpret.format_intervals(summary).loc["a", "deletion_auc"]
    variation = interpret.seed_variation(table, "deletion_auc")
    assert set(variation.index) == {"a", "b"} and (variation > 0).all()


def test_a_table_of_several_references_is_summarised_per_reference_never_pooled():
    rng = np.random.default_rng(0)
    table = pd.concat([fake_table(rng, {"a": 0.2, "b": 0.4}).assign(reference=r) for r in ("black", "blurred")])
    with pytest.raises(ValueError, match="references \\['black', 'blurred'\\]"):
        interpret.summarize(table)
    with pytest.raises(ValueError, match="one reference"):
        interpret.judge_claim(table, "a")
    assert list(interpret.summarize(table, by=["reference", "method"]).index) == [
        ("black", "a"), ("black", "b"), ("blurred", "a"), ("blurred", "b")]
    assert "with the black reference" in interpret.judge_claim(table[table["reference"] == "black"], "a")


def with_twin(table, method, twin):
    """``table`` with a copy of ``method``'s rows named ``twin``: the same map, marked as such."""
    table = table.assign(same_map_as=None)
    copy = table[table["method"] == method].assign(method=twin, same_map_as=method)
    return pd.concat([table, copy], ignore_index=True)


def test_a_method_with_an_identical_twin_can_still_win_its_claim():
    rng = np.random.default_rng(0)
    table = with_twin(fake_table(rng, {"occlusion": 0.35, "cam": 0.2, "lime": 0.4}), "cam", "grad_cam")
    for claimed in ("cam", "grad_cam"):
        verdict = interpret.judge_claim(table, claimed)
        assert verdict.startswith("**supported**"), verdict
        assert "cam and grad_cam give the same map" in verdict and "corrected for 2 comparisons" in verdict
    unmarked = table.drop(columns="same_map_as")  # without the maps' identity, the twin is a rival it cannot beat
    assert interpret.judge_claim(unmarked, "cam").startswith("**not distinguishable on this data**")


def test_a_close_rival_with_another_map_still_counts():
    rng = np.random.default_rng(0)
    table = fake_table(rng, {"occlusion": 0.35, "cam": 0.2, "lime": 0.4}).assign(same_map_as=None)
    close = table[table["method"] == "cam"].assign(method="grad_cam")
    close["deletion_auc"] += rng.normal(0, 0.01, len(close))
    close["insertion_auc"] += rng.normal(0, 0.01, len(close))
    table = pd.concat([table, close], ignore_index=True)
    assert interpret.same_map_groups(table) == {}
    verdict = interpret.judge_claim(table, "cam")
    assert not verdict.startswith("**supported**") and "corrected for 3 comparisons" in verdict


def test_a_tie_names_the_method_it_is_not_separated_from():
    table = fake_table(np.random.default_rng(0), {"a": 0.2, "b": 0.3})  # a is clearly better than b
    noisy = table[table["method"] == "a"].assign(method="c")  # c: worse than a and b on average ...
    noisy["deletion_auc"] += 0.15 + 0.6 * np.resize([1, -1], len(noisy))  # ... but far from a image by image
    table = pd.concat([table, noisy], ignore_index=True)
    line = interpret.judge_claim(table, "a", columns=("deletion_auc",)).splitlines()[1]
    assert "rank 1 of 3" in line and "not separated from, c" in line and "includes 0" in line


def test_verdicts_name_a_winner_only_when_the_interval_separates():
    rng = np.random.default_rng(0)
    clear = fake_table(rng, {"occlusion": 0.2, "cam": 0.3, "lime": 0.35})
    assert interpret.compare(clear, "occlusion", "cam", "deletion_auc").method_better
    assert interpret.judge_claim(clear, "occlusion").startswith("**supported**")
    assert interpret.judge_claim(clear, "cam").startswith("**not supported**")
    close = fake_table(rng, {"occlusion": 0.3, "cam": 0.3001, "lime": 0.5})
    difference = interpret.compare(close, "occlusion", "cam", "insertion_auc")
    assert difference.low < 0 < difference.high and not difference.separated
    assert interpret.judge_claim(close, "occlusion").startswith("**not distinguishable on this data**")
    with pytest.raises(ValueError, match="method 'grad_cam'"):
        interpret.judge_claim(clear, "grad_cam")
