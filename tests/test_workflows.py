"""The CI files for a fork on GitHub (.github/workflows/) are valid workflows that do what the README says.

They cannot run here, so they are checked offline against GitHub's workflow schema, as vendored by
check-jsonschema (requirements-site.txt); without it the schema test is skipped and says why.
"""

import subprocess
import sys

import pytest
import yaml

from utils.config import COURSE_ROOT

WORKFLOWS = COURSE_ROOT / ".github" / "workflows"


def _validate(*paths) -> subprocess.CompletedProcess:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed (pip install -r requirements-site.txt)")
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           *map(str, paths)], capture_output=True, text=True)


def _load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true
    return workflow


def test_workflows_match_githubs_schema():
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert [p.name for p in workflows] == ["site.yml", "tests.yml"]
    checked = _validate(*workflows)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    steps:\n      - run: bash .ci/run\n")  # no runs-on
    assert _validate(broken).returncode != 0


def test_tests_workflow_runs_the_course_ci_on_every_push():
    workflow = _load("tests.yml")
    assert "push" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert job["container"].startswith("python:3.11")
    assert {"run": "bash .ci/run"}.items() <= job["steps"][-1].items()


def test_site_workflow_builds_the_site_from_a_full_run_and_publishes_it():
    workflow = _load("site.yml")
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    runs = " ".join(step.get("run", "") for step in build["steps"])
    assert "requirements-site.txt" in runs and "tools/build_course.py --runs full-fashion_mnist --site" in runs
    uses = [step.get("uses", "").split("@")[0] for step in build["steps"] + deploy["steps"]]
    assert uses[-2:] == ["actions/upload-pages-artifact", "actions/deploy-pages"]
    assert build["steps"][-1]["with"]["path"] == "build/site" and deploy["needs"] == "build"
    assert workflow["permissions"]["pages"] == "write"
