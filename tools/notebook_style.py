"""The cells every course notebook shares, and the rules `clean_notebooks.py` applies."""

REPOSITORY = "dl-image-analysis/course"  # GitHub owner/name of the course
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
import sys

if "google.colab" in sys.modules:  # on Colab: fetch the course and install what Colab lacks
    if not os.path.isdir("/content/course"):
        !git clone --depth 1 -q {REPOSITORY_URL} /content/course
    %pip install -q -r /content/course/requirements-colab.txt
    sys.path.insert(0, "/content/course")
else:  # locally: the course folder is the parent of notebooks/
    sys.path.insert(0, os.path.abspath(".."))"""
