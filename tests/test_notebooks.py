"""Every notebook follows the course's shape: badge, shared setup cell, takeaways, exercises."""

import sys

import nbformat
import pytest

from utils.config import COURSE_ROOT

sys.path.insert(0, str(COURSE_ROOT / "tools"))
from clean_notebooks import CHECK_MARKER  # noqa: E402
from notebook_style import SETUP_CELL, header_links  # noqa: E402

NOTEBOOKS = sorted((COURSE_ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shape(path):
    notebook = nbformat.read(path, as_version=4)
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
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if CHECK_MARKER not in cell.source:
            assert not cell.outputs, f"outputs stored in {path.name}: run tools/clean_notebooks.py"
        else:
            assert cell.outputs and cell.execution_count, f"a checked cell of {path.name} holds no run output"
