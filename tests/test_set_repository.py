"""Where the course lives is one setting (``REPOSITORY``): every file that names it agrees, and one command changes it."""

import re
import runpy
import shutil

import nbformat
import pytest

from utils.config import COURSE_ROOT

from test_notebooks import NOTEBOOKS  # also puts tools/ on the path
from notebook_style import REPOSITORY, REPOSITORY_URL
from set_repository import addresses, files_with_the_address, set_repository

COLAB = re.compile(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/")


@pytest.mark.parametrize("path", files_with_the_address(), ids=lambda p: p.name)
def test_every_colab_link_and_address_is_the_setting(path):
    text = path.read_text(encoding="utf-8")
    assert set(COLAB.findall(text)) == {REPOSITORY}, f"{path.name} opens another repository in Colab than {REPOSITORY}"
    assert addresses(REPOSITORY).search(text), f"{path.name} does not name {REPOSITORY}"


def test_site_configuration_uses_the_setting():
    options = runpy.run_path(str(COURSE_ROOT / "site" / "conf.py"))["html_theme_options"]
    assert options["repository_url"] == REPOSITORY_URL


@pytest.fixture
def course_copy(tmp_path):
    """The files set_repository rewrites, copied into a course-shaped folder."""
    for path in [*files_with_the_address(), COURSE_ROOT / "tools" / "notebook_style.py"]:
        target = tmp_path / path.relative_to(COURSE_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return tmp_path


def test_set_repository_rewrites_every_address(course_copy):
    before = {p.name: len(addresses(REPOSITORY).findall(p.read_text())) for p in files_with_the_address(course_copy)}
    rewritten = set_repository("a-fork/the-course", root=course_copy)

    style = runpy.run_path(str(course_copy / "tools" / "notebook_style.py"))
    assert style["REPOSITORY"] == "a-fork/the-course" and rewritten["tools/notebook_style.py"] == 1
    readme = (course_copy / "README.md").read_text()
    for path in NOTEBOOKS:
        assert style["colab_badge"](path.name) in readme
        notebook = nbformat.read(course_copy / "notebooks" / path.name, as_version=4)
        assert style["header_links"](path.name) in notebook.cells[0].source
        assert next(c for c in notebook.cells if c.cell_type == "code").source == style["SETUP_CELL"]
    for path in files_with_the_address(course_copy):
        text = path.read_text()
        assert not addresses(REPOSITORY).search(text), f"{path.name} still names {REPOSITORY}"
        assert len(addresses("a-fork/the-course").findall(text)) == before[path.name] == rewritten[
            str(path.relative_to(course_copy))]


@pytest.mark.parametrize("name", ["no-slash", "a/b/c", "owner/", "-owner/name", "owner/na me"])
def test_set_repository_refuses_a_name_that_is_not_owner_slash_name(course_copy, name):
    with pytest.raises(ValueError, match="repository: expected GitHub's owner/name"):
        set_repository(name, root=course_copy)
    assert runpy.run_path(str(course_copy / "tools" / "notebook_style.py"))["REPOSITORY"] == REPOSITORY
