"""The course site (tools/build_site.py) in a real browser: every page loads, every image and link works.

The site is built in a temporary folder from a small run folder: the course notebooks as the course
stores them, with notebook 01 carrying cells executed in a real kernel (two Matplotlib figures and a
metrics table), because executing the course takes minutes (build_course does that; this test checks
what the site builder makes of executed notebooks). The real README and docs/ are the other pages.

Chromium (Debian's, through Playwright, as tests/test_browser.py) opens every page, served over HTTP,
and the test checks: no console error, every image loads (natural width > 0), every link inside the
site resolves (file and anchor), the notebook page shows each figure and Markdown table its notebook holds, every Colab
link opens the notebook of ``REPOSITORY`` and the download button gives the notebook with its outputs,
and the search finds a notebook. The site may load only the Colab badge and MathJax from outside
(answered here by placeholders, as the test runs offline). Screenshots of the landing page and the
notebook page go to ``build/site-screenshots/``. ``COURSE_SITE_RUN=build/fast`` checks the site of a
build_course run folder instead (every notebook executed; minutes, not seconds). Skipped, saying why, without the site packages
(``pip install -r requirements-site.txt``), Playwright or Chromium.
"""

import functools
import http.server
import json
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import nbformat
import pytest
from nbclient import NotebookClient

from test_browser import browser  # noqa: F401  the Chromium fixture; tests ask for it before `site`, so its skip comes first
from test_notebooks import NOTEBOOKS  # also puts tools/ on the path
from clean_notebooks import stored_notebook
from notebook_style import REPOSITORY
from utils.config import COURSE_ROOT

SCREENSHOTS = COURSE_ROOT / "build" / "site-screenshots"
RUN = Path(os.environ["COURSE_SITE_RUN"]).resolve() if os.environ.get("COURSE_SITE_RUN") else None
EXECUTED = NOTEBOOKS[0].name  # the notebook whose page carries executed outputs
EXTERNAL = {"colab.research.google.com", "cdn.jsdelivr.net"}  # the Colab badge, MathJax
PLACEHOLDER_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20"><rect width="117" height="20" rx="3" '
                   'fill="#555"/><text x="58" y="14" fill="#fff" font-family="sans-serif" font-size="11" '
                   'text-anchor="middle">Open in Colab</text></svg>')  # offline stand-in for the Colab badge
EXECUTED_CELLS = [
    "import matplotlib.pyplot as plt\nimport numpy as np\n\nrng = np.random.default_rng(0)",
    "fig, ax = plt.subplots(figsize=(4, 3))\nax.imshow(rng.random((28, 28)), cmap='gray')\nax.set_title('An image')\nplt.show()",
    "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot(np.linspace(0, 1, 20) ** 2)\nax.set_title('A curve')\nplt.show()",
    "from IPython.display import display\n"
    "display({'text/markdown': '| metric | value |\\n|---|---|\\n| accuracy | 0.5 |'}, raw=True)",
]


def _executed_cells() -> list:
    """EXECUTED_CELLS, executed in a fresh kernel."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in EXECUTED_CELLS])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook.cells


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from the small run folder; yields ``(site folder, base URL, run folder)``."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -r requirements-site.txt)")
    from build_site import build_site

    root = tmp_path_factory.mktemp("site")
    run_dir = RUN or root / "run"
    if not RUN:
        run_dir.mkdir()
        for path in NOTEBOOKS:
            notebook = stored_notebook(path)
            if path.name == EXECUTED:
                notebook.cells[1:1] = _executed_cells()
            nbformat.write(notebook, run_dir / path.name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    index = build_site(run_dir, root / "html", work_dir=root / "work")
    size = sum(p.stat().st_size for p in index.parent.rglob("*") if p.is_file())
    print(f"\nsite built in {time.perf_counter() - started:.0f} s, {size / 2**20:.1f} MiB")

    handler = functools.partial(QuietHandler, directory=str(index.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index.parent, f"http://127.0.0.1:{server.server_port}/", run_dir
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def _new_page(browser, external: list[str]):  # noqa: F811  (browser: the fixture)
    """A page that answers requests leaving the site with placeholders, recording them in ``external``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def outside(route):
        external.append(route.request.url)
        if route.request.resource_type == "image":
            route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER_SVG)
        else:
            route.fulfill(status=200, content_type="application/javascript", body="")

    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), outside)
    return page


LOAD_IMAGES = """async () => {
    const images = [...document.images];
    images.forEach(image => { image.loading = 'eager'; });
    await Promise.all(images.map(image => image.decode().catch(() => null)));
    return images.map(image => [image.getAttribute('src'), image.naturalWidth]);
}"""


def _target(site_dir: Path, url: str) -> Path:
    """The file a URL of the site serves."""
    path = site_dir / unquote(urlparse(url).path).lstrip("/")
    return path / "index.html" if path.is_dir() else path


def _broken_links(site_dir: Path, page_url: str, hrefs: list[str], base: str) -> list[str]:
    """The links of a page that point inside the site at a missing file or a missing anchor."""
    broken = []
    for href in hrefs:
        url = urljoin(page_url, href)
        if not url.startswith(base):
            continue
        target = _target(site_dir, url)
        anchor = unquote(urlparse(url).fragment)
        if not target.is_file():
            broken.append(f"{href} (no file)")
        elif anchor and target.suffix == ".html" and f'id="{anchor}"' not in target.read_text(encoding="utf-8"):
            broken.append(f"{href} (no anchor)")
    return broken


def test_every_page_loads_with_its_images_and_links(browser, site):  # noqa: F811
    site_dir, base, _ = site
    pages = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html")
                   if not p.relative_to(site_dir).parts[0].startswith("_"))
    assert {"index.html", "search.html", "docs/results.html", "docs/architecture.html"} <= set(pages)
    assert {f"notebooks/{p.stem}.html" for p in NOTEBOOKS} <= set(pages)
    problems, external, images = {}, [], 0
    for name in pages:
        errors = []
        page = _new_page(browser, external)
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("response", lambda response: response.status >= 400 and errors.append(f"{response.status} {response.url}"))
        try:
            page.goto(base + name, wait_until="load")
            loaded = page.evaluate(LOAD_IMAGES)
            hrefs = page.locator("a[href]").evaluate_all("(links) => links.map(a => a.getAttribute('href'))")
        finally:
            page.close()
        images += len(loaded)
        errors += [f"image not loaded: {src}" for src, width in loaded if width == 0]
        errors += [f"broken link: {link}" for link in _broken_links(site_dir, base + name, hrefs, base)]
        if errors:
            problems[name] = errors
    hosts = {urlparse(url).hostname for url in external}
    print(f"\n{len(pages)} pages, {images} images; requests outside the site: {sorted(hosts)}")
    assert not problems, json.dumps(problems, indent=1)
    assert hosts <= EXTERNAL, f"the site loads more than the Colab badge and MathJax from outside: {sorted(hosts - EXTERNAL)}"


def _outputs(notebook) -> list:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def test_notebook_pages_show_their_figures_and_open_in_colab(browser, site):  # noqa: F811
    site_dir, base, run_dir = site
    for path in NOTEBOOKS:
        notebook = nbformat.read(run_dir / path.name, as_version=4)
        figures = sum("image/png" in output.get("data", {}) for output in _outputs(notebook))
        tables = sum("|---" in output.get("data", {}).get("text/markdown", "") for output in _outputs(notebook))
        page = _new_page(browser, [])
        try:
            page.goto(f"{base}notebooks/{path.stem}.html", wait_until="load")
            shown = page.locator(".cell_output img").evaluate_all("(images) => images.map(i => i.naturalWidth)")
            shown_tables = page.locator(".cell_output table").count()
            colab = page.locator("a[href*='colab.research.google.com/github']").evaluate_all(
                "(links) => links.map(a => a.href)")
            download = page.locator("a[href$='.ipynb']:not([href*='colab'])").evaluate_all(
                "(links) => links.map(a => a.href)")
            if path.name == EXECUTED:
                page.locator(".cell_output img").first.scroll_into_view_if_needed()
                page.screenshot(path=SCREENSHOTS / f"{path.stem}.png")
        finally:
            page.close()
        assert len(shown) == figures and all(shown), f"{path.name}: {figures} figures in the notebook, shown {shown}"
        assert shown_tables >= tables, f"{path.name}: {tables} Markdown tables in the outputs, {shown_tables} tables shown"
        url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{path.name}"
        assert colab and set(colab) == {url}, f"{path.name}: Colab links {set(colab)}, expected {url}"
        assert len(download) == 1, f"{path.name}: expected one download link, got {download}"
        downloaded = nbformat.read(_target(site_dir, download[0]), as_version=4)
        assert _outputs(downloaded) == _outputs(notebook), f"{path.name}: the download is not the executed notebook"
        if path.name == EXECUTED and not RUN:
            assert (figures, tables) == (2, 1), "the executed cells' figures and table are missing from the run folder"


def test_landing_page_and_search(browser, site):  # noqa: F811
    _, base, _ = site
    page = _new_page(browser, [])
    try:
        page.goto(base + "index.html", wait_until="load")
        page.screenshot(path=SCREENSHOTS / "landing.png")
        navigation = page.locator("nav.bd-links a").evaluate_all("(links) => links.map(a => a.textContent.trim())")
        page.goto(base + "search.html?q=convolutional", wait_until="load")
        page.locator("#search-results li").first.wait_for(timeout=30_000)
        found = page.locator("#search-results li a").evaluate_all("(links) => links.map(a => a.getAttribute('href'))")
    finally:
        page.close()
    titles = [nbformat.read(p, as_version=4).cells[0].source.splitlines()[0].lstrip("# ").strip() for p in NOTEBOOKS]
    assert [t for t in navigation if t in titles] == titles, f"the navigation lists {navigation}"
    assert any("notebooks/03_deep_learning_cnn" in href for href in found), f"search found {found}"


def test_site_needs_every_course_notebook_executed(tmp_path):
    from build_site import stage

    (tmp_path / "run").mkdir()
    nbformat.write(stored_notebook(NOTEBOOKS[0]), tmp_path / "run" / EXECUTED)
    with pytest.raises(FileNotFoundError, match=rf"lacks {NOTEBOOKS[1].name}.*build_course.py --runs run"):
        stage(tmp_path / "run", tmp_path / "pages")


def test_links_of_a_page_point_at_pages_or_at_the_repository():
    from build_site import _site_markdown

    pages = {"README.md": "index.md", "docs/results.md": "docs/results.md", "notebooks/03_x.ipynb": "notebooks/03_x.ipynb"}
    text = ("[r](../docs/results.md#fast) [u](../utils/convolution.py) [d](../utils) [home](../README.md) "
            "[w](https://keras.io) [a](#takeaways)")
    assert _site_markdown(text, "notebooks/03_x.ipynb", pages) == (
        f"[r](../docs/results.md#fast) [u](https://github.com/{REPOSITORY}/blob/main/utils/convolution.py) "
        f"[d](https://github.com/{REPOSITORY}/tree/main/utils) [home](../index.md) [w](https://keras.io) [a](#takeaways)")
