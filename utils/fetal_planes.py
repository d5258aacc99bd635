"""FETAL_PLANES_DB, maternal-fetal ultrasound planes, as image folders of its official patient-level split.

FETAL_PLANES_DB (Burgos-Artizzu et al., "Evaluation of deep convolutional neural networks for automatic
classification of common maternal fetal ultrasound planes", Scientific Reports 10, 10200 (2020); Zenodo
record 3904280, CC BY 4.0) has 12,400 grey ultrasound images of about 900 x 650 pixels from 1,792
patients, each labelled with its plane, and for brain images with the brain plane. Its label file,
:data:`LABEL_FILE`, also gives the official split by patient (column ``Train``: 1 train, 0 test).

Two tasks, each a key of :data:`utils.data.DATASETS` that holds its class names:

- ``fetal_planes``: the six planes (column ``Plane``): fetal abdomen, brain, femur, thorax, maternal
  cervix, other;
- ``fetal_planes_brain``: the three standard brain planes (column ``Brain_plane`` of the brain images):
  trans-thalamic (where the biparietal diameter is measured), trans-cerebellum, trans-ventricular;
  brain images of another plane ("Other") are left out.

:func:`fetal_planes_folder` finds the data (:func:`find_fetal_planes`: a folder with the label file and
``Images/``), checks the label file against the publishers' counts, and lays out a view of the official
split, ``<cache>/fetal_planes/<task>/{train,test}/<class>/<image>.png`` (symbolic links to the images, or
copies where links cannot be made), that :func:`utils.folders.load_image_folder` reads as it is:
``COURSE_IMAGE_FOLDER=fetal_planes`` (or ``fetal_planes_brain``) runs notebook 07 on it. Images that the
label file lists but the folder lacks (the 107-image sample of the course's test data) are absent from
the view, and the line printed says how many were found.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from utils.config import download, network_allowed, settings
from utils.data import DATASETS

ZENODO_RECORD = "https://zenodo.org/records/3904280"
ARCHIVE_NAME = "FETAL_PLANES_ZENODO.zip"  # the record's one archive, about 2 GB
ARCHIVE_URL = f"{ZENODO_RECORD}/files/{ARCHIVE_NAME}?download=1"
LABEL_FILE = "FETAL_PLANES_DB_data.csv"
IMAGES = "Images"  # beside the label file: Images/<Image_name>.png
FULL_FOLDER = "FETAL_PLANES_DB"  # the whole data set, in COURSE_DATA_DIR or the course cache
SAMPLE_FOLDER = "fetal_planes_sample"  # the label file and 107 of the images, in the course's test data
CACHE_FOLDER = "fetal_planes"  # in the course cache: the unpacked download and the views
VIEW_FILE = "fetal_planes.json"  # in a view: what it was laid out from

N_IMAGES = 12400
PLANE_COUNTS = {"Fetal abdomen": 711, "Fetal brain": 3092, "Fetal femur": 1040, "Fetal thorax": 1718,
                "Maternal cervix": 1626, "Other": 4213}
BRAIN_PLANE_COUNTS = {"Trans-thalamic": 1638, "Trans-cerebellum": 714, "Trans-ventricular": 597, "Other": 143}
TASKS = {"fetal_planes": "Plane", "fetal_planes_brain": "Brain_plane"}  # task (a key of DATASETS) -> its column


class NotFetalPlanesError(ValueError):
    """An archive or a folder that is not FETAL_PLANES_DB (a wrong file, a web page, a changed label file)."""


@dataclass(frozen=True)
class LabelRow:
    """One row of the label file: the image's name (without ``.png``), its patient, plane, brain plane
    (``"Not A Brain"`` for other planes) and official split (``train`` True, else test)."""

    image: str
    patient: int
    plane: str
    brain_plane: str
    train: bool

    def label(self, column: str) -> str:
        return self.plane if column == "Plane" else self.brain_plane


# --- The label file and the structure check ------------------------------------------------------

def read_labels(text: str, where: str) -> list[LabelRow]:
    """The rows of a label file's ``text`` (separator ``;``; names and values stripped of the spaces the
    official file has after ``Train``); ``where`` names the file in errors.

    Raises:
        NotFetalPlanesError: a column is missing or a value is not what the file's format says.
    """
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    columns = {name.strip(): name for name in reader.fieldnames or ()}
    missing = [c for c in ("Image_name", "Patient_num", "Plane", "Brain_plane", "Train") if c not in columns]
    if missing:
        raise NotFetalPlanesError(f"{where} is not FETAL_PLANES_DB's label file: it lacks the column(s) "
                                  f"{', '.join(missing)} (found: {', '.join(columns) or 'none'}).")
    rows = []
    for number, row in enumerate(reader, start=2):
        value = {c: (row[columns[c]] or "").strip() for c in columns}
        if not value["Patient_num"].isdigit() or value["Train"] not in ("0", "1"):
            raise NotFetalPlanesError(f"{where}, line {number}: Patient_num must be a number and Train 0 or 1, "
                                      f"got {value['Patient_num']!r} and {value['Train']!r}.")
        rows.append(LabelRow(value["Image_name"], int(value["Patient_num"]), value["Plane"],
                             value["Brain_plane"], value["Train"] == "1"))
    return rows


def check_labels(rows: list[LabelRow], where: str) -> None:
    """Check that ``rows`` are FETAL_PLANES_DB's: 12,400 images, the publishers' counts per plane, brain
    plane and split, and no patient on both sides of the split.

    Raises:
        NotFetalPlanesError: the counts differ; the message gives what was found and what was expected.
    """
    found = {
        "images": len(rows),
        "planes": dict(Counter(r.plane for r in rows)),
        "brain planes": dict(Counter(r.brain_plane for r in rows if r.plane == "Fetal brain")),
        "train / test": {"train": sum(r.train for r in rows), "test": sum(not r.train for r in rows)},
    }
    expected = {"images": N_IMAGES, "planes": PLANE_COUNTS, "brain planes": BRAIN_PLANE_COUNTS,
                "train / test": DATASETS["fetal_planes"].n_samples}
    wrong = [f"{what}: {found[what]} (FETAL_PLANES_DB: {expected[what]})" for what in expected
             if found[what] != expected[what]]
    if wrong:
        raise NotFetalPlanesError(f"{where} is not FETAL_PLANES_DB's label file: " + "; ".join(wrong) + ".")
    both = {r.patient for r in rows if r.train} & {r.patient for r in rows if not r.train}
    if both:
        raise NotFetalPlanesError(f"{where}: {len(both)} patient(s) are in both the train and the test split "
                                  f"(e.g. {min(both)}); the official split is by patient.")


def check_archive(archive: Path) -> dict[str, str]:
    """The members of a downloaded archive to unpack, by the path to unpack each to (the label file and
    ``Images/<Image_name>.png``, relative to the data set's folder), after checking that it is
    FETAL_PLANES_DB's: its label file has the publishers' counts (:func:`check_labels`) and every image
    it lists is in the archive, as ``Images/<Image_name>.png`` beside the label file.

    Raises:
        NotFetalPlanesError: not a zip archive, no or another label file, or images missing.
    """
    try:
        with zipfile.ZipFile(archive) as opened:
            names = opened.namelist()
            labels = [n for n in names if PurePosixPath(n).name == LABEL_FILE and "__MACOSX" not in n]
            if len(labels) != 1:
                raise NotFetalPlanesError(f"{archive} is not the FETAL_PLANES_DB archive: it holds {len(labels)} "
                                          f"files named {LABEL_FILE}, where FETAL_PLANES_DB's archive holds one.")
            label_member = labels[0]
            text = opened.read(label_member).decode("utf-8-sig")
    except zipfile.BadZipFile as error:
        raise NotFetalPlanesError(f"{archive} is not a zip archive ({error}): not the FETAL_PLANES_DB archive "
                                  "(a web page instead of the file?).") from error
    rows = read_labels(text, f"{label_member} in {archive}")
    check_labels(rows, f"{label_member} in {archive}")
    folder = PurePosixPath(label_member).parent / IMAGES
    present = set(names)
    members = {f"{IMAGES}/{r.image}.png": str(folder / f"{r.image}.png") for r in rows}
    missing = [PurePosixPath(path).name for path, member in members.items() if member not in present]
    if missing:
        raise NotFetalPlanesError(f"{archive} is not the whole FETAL_PLANES_DB archive: {len(missing):,} of the "
                                  f"{N_IMAGES:,} images its label file lists are not in {folder}/ "
                                  f"(e.g. {missing[0]}).")
    return {LABEL_FILE: label_member, **members}


# --- Where the files are -------------------------------------------------------------------------

def _local_folders() -> list[tuple[Path, str]]:
    s = settings()
    data = [(s.data_dir / FULL_FOLDER, "COURSE_DATA_DIR"),
            (s.data_dir / SAMPLE_FOLDER, "COURSE_DATA_DIR, the course's 107-image sample")] if s.data_dir else []
    return data[:1] + [(s.cache_dir / CACHE_FOLDER / FULL_FOLDER, "course cache")] + data[1:]


def _download(destination: Path) -> None:
    """Download the Zenodo archive beside ``destination`` (an interrupted download resumes), check it,
    unpack its label file and images into a temporary folder and move that into place in one step; the
    archive is deleted once unpacked, and a wrong one at once."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    archive = destination.parent / ARCHIVE_NAME
    print(f"Downloading {ARCHIVE_URL} (about 2 GB, and as much again once unpacked; an interrupted download "
          "resumes where it stopped) ...")
    try:
        if not archive.is_file():  # else downloaded whole by a run stopped before unpacking it
            download(ARCHIVE_URL, archive)
    except OSError as error:  # URLError, timeouts, HTTP errors, a download cut short
        raise OSError(f"Could not download {ARCHIVE_URL} ({error}). Check the connection and run again (the part "
                      f"downloaded is kept), or unpack the archive by hand into COURSE_DATA_DIR/{FULL_FOLDER}/ "
                      f"({LABEL_FILE} and {IMAGES}/).") from error
    try:
        members = check_archive(archive)
    except NotFetalPlanesError:
        archive.unlink()
        raise
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".unpack-") as temporary:
        unpacked = Path(temporary) / FULL_FOLDER
        (unpacked / IMAGES).mkdir(parents=True)
        with zipfile.ZipFile(archive) as opened:
            for path, member in members.items():
                with opened.open(member) as source, open(unpacked / path, "wb") as copy:
                    shutil.copyfileobj(source, copy)
        if not destination.exists():  # another process may have finished first
            os.replace(unpacked, destination)
    archive.unlink()


def find_fetal_planes() -> tuple[Path, str]:
    """The folder to read (the label file and ``Images/``), and a description of where it is.

    Sources, in order: ``COURSE_DATA_DIR/FETAL_PLANES_DB/``, the course cache
    (``COURSE_CACHE_DIR/fetal_planes/FETAL_PLANES_DB/``), the sample ``COURSE_DATA_DIR/fetal_planes_sample/``
    (the whole label file, 107 images), else, unless ``COURSE_OFFLINE=1``, the Zenodo archive
    (:data:`ARCHIVE_URL`, about 2 GB) downloaded, checked and unpacked into the course cache.

    Raises:
        FileNotFoundError: offline and the data are in none of the folders; the message says how to get them.
        NotFetalPlanesError: the download is not FETAL_PLANES_DB's archive (it is deleted).
    """
    folders = _local_folders()
    for folder, where in folders:
        if (folder / LABEL_FILE).is_file():
            return folder, f"{folder} ({where})"
    cache_folder = next(folder for folder, where in folders if where == "course cache")
    if not network_allowed():
        raise FileNotFoundError(
            f"FETAL_PLANES_DB is not on this machine (looked for {LABEL_FILE} in: "
            f"{', '.join(str(f) for f, _ in folders)}) and COURSE_OFFLINE=1 forbids the download. Set "
            f"COURSE_OFFLINE=0 on a machine with internet (the archive, about 2 GB, is downloaded from "
            f"{ZENODO_RECORD}), or download {ARCHIVE_URL} yourself and unpack it into COURSE_DATA_DIR/{FULL_FOLDER}/ "
            f"({LABEL_FILE} and the folder {IMAGES}/).")
    _download(cache_folder)
    return cache_folder, f"{ARCHIVE_URL} (downloaded and checked into {cache_folder})"


def read_folder(folder: Path) -> list[LabelRow]:
    """The checked label rows of a FETAL_PLANES_DB folder (its label file: :func:`check_labels`)."""
    path = folder / LABEL_FILE
    rows = read_labels(path.read_text(encoding="utf-8-sig"), str(path))
    check_labels(rows, str(path))
    return rows


# --- The view of the official split --------------------------------------------------------------

def _link(source: Path, target: Path) -> None:
    try:
        target.symlink_to(source)
    except OSError:  # e.g. Windows without the right to make links
        shutil.copyfile(source, target)


def _lay_out(view: Path, images: Path, layout: dict[str, list[tuple[str, str]]], description: dict) -> None:
    """Write ``view/<split>/<class>/<image>.png`` for ``layout`` (split -> (class, image) pairs) in a temporary
    folder beside it, with ``description`` in :data:`VIEW_FILE`, then put it in the place of ``view``."""
    view.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=view.parent, prefix=f".{view.name}-"))
    try:
        for split, pairs in layout.items():
            for label, image in pairs:
                (building / split / label).mkdir(parents=True, exist_ok=True)
                _link(images / f"{image}.png", building / split / label / f"{image}.png")
        (building / VIEW_FILE).write_text(json.dumps(description, indent=2))
        if view.exists():
            old = Path(tempfile.mkdtemp(dir=view.parent, prefix=f".{view.name}-old-"))
            os.replace(view, old / view.name)
            shutil.rmtree(old)
        try:
            os.replace(building, view)
        except OSError:
            if not (view / VIEW_FILE).is_file():  # else another process put its view in place first
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)


def fetal_planes_folder(name: str = "fetal_planes") -> Path:
    """The folder of one task's official split, ``<cache>/fetal_planes/<name>/{train,test}/<class>/``, laid
    out (again, when the data found changed) from :func:`find_fetal_planes`'s folder, and one line that says
    what it holds: how many of the label file's images were found, per split, and where they came from.

    A class with no image found in one of the splits (only on an incomplete copy, e.g. the 107-image sample)
    is left out of both, and the line names it, so that every split has the same class folders.

    Args:
        name: ``"fetal_planes"`` (the six planes) or ``"fetal_planes_brain"`` (the three brain planes).

    Raises:
        ValueError: another ``name``; NotFetalPlanesError: a label file that is not FETAL_PLANES_DB's.
        FileNotFoundError: offline and the data are not on this machine (see :func:`find_fetal_planes`).
    """
    if name not in TASKS:
        raise ValueError(f"name must be one of {tuple(TASKS)}, got {name!r}.")
    column = TASKS[name]
    info = DATASETS[name]
    folder, origin = find_fetal_planes()
    rows = [r for r in read_folder(folder) if r.label(column) in info.class_names]
    present = {path.stem for path in (folder / IMAGES).glob("*.png")}
    found = [r for r in rows if r.image in present]
    kept = [c for c in info.class_names if all(any(r.label(column) == c and r.train == train for r in found)
                                               for train in (True, False))]
    layout = {split: [(r.label(column), r.image) for r in found if r.train == (split == "train") and
                      r.label(column) in kept] for split in ("train", "test")}
    if len(kept) < 2:
        raise ValueError(f"{folder} holds images of fewer than two classes of {info.title} in both splits "
                         f"({len(found)} of its {len(rows):,} images found): too few to lay out a classifier's data.")
    view = settings().cache_dir / CACHE_FOLDER / name
    description = {"source": str(folder.resolve()), "task": name, "images": {s: len(p) for s, p in layout.items()},
                   "classes": kept}
    view_file = view / VIEW_FILE
    if not view_file.is_file() or json.loads(view_file.read_text()) != description:
        _lay_out(view, folder / IMAGES, layout, description)
    left_out = [c for c in info.class_names if c not in kept]
    print(f"{info.title}: {len(found):,} of the label file's {len(rows):,} images found"
          + (" (numbers computed on so few mean nothing about the data set)" if len(found) < len(rows) else "")
          + f"; official split by patient: {len(layout['train']):,} train / {len(layout['test']):,} test"
          + (f"; left out, no image found in one split: {', '.join(left_out)}" if left_out else "")
          + f"; source: {origin}; view: {view}")
    return view
