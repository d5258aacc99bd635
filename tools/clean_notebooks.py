"""Store notebooks the way the course keeps them in git.

    python tools/clean_notebooks.py notebooks/*.ipynb

Outputs are cleared, except those of cells marked ``# NBVAL_CHECK_OUTPUT``, which nbval compares
when the test command runs (so they must hold fast-mode, offline outputs). The setup cell is
rewritten to the shared one, execution counts are reset and the kernel is set to ``python3``.
The rendered course with all outputs is built by ``python tools/build_course.py``.

A notebook a learner ran and saved in JupyterLab holds their outputs. The test command does not
test that copy: :func:`stored_notebook` gives it the copy git stores instead (conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_style import SETUP_CELL  # noqa: E402

CHECK_MARKER = "NBVAL_CHECK_OUTPUT"
SETUP_MARKER = "# Setup: run this cell first."
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``notebook`` with outputs cleared but checked ones, and the shared setup cell."""
    for cell in notebook.cells:
        cell.metadata = {}
        if cell.cell_type != "code":
            continue
        if cell.source.startswith(SETUP_MARKER):
            cell.source = SETUP_CELL
        if CHECK_MARKER in cell.source and cell.outputs:
            cell.execution_count = 1  # nbval skips a checked cell stored as never run
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count = 1
        else:
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return notebook


def is_clean(notebook: nbformat.NotebookNode) -> bool:
    """Whether ``notebook`` is stored the course's way: no outputs but those of checked cells."""
    return all(not cell.outputs for cell in notebook.cells
               if cell.cell_type == "code" and CHECK_MARKER not in cell.source)


def stored_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` as the course stores it, even after a learner saved outputs into it.

    That is the file itself when it is clean (:func:`is_clean`; also a maintainer's edit, cleaned),
    else the copy in git's index (``git show :<path>``). Raises ``RuntimeError`` with what to do
    when the file holds outputs and git has no copy of it.
    """
    path = Path(path).resolve()
    notebook = nbformat.read(path, as_version=4)
    if is_clean(notebook):
        return notebook
    stored = subprocess.run(["git", "show", f":./{path.name}"], cwd=path.parent, capture_output=True, text=True)
    if stored.returncode != 0:
        raise RuntimeError(
            f"{path.name} holds the outputs of a run, and git has no stored copy of it to test instead: "
            f"test a fresh copy of the course, or clear them with `python tools/clean_notebooks.py {path}` "
            f"(it keeps the outputs of the cells marked {CHECK_MARKER}, which must come from a fast-mode run).")
    return nbformat.reads(stored.stdout, as_version=4)


def main(paths: list[str]) -> None:
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        nbformat.write(clean(notebook), path)
        print(f"cleaned {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
