"""Build the course site: the executed notebooks of a build_course run, with every figure, as static HTML.

    python tools/build_site.py                          # from build/full-fashion_mnist, into build/site/
    python tools/build_site.py --run fast               # from another run of tools/build_course.py
    python tools/build_course.py --runs full-fashion_mnist --site   # execute that run, then build the site

Pages: the README (landing page), one page per course notebook in course order (``COURSE_NOTEBOOKS``),
``docs/results.md`` and ``docs/architecture.md``; navigation, search, and on every notebook page a button
that opens the notebook in Colab and one that downloads it with its outputs. Sphinx with MyST-NB and the
book theme (``requirements-site.txt``) build it offline from ``site/conf.py``; notebooks are not executed
again. Links to files that are not pages (``utils/``, ``conftest.py``) point at the repository
(``REPOSITORY`` in tools/notebook_style.py). Open ``build/site/index.html`` in a browser.
"""

from __future__ import annotations

import argparse
import posixpath
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from notebook_style import COURSE_NOTEBOOKS, REPOSITORY_URL  # noqa: E402

CONFIG_DIR = ROOT / "site"
BUILD_DIR = ROOT / "build"
DEFAULT_RUN = "full-fashion_mnist"
DOCUMENTS = ("docs/results.md", "docs/architecture.md")
LINK = re.compile(r"\]\(([^()\s]+)\)")  # the target of a Markdown link or image


def _site_link(target: str, page: str, pages: dict[str, str]) -> str:
    """A link of the repository file ``page`` as it must read on the site: to another page, or to the repository.

    ``pages`` maps repository paths to site paths (README.md -> index.md); absolute URLs and anchors are kept.
    """
    if re.match(r"[a-z][a-z0-9+.-]*:|#", target):
        return target
    path, hash_mark, anchor = target.partition("#")
    in_repository = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
    if in_repository in pages:
        return posixpath.relpath(pages[in_repository], posixpath.dirname(pages[page])) + hash_mark + anchor
    kind = "tree" if (ROOT / in_repository).is_dir() else "blob"
    return f"{REPOSITORY_URL}/{kind}/main/{in_repository}{hash_mark}{anchor}"


def _site_markdown(text: str, page: str, pages: dict[str, str]) -> str:
    return LINK.sub(lambda match: f"]({_site_link(match.group(1), page, pages)})", text)


def _toctree(caption: str, entries: list[str]) -> str:
    return "\n".join(["", "```{toctree}", ":hidden:", f":caption: {caption}", "", *entries, "```", ""])


def stage(run_dir: Path, source_dir: Path) -> list[str]:
    """Lay out the site's pages in ``source_dir`` (emptied first); returns their paths, landing page first.

    Every course notebook must be in ``run_dir``; a missing one raises ``FileNotFoundError`` saying how to make it.
    """
    missing = [name for name in COURSE_NOTEBOOKS if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the site shows the notebooks of a build_course run, but {run_dir} lacks {', '.join(missing)}: "
            f"run `python tools/build_course.py --runs {run_dir.name}` first (or choose another run with --run).")
    notebooks = [f"notebooks/{name}" for name in COURSE_NOTEBOOKS]
    pages = {"README.md": "index.md", **{path: path for path in (*notebooks, *DOCUMENTS)}}
    if source_dir.exists():
        shutil.rmtree(source_dir)
    for path, site_path in pages.items():
        (source_dir / site_path).parent.mkdir(parents=True, exist_ok=True)
    landing = _site_markdown((ROOT / "README.md").read_text(encoding="utf-8"), "README.md", pages)
    landing += _toctree("Notebooks", [posixpath.splitext(p)[0] for p in notebooks])
    landing += _toctree("The course's documents", [posixpath.splitext(p)[0] for p in DOCUMENTS])
    (source_dir / "index.md").write_text(landing, encoding="utf-8")
    for path in DOCUMENTS:
        (source_dir / path).write_text(_site_markdown((ROOT / path).read_text(encoding="utf-8"), path, pages),
                                       encoding="utf-8")
    for path in notebooks:
        notebook = nbformat.read(run_dir / posixpath.basename(path), as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = _site_markdown(cell.source, path, pages)
        nbformat.write(notebook, source_dir / path)
    return list(pages.values())


def build_site(run_dir: Path, site_dir: Path, work_dir: Path | None = None) -> Path:
    """Build the site of the executed notebooks in ``run_dir`` into ``site_dir``; returns its ``index.html``.

    The staged pages and Sphinx's cache go to ``work_dir`` (default: ``site_dir`` with ``-source`` appended).
    Sphinx's warnings are errors, so a broken cross-reference stops the build with a message naming it.
    """
    work_dir = work_dir or site_dir.with_name(site_dir.name + "-source")
    stage(run_dir, work_dir / "pages")
    if site_dir.exists():
        shutil.rmtree(site_dir)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-c", str(CONFIG_DIR),
               "-d", str(work_dir / "doctrees"), str(work_dir / "pages"), str(site_dir)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"Sphinx could not build the site (exit code {completed.returncode}):\n"
                           f"{completed.stderr[-4000:]}")
    return site_dir / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default=DEFAULT_RUN, help=f"the build_course run to show (default {DEFAULT_RUN})")
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "site", help="where the site goes (default build/site)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        index = build_site(BUILD_DIR / args.run, args.out.resolve())
    except (FileNotFoundError, RuntimeError) as error:
        parser.exit(1, f"build_site: {error}\n")
    size = sum(p.stat().st_size for p in index.parent.rglob("*") if p.is_file())
    print(f"built the site of run {args.run} in {time.perf_counter() - start:.0f} s: {size / 2**20:.1f} MiB; "
          f"open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
