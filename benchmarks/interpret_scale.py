"""Do the explanation methods of utils.interpret stay usable at full resolution? Seconds and peak memory per image.

    python benchmarks/interpret_scale.py [--sizes 28 128 299] [--output benchmarks/interpret_scale.md]

Every attribution method of ``interpret.ATTRIBUTION_METHODS``, with its default options, explains one
image for the course's global-average-pooling CNN (``utils.models.build_gap_cnn``, three classes, the
size and channels of the image; untrained: the time does not depend on the weights) at each size, in
grey and in colour. Each size and colour runs in a child process of its own, so that its memory is its
own; in it the model's compiled calls are warmed up first, then each method is timed on one image (the
median of three runs at 28 px, one run above) and its peak memory is read from the kernel: the
process's peak resident set (``VmHWM``), reset before each method (``/proc/self/clear_refs``, Linux).
The table goes to ``--output``, with the machine's core count and load: on a shared machine the
seconds are inflated by the other processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("COURSE_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHANNELS = {"grey": 1, "colour": 3}


def _peak_mb() -> float:
    """The process's peak resident memory since the last reset, in MB (Linux)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def child(size: int, channels: int) -> None:
    """Time every method on one image of ``size`` x ``size`` x ``channels``; print one JSON line per method."""
    import keras
    import numpy as np

    from utils import interpret
    from utils.models import build_gap_cnn

    keras.utils.set_random_seed(0)
    model = build_gap_cnn(3, (size, size, channels))
    image = np.random.default_rng(0).random((size, size, channels)).astype(np.float32)
    class_index = int(interpret.predict_scores(model, image[None]).argmax())
    for warm_up in (interpret.saliency, interpret.cam, interpret.grad_cam):  # compiles every model call once
        warm_up(model, image, class_index)
    repeats = 3 if size <= 32 else 1
    for name, method in interpret.ATTRIBUTION_METHODS.items():
        _reset_peak()
        before = _peak_mb()
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            method(model, image, class_index)
            seconds.append(time.perf_counter() - start)
        print(json.dumps({"size": size, "channels": channels, "method": name, "seconds": float(np.median(seconds)),
                          "peak_mb": _peak_mb(), "added_mb": _peak_mb() - before}), flush=True)


def _markdown(rows: list[dict], sizes: list[int]) -> str:
    configs = [(size, colour) for size in sizes for colour in CHANNELS]
    methods = list(dict.fromkeys(row["method"] for row in rows))
    by_key = {(row["method"], row["size"], row["channels"]): row for row in rows}
    header = "| method | " + " | ".join(f"{size} px {colour}" for size, colour in configs) + " |"
    rule = "|---|" + "---:|" * len(configs)

    def table(cell) -> list[str]:
        lines = [header, rule]
        for method in methods:
            cells = [by_key.get((method, size, CHANNELS[colour])) for size, colour in configs]
            lines.append(f"| {method} | " + " | ".join("-" if row is None else cell(row) for row in cells) + " |")
        return lines

    load = os.getloadavg()
    return "\n".join([
        "# Explanation methods at full resolution: seconds and peak memory per image",
        "",
        f"Written by `python benchmarks/interpret_scale.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{os.cpu_count()} CPU cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) "
        "at the end of the run; on a shared machine the seconds are inflated by the other processes.",
        "",
        "Model: `utils.models.build_gap_cnn(3, (size, size, channels))`, untrained (the time does not depend on "
        "the weights); one random image; every method with its default options (occlusion's patch and stride "
        "scale with the image, `interpret.occlusion_geometry`; SmoothGrad 50 noisy copies; integrated gradients "
        "64 steps; LIME 1,000 samples on 50 SLIC superpixels). Compiled calls warmed up first.",
        "",
        "## Seconds per image",
        "",
        *table(lambda row: f"{row['seconds']:.2f}"),
        "",
        "## Peak memory of the process while the method ran (MB)",
        "",
        "The process's peak resident set (`VmHWM`, reset before each method): TensorFlow, the model and the "
        "method together; in brackets what the method added to the process's memory before it started.",
        "",
        *table(lambda row: f"{row['peak_mb']:.0f} (+{max(row['added_mb'], 0):.0f})"),
        "",
    ])


def main(sizes: list[int], output: Path) -> None:
    rows = []
    for size in sizes:
        for colour, channels in CHANNELS.items():
            print(f"{size} px {colour} ...", flush=True)
            result = subprocess.run([sys.executable, __file__, "--child", str(size), str(channels)],
                                    capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"the child for {size} px {colour} failed:\n{result.stderr[-3000:]}")
            for line in result.stdout.splitlines():
                if line.startswith("{"):
                    rows.append(json.loads(line))
                    print(f"  {rows[-1]['method']:<22} {rows[-1]['seconds']:8.2f} s {rows[-1]['peak_mb']:8.0f} MB",
                          flush=True)
    output.write_text(_markdown(rows, sizes))
    print(f"Wrote {output}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 128, 299])
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "interpret_scale.md")
    parser.add_argument("--child", type=int, nargs=2, metavar=("SIZE", "CHANNELS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child)
    else:
        main(arguments.sizes, arguments.output)
