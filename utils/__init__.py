"""The shared code of the course: settings, data, features, models, interpretability and plots."""

import os

# TensorFlow's C++ start-up logs (CUDA probing, CPU instructions) mean nothing to a learner.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
