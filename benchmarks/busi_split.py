"""BUSI's data foundations, measured: the loader's time and memory, the near-duplicate threshold and
what it finds, and the recovery of BreastMNIST's official split.

    COURSE_OFFLINE=1 COURSE_DATA_DIR=../shared/data python benchmarks/busi_split.py \
        --output benchmarks/busi_split.md [--figures /tmp/busi_pairs]

Why: notebook 08 splits BUSI by near-duplicate group and trains on BreastMNIST's official split at
full resolution. Both rest on choices made by looking at the data (the hash threshold, the match
tolerance); this script shows what they were chosen on, and re-measures it from the files.

1. **Loader.** ``load_busi`` with an empty cache (decoding 780 images and 798 masks) and again from
   its cache, at 128 and 299 pixels: seconds and the growth of the process' peak memory.
2. **Near-duplicates.** The DCT perceptual hash of every original image (and of its mirror image);
   the histogram of Hamming distances between all pairs; per threshold, the pairs, groups and
   cross-class pairs found; the cross-class pairs at the default threshold; the pairs just at and
   just above it (``--figures`` saves them side by side as PNG, outside the repository: never commit
   BUSI images); a group split at the defaults, its class counts, and whether a group crosses splits.
3. **BreastMNIST's split.** ``breastmnist_split``: the RMS difference of the 780 matches, the
   distance to the second-nearest BUSI image, the collisions of nearest neighbours and how the
   one-to-one assignment by label resolved them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("COURSE_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from skimage.transform import resize  # noqa: E402

from utils import busi, near_duplicates as nd  # noqa: E402

THRESHOLDS = (0, 4, 6, 8, 10, 12, 14)
SHOWN_PAIRS = 6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def loader_section() -> list[str]:
    lines = ["## 1. Loader", "",
             f"`load_busi` on {busi.DECODE_THREADS} threads (this machine: {os.cpu_count()} CPU cores, shared); "
             "peak memory is the process' maximum resident size (TensorFlow, imported by `utils`, included).", "",
             "| size | empty cache (s) | from cache (s) | peak memory before -> after (MB) |", "|---|---|---|---|"]
    for size in (128, 299):
        before = _peak_mb()
        start = time.perf_counter()
        busi.load_busi(size)
        decoded = time.perf_counter() - start
        start = time.perf_counter()
        data = busi.load_busi(size)
        cached = time.perf_counter() - start
        lines.append(f"| {size} | {decoded:.1f} | {cached:.2f} | {before:.0f} -> {_peak_mb():.0f} |")
    share = data.masks[data.labels < 2].mean(axis=(1, 2))
    lines += ["", f"Images {data.images.shape} uint8 and masks {data.masks.shape} bool at 299 px: "
              f"{(data.images.nbytes + data.masks.nbytes) / 1e6:.0f} MB. Lesions cover a median "
              f"{np.median(share):.1%} of a padded image (benign and malignant; from {share.min():.1%} to "
              f"{share.max():.1%}). Original sizes: width {data.original_sizes[:, 1].min()}-"
              f"{data.original_sizes[:, 1].max()}, height {data.original_sizes[:, 0].min()}-"
              f"{data.original_sizes[:, 0].max()}, {len({tuple(s) for s in data.original_sizes})} distinct.", ""]
    return lines


def _pair_rows(pairs: nd.Pairs, keep: np.ndarray, files: tuple[str, ...], labels: np.ndarray) -> list[str]:
    return [f"| {files[pairs.first[k]]} | {files[pairs.second[k]]} | {pairs.distance[k]} | "
            f"{'yes' if labels[pairs.first[k]] != labels[pairs.second[k]] else ''} |" for k in keep]


def _save_pairs(pairs: nd.Pairs, keep: np.ndarray, files: tuple[str, ...], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(keep), 2, figsize=(7, 2.6 * len(keep)), squeeze=False)
    for row, k in zip(axes, keep):
        names = (files[pairs.first[k]], files[pairs.second[k]])
        for axis, name, image in zip(row, names, busi.original_images(names)):
            axis.imshow(image, cmap="gray")
            axis.set_title(f"{name} ({pairs.distance[k]} bits)", fontsize=9)
            axis.axis("off")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=70)
    plt.close(figure)


def near_duplicate_section(figures: Path | None) -> list[str]:
    data = busi.load_busi(64)
    files, labels = data.files, data.labels
    start = time.perf_counter()
    hashes = nd.perceptual_hashes(busi.original_images(files))
    seconds = time.perf_counter() - start
    distances = nd.hash_distances(hashes)[np.triu_indices(len(files), 1)]
    histogram = np.bincount(distances, minlength=24)[:24:2]  # 63 bits, 31 of them set: distances are even
    lines = ["## 2. Near-duplicates", "",
             f"Hashes of the {len(files)} original images (read, made grey, 32 x 32, DCT, both orientations): "
             f"{seconds:.1f} s. Pairs of images by Hamming distance (bits of {hashes.shape[2]}; only even "
             "distances occur, as every hash has the same number of bits set):", "",
             "| distance | " + " | ".join(str(d) for d in range(0, 24, 2)) + " |",
             "|---" * 13 + "|",
             "| pairs | " + " | ".join(str(n) for n in histogram) + " |", "",
             "| threshold | pairs | groups of 2+ | images in them | largest group | cross-class pairs | "
             "groups with 2+ classes |", "|---|---|---|---|---|---|---|"]
    for threshold in THRESHOLDS:
        pairs = nd.near_duplicate_pairs(hashes, threshold)
        groups = nd.near_duplicate_groups(hashes, threshold)
        sizes = np.bincount(groups)
        cross = int((labels[pairs.first] != labels[pairs.second]).sum())
        mixed = sum(len(np.unique(labels[groups == g])) > 1 for g in np.flatnonzero(sizes > 1))
        mark = " (default)" if threshold == nd.DEFAULT_THRESHOLD else ""
        lines.append(f"| {threshold}{mark} | {len(pairs)} | {(sizes > 1).sum()} | {sizes[sizes > 1].sum()} | "
                     f"{sizes.max()} | {cross} | {mixed} |")

    wide = nd.near_duplicate_pairs(hashes, nd.DEFAULT_THRESHOLD + 4)
    below = wide.distance <= nd.DEFAULT_THRESHOLD
    cross = np.flatnonzero(below & (labels[wide.first] != labels[wide.second]))
    at = np.flatnonzero(wide.distance == nd.DEFAULT_THRESHOLD)[:SHOWN_PAIRS]
    above_distance = wide.distance[~below].min()
    above = np.flatnonzero(wide.distance == above_distance)[:SHOWN_PAIRS]
    header = ["| image | image | bits | other class |", "|---|---|---|---|"]
    lines += ["", f"Cross-class pairs at the default threshold ({nd.DEFAULT_THRESHOLD} bits):", "", *header,
              *_pair_rows(wide, cross, files, labels), "",
              f"Pairs at the threshold ({nd.DEFAULT_THRESHOLD} bits; the first {SHOWN_PAIRS}):", "", *header,
              *_pair_rows(wide, at, files, labels), "",
              f"Pairs just above it ({above_distance} bits; the first {SHOWN_PAIRS}):", "", *header,
              *_pair_rows(wide, above, files, labels), ""]
    if figures is not None:
        _save_pairs(wide, at, files, figures / "at_threshold.png")
        _save_pairs(wide, above, files, figures / "above_threshold.png")
        _save_pairs(wide, cross, files, figures / "cross_class.png")

    groups = nd.near_duplicate_groups(hashes)
    split = nd.group_split(labels, groups)
    seen = [set(groups[indices]) for indices in split.values()]
    crossing = len((seen[0] & seen[1]) | (seen[0] & seen[2]) | (seen[1] & seen[2]))
    lines += [f"`group_split` at its defaults (val 0.15, test 0.15, seed 0), images per class "
              f"({', '.join(data.class_names)}):", "", "| split | images | per class |", "|---|---|---|"]
    lines += [f"| {name} | {len(indices)} | {' / '.join(map(str, np.bincount(labels[indices], minlength=3)))} |"
              for name, indices in split.items()]
    lines += ["", f"Groups in more than one split: {crossing}.", "",
              "Looked at (`--figures`): every cross-class pair at the default threshold is the same scan "
              "(re-saved, a marker more or less); the pairs at the threshold are the same lesion or adjacent "
              "frames; just above it, same-patient frames (the benign (5) / (17) / (322) / (425) family) "
              "mix with different scans of other classes, which a higher threshold would chain into groups. "
              "The default keeps the threshold below that mixing; same-patient frames above it remain a "
              "possible leak that no hash threshold removes (BUSI has no patient identifiers).", ""]
    return lines


def breastmnist_section() -> list[str]:
    start = time.perf_counter()
    split = busi.breastmnist_split()
    seconds = time.perf_counter() - start
    every = [name for names in split.files.values() for name in names]
    rms = np.concatenate(list(split.rms.values()))
    data = busi.load_medmnist("breastmnist")
    agree = all(
        [busi.BREASTMNIST_LABEL[name.split(" ")[0]] for name in names] == getattr(data, f"y_{s}").tolist()
        for s, names in split.files.items())
    # How far each BreastMNIST image is from the BUSI images it was not matched to: the margin of the match.
    names = list(busi.load_busi(64).files)
    thumbnails = np.stack([busi.breastmnist_thumbnail(image) for image in busi.original_images(names)])
    queries = np.concatenate([getattr(data, f"x_{s}") for s in split.files]).astype(float)
    distances = busi.rms_distances(queries, thumbnails)
    distances[np.arange(len(every)), [names.index(name) for name in every]] = np.inf
    runner_up = distances.min(axis=1)
    margin = runner_up - rms
    groups = nd.near_duplicate_groups(nd.perceptual_hashes(busi.original_images(names)))
    group_of = dict(zip(names, groups))
    train_groups = {group_of[name] for name in split.files["train"]}
    leaked = {s: sum(group_of[name] in train_groups for name in split.files[s]) for s in ("val", "test")}
    lines = ["## 3. BreastMNIST's official split, recovered on BUSI", "",
             f"`breastmnist_split()`: {seconds:.1f} s (reading 780 images, 28 x 28 thumbnails, matching). "
             f"Files per split: {', '.join(f'{s} {len(v)}' for s, v in split.files.items())}; "
             f"{len(set(every))} distinct BUSI files; labels agree with BreastMNIST's: {agree}.", "",
             "| split | matches | RMS median | RMS max |", "|---|---|---|---|"]
    lines += [f"| {s} | {len(v)} | {np.median(v):.2f} | {v.max():.2f} |" for s, v in split.rms.items()]
    lines += ["", f"All 780: RMS (grey levels, 0-255) median {np.median(rms):.2f}, 99th percentile "
              f"{np.percentile(rms, 99):.2f}, max {rms.max():.2f} (tolerance {busi.MATCH_TOLERANCE}). "
              f"The nearest BUSI image other than the match: median {np.median(runner_up):.1f}, "
              f"5th percentile {np.percentile(runner_up, 5):.1f}, min {runner_up.min():.2f} "
              f"({(runner_up <= busi.MATCH_TOLERANCE).sum()} images have another BUSI image within the "
              "tolerance: near-duplicates). The runner-up is less than 1 grey level further than the match for "
              f"{(margin < 1).sum()} images; for {(margin <= 0).sum()} it is as near as the match or nearer "
              "(identical files: the label and the one-to-one assignment decide, see the collisions below).", "",
              f"The official split is by image, not by group: {leaked['test']} of {len(split.files['test'])} test "
              f"and {leaked['val']} of {len(split.files['val'])} validation images have a near-duplicate "
              f"(threshold {nd.DEFAULT_THRESHOLD}) in the official training split.", "",
              f"Nearest neighbours by pixels alone give {split.nearest_distinct} distinct files; the one-to-one "
              "assignment by label resolved these collisions (nearest file -> file assigned instead):", ""]
    lines += [f"- {nearest} -> {assigned}" for nearest, assigned in split.collisions]
    lines += ["", "Other ways to make the 28 x 28 thumbnails, on the same matches (RMS to BreastMNIST's image, "
              "grey levels; the centred square of the short side first in every row):", "",
              "| resize | median | max |", "|---|---|---|"]
    for label, thumbnail in THUMBNAILS.items():
        other = np.stack([thumbnail(image) for image in busi.original_images(every)])
        difference = np.sqrt(((other.astype(float) - queries) ** 2).mean(axis=(1, 2)))
        lines.append(f"| {label} | {np.median(difference):.2f} | {difference.max():.2f} |")
    return lines + [""]


def _square(pixels: np.ndarray) -> Image.Image:
    height, width = pixels.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return Image.fromarray(pixels[top:top + side, left:left + side])


THUMBNAILS = {
    "Pillow bicubic to 28": lambda p: np.asarray(_square(p).resize((28, 28), Image.Resampling.BICUBIC)),
    "scikit-image bicubic, antialiased, to 28": lambda p: np.round(resize(
        np.asarray(_square(p)), (28, 28), order=3, anti_aliasing=True, preserve_range=True)).astype(np.uint8),
    "Pillow bicubic to 224, then scikit-image to 28 (`breastmnist_thumbnail`)": busi.breastmnist_thumbnail,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the results (Markdown) here")
    parser.add_argument("--figures", type=Path, help="save the pairs around the threshold as PNG here (outside git)")
    args = parser.parse_args()
    start = time.perf_counter()
    os.environ["COURSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="busi_split-")  # the loader starts from an empty cache
    lines = ["# BUSI: loader, near-duplicates and BreastMNIST's split, measured", "",
             "Generated by `benchmarks/busi_split.py` (see its docstring); every number below is computed.", ""]
    lines += loader_section() + near_duplicate_section(args.figures) + breastmnist_section()
    lines += [f"Whole script: {time.perf_counter() - start:.0f} s.", ""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text)
    shutil.rmtree(os.environ["COURSE_CACHE_DIR"])


if __name__ == "__main__":
    main()
