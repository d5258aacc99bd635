"""Tests of utils.plots.interpret: the cascade of the randomisation check and means with intervals,
and that plots and utils.interpret do not import each other."""

import matplotlib

matplotlib.use("Agg")

import ast  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from utils import plots  # noqa: E402

UTILS = Path(__file__).resolve().parent.parent / "utils"


def imported_modules(package: str) -> set[str]:
    """Every module that the files of ``utils/<package>`` import."""
    modules = set()
    for path in (UTILS / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
    return modules


def test_drawing_and_explaining_do_not_import_each_other():
    """Plots receive the methods' titles as arguments; interpret computes without drawing."""
    assert not {m for m in imported_modules("plots") if m.startswith("utils.interpret")}
    assert not {m for m in imported_modules("interpret") if m.startswith("utils.plots")}


def cascade_summary(methods=("saliency", "cam"), n_stages=3):
    index = pd.MultiIndex.from_product([methods, range(1, n_stages + 1)], names=["method", "stage"])
    values = np.linspace(0.9, 0.1, len(index))
    return pd.DataFrame({"rho_abs": values, "rho_abs_low": values - 0.1, "rho_abs_high": values + 0.1}, index=index)


def test_plot_cascade_shows_the_trained_map_then_each_stage():
    maps = {"saliency": np.zeros((4, 28, 28)), "CAM": np.ones((4, 28, 28))}
    fig = plots.plot_cascade(np.zeros((28, 28, 1)), maps, ["to logits", "to conv2", "to conv1"])
    titles = [ax.get_title() for ax in fig.axes[:5]]
    assert titles == ["image", "trained", "to logits", "to conv2", "to conv1"]
    assert len(fig.axes) == 2 * 5 + 1  # the grid and the colour bar
    with pytest.raises(ValueError, match="maps\\['CAM'\\]"):
        plots.plot_cascade(np.zeros((28, 28)), {"CAM": np.ones((3, 28, 28))}, ["a", "b", "c"])
    plt.close("all")


def test_plot_cascade_similarity_draws_a_line_and_band_per_method():
    fig = plots.plot_cascade_similarity(cascade_summary(), ["to logits", "to conv2", "to conv1"], measures=("rho_abs",),
                                        labels={"cam": "CAM"})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines[:2]] == ["saliency", "CAM"]
    assert len(ax.collections) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), cascade_summary().loc["saliency", "rho_abs"])
    with pytest.raises(ValueError, match="stage_names"):
        plots.plot_cascade_similarity(cascade_summary(), ["one"], measures=("rho_abs",))
    plt.close("all")


def test_plot_method_intervals_draws_one_error_bar_per_group_and_method():
    summary = cascade_summary().loc[(slice(None), 1), :].droplevel("stage")
    fig = plots.plot_method_intervals({"well": summary, "wrong": summary}, {"rho_abs": "randomisation"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["saliency", "cam"]
    assert len(ax.containers) == 2 and ax.get_title() == "randomisation"
    plt.close("all")
