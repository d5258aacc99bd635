"""How fast are the explanation methods of utils.interpret? One digit, after warm-up, side by side.

    python benchmarks/benchmark_interpret.py [--repeats 7]

Prints the median time of every attribution method on the course CNN and its global-average-pooling
variant, checks the speed targets (Grad-CAM < 50 ms, occlusion with stride 1 < 1 s, LIME with 1,000
samples < 1 s), and times the ``lime`` package's ``explain_instance`` on the same digit with the same
segmentation, number of samples and model function: with its default batch size of 10 and with
one batch of all samples. Timings do not depend on the weights, so untrained networks are used.
On a shared machine the figures are inflated by the other processes: run it on an idle one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("COURSE_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from utils import interpret  # noqa: E402
from utils.data import load_dataset  # noqa: E402
from utils.models import build_gap_cnn, build_mnist_cnn, to_model_input  # noqa: E402

TARGETS = {"grad_cam": 0.050, "occlusion": 1.0, "lime": 1.0}  # seconds, on one 28x28 digit
N_SAMPLES = 1000


def lime_package(model, image, class_index, segments, batch_size):
    """The lime package's explanation of the same digit, same segmentation, black for hidden."""
    from lime import lime_image

    explainer = lime_image.LimeImageExplainer(random_state=0)
    return explainer.explain_instance(
        image[..., 0].astype(np.float64),
        lambda rgb: interpret.predict_scores(model, rgb[..., :1].astype(np.float32), target="probability"),
        labels=(class_index,), top_labels=None, hide_color=0, num_samples=N_SAMPLES,
        batch_size=batch_size, segmentation_fn=lambda _: segments, random_seed=0,
    )


def main(repeats: int) -> None:
    dataset = load_dataset(n_test=10)
    image = to_model_input(dataset.x_test[:1])[0]
    class_index = int(dataset.y_test[0])
    keras.utils.set_random_seed(0)
    models = {"mnist_cnn": build_mnist_cnn(), "gap_cnn": build_gap_cnn()}
    print(f"One {dataset.title} digit {image.shape}, median of {repeats} runs after warm-up; "
          f"{os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.1f} (other processes slow it down).\n")

    print(f"{'method':<22}" + "".join(f"{name:>14}" for name in models))
    results = {}
    for name, method in interpret.ATTRIBUTION_METHODS.items():
        row = []
        for model_name, model in models.items():
            if name == "cam" and model_name == "mnist_cnn":
                row.append("n/a")
                continue
            seconds = interpret.timed(lambda: method(model, image, class_index), repeats=repeats)[1]
            results[name, model_name] = seconds
            row.append(f"{seconds * 1000:.1f} ms")
        print(f"{name:<22}" + "".join(f"{cell:>14}" for cell in row))

    print("\nTargets on one digit (course CNN, 2 idle CPU cores):")
    for name, target in TARGETS.items():
        seconds = results[name, "mnist_cnn"]
        print(f"  {name:<10} {seconds * 1000:8.1f} ms  target < {target * 1000:.0f} ms  "
              f"{'OK' if seconds < target else 'MISSED'}  ({target / seconds:.1f}x headroom)")

    model = models["mnist_cnn"]
    segments = interpret.superpixels(image)
    ours = interpret.timed(lambda: interpret.lime(model, image, class_index, segments=segments, n_samples=N_SAMPLES),
                           repeats=repeats)[1]
    print(f"\nLIME, {N_SAMPLES:,} samples, the same {segments.max() + 1} SLIC superpixels, the same compiled model call:")
    print(f"  utils.interpret.lime                          {ours * 1000:8.1f} ms")
    for batch_size, note in ((10, "its default batch size"), (N_SAMPLES, "one batch")):
        theirs = interpret.timed(lambda: lime_package(model, image, class_index, segments, batch_size),
                                 repeats=max(1, repeats // 2))[1]
        print(f"  lime.explain_instance, batch_size={batch_size:<5} {theirs * 1000:8.1f} ms  "
              f"({note}; ours is {theirs / ours:.1f}x faster)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per method (median reported)")
    main(parser.parse_args().repeats)
