"""The shared code of the course: settings, data, features, models, interpretability and plots.

Importing the package starts TensorFlow quietly (see :func:`_start_tensorflow_quietly`), so the
notebooks' setup cell imports it before anything else can import TensorFlow.
"""

import logging
import os
import sys

# TensorFlow's C++ logs below the error level (CUDA probing, CPU instructions) mean nothing to a learner.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _start_tensorflow_quietly() -> None:
    """Import TensorFlow and find its devices with the process' C-level stderr muted.

    On start-up TensorFlow's C++ code writes lines that ``TF_CPP_MIN_LOG_LEVEL`` does not reach
    ("All log messages before absl::InitializeLog() ...", "Could not find cuda drivers", "failed
    call to cuInit ... (303)" on a machine without a GPU); in a notebook they print in red. They are
    written before absl's logging is set up, so the only way to hide them is to point file
    descriptor 2 at nothing while TensorFlow starts. Python warnings, and everything TensorFlow
    writes later, stay visible, except its tf.function retracing hints (:func:`_not_a_retracing_hint`).
    Does nothing if TensorFlow is already imported or not installed.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # probes CUDA: the "cuInit" line
            tf.get_logger().addFilter(_not_a_retracing_hint)
        except ImportError:
            pass
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)


def _not_a_retracing_hint(record: logging.LogRecord) -> bool:
    """False for TensorFlow's "... triggered tf.function retracing" warning: a performance hint for
    people who write ``tf.function`` code, printed when a notebook predicts with several small
    models in a row (each ``model.predict`` traces anew). TensorFlow's other warnings pass."""
    return "triggered tf.function retracing" not in record.getMessage()


_start_tensorflow_quietly()
