"""The course build executes notebooks, and its report shows what they computed."""

import json
import sys

import nbformat
import pytest

from utils.config import COURSE_ROOT
from utils.report import show_metrics

sys.path.insert(0, str(COURSE_ROOT / "tools"))
import build_course  # noqa: E402


def _notebook(path, *sources):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(notebook, path)


@pytest.fixture
def small_course(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    setup = f"import sys; sys.path.insert(0, {str(COURSE_ROOT)!r})"
    _notebook(
        notebooks / "01_demo.ipynb", setup,
        "import os\nprint('Demo: 10 train / 5 test images; source: a test, fast =', os.environ['COURSE_FAST'])",
        "from utils.report import show_metrics\n"
        "show_metrics('kNN on pixels, test set', {'accuracy': 0.75, 'fit time (s)': 1.5})",
    )
    _notebook(notebooks / "02_broken.ipynb", setup, "1 / 0")
    return notebooks


def test_build_run_on_fast_mode_outputs(small_course, tmp_path):
    run = build_course.Run(fast=True, dataset="mnist")
    results = build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course)

    demo, broken = results["notebooks"]
    assert demo["error"] is None and demo["seconds"] > 0
    assert demo["metrics"] == [{"title": "kNN on pixels, test set", "metrics": {"accuracy": 0.75, "fit time (s)": 1.5}}]
    assert demo["data_sources"] == ["Demo: 10 train / 5 test images; source: a test, fast = 1"]
    assert "ZeroDivisionError" in broken["error"]
    assert (tmp_path / "build" / "fast" / "01_demo.html").read_text().count("kNN on pixels") >= 1
    assert json.loads((tmp_path / "build" / "fast" / "results.json").read_text()) == results

    report = build_course.render_report(build_course.load_results(tmp_path / "build"))
    assert "## Run `fast`: fast mode, COURSE_DATASET=mnist" in report
    assert "| accuracy | 0.75 |" in report
    assert "| 02_broken.ipynb | failed: ZeroDivisionError" in report


def test_full_runs_differ_only_in_settings():
    assert build_course.RUNS["full-fashion_mnist"].environment()["COURSE_FAST"] == "0"
    assert build_course.RUNS["fast"].environment()["COURSE_FAST"] == "1"
    assert all(p.name[:2] != "06" for p in build_course.RUNS["full-mnist"].notebooks())


@pytest.mark.parametrize(
    "title, metrics, message",
    [("", {"a": 1}, "title"), ("t", {}, "metrics must be"), ("t", {"a": float("nan")}, r"metrics\['a'\]"),
     ("t", {"a": [1, 2]}, r"metrics\['a'\]")],
)
def test_show_metrics_rejects_bad_input(title, metrics, message):
    with pytest.raises(ValueError, match=message):
        show_metrics(title, metrics)
