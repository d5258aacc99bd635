"""Does a folder of images stream, whatever its size? Decode rate, cache size, memory and time against N.

    flock /work/wt/heavy.lock python benchmarks/folder_scale.py [--sizes 1000 4000 12400]
        [--images /tmp/folder_scale] [--output benchmarks/folder_scale.md]

Synthetic folders with the size distribution of the fetal ultrasound planes data set (FETAL_PLANES_DB:
grey PNGs, widths and heights drawn from the 107 original images in ``COURSE_DATA_DIR/fetal_planes_sample``,
about 900 x 650; its six planes in the proportions of its label file): speckled fan-shaped images,
written once into ``--images`` (the smaller folders are hard links to the first files of the largest).
For each size N, each step runs in a child process of its own (so its memory is its own), with an
empty course cache for the first decode:

- **decode**: ``folders.load_image_folder`` at 128 px (each file decoded once, in parallel, into the
  memory-mapped cache): seconds, images per second, the cache's size on disk; then again (**reuse**);
- **train 128 px**: one epoch of the course CNN (``build_mnist_cnn``, 128 x 128 x 1, batch 32) through
  ``training.train_or_load`` on the memory-mapped training split (every image; 10 % held out);
- **features 299 px**: the folder decoded at 299 px (seconds, cache size), then InceptionV3 (random
  weights: no download here) through ``transfer.extract_features`` on the first ``--extract`` images
  of the memory-mapped split (a full pass costs the same per image: the table gives its estimate).

Peak memory is read from the kernel: the peak resident set (``VmHWM``), which also counts the pages
of the memory-mapped cache that were read (the kernel can drop those at any time), and the peak of the
process's own memory (``RssAnon``, sampled every 20 ms): what it holds. Wall and CPU seconds are
given with the load average: on a shared machine the seconds are inflated by the other processes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("COURSE_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = "fetal_planes_sample"


def _status(field: str) -> float:
    """A field of /proc/self/status in MB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field))
    return int(line.split()[1]) / 1024


class _AnonPeak:
    """The peak of RssAnon, sampled in a thread."""

    def __enter__(self):
        self.peak, self._stop = _status("RssAnon"), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _status("RssAnon"))

    def __exit__(self, *args):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status("RssAnon"))


def _sizes_and_planes(data_dir: Path) -> tuple[list[tuple[int, int]], dict[str, int]]:
    """(width, height) of the sample's original images and the count of each plane in the label file."""
    from PIL import Image

    sample = data_dir / SAMPLE
    sizes = [Image.open(p).size for p in sorted(sample.rglob("*.png"))]
    with open(sample / "FETAL_PLANES_DB_data.csv", newline="") as table:
        planes = [row["Plane"] for row in csv.DictReader(table, delimiter=";")]
    return sizes, {plane: planes.count(plane) for plane in sorted(set(planes))}


def _write_image(job: tuple[str, int, int, int]) -> None:
    """One speckled fan-shaped grey PNG (an ultrasound's look, compressible as one)."""
    import numpy as np
    from PIL import Image

    path, width, height, seed = job
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    radius = np.hypot(x - width / 2, y + 0.1 * height)
    angle = np.abs(np.arctan2(x - width / 2, y + 0.1 * height))
    fan = (angle < 0.7) & (radius < 1.05 * height)
    tissue = 90 + 40 * np.sin(radius / rng.uniform(15, 40) + rng.uniform(0, 6))
    speckle = rng.gamma(4.0, 0.25, (height // 2 + 1, width // 2 + 1)).repeat(2, 0).repeat(2, 1)[:height, :width]
    pixels = np.where(fan, np.clip(tissue * speckle, 0, 255), 0).astype(np.uint8)
    Image.fromarray(pixels).save(path, compress_level=1)


def make_folders(root: Path, sizes_n: list[int], data_dir: Path) -> dict[int, Path]:
    """The synthetic folders, written once (a ``complete`` marker makes them reusable)."""
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    largest = max(sizes_n)
    full = root / f"n{largest}"
    if not (full / "complete").is_file():
        shutil.rmtree(full, ignore_errors=True)
        sizes, planes = _sizes_and_planes(data_dir)
        rng = np.random.default_rng(0)
        counts = {plane: round(largest * n / sum(planes.values())) for plane, n in planes.items()}
        counts[max(counts, key=counts.get)] += largest - sum(counts.values())
        jobs = []
        for plane, count in counts.items():
            (full / plane).mkdir(parents=True)
            for k in range(count):
                width, height = sizes[rng.integers(len(sizes))]
                jobs.append((str(full / plane / f"{plane.replace(' ', '_')}_{k:05d}.png"), width, height, len(jobs)))
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
            list(pool.map(_write_image, jobs, chunksize=64))
        (full / "complete").write_text(f"{len(jobs)} images in {time.perf_counter() - start:.0f} s\n")
    folders = {largest: full}
    everything = sorted(p for p in full.rglob("*.png"))
    for n in sizes_n:
        if n == largest:
            continue
        folder = root / f"n{n}"
        if not (folder / "complete").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            step = len(everything) / n  # every class in its proportion
            for path in (everything[int(i * step)] for i in range(n)):
                (folder / path.parent.name).mkdir(parents=True, exist_ok=True)
                os.link(path, folder / path.parent.name / path.name)
            (folder / "complete").write_text(f"{n} hard links\n")
        folders[n] = folder
    return folders


def _measure(step: str, folder: Path, n_extract: int) -> dict:
    """One step in this (child) process; returns its numbers."""
    from utils import folders, streaming
    from utils.models import build_mnist_cnn
    from utils.training import train_or_load
    from utils.transfer import build_inception_backbone, extract_features

    size = 299 if step in ("decode 299", "features 299") else 128
    cpu = time.process_time()
    start = time.perf_counter()
    with _AnonPeak() as anon:
        dataset = folders.load_image_folder(folder, image_size=size)
        result = {"load seconds": time.perf_counter() - start}
        images = dataset.x_train
        if step.startswith("decode"):
            result["cache MB"] = images.nbytes / 2**20
        elif step == "train 128":
            start = time.perf_counter()
            build = lambda: build_mnist_cnn(len(dataset.class_names), (size, size, 1))  # noqa: E731
            _, history = train_or_load(build, images, dataset.y_train, epochs=1, batch_size=32, verbose=0,
                                       name=f"scale{len(images)}")
            result["epoch seconds"] = history["epoch_seconds"][0]
            result["streamed"] = streaming.is_streamed(images)
        elif step == "features 299":
            backbone, _ = build_inception_backbone(size, weights="random")
            start = time.perf_counter()
            extract_features(backbone, images[:n_extract], batch_size=32, cache_key=None)
            result["seconds per image"] = (time.perf_counter() - start) / n_extract
    result |= {"cpu seconds": time.process_time() - cpu, "peak RSS MB": _status("VmHWM"), "peak own MB": anon.peak,
               "n": len(images)}
    return result


def _child(step: str, folder: Path, cache: Path, n_extract: int) -> dict:
    env = os.environ | {"COURSE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, __file__, "--child", step, "--folder", str(folder), "--extract", str(n_extract)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{step} on {folder} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall seconds"] = time.perf_counter() - start
    print(f"  {step}: {json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()})}",
          flush=True)
    return result


STEPS = ("decode 128", "reuse 128", "train 128", "decode 299", "features 299")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 12400])
    parser.add_argument("--images", type=Path, default=Path("/tmp/folder_scale"))
    parser.add_argument("--extract", type=int, default=256, help="images through InceptionV3 per size")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "folder_scale.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.child, args.folder, args.extract)))
        return 0

    from utils.config import settings

    data_dir = settings().data_dir or ROOT.parent / "shared" / "data"
    start = time.perf_counter()
    folders = make_folders(args.images, args.sizes, data_dir)
    print(f"synthetic folders ready in {time.perf_counter() - start:.0f} s: {(args.images / f'n{max(args.sizes)}' / 'complete').read_text().strip()}")
    results = {}
    for n in sorted(args.sizes):
        cache = args.images / f"cache-{n}"
        shutil.rmtree(cache, ignore_errors=True)
        print(f"N = {n:,}", flush=True)
        results[n] = {step: _child(step, folders[n], cache, args.extract) for step in STEPS}
        shutil.rmtree(cache, ignore_errors=True)
    load = os.getloadavg()
    args.output.write_text(_report(results, args, load))
    args.output.with_suffix(".json").write_text(json.dumps(results, indent=1))
    print(f"written {args.output}")
    return 0


def _report(results: dict, args, load: tuple[float, float, float]) -> str:
    rows = []
    for n, r in results.items():
        decode, reuse, train, decode299, features = (r[s] for s in STEPS)
        rows.append(
            f"| {n:,} | {decode['load seconds']:.0f} s ({n / decode['load seconds']:.0f}/s; CPU {decode['cpu seconds']:.0f} s) "
            f"| {decode['cache MB']:.0f} MB | {reuse['load seconds']:.1f} s "
            f"| {train['epoch seconds']:.0f} s (CPU {train['cpu seconds']:.0f} s) "
            f"| {train['peak own MB']:,.0f} MB / {train['peak RSS MB']:,.0f} MB "
            f"| {decode299['load seconds']:.0f} s ({n / decode299['load seconds']:.0f}/s), {decode299['cache MB']:.0f} MB "
            f"| {features['seconds per image']:.2f} s; full pass ~{features['seconds per image'] * features['n'] / 60:.0f} min "
            f"| {features['peak own MB']:,.0f} MB / {features['peak RSS MB']:,.0f} MB |")
    return "\n".join([
        "# A folder of images at scale: decode once, then stream",
        "",
        f"Generated by `python benchmarks/folder_scale.py --sizes {' '.join(map(str, args.sizes))} --extract {args.extract}` "
        f"on {os.cpu_count()} CPU cores, no GPU (load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}: "
        "other jobs shared the cores, so wall seconds are inflated; CPU seconds are the process's own).",
        "",
        "Synthetic grey PNGs with the sizes of FETAL_PLANES_DB's images (drawn from the 107 originals of the sample, "
        "about 900 x 650) and its six planes in its proportions. Every step in a process of its own; the first "
        "decode into an empty cache. Memory: *own* is the peak of the process's own memory (RssAnon, sampled), "
        "*RSS* the kernel's peak resident set (VmHWM), which also counts the pages of the memory-mapped cache "
        "read so far (file pages the kernel may drop). The epoch trains the course CNN (128 x 128 x 1, batch 32) "
        "on every training image, read batch by batch from the memory-mapped cache (90 % train, 10 % validation). "
        f"Feature extraction runs InceptionV3 (random weights) at 299 px on the first {args.extract} images of "
        "the memory-mapped cache, batch 32; the full pass is estimated from its rate. The second run is the "
        "`load_image_folder` call itself (every file's size and time read, the cache found and mapped); a new "
        "Python process also spends about 5 s importing TensorFlow. A process that only loads the cache "
        "already holds about 300 MB of its own (Python, TensorFlow) and 690 MB resident.",
        "",
        "| images N | decode at 128 px (rate) | cache at 128 px | second run (cache reused) | training epoch at 128 px "
        "| peak memory, training (own / RSS) | decode at 299 px, cache | InceptionV3 features at 299 px, per image "
        "| peak memory, features (own / RSS) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        _growth(results),
        "",
    ])


def _growth(results: dict) -> str:
    """How each measure grows from the smallest N to the largest."""
    small, large = min(results), max(results)
    a, b = results[small], results[large]

    def ratio(step: str, measure: str) -> str:
        return f"x {b[step][measure] / a[step][measure]:.1f}"

    return (f"**Growth from {small:,} to {large:,} images (x {large / small:.1f}):** decode time at 128 px "
            f"{ratio('decode 128', 'load seconds')}, cache {ratio('decode 128', 'cache MB')}, training epoch "
            f"{ratio('train 128', 'epoch seconds')} (all linear in N); peak own memory of training "
            f"{ratio('train 128', 'peak own MB')} and of feature extraction {ratio('features 299', 'peak own MB')} "
            f"(flat); second-run load {a['reuse 128']['load seconds']:.2f} s -> {b['reuse 128']['load seconds']:.2f} s "
            "(it stats every file and maps the cache).")


if __name__ == "__main__":
    sys.exit(main())
