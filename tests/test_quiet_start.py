"""utils/__init__.py: importing the course's package starts TensorFlow without its red start-up lines."""

import re
import subprocess
import sys

from utils.config import COURSE_ROOT

START_UP_NOISE = re.compile(r"cuInit|absl::InitializeLog|cuda drivers|cpu_feature_guard|oneDNN custom operations")


def test_importing_utils_starts_tensorflow_quietly_and_keeps_warnings_visible():
    program = ("import utils, warnings, tensorflow as tf; print(float(tf.constant(1.0) + 1)); "
               "warnings.warn('a real warning')")
    result = subprocess.run([sys.executable, "-c", program], cwd=COURSE_ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.0"
    assert not START_UP_NOISE.search(result.stderr), result.stderr
    assert "a real warning" in result.stderr


def test_tensorflow_retracing_hints_are_muted_and_its_other_warnings_are_not():
    program = ("import utils, keras, numpy as np, tensorflow as tf\n"
               "for n in range(8):\n"
               "    keras.Sequential([keras.Input((4,)), keras.layers.Dense(n + 1)]).predict(np.zeros((3, 4)), verbose=0)\n"
               "tf.get_logger().warning('another TensorFlow warning')\n")
    result = subprocess.run([sys.executable, "-c", program], cwd=COURSE_ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "retracing" not in result.stderr
    assert "another TensorFlow warning" in result.stderr
