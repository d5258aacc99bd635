"""Sphinx configuration of the course site (built by ``python tools/build_site.py``).

The pages are staged by tools/build_site.py: the README as ``index.md``, the executed notebooks of a
build_course run in ``notebooks/`` and the documents in ``docs/``, so every page sits at the path its
file has in the repository and the Colab button opens the repository's copy. Notebooks are shown as
they were executed: the site builder never runs them.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from notebook_style import REPOSITORY_URL  # noqa: E402  the one place that says where the course lives

project = "Introduction to Deep Learning for image analysis"
author = "The course's authors"
copyright = "the course's authors, MIT licence"

extensions = ["myst_nb"]
nb_execution_mode = "off"  # the notebooks come executed from tools/build_course.py
nb_output_stderr = "show"
nb_render_markdown_format = "myst"  # Markdown outputs as the notebooks show them: show_metrics' tables are tables
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # the README's links to its own sections (#two-commands) resolve
suppress_warnings = ["mystnb.unknown_mime_type"]  # the course report's JSON beside each metrics table

html_theme = "sphinx_book_theme"
html_title = project
html_sourcelink_suffix = ""  # the download button gives the notebook itself (.ipynb, with its outputs)
html_context = {"default_mode": "light"}  # figures are drawn on white; an empty mode is a console error
html_theme_options = {
    "repository_url": REPOSITORY_URL,
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}
