"""The course's notebooks, the cells every one of them shares, and the rules `clean_notebooks.py` applies."""

REPOSITORY = "dl-image-analysis/course"  # GitHub owner/name of the course

# The course, in order: what the tests run and check and what tools/build_course.py executes. Other notebooks in
# notebooks/ (a learner's copy, `07_my_cells.ipynb`) are left alone, and the test summary says so.
COURSE_NOTEBOOKS = (
    "01_mnist_exploration.ipynb",
    "02_traditional_approach.ipynb",
    "03_deep_learning_cnn.ipynb",
    "04_transfer_learning.ipynb",
    "05_interpretability.ipynb",
    "06_case_study_chest_xray.ipynb",
    "07_your_own_images.ipynb",
    "08_case_study_breast_ultrasound.ipynb",
)
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"


def colab_badge(notebook_name: str) -> str:
    """Markdown for an "Open in Colab" badge pointing at ``notebooks/<notebook_name>``."""
    url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{notebook_name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def header_links(notebook_name: str) -> str:
    """The line under a notebook's title: its Colab badge and where its run times and results are."""
    results = f"{REPOSITORY_URL}/blob/main/docs/results.md"
    return f"{colab_badge(notebook_name)} · How long it runs, and what it computes: [course results]({results})"


SETUP_CELL = f"""\
# Setup: run this cell first. It makes the course's `utils` package importable.
import os
import subprocess
import sys

if "google.colab" in sys.modules:  # on Colab: fetch or update the course, then install what Colab lacks
    COURSE = "/content/course"
    fetch = (["git", "-C", COURSE, "pull", "--ff-only", "-q"] if os.path.isdir(COURSE)
             else ["git", "clone", "--depth", "1", "-q", "{REPOSITORY_URL}", COURSE])
    install = [sys.executable, "-m", "pip", "install", "-q", "-r", f"{{COURSE}}/requirements-colab.txt"]
    for step in (fetch, install):
        result = subprocess.run(step, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"Setup failed: {{' '.join(step)}}\\n{{result.stderr}}\\n"
                               f"Check the connection, delete {{COURSE}} (!rm -rf {{COURSE}}) and run this cell again.")
    sys.path.insert(0, COURSE)
else:  # locally: the course folder is the parent of notebooks/
    sys.path.insert(0, os.path.abspath(".."))

import utils  # also starts TensorFlow, with its start-up logs muted"""
