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
def small_course(tmp_path, monkeypatch):
    monkeypatch.setattr(build_course, "COURSE_NOTEBOOKS", ("01_demo.ipynb", "02_broken.ipynb", "03_folder.ipynb"))
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    setup = f"import sys; sys.path.insert(0, {str(COURSE_ROOT)!r})"
    _notebook(
        notebooks / "01_demo.ipynb", setup,
        "import os\nprint('Demo: 10 train / 5 test images; source: a test, fast =', os.environ['COURSE_FAST'])",
        "print('!!!!\\n!!  NOTICE: random weights; weights source: none.\\n!!  Why: a test.')",
        "from utils.report import show_metrics\n"
        "show_metrics('kNN on pixels, test set', {'test accuracy': 0.75, 'fit time (s)': 1.5})",
    )
    _notebook(notebooks / "02_broken.ipynb", setup, "1 / 0")
    _notebook(notebooks / "07_my_cells.ipynb", "print('a copy of a learner: not part of the course')")
    return notebooks


def test_build_run_on_fast_mode_outputs(small_course, tmp_path):
    run = build_course.Run(fast=True, dataset="mnist", target_minutes=15)
    results = build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course,
                                     fresh_cache=True)

    demo, broken = results["notebooks"]
    assert demo["error"] is None and demo["seconds"] > 0
    assert demo["metrics"] == [{"title": "kNN on pixels, test set", "metrics": {"test accuracy": 0.75, "fit time (s)": 1.5}}]
    assert list(demo["metrics"][0]["metrics"]) == ["test accuracy", "fit time (s)"]  # the notebook's order
    assert demo["data_sources"] == ["Demo: 10 train / 5 test images; source: a test, fast = 1",
                                    "NOTICE: random weights; weights source: none."]
    assert "ZeroDivisionError" in broken["error"]
    assert (tmp_path / "build" / "fast" / "01_demo.html").read_text().count("kNN on pixels") >= 1
    assert json.loads((tmp_path / "build" / "fast" / "results.json").read_text()) == results

    report = build_course.render_report(build_course.load_results(tmp_path / "build"))
    assert "## Run `fast`: fast mode, COURSE_DATASET=mnist" in report
    assert "| test accuracy | 0.75 |\n| fit time (s) | 1.5 |" in report
    assert "| 02_broken.ipynb | failed: ZeroDivisionError" in report
    assert "| `fast` | fast | COURSE_DATASET=mnist | 2 |" in report and "under 15 min: met |" in report
    assert "COURSE_CACHE_DIR=a new empty folder; empty cache at the start" in report

    too_slow = {**results, "target_minutes": 0}
    assert "under 0 min: **missed** |" in build_course.render_report([too_slow])


def test_build_run_reexecutes_only_the_notebooks_asked_for(small_course, tmp_path):
    run = build_course.Run(fast=True, dataset="mnist", target_minutes=15)
    with pytest.raises(FileNotFoundError, match="build the whole run first"):
        build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course, only=("01",))
    first = build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course)
    (small_course / "02_broken.ipynb").unlink()
    _notebook(small_course / "02_broken.ipynb", "print('fixed')")
    with pytest.raises(ValueError, match="no notebook 09"):
        build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course, only=("09",))

    again = build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course, only=("02",))

    demo, fixed = again["notebooks"]
    assert demo == first["notebooks"][0] and again["started"] == first["started"]
    assert fixed["error"] is None and "reexecuted" in fixed
    assert json.loads((tmp_path / "build" / "fast" / "results.json").read_text()) == again
    report = build_course.render_report([again])
    assert "| 02_broken.ipynb | ok; re-executed alone" in report and "| 01_demo.ipynb | ok |" in report


def test_build_run_reports_a_cache_in_use(small_course, tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "model.weights.h5").write_bytes(b"")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    run = build_course.Run(fast=True, dataset="mnist", target_minutes=15)
    results = build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course)
    assert results["cache_files_at_start"] == 1
    assert "1 file in the cache at the start" in build_course.render_report([results])


def test_runs_pass_folders_to_kernels_as_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA_DIR", "../shared/data")
    environment = build_course.RUNS["fast"].environment()
    assert environment["COURSE_DATA_DIR"] == str((tmp_path.parent / "shared" / "data").resolve())


def test_full_runs_differ_only_in_settings():
    assert build_course.RUNS["full-fashion_mnist"].environment()["COURSE_FAST"] == "0"
    assert build_course.RUNS["fast"].environment()["COURSE_FAST"] == "1"
    assert all(p.name[:2] != "06" for p in build_course.RUNS["full-mnist"].notebooks())


def _results(run, metrics):
    notebook = {"name": "03_cnn.ipynb", "metrics": [{"title": "CNN, test set", "metrics": metrics}]}
    return {"run": run, "notebooks": [notebook]}


def test_compare_results_lists_what_moved_beyond_noise():
    committed = [_results("full", {"test accuracy": 0.918, "AUC": "0.941 (95% CI 0.917–0.961)",
                                   "components": 188, "weights": "random", "training time (s)": 400})]
    noise = [_results("full", {"test accuracy": 0.91, "AUC": "0.95 (95% CI 0.92–0.97)",
                               "components": 190, "weights": "random", "training time (s)": 900})]
    assert build_course.compare_results(committed, noise) == []  # timings are not compared

    moved = [_results("full", {"test accuracy": 0.85, "AUC": "0.941", "components": 120, "weights": "imagenet"})]
    assert build_course.compare_results(committed, moved) == [
        "full / 03_cnn.ipynb / CNN, test set / components: 188 -> 120",
        "full / 03_cnn.ipynb / CNN, test set / test accuracy: 0.918 -> 0.85",
        "full / 03_cnn.ipynb / CNN, test set / weights: random -> imagenet",
    ]
    assert build_course.compare_results(committed, [_results("full", {"test accuracy": 0.918})])[0].endswith(
        "AUC: only in the committed run")
    assert build_course.compare_results(committed, [_results("fast", {"test accuracy": 0.5})]) == []
    with pytest.raises(ValueError, match="tolerance"):
        build_course.compare_results(committed, noise, tolerance=1.5)


@pytest.mark.parametrize(
    "title, metrics, message",
    [("", {"a": 1}, "title"), ("t", {}, "metrics must be"), ("t", {"a": float("nan")}, r"metrics\['a'\]"),
     ("t", {"a": [1, 2]}, r"metrics\['a'\]")],
)
def test_show_metrics_rejects_bad_input(title, metrics, message):
    with pytest.raises(ValueError, match=message):
        show_metrics(title, metrics)


def test_runs_settings_reach_the_kernel_and_the_report(small_course, tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_IMAGE_FOLDER", raising=False)
    _notebook(small_course / "03_folder.ipynb", "import os\nprint('folder source:', os.environ.get('COURSE_IMAGE_FOLDER'))")
    run = build_course.Run(fast=True, dataset="mnist", target_minutes=15, skip=("01", "02"),
                           settings=(("COURSE_IMAGE_FOLDER", "retinamnist"),))
    results = build_course.build_run("folder", run, build_dir=tmp_path / "build", notebooks_dir=small_course)

    assert [nb["name"] for nb in results["notebooks"]] == ["03_folder.ipynb"]
    assert results["notebooks"][0]["data_sources"] == ["folder source: retinamnist"]
    assert results["settings"]["COURSE_IMAGE_FOLDER"] == "retinamnist"
    assert "COURSE_IMAGE_FOLDER=retinamnist" in build_course.render_report([results])


def test_the_retinamnist_run_executes_only_notebook_07():
    run = build_course.RUNS["full-retinamnist"]
    assert [p.name for p in run.notebooks()] == ["07_your_own_images.ipynb"]
    assert run.environment()["COURSE_IMAGE_FOLDER"] == "retinamnist" and not run.fast
    assert "07_your_own_images.ipynb" not in [p.name for p in build_course.RUNS["full-mnist"].notebooks()]


def test_notebook_07_runs_unchanged_on_retinamnist_in_fast_mode(tmp_path):
    """The template notebook on a colour, five-class folder: RetinaMNIST, exported by the notebook itself."""
    import subprocess

    notebook = COURSE_ROOT / "notebooks" / "07_your_own_images.ipynb"
    environment = {**build_course.RUNS["full-retinamnist"].environment(), "COURSE_FAST": "1",
                   "COURSE_OFFLINE": "1", "COURSE_CACHE_DIR": str(tmp_path / "cache")}
    completed = subprocess.run([sys.executable, build_course.__file__, "--execute-one", str(notebook),
                                str(tmp_path / "07.ipynb")], env=environment, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1])["error"] is None
    executed = nbformat.read(tmp_path / "07.ipynb", as_version=4)
    (metrics,) = build_course.collect_metrics(executed)
    assert metrics["title"] == "retinamnist, 400 test images: the model chosen on validation"
    assert metrics["metrics"]["selection rule: validation accuracy"] > 0.2  # 5 classes: 0.2 is guessing
    assert any("retinamnist: 5 classes" in line and "rgb" in line for line in build_course.collect_data_sources(executed))


def test_reexecution_starts_from_the_committed_report_when_the_run_is_not_built(small_course, tmp_path):
    run = build_course.Run(fast=True, dataset="mnist", target_minutes=15)
    committed = [build_course.build_run("fast", run, build_dir=tmp_path / "elsewhere", notebooks_dir=small_course),
                 {**_results("full", {"test accuracy": 0.9}), "settings": {}}]
    again = build_course.build_run("fast", run, build_dir=tmp_path / "build", notebooks_dir=small_course,
                                   only=("02",), committed=committed)

    assert again["notebooks"][0] == committed[0]["notebooks"][0] and "reexecuted" in again["notebooks"][1]
    assert [r["run"] for r in build_course.load_results(tmp_path / "build", committed)] == ["fast", "full"]
    assert build_course.load_results(tmp_path / "build", committed)[0] == again  # what was built here wins


def test_the_report_names_folders_by_role_not_by_absolute_path(tmp_path):
    environment = {"COURSE_DATA_DIR": "/data/shared", "COURSE_CACHE_DIR": "/tmp/cache-1"}
    line = "source: /data/shared/medmnist/breastmnist.npz; folders in /tmp/cache-1/folders/retinamnist"
    assert build_course._by_role(line, environment) == (
        "source: COURSE_DATA_DIR/medmnist/breastmnist.npz; folders in COURSE_CACHE_DIR/folders/retinamnist")
    assert build_course._relative(str(COURSE_ROOT.parent / "shared" / "data")) == "../shared/data"
    assert build_course._relative("1") == "1"
