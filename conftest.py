"""Settings for the test command (`python -m pytest`): fast mode, offline, local data.

Set here, before any notebook kernel starts, so the unit tests and every notebook executed by
nbval see the same settings. A variable already set in the environment wins.

Notebooks are tested as the course stores them: a learner who ran one in JupyterLab and saved it
holds their own outputs in it, and nbval would compare the checked cells (``# NBVAL_CHECK_OUTPUT``)
with those. nbval is handed the stored copy instead (``tools/clean_notebooks.stored_notebook``):
the file when it is clean, else the copy in git's index. The file itself is never changed.
"""

import os
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbval.plugin import IPyNbFile

COURSE_ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(COURSE_ROOT / "tools"))
from clean_notebooks import is_clean, stored_notebook  # noqa: E402
from notebook_style import COURSE_NOTEBOOKS  # noqa: E402

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_OFFLINE", "1")
_shared_data = COURSE_ROOT.parent / "shared" / "data"
if _shared_data.is_dir():
    os.environ.setdefault("COURSE_DATA_DIR", str(_shared_data))

_tested_stored_copies: list[str] = []
_other_notebooks: list[str] = []


class StoredNotebook(IPyNbFile):
    """nbval's notebook collector, reading the notebook as the course stores it."""

    def collect(self):
        try:
            notebook = stored_notebook(self.path)
        except RuntimeError as error:
            raise pytest.UsageError(str(error)) from None
        if not is_clean(nbformat.read(self.path, as_version=4)):
            _tested_stored_copies.append(self.path.name)
        with mock.patch("nbval.plugin.nbformat.read", return_value=notebook):
            yield from super().collect()


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    collectors = yield
    if any(type(c) is IPyNbFile for c in collectors) and file_path.name not in COURSE_NOTEBOOKS:
        _other_notebooks.append(file_path.name)  # a learner's own notebook: not the course's to test
        return [c for c in collectors if type(c) is not IPyNbFile]
    return [StoredNotebook.from_parent(parent, path=file_path) if type(c) is IPyNbFile else c
            for c in collectors]


def pytest_terminal_summary(terminalreporter):
    if _other_notebooks:
        terminalreporter.write_line(f"not tested, not course notebooks (tools/notebook_style.py lists those): "
                                    f"{', '.join(_other_notebooks)}")
    for name in _tested_stored_copies:
        terminalreporter.write_line(f"{name} holds saved outputs: tested the copy git stores "
                                    f"(git show :notebooks/{name}); the file was not changed.")
