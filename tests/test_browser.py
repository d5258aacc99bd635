"""The course as a learner meets it: JupyterLab in a real browser runs a notebook to the end.

JupyterLab is started the way the README says (``jupyter lab notebooks/``), on a copy of the
notebooks so the repository's files are never written; Chromium, driven by Playwright, opens a
notebook and runs Run > Run All Cells from the menu. When the kernel is idle the test saves the
notebook (as a learner would) and checks, in the page and in the saved file: every code cell ran,
none is left running ("[*]"), no error output, no TensorFlow start-up line, and every figure the
kernel sent is rendered (at least one per figure cell). A screenshot of every figure goes to
``build/browser/`` (shown at JupyterLab's width: look at them to judge whether text is legible).

Which notebooks: ``COURSE_BROWSER_NOTEBOOKS``, a comma-separated list of name prefixes or ``all``
(default ``01,06``). Chromium: ``COURSE_BROWSER`` or Debian's ``/usr/bin/chromium``
(``apt-get install chromium``); Playwright's own browser download is not needed. Without
Playwright or a browser the test is skipped, and the skip says why.
"""

import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from test_notebooks import NOTEBOOKS
from test_quiet_start import START_UP_NOISE  # what TensorFlow prints while it starts
from utils.config import COURSE_ROOT

SELECTED = os.environ.get("COURSE_BROWSER_NOTEBOOKS", "01,06")
BROWSER = Path(os.environ.get("COURSE_BROWSER", "/usr/bin/chromium"))
SCREENSHOTS = COURSE_ROOT / "build" / "browser"
RUN_TIMEOUT_S = 30 * 60


def _selected(path: Path) -> bool:
    return SELECTED == "all" or any(path.name.startswith(prefix.strip()) for prefix in SELECTED.split(","))


def _stop_with_this_process() -> None:
    """In the server's child process: on Linux, have it stopped when the test process dies, even if killed."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """Chromium through Playwright, or a skip that says what is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    if not BROWSER.exists():
        pytest.skip(f"no browser at {BROWSER}: apt-get install chromium, or set COURSE_BROWSER")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(BROWSER), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """``jupyter lab notebooks/`` on a copy of the notebooks; yields ``(url, token, notebooks folder)``.

    The copy sits next to links to the course's ``utils`` and ``data``, so the setup cell finds them
    as in the repository. The kernel inherits the test settings (conftest.py), with
    ``COURSE_DATA_DIR`` made absolute. The server is stopped however the test ends (and, on Linux,
    when the test process is killed).
    """
    root = tmp_path_factory.mktemp("course")
    (root / "notebooks").mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, root / "notebooks" / path.name)
    for name in ("utils", "data"):
        (root / name).symlink_to(COURSE_ROOT / name)
    # JupyterLab's defaults, but no "Would you like to get notified about official Jupyter news?" pop-up
    notification = root / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false"}')
    token, port = secrets.token_hex(16), _free_port()
    environment = {**os.environ,
                   "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
                   "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
                   "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    if "COURSE_DATA_DIR" in environment:
        environment["COURSE_DATA_DIR"] = str(Path(environment["COURSE_DATA_DIR"]).resolve())
    log = root / "jupyterlab.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "notebooks/", "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
        cwd=root, env=environment, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        preexec_fn=_stop_with_this_process)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()}") from None
                time.sleep(1)
        yield url, token, root / "notebooks"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _open(page, url: str) -> None:
    """Open a notebook and wait for its kernel, choosing the proposed kernel if JupyterLab asks."""
    from playwright.sync_api import TimeoutError

    page.goto(url)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)
    accept = page.locator(".jp-Dialog .jp-mod-accept")  # "Select Kernel", when the session is slow to start
    try:
        accept.wait_for(timeout=10_000)
        accept.click()
    except TimeoutError:
        pass


def _run_all_cells(page) -> None:
    """Run > Run All Cells, from the menu bar, as a learner would."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text=re.compile(r"^Run All Cells")).first.click()


PROMPTS = "(prompts) => prompts.map(p => p.textContent.trim())"  # textContent: also of cells off screen
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on screen, not another tab


def _wait_until_done(page) -> None:
    """Wait until the kernel is idle and no cell is running or queued: all ran, or a cell failed."""
    page.wait_for_function(
        f"""() => {{
            const prompts = ({PROMPTS})([...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt')]);
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            return /^\\[\\d+\\]:$/.test(prompts[0]) && !prompts.includes('[*]:')
                && indicator && indicator.dataset.status === 'idle';
        }}""",
        timeout=RUN_TIMEOUT_S * 1000, polling=2000)


def _save(page, path: Path, executed: int) -> nbformat.NotebookNode:
    """Ctrl+S, then the notebook as JupyterLab wrote it, once the file holds the ``executed`` cells."""
    page.keyboard.press("Control+s")
    for _ in range(60):
        page.wait_for_timeout(1000)
        saved = nbformat.read(path, as_version=4)
        if sum(cell.get("execution_count") is not None for cell in saved.cells) == executed:
            return saved
    raise AssertionError(f"JupyterLab did not save {path.name}")


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _selected(p)], ids=lambda p: p.name)
def test_notebook_runs_in_jupyterlab(path, browser, jupyterlab, capsys):
    url, token, folder = jupyterlab
    stored = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in stored.cells if cell.cell_type == "code"]
    figure_cells = sum("plt.show()" in cell.source for cell in code_cells)

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.monotonic()
    try:
        # A workspace of its own: JupyterLab would otherwise reopen the notebooks of earlier tests.
        _open(page, f"{url}/lab/workspaces/{path.stem}/tree/{path.name}?token={token}")
        _run_all_cells(page)
        _wait_until_done(page)
        minutes = (time.monotonic() - started) / 60
        prompts = page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt").evaluate_all(PROMPTS)
        executed = sum(bool(re.fullmatch(r"\[\d+\]:", prompt)) for prompt in prompts)
        images = page.locator(f"{NOTEBOOK} .jp-OutputArea-output img:visible")
        widths = images.evaluate_all("(imgs) => imgs.map(i => [i.naturalWidth, i.clientWidth])")
        hidden = page.locator(f"{NOTEBOOK} .jp-OutputArea-output img:not(:visible)").evaluate_all(
            "(imgs) => imgs.map(i => i.closest('.jp-Cell').querySelector('.jp-InputArea-prompt').textContent)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for index in range(images.count()):
            images.nth(index).screenshot(path=SCREENSHOTS / f"{path.stem}-figure{index + 1:02d}.png")
        news_pop_up = page.get_by_text(re.compile("notified about official Jupyter news")).count()
        saved = _save(page, folder / path.name, executed)
    finally:
        page.close()

    outputs = [output for cell in saved.cells if cell.cell_type == "code" for output in cell.outputs]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    noise = [o.text for o in outputs if o.output_type == "stream" and START_UP_NOISE.search(o.text)]
    sent_figures = sum("image/png" in o.get("data", {}) for o in outputs)
    widest = max(widths, default=[0, 0], key=lambda w: w[0])
    with capsys.disabled():
        print(f"\n{path.name} in JupyterLab ({minutes:.1f} min): {executed} of "
              f"{len(code_cells)} code cells executed, {len(widths)} figures seen "
              f"(kernel sent {sent_figures}; {figure_cells} figure cells); widest figure "
              f"{widest[0]} px shown at {widest[1]} px; screenshots in {SCREENSHOTS}"
              + (f"; images not shown, in cells {hidden}" if hidden else ""))

    assert not errors, f"error output in {path.name}: {errors}"
    assert "[*]:" not in prompts, "a cell is still running"
    assert executed == len(code_cells), "a cell did not run"
    assert not noise, f"TensorFlow start-up lines in {path.name}: {noise}"
    assert len(widths) == sent_figures >= figure_cells and not hidden, "a figure is missing"
    assert not news_pop_up, "JupyterLab asked about Jupyter news: its pop-up covers the screenshots"
