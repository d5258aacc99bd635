"""The course's figure style: figures that fit JupyterLab's output area, so their text stays legible.

JupyterLab shows a notebook's outputs about :data:`OUTPUT_WIDTH_PX` wide (a 1,400 px browser window
with the file browser open) and shrinks a wider figure to fit, its text with it. At Matplotlib's
:data:`DPI` a figure at most :data:`MAX_WIDTH` inches wide is shown at full size, where text of
6 points or more is at least 8 px high. Every figure function of ``utils.plots`` sizes its figure
with :func:`fit_width`; :func:`displayed_text_px` measures the result.
"""

from __future__ import annotations

import matplotlib.text
from matplotlib.figure import Figure

OUTPUT_WIDTH_PX = 970
DPI = 100  # Matplotlib's figure.dpi, which the notebooks' inline backend uses
MAX_WIDTH = OUTPUT_WIDTH_PX / DPI  # inches


def fit_width(figsize: tuple[float, float]) -> tuple[float, float]:
    """``figsize`` (inches) scaled down, keeping its aspect, to at most :data:`MAX_WIDTH` wide."""
    width, height = figsize
    if width <= 0 or height <= 0:
        raise ValueError(f"figsize must be two positive numbers (width, height), got {figsize!r}.")
    scale = min(1.0, MAX_WIDTH / width)
    return width * scale, height * scale


def displayed_text_px(figure: Figure) -> float:
    """The height in pixels of the figure's smallest visible text when JupyterLab shows it.

    A font of ``s`` points is ``s * dpi / 72`` pixels in the PNG; JupyterLab shrinks the PNG to
    :data:`OUTPUT_WIDTH_PX` when it is wider. Returns ``inf`` for a figure without text.
    """
    png_width = figure.get_figwidth() * DPI
    shrink = min(1.0, OUTPUT_WIDTH_PX / png_width)
    sizes = [text.get_fontsize() for text in figure.findobj(matplotlib.text.Text)
             if text.get_visible() and text.get_text().strip()]
    return min(sizes, default=float("inf")) * DPI / 72 * shrink
