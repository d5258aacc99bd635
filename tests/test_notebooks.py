"""Every notebook follows the course's shape: badge, shared setup cell, takeaways, exercises.

The shape and the clean storage are checked on the copy the course stores (what git holds when a
learner saved outputs into the file), like nbval's run (conftest.py).
"""

import subprocess
import sys
import types

import nbformat
import pytest

from utils.config import COURSE_ROOT

sys.path.insert(0, str(COURSE_ROOT / "tools"))
from clean_notebooks import CHECK_MARKER, clean, stored_notebook  # noqa: E402
from notebook_style import COURSE_NOTEBOOKS, SETUP_CELL, colab_badge, header_links  # noqa: E402

NOTEBOOKS = [COURSE_ROOT / "notebooks" / name for name in COURSE_NOTEBOOKS]


def test_every_course_notebook_is_there():
    assert NOTEBOOKS and all(path.is_file() for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shape(path):
    notebook = stored_notebook(path)
    cells = notebook.cells
    assert cells[0].cell_type == "markdown" and header_links(path.name) in cells[0].source
    code = [c for c in cells if c.cell_type == "code"]
    assert code[0].source == SETUP_CELL, "run tools/clean_notebooks.py to restore the setup cell"
    headings = [line for c in cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("#")]
    assert any("Takeaways" in h for h in headings), "a notebook ends with takeaways"
    assert any("Exercises" in h for h in headings), "a notebook ends with exercises"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_clean(path):
    notebook = stored_notebook(path)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if CHECK_MARKER not in cell.source:
            assert not cell.outputs, f"outputs stored in {path.name}: run tools/clean_notebooks.py"
        else:
            assert cell.outputs and cell.execution_count, f"a checked cell of {path.name} holds no run output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_links_every_notebook_with_its_colab_badge(path):
    readme = (COURSE_ROOT / "README.md").read_text()
    assert colab_badge(path.name) in readme, f"the README's table needs this badge for {path.name}: {colab_badge(path.name)}"


def _notebook_with_output(text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("print('hello')", execution_count=1,
                                     outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])
    return nbformat.v4.new_notebook(cells=[cell])


def test_stored_notebook_is_the_clean_file_or_the_copy_git_stores(tmp_path):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(clean(_notebook_with_output("stored")), path)
    assert stored_notebook(path).cells[0].outputs == []  # clean: the file itself

    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", path.name], cwd=tmp_path, check=True)
    nbformat.write(_notebook_with_output("a learner's run"), path)  # run and saved in JupyterLab
    assert stored_notebook(path).cells[0].outputs == []  # git's copy
    assert nbformat.read(path, as_version=4).cells[0].outputs[0].text == "a learner's run"


def test_stored_notebook_says_what_to_do_without_a_stored_copy(tmp_path):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(_notebook_with_output("a learner's run"), path)
    with pytest.raises(RuntimeError, match="git has no stored copy.*clean_notebooks.py"):
        stored_notebook(path)


def _run_setup_cell_on_colab(monkeypatch, tmp_path, returncodes):
    """Execute the setup cell as on Colab, with fake shell steps; return the commands it ran."""
    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, returncodes.pop(0), stdout="", stderr="fatal: no network")

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    source = SETUP_CELL.replace("/content/course", str(tmp_path / "course"))
    exec(compile(source, "setup cell", "exec"), {})
    return commands


def test_setup_cell_on_colab_clones_then_installs(monkeypatch, tmp_path):
    commands = _run_setup_cell_on_colab(monkeypatch, tmp_path, [0, 0])
    assert commands[0][:2] == ["git", "clone"] and commands[1][-2:] == ["-r", f"{tmp_path}/course/requirements-colab.txt"]


def test_setup_cell_on_colab_updates_an_existing_course(monkeypatch, tmp_path):
    (tmp_path / "course").mkdir()
    commands = _run_setup_cell_on_colab(monkeypatch, tmp_path, [0, 0])
    assert commands[0][:4] == ["git", "-C", str(tmp_path / "course"), "pull"]


def test_setup_cell_on_colab_stops_when_the_clone_fails(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="(?s)Setup failed: git clone.*fatal: no network"):
        _run_setup_cell_on_colab(monkeypatch, tmp_path, [128])
