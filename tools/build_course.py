"""Execute the course headless, render it to HTML, and write the results report.

    python tools/build_course.py                      # every run below, then docs/results.md
    python tools/build_course.py --runs fast          # one run (names: see RUNS)
    python tools/build_course.py --report-only        # rewrite docs/results.md and .json from build/
    python tools/build_course.py --compare            # ... and list what moved since the committed run
    python tools/build_course.py --fresh-cache        # each run with an empty cache: first-run times
    python tools/build_course.py --runs fast --notebooks 05   # re-execute notebook 05 of a built (or committed) run
    python tools/build_course.py --runs full-fashion_mnist --site   # ... then the course site (tools/build_site.py)

Each run executes its notebooks one by one in a fresh kernel, with that run's settings, and
writes to ``build/<run>/``: the executed notebooks, their HTML rendering with figures, and
``results.json`` (wall time and peak memory per notebook, and the metrics each notebook showed
with ``utils.report.show_metrics``). ``--notebooks`` re-executes only some notebooks of runs
already built (here, or in the committed report) and keeps the other notebooks' results; the
report marks the re-executed ones. The report, ``docs/results.md``, and its machine-readable twin
``docs/results.json`` are written from those files and from the committed report's runs not built
here, so every number in them comes from an executed notebook. ``--compare`` first checks the new
results against the committed ``docs/results.json`` and lists every metric that moved by more than
run-to-run noise.

Other settings (``COURSE_OFFLINE``, ``COURSE_DATA_DIR``, ``COURSE_CACHE_DIR``) are taken from
the environment and recorded in the report.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import build_site  # noqa: E402
from notebook_style import COURSE_NOTEBOOKS  # noqa: E402
from utils.config import settings  # noqa: E402
from utils.report import RESULTS_MIME, metrics_markdown  # noqa: E402

NOTEBOOKS_DIR = ROOT / "notebooks"
BUILD_DIR = ROOT / "build"
REPORT = ROOT / "docs" / "results.md"
REPORT_DATA = REPORT.with_suffix(".json")
PACKAGES = ("tensorflow", "keras", "numpy", "scikit-learn", "scikit-image", "umap-learn", "matplotlib")
DATASET_INDEPENDENT = ("06", "07", "08")  # notebooks that do not read COURSE_DATASET


@dataclass(frozen=True)
class Run:
    """One execution of (some of) the course with fixed settings."""

    fast: bool
    dataset: str
    target_minutes: int  # the whole run should take less than this on 2 CPU cores
    skip: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()  # more environment variables, e.g. (("COURSE_IMAGE_FOLDER", "retinamnist"),)

    def notebooks(self, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
        """The course's notebooks (``COURSE_NOTEBOOKS``) in ``notebooks_dir`` that this run executes."""
        return [notebooks_dir / name for name in COURSE_NOTEBOOKS
                if name[:2] not in self.skip and (notebooks_dir / name).is_file()]

    def environment(self) -> dict[str, str]:
        """This process's environment with the run's settings; folders made absolute, because
        kernels start in the notebooks' folder."""
        environment = {**os.environ, "COURSE_FAST": "1" if self.fast else "0", "COURSE_DATASET": self.dataset,
                       **dict(self.settings)}
        for folder in ("COURSE_DATA_DIR", "COURSE_CACHE_DIR"):
            if environment.get(folder, "").strip():
                environment[folder] = str(Path(environment[folder].strip()).expanduser().resolve())
        return environment


RUNS = {
    # 01-06 within 45 minutes, plus 10 for notebook 07 on BreastMNIST and 25 for notebook 08 on BUSI.
    "full-fashion_mnist": Run(fast=False, dataset="fashion_mnist", target_minutes=80),
    "full-mnist": Run(fast=False, dataset="mnist", target_minutes=45, skip=DATASET_INDEPENDENT),
    "fast": Run(fast=True, dataset="mnist", target_minutes=18),  # 08 within 3
    # Notebook 07 on the colour, five-class RetinaMNIST (its default, BreastMNIST, runs in the runs above).
    "full-retinamnist": Run(fast=False, dataset="mnist", target_minutes=10,
                            skip=("01", "02", "03", "04", "05", "06", "08"),
                            settings=(("COURSE_IMAGE_FOLDER", "retinamnist"),)),
}


def execute_notebook(source: Path, target: Path, timeout: int = 3600) -> dict:
    """Execute ``source`` in a fresh kernel (cwd: its folder) and save it to ``target``.

    Runs in this process; peak memory is the largest resident size among this process's
    finished children, which is the kernel (run it in a fresh process to measure one notebook).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()[-1][:300]
    seconds = time.perf_counter() - start
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return {"seconds": round(seconds, 1), "peak_mib": _peak_children_mib(), "error": error}


def _peak_children_mib() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def collect_metrics(notebook) -> list[dict]:
    """The metric tables an executed notebook displayed with ``show_metrics``, in order."""
    return [
        {"title": output["data"][RESULTS_MIME]["title"], "metrics": dict(output["data"][RESULTS_MIME]["metrics"])}
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if RESULTS_MIME in output.get("data", {})
    ]


def collect_data_sources(notebook) -> list[str]:
    """The lines the course's loaders printed about their data and weights (they contain ``source:``)."""
    lines = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines += [line.strip(" !") for line in output["text"].splitlines() if "source:" in line]
    return list(dict.fromkeys(lines))


def _relative(folder: str) -> str:
    """A folder named relative to the course (``../shared/data``), not by this machine's absolute path."""
    return os.path.relpath(folder, ROOT) if os.path.isabs(folder) else folder


def _by_role(text: str, environment: dict[str, str]) -> str:
    """``text`` with the data and cache folders named by their setting (``COURSE_DATA_DIR/medmnist/...``)
    and the course's own folder by a relative path, so the report shows no machine's absolute paths."""
    for role in ("COURSE_DATA_DIR", "COURSE_CACHE_DIR"):
        folder = environment.get(role, "").strip()
        if folder:
            text = text.replace(folder.rstrip("/") + "/", role + "/").replace(folder, role)
    return text.replace(str(ROOT) + "/", "")


def render_html(notebook, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    target.write_text(body, encoding="utf-8")


def committed_results(path: Path = REPORT_DATA) -> list[dict]:
    """The runs of the committed report (``docs/results.json``); empty if there is none."""
    return json.loads(path.read_text()) if path.is_file() else []


def _built_or_committed(name: str, build_dir: Path, committed: list[dict]) -> dict | None:
    """Run ``name``'s results from ``build_dir``, else from the committed report, else None."""
    built = build_dir / name / "results.json"
    if built.is_file():
        return json.loads(built.read_text())
    return next((results for results in committed if results["run"] == name), None)


def build_run(name: str, run: Run, build_dir: Path = BUILD_DIR, notebooks_dir: Path = NOTEBOOKS_DIR,
              fresh_cache: bool = False, only: tuple[str, ...] = (), committed: list[dict] = ()) -> dict:
    """Execute, render and summarise one run; returns (and saves) its results.

    With ``fresh_cache`` the run gets its own empty, temporary ``COURSE_CACHE_DIR``, so every
    model is trained and its times are those of a first run. With ``only`` (notebook numbers such
    as ``("05",)``) just those notebooks are executed; the other notebooks' results are kept from
    ``build/<run>/results.json`` or, on a machine that has not built the run, from ``committed``
    (the committed report's runs), and each re-executed entry records when and with what cache.
    """
    import nbformat

    out_dir = build_dir / name
    sources = run.notebooks(notebooks_dir)
    previous = None
    if only:
        unknown = sorted(set(only) - {p.name[:2] for p in sources})
        if unknown:
            raise ValueError(f"--notebooks: run {name!r} has no notebook {', '.join(unknown)}; "
                             f"it has {', '.join(p.name[:2] for p in sources)}.")
        previous = _built_or_committed(name, build_dir, committed)
        if previous is None:
            raise FileNotFoundError(f"--notebooks re-executes notebooks of a built run, but {out_dir / 'results.json'} "
                                    f"is missing and the committed report has no run {name!r}: "
                                    f"build the whole run first (--runs {name}).")
        sources = [p for p in sources if p.name[:2] in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    environment = run.environment()
    new_cache = tempfile.TemporaryDirectory(prefix="course-cache-") if fresh_cache else contextlib.nullcontext()
    with new_cache as temporary_cache:
        if fresh_cache:
            environment["COURSE_CACHE_DIR"] = temporary_cache
        cache_dir = Path(temporary_cache) if fresh_cache else settings().cache_dir
        results = {
            "run": name, "fast": run.fast, "dataset": run.dataset, "target_minutes": run.target_minutes,
            "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "settings": {k: _relative(environment.get(k, "")) for k in ("COURSE_OFFLINE", "COURSE_DATA_DIR", *dict(run.settings))}
            | {"COURSE_CACHE_DIR": "a new empty folder" if fresh_cache
               else _relative(environment.get("COURSE_CACHE_DIR", ""))},
            # Models trained and data downloaded earlier are reused from the cache: shorter times.
            "cache_files_at_start": sum(p.is_file() for p in cache_dir.rglob("*")) if cache_dir.is_dir() else 0,
            "notebooks": [],
        }
        for source in sources:
            target = out_dir / source.name
            print(f"[{name}] executing {source.name} ...", flush=True)
            completed = subprocess.run(
                [sys.executable, __file__, "--execute-one", str(source), str(target)],
                env=environment, capture_output=True, text=True,
            )
            if completed.returncode != 0:
                raise RuntimeError(f"could not execute {source.name}:\n{completed.stderr[-2000:]}")
            measured = json.loads(completed.stdout.strip().splitlines()[-1])
            notebook = nbformat.read(target, as_version=4)
            render_html(notebook, target.with_suffix(".html"))
            entry = {"name": source.name, **measured, "metrics": collect_metrics(notebook),
                     "data_sources": [_by_role(line, environment) for line in collect_data_sources(notebook)]}
            if previous is not None:
                entry["reexecuted"] = {"started": results["started"], "cache_files_at_start": results["cache_files_at_start"],
                                       "COURSE_CACHE_DIR": results["settings"]["COURSE_CACHE_DIR"]}
            results["notebooks"].append(entry)
            status = "FAILED: " + measured["error"] if measured["error"] else "ok"
            print(f"[{name}] {source.name}: {measured['seconds']:.0f} s, {measured['peak_mib']} MiB peak, {status}",
                  flush=True)
    if previous is not None:
        rerun = {nb["name"]: nb for nb in results["notebooks"]}
        kept = [nb for nb in previous["notebooks"] if nb["name"] not in rerun]
        results = {**previous, "target_minutes": run.target_minutes,  # the run's target today
                   "notebooks": sorted(kept + list(rerun.values()), key=lambda nb: nb["name"])}
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    return results


def _environment_lines() -> list[str]:
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB memory"
    return [
        f"- Hardware: {cpu}, {os.cpu_count()} CPU cores{memory}, no GPU",
        f"- Software: Python {platform.python_version()}, " + ", ".join(versions),
    ]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _total_seconds(results: dict) -> float:
    return sum(nb["seconds"] for nb in results["notebooks"])


def _mode(results: dict) -> str:
    return "fast" if results["fast"] else "full"


def _data_set(results: dict) -> str:
    """What the run's notebooks read: COURSE_DATASET, or the image folder of a run of notebook 07 alone."""
    folder = results["settings"].get("COURSE_IMAGE_FOLDER")
    return f"COURSE_IMAGE_FOLDER={folder}" if folder else f"COURSE_DATASET={results['dataset']}"


def _cache(files: int) -> str:
    if files == 0:
        return "empty cache at the start, so every model was trained in this run"
    return f"{files} file{'s' * (files != 1)} in the cache at the start (what an earlier run trained or fetched is reused: shorter times)"


def render_report(all_results: list[dict]) -> str:
    """``docs/results.md`` from the results of one or more runs."""
    lines = [
        "# Course results",
        "",
        "Generated by `python tools/build_course.py` from the executed notebooks; do not edit by hand.",
        "",
        f"- Report written: {dt.date.today().isoformat()}",
        *_environment_lines(),
        "",
        "| run | mode | data set | notebooks | whole run | target |",
        "|---|---|---|---|---|---|",
    ]
    for results in all_results:
        total = _total_seconds(results)
        verdict = "met" if total < 60 * results["target_minutes"] else "**missed**"
        lines.append(f"| `{results['run']}` | {_mode(results)} | {_data_set(results)} | {len(results['notebooks'])} "
                     f"| **{_minutes(total)}** | under {results['target_minutes']} min: {verdict} |")
    lines.append("")
    for results in all_results:
        settings = ", ".join(f"{k}={v or 'unset'}" for k, v in results["settings"].items())
        lines += [
            f"## Run `{results['run']}`: {_mode(results)} mode, {_data_set(results)}",
            "",
            f"Started {results['started']}; {settings}; {_cache(results['cache_files_at_start'])}. "
            f"Whole run: **{_minutes(_total_seconds(results))}**.",
            "",
            "| notebook | status | wall time | peak memory |",
            "|---|---|---|---|",
        ]
        for nb in results["notebooks"]:
            status = f"failed: {nb['error']}" if nb["error"] else "ok"
            if "reexecuted" in nb:
                status += (f"; re-executed alone {nb['reexecuted']['started']} "
                           f"(COURSE_CACHE_DIR={nb['reexecuted']['COURSE_CACHE_DIR'] or 'unset'}, "
                           f"{_cache(nb['reexecuted']['cache_files_at_start'])})")
            memory = f"{nb['peak_mib']:,.0f} MiB" if nb["peak_mib"] is not None else "n/a"
            lines.append(f"| {nb['name']} | {status} | {_minutes(nb['seconds'])} | {memory} |")
        sources = sorted({s for nb in results["notebooks"] for s in nb["data_sources"]})
        if sources:
            lines += ["", "Data and pre-trained weights, as the loaders reported them:", ""] + [f"- {s}" for s in sources]
        for nb in results["notebooks"]:
            if nb["metrics"]:
                lines += ["", f"### {nb['name']}", ""]
                lines += [metrics_markdown(m["title"], m["metrics"]) for m in nb["metrics"]]
        lines.append("")
    return "\n".join(lines)


TIMING = re.compile(r"time|seconds|\(s\)|\bms\b")


def _number(value: float | int | str) -> float | None:
    """A metric's value as a number: numbers as they are, strings by their leading number
    (``"0.926 (95% CI 0.901-0.949)"`` -> 0.926), other strings None."""
    if isinstance(value, str):
        match = re.match(r"-?\d+(\.\d+)?", value.replace(",", ""))
        return float(match.group()) if match else None
    return float(value)


def compare_results(committed: list[dict], rerun: list[dict], tolerance: float = 0.02) -> list[str]:
    """What moved between two sets of runs, one line each (empty: they agree).

    A number moved when it differs by more than ``tolerance`` for scores up to 1 (accuracies,
    AUCs), or by more than that fraction of itself for larger numbers; a string moved when it
    changed. Timings are not compared. Only runs on both sides are compared; metrics missing
    from one of them are listed.
    """
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1), got {tolerance}.")
    both = {r["run"] for r in committed} & {r["run"] for r in rerun}

    def metrics(all_results: list[dict]) -> dict[tuple[str, str, str, str], float | int | str]:
        return {
            (results["run"], nb["name"], table["title"], name): value
            for results in all_results if results["run"] in both for nb in results["notebooks"]
            for table in nb["metrics"] for name, value in table["metrics"].items()
            if not TIMING.search(name)
        }

    old, new = metrics(committed), metrics(rerun)
    moved = []
    for key in sorted(old.keys() | new.keys()):
        where = " / ".join(key)
        if key not in new or key not in old:
            moved.append(f"{where}: only in the {'committed run' if key in old else 'rerun'}")
            continue
        a, b = _number(old[key]), _number(new[key])
        if a is None or b is None:
            changed = old[key] != new[key]
        else:
            changed = abs(b - a) > tolerance * max(1.0, abs(a))
        if changed:
            moved.append(f"{where}: {old[key]} -> {new[key]}")
    return moved


def load_results(build_dir: Path = BUILD_DIR, committed: list[dict] = ()) -> list[dict]:
    """Every run's results found in ``build_dir``, and the ``committed`` runs not built there (so a
    report rewritten after one run keeps the others), in the order of RUNS (others after)."""
    found = {results["run"]: results for results in committed}
    found |= {p.parent.name: json.loads(p.read_text()) for p in build_dir.glob("*/results.json")}
    order = list(RUNS) + sorted(set(found) - set(RUNS))
    return [found[name] for name in order if name in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS), help="which runs to execute")
    parser.add_argument("--report-only", action="store_true", help="only rewrite docs/results.md and docs/results.json from build/")
    parser.add_argument("--compare", action="store_true",
                        help="list the metrics that moved since the committed docs/results.json (exit code 1 if any)")
    parser.add_argument("--fresh-cache", action="store_true",
                        help="give each run a new empty COURSE_CACHE_DIR, so that every model is trained")
    parser.add_argument("--notebooks", nargs="+", default=(), metavar="NN",
                        help="re-execute only these notebooks (numbers, e.g. 05 07) of already built runs")
    parser.add_argument("--tolerance", type=float, default=0.02, help="run-to-run noise for --compare (default 0.02)")
    parser.add_argument("--site", action="store_true",
                        help="then build the course site from build/full-fashion_mnist into build/site (tools/build_site.py)")
    parser.add_argument("--execute-one", nargs=2, metavar=("SOURCE", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute_one:
        print(json.dumps(execute_notebook(Path(args.execute_one[0]), Path(args.execute_one[1]))))
        return 0
    committed = committed_results()
    if args.compare and not committed:
        parser.error(f"--compare needs the committed {REPORT_DATA.relative_to(ROOT)}, which is missing.")
    if not args.report_only:
        for name in args.runs:
            build_run(name, RUNS[name], fresh_cache=args.fresh_cache, only=tuple(args.notebooks), committed=committed)
    all_results = load_results(committed=committed)
    moved = []
    if args.compare:
        moved = compare_results(committed, all_results, tolerance=args.tolerance)
        print(f"Compared with the committed run, {len(moved)} metric(s) moved by more than {args.tolerance}.")
        print("".join(f"  {line}\n" for line in moved), end="")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(render_report(all_results))
    REPORT_DATA.write_text(json.dumps(all_results, indent=1) + "\n")
    print(f"wrote {REPORT.relative_to(ROOT)}, {REPORT_DATA.relative_to(ROOT)} and {BUILD_DIR.relative_to(ROOT)}/")
    failed = [nb["name"] for r in all_results for nb in r["notebooks"] if nb["error"]]
    if args.site and build_site.main([]) != 0:
        return 1
    return 1 if failed or moved else 0


if __name__ == "__main__":
    sys.exit(main())
