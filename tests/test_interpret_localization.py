"""Tests of utils.interpret.localization: heatmaps against lesion masks, hand-computed on 4 x 4 toy maps."""

import numpy as np
import pandas as pd
import pytest

from utils import interpret

# A 4 x 4 image whose lesion is the top-left 2 x 2 square: a quarter of the image.
LESION = np.zeros((4, 4), bool)
LESION[:2, :2] = True


def toy_maps() -> np.ndarray:
    """Four maps: a peak inside; two tied peaks, one in and one out; flat zero; denser inside."""
    maps = np.zeros((4, 4, 4))
    maps[0, 0, 0] = 1
    maps[1, 0, 0] = maps[1, 3, 3] = 1
    maps[3] = np.where(LESION, 0.5, 0.1)
    return maps


def test_the_pointing_game_splits_ties_evenly():
    np.testing.assert_allclose(interpret.pointing_game(toy_maps(), np.stack([LESION] * 4)), [1, 0.5, 0.25, 1])
    assert interpret.pointing_game(toy_maps()[0], LESION).shape == (1,)  # one map and mask: a batch of one


def test_the_energy_ratio_compares_with_the_lesion_share():
    # shares inside: 1, 1/2, flat (1/4), 2 / 3.2; divided by the lesion's share 1/4
    np.testing.assert_allclose(interpret.energy_ratio(toy_maps(), np.stack([LESION] * 4)), [4, 2, 1, 2.5])


def test_top_overlap_takes_the_expectation_over_ties_at_the_cut():
    masks = np.stack([LESION] * 4)
    # top 2 pixels (fraction 1/8). Map 0: its peak, and 1 of the 15 tied zeros (3 of them inside).
    # Map 2: 2 of 16 tied pixels, P(0, 1, 2 inside) = 66/120, 48/120, 6/120. Map 3: 2 of the 4 tied 0.5s.
    precision = interpret.top_overlap(toy_maps(), masks, fraction=1 / 8, score="precision")
    np.testing.assert_allclose(precision, [(1 + 3 / 15) / 2, 0.5, 0.25, 1])
    iou = interpret.top_overlap(toy_maps(), masks, fraction=1 / 8)
    flat_iou = 48 / 120 * 1 / 5 + 6 / 120 * 2 / 4
    np.testing.assert_allclose(iou, [0.8 * 1 / 5 + 0.2 * 2 / 4, 1 / 5, flat_iou, 2 / 4])


def test_chance_levels_are_what_random_maps_score():
    chance = interpret.chance_levels(LESION, fraction=1 / 8)
    np.testing.assert_allclose(chance.iloc[0], [0.25, 1, 0.25, 48 / 120 * 1 / 5 + 6 / 120 * 2 / 4])
    random_maps = np.random.default_rng(0).random((4000, 4, 4))
    masks = np.broadcast_to(LESION, random_maps.shape)
    observed = [interpret.pointing_game(random_maps, masks).mean(), interpret.energy_ratio(random_maps, masks).mean(),
                interpret.top_overlap(random_maps, masks, fraction=1 / 8, score="precision").mean(),
                interpret.top_overlap(random_maps, masks, fraction=1 / 8).mean()]
    np.testing.assert_allclose(observed, chance.iloc[0], atol=0.02)


def test_the_table_holds_scores_chance_and_labels_per_image():
    masks = np.stack([LESION] * 4)
    table = interpret.localization_table(toy_maps(), masks, fraction=1 / 8, method="toy",
                                         images=["well", "well", "wrong", "wrong"])
    assert list(table["image"]) == [0, 1, 2, 3] and set(table["method"]) == {"toy"}
    np.testing.assert_allclose(table["pointing_game"], [1, 0.5, 0.25, 1])
    np.testing.assert_allclose(table["pointing_game chance"], 0.25)
    np.testing.assert_allclose(table["energy_ratio chance"], 1)
    np.testing.assert_allclose(table["lesion share"], 0.25)


def test_normal_images_are_skipped_only_when_asked():
    masks = np.stack([LESION, np.zeros((4, 4), bool), LESION, np.zeros((4, 4), bool)])
    with pytest.raises(ValueError, match=r"masks \[1, 3\].*empty.*skip_empty"):
        interpret.localization_table(toy_maps(), masks)
    table = interpret.localization_table(toy_maps(), masks, skip_empty=True, group=["a", "b", "c", "d"])
    assert list(table["image"]) == [0, 2] and list(table["group"]) == ["a", "c"]
    np.testing.assert_allclose(table["pointing_game"], [1, 0.25])


def test_the_summary_gives_intervals_chance_and_a_verdict():
    hits = np.zeros((20, 4, 4))
    hits[:, 0, 0] = 1
    misses = np.zeros((20, 4, 4))
    misses[:, 3, 3] = 1
    flat = np.ones((20, 4, 4))
    masks = np.stack([LESION] * 20)
    table = pd.concat([interpret.localization_table(maps, masks, method=name)
                       for name, maps in (("hits", hits), ("misses", misses), ("flat", flat))])
    summary = interpret.summarize_localization(table, "method", n_bootstrap=200).set_index(["method", "measure"])
    assert summary.loc[("hits", "pointing_game"), ["images", "mean", "low", "high", "chance"]].tolist() == [20, 1, 1, 1, 0.25]
    assert summary.loc[("hits", "pointing_game"), "verdict"] == "above chance"
    assert summary.loc[("misses", "energy_ratio"), "verdict"] == "below chance"
    assert summary.loc[("flat", "top_iou"), "verdict"] == "not distinguishable from chance"
    mixed = interpret.localization_table(np.concatenate([hits[:10], misses[:10]]), masks, method="mixed")
    row = interpret.summarize_localization(mixed, n_bootstrap=500).set_index("measure").loc["pointing_game"]
    assert row["low"] < row["mean"] == 0.5 < row["high"]


@pytest.mark.parametrize("heatmaps, masks, message", [
    (np.zeros((2, 4, 4)), np.ones((3, 4, 4), bool), "one map per mask"),
    (np.zeros((2, 4, 5)), np.ones((2, 4, 4), bool), "masks' shape"),
    (np.full((1, 4, 4), np.nan), LESION[None], "NaN"),
    (-np.ones((1, 4, 4)), LESION[None], "non-negative"),
    (np.zeros((1, 4, 4)), np.full((1, 4, 4), 2), "0 and 1"),
    (np.zeros((4, 4)), np.zeros((4, 4), bool), "empty"),
    (np.zeros((1, 1, 4, 4)), np.ones((1, 1, 4, 4), bool), "shape \\(N, H, W\\)"),
])
def test_bad_inputs_get_clear_errors(heatmaps, masks, message):
    with pytest.raises(ValueError, match=message):
        interpret.localization_table(heatmaps, masks)


def test_bad_options_get_clear_errors():
    with pytest.raises(ValueError, match="fraction"):
        interpret.top_overlap(toy_maps(), np.stack([LESION] * 4), fraction=0)
    with pytest.raises(ValueError, match="score"):
        interpret.top_overlap(toy_maps(), np.stack([LESION] * 4), score="dice")
    with pytest.raises(ValueError, match="method"):
        interpret.summarize_localization(interpret.localization_table(toy_maps(), np.stack([LESION] * 4)))
    with pytest.raises(ValueError, match="labels|group"):
        interpret.localization_table(toy_maps(), np.stack([LESION] * 4), group=["a"])
