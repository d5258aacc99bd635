"""Models of the course: the CNN trained from scratch and the InceptionV3 transfer models."""

from __future__ import annotations

# --- The course CNN (notebook 03) -------------------------------------------------------------

# --- InceptionV3 transfer learning (notebook 04) ----------------------------------------------
