"""Check the course against a Colab-like stack: the maintainer's guard for ``requirements-colab.txt``.

    python tools/check_colab_stack.py                      # build build/colab-stack/, then check
    python tools/check_colab_stack.py --venv /tmp/colab    # somewhere else

Google Colab ships its own TensorFlow, Keras, NumPy, pandas and scikit-learn; the notebooks' setup
cell installs ``requirements-colab.txt`` on top. If that install upgraded one of Colab's packages,
Colab's TensorFlow could break and the learner would have to restart the runtime. This script:

1. builds a virtual environment with the versions Colab ships (:data:`COLAB_STACK`; update it when
   Colab updates, from ``pip list`` in a Colab notebook);
2. asks pip what ``pip install -r requirements-colab.txt`` would do there (``--dry-run --report``)
   and fails if it would change any package already installed;
3. installs it, plus the course's test tools (constrained to the stack, so they change nothing);
4. runs the README's test command (``python -m pytest``) in that environment, with a fresh cache.

It exits with status 0 only if both the dry run and the tests pass. It downloads about 1 GB the
first time and takes a while (the whole test suite runs); later runs reuse the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent

# What Colab's Python 3.11/3.12 runtime ships (mid-2025), for the packages the course touches.
COLAB_STACK = [
    "tensorflow==2.19.0",
    "keras==3.10.0",
    "numpy==2.0.2",
    "scipy==1.15.3",
    "pandas==2.2.2",
    "scikit-learn==1.6.1",
    "scikit-image==0.25.2",
    "matplotlib==3.10.0",
    "numba==0.60.0",
    "tqdm==4.67.1",
    "ipykernel==6.17.1",
]
# The README's test command needs these too; Colab has no use for them.
TEST_TOOLS = ["pytest", "nbval", "nbformat", "nbconvert", "lime"]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``, echoing it, and stop the script if it fails."""
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, check=True, **kwargs)


def package_versions(python: Path) -> dict[str, str]:
    """The installed packages of the environment of ``python``: normalised name -> version."""
    listing = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
    return {_normalise(p["name"]): p["version"] for p in json.loads(listing)}


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def planned_changes(python: Path, requirements: Path) -> tuple[list[str], list[str]]:
    """What installing ``requirements`` would do: ``(new packages, changes to installed ones)``."""
    installed = package_versions(python)
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        run([str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report_path),
             "-r", str(requirements)])
        report = json.loads(report_path.read_text())
    new, changed = [], []
    for item in report["install"]:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if _normalise(name) in installed:
            changed.append(f"{name} {installed[_normalise(name)]} -> {version}")
        else:
            new.append(f"{name} {version}")
    return new, changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=COURSE_ROOT / "build" / "colab-stack",
                        help="where to build the Colab-like environment (reused if present)")
    args = parser.parse_args(argv)

    python = args.venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(args.venv)])
        run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(python), "-m", "pip", "install", "--quiet", *COLAB_STACK])

    new, changed = planned_changes(python, COURSE_ROOT / "requirements-colab.txt")
    print("pip install -r requirements-colab.txt would install:", ", ".join(new) or "nothing")
    if changed:
        print("... and change what Colab has:", ", ".join(changed))
        return 1
    print("... and change nothing Colab has.")

    with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
        constraints.write("\n".join(COLAB_STACK) + "\n")
        constraints.flush()
        run([str(python), "-m", "pip", "install", "--quiet", "-c", constraints.name,
             "-r", str(COURSE_ROOT / "requirements-colab.txt"), *TEST_TOOLS])
    stack = package_versions(python)
    shown = [requirement.split("==")[0] for requirement in COLAB_STACK] + ["umap-learn", "mlxtend", *TEST_TOOLS]
    print("Colab-like stack:", ", ".join(f"{name} {stack[_normalise(name)]}" for name in shown))

    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "COURSE_CACHE_DIR": cache, "VIRTUAL_ENV": str(args.venv),
                       "PATH": f"{args.venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        tests = subprocess.run([str(python), "-m", "pytest"], cwd=COURSE_ROOT, env=environment)
    print("The test command on the Colab-like stack:", "passed" if tests.returncode == 0 else "FAILED")
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
