"""utils.fetal_planes: the label file's check, the view of the official patient-level split, the
download (with resume, against a local HTTP server: no internet here) and the offline message.

The real label file and the 107 sample images come from ``../shared/data/fetal_planes_sample``; the
tests that need them are skipped without it.
"""

import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import data, fetal_planes, folders
from utils.config import COURSE_ROOT

SHARED_DATA = COURSE_ROOT.parent / "shared" / "data"  # the offline copy that CI uses
SAMPLE = SHARED_DATA / fetal_planes.SAMPLE_FOLDER
needs_sample = pytest.mark.skipif(not (SAMPLE / fetal_planes.LABEL_FILE).is_file(),
                                  reason="the FETAL_PLANES_DB sample of ../shared/data is not on this machine")


@pytest.fixture
def sample_env(course_env):
    course_env.setenv("COURSE_DATA_DIR", str(SHARED_DATA))
    return course_env


@pytest.fixture(scope="module")
def official_rows():
    return fetal_planes.read_folder(SAMPLE)


def _label_text(rows) -> str:
    """A label file in the official format (separator ';', a space after Train and its values)."""
    lines = ["Image_name;Patient_num;Plane;Brain_plane;Operator;US_Machine;Train "]
    lines += [f"{r.image};{r.patient};{r.plane};{r.brain_plane};Op;Voluson;{int(r.train)} " for r in rows]
    return "\n".join(lines) + "\n"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((6, 8), 90, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _archive(path: Path, rows, *, label_text: str | None = None, top: str = "FETAL_PLANES_ZENODO/") -> Path:
    """A zip in the archive's layout: ``<top>FETAL_PLANES_DB_data.csv`` and ``<top>Images/<name>.png``."""
    image = _png()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{top}{fetal_planes.LABEL_FILE}", label_text or _label_text(rows))
        for r in rows:
            archive.writestr(f"{top}Images/{r.image}.png", image)
    return path


# --- The label file ------------------------------------------------------------------------------

@needs_sample
def test_the_sample_holds_the_official_label_file(official_rows):
    assert len(official_rows) == fetal_planes.N_IMAGES and len({r.patient for r in official_rows}) == 1792
    train = {r.patient for r in official_rows if r.train}
    test = {r.patient for r in official_rows if not r.train}
    assert not train & test, "the official split is by patient"
    brain = data.DATASETS["fetal_planes_brain"]
    for split in ("train", "test"):
        assert sum(r.brain_plane in brain.class_names and r.train == (split == "train")
                   for r in official_rows) == brain.n_samples[split]


def _relabel(row, **changes):
    return fetal_planes.LabelRow(**{**row.__dict__, **changes})


@needs_sample
@pytest.mark.parametrize("change, message", [
    (lambda rows: rows[:-1], r"images: 12399 \(FETAL_PLANES_DB: 12400\)"),
    (lambda rows: [_relabel(rows[0], plane="Fetal femur")] + rows[1:], r"planes: .*'Fetal femur': 1041"),
])
def test_a_changed_label_file_is_rejected(official_rows, change, message):
    with pytest.raises(fetal_planes.NotFetalPlanesError, match=message):
        fetal_planes.check_labels(change(list(official_rows)), "a test")


@needs_sample
def test_a_patient_on_both_sides_is_rejected(official_rows):
    rows = list(official_rows)
    first_train = next(i for i, r in enumerate(rows) if r.train)
    first_test = next(i for i, r in enumerate(rows) if not r.train)
    rows[first_train] = _relabel(rows[first_train], train=False)  # the same counts per split
    rows[first_test] = _relabel(rows[first_test], train=True)
    with pytest.raises(fetal_planes.NotFetalPlanesError, match=r"patient\(s\) are in both the train and the test"):
        fetal_planes.check_labels(rows, "a test")


def test_a_label_file_without_its_columns_is_rejected():
    with pytest.raises(fetal_planes.NotFetalPlanesError, match="lacks the column.*Brain_plane, Train"):
        fetal_planes.read_labels("Image_name;Patient_num;Plane\na;1;Other\n", "labels.csv")
    with pytest.raises(fetal_planes.NotFetalPlanesError, match="line 2: .*Train 0 or 1, got '1' and 'yes'"):
        fetal_planes.read_labels("Image_name;Patient_num;Plane;Brain_plane;Train \na;1;Other;x;yes\n", "labels.csv")


# --- The view of the official split on the sample ------------------------------------------------

def _row_of(official_rows):
    return {r.image: r for r in official_rows}


@needs_sample
def test_the_view_of_the_sample_keeps_the_official_split_by_patient(sample_env, official_rows, capsys):
    view = folders.image_folder("fetal_planes")
    out = capsys.readouterr().out
    assert "107 of the label file's 12,400 images found" in out and "mean nothing" in out
    dataset = folders.load_image_folder(view, image_size=16)
    assert dataset.name == "fetal_planes" and dataset.title == "FETAL_PLANES_DB (six planes)"
    assert set(dataset.class_names) < set(data.DATASETS["fetal_planes"].class_names)
    rows = _row_of(official_rows)
    patients = {}
    for split, labels in (("train", dataset.y_train), ("test", dataset.y_test)):
        files = [rows[Path(f).stem] for f in dataset.files[split]]
        assert all(r.train == (split == "train") for r in files), "the official split"
        assert [dataset.class_names[y] for y in labels] == [r.plane for r in files], "the official labels"
        patients[split] = {r.patient for r in files}
    assert patients["train"] and patients["test"] and not patients["train"] & patients["test"]
    # The sample has no train image of two planes: they are left out of both splits, and the line says so.
    found = [r for r in official_rows if (SAMPLE / "Images" / f"{r.image}.png").is_file()]
    missing = [c for c in data.DATASETS["fetal_planes"].class_names
               if not {True, False} <= {r.train for r in found if r.plane == c}]
    assert set(dataset.class_names) == set(data.DATASETS["fetal_planes"].class_names) - set(missing)
    assert f"left out, no image found in one split: {', '.join(missing)}" in out
    assert len(dataset.y_train) + len(dataset.y_test) == sum(r.plane not in missing for r in found)


@needs_sample
def test_the_brain_planes_view(sample_env, official_rows, capsys):
    view = folders.image_folder("fetal_planes_brain")
    dataset = folders.load_image_folder(view, image_size=16)
    assert dataset.class_names == data.DATASETS["fetal_planes_brain"].class_names
    rows = _row_of(official_rows)
    for split, labels in (("train", dataset.y_train), ("test", dataset.y_test)):
        files = [rows[Path(f).stem] for f in dataset.files[split]]
        assert all(r.plane == "Fetal brain" and r.train == (split == "train") for r in files)
        assert [dataset.class_names[y] for y in labels] == [r.brain_plane for r in files]
    found = [r for r in official_rows if (SAMPLE / "Images" / f"{r.image}.png").is_file()]
    expected = sum(r.brain_plane in dataset.class_names for r in found)
    assert len(dataset.y_train) + len(dataset.y_test) == expected
    assert f"{expected} of the label file's 2,949 images found" in capsys.readouterr().out


@needs_sample
def test_the_view_is_reused_and_laid_out_again_when_the_data_change(sample_env, tmp_path, capsys):
    view = fetal_planes.fetal_planes_folder("fetal_planes_brain")
    view_file = view / fetal_planes.VIEW_FILE
    first = view_file.stat().st_mtime_ns
    assert fetal_planes.fetal_planes_folder("fetal_planes_brain") == view
    assert view_file.stat().st_mtime_ns == first, "the same data: the view is reused"
    copy = tmp_path / "data" / fetal_planes.SAMPLE_FOLDER
    (copy / "Images").mkdir(parents=True)
    (copy / fetal_planes.LABEL_FILE).write_bytes((SAMPLE / fetal_planes.LABEL_FILE).read_bytes())
    for image in sorted((SAMPLE / "Images").glob("*.png")):
        (copy / "Images" / image.name).symlink_to(image)
    (copy / "Images" / "Patient00012_Plane1_16_of_16.png").unlink()  # not a brain image: the same view
    sample_env.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    assert fetal_planes.fetal_planes_folder("fetal_planes_brain") == view
    assert str(copy) in view_file.read_text() and not list(view.parent.glob(".*")), "laid out again, nothing left"


def test_unknown_task(course_env):
    with pytest.raises(ValueError, match=r"name must be one of \('fetal_planes', 'fetal_planes_brain'\)"):
        fetal_planes.fetal_planes_folder("planes")


# --- Download, structure check, offline ----------------------------------------------------------

class _Server(http.server.ThreadingHTTPServer):
    """Serves ``payload`` at every path, honouring ``Range: bytes=N-``; the first ``cuts`` answers stop
    after ``cut_at`` bytes (a connection that drops); ``ranges`` records the Range header of each request."""

    payload = b""
    cut_at = 0
    cuts = 0
    honour_range = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ranges = []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        server = self.server
        asked = self.headers.get("Range")
        server.ranges.append(asked)
        start = int(asked.removeprefix("bytes=").removesuffix("-")) if asked and server.honour_range else 0
        body = server.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
        self.end_headers()
        if server.cuts:
            server.cuts -= 1
            body = body[:server.cut_at]
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    running = _Server()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


@needs_sample
@pytest.mark.parametrize("honour_range", [True, False])
def test_an_interrupted_download_resumes_then_is_checked_and_unpacked(course_env, official_rows, tmp_path, server,
                                                                       honour_range, capsys):
    server.payload = _archive(tmp_path / "served.zip", official_rows).read_bytes()
    server.cut_at, server.cuts, server.honour_range = len(server.payload) // 3, 1, honour_range
    course_env.setattr(fetal_planes, "ARCHIVE_URL", f"http://127.0.0.1:{server.server_port}/archive.zip")
    course_env.setenv("COURSE_OFFLINE", "0")
    cache = tmp_path / "cache" / fetal_planes.CACHE_FOLDER
    with pytest.raises(OSError, match=r"cut short.*run again"):
        fetal_planes.fetal_planes_folder()
    part = cache / f"{fetal_planes.ARCHIVE_NAME}.part"
    assert part.stat().st_size == server.cut_at, "the part downloaded is kept"
    view = fetal_planes.fetal_planes_folder()
    assert server.ranges == [None, f"bytes={server.cut_at}-"], "the second request asks for the rest only"
    out = capsys.readouterr().out
    assert ("Resuming" in out) == honour_range  # a server that ignores Range sends it all again
    assert "12,400 of the label file's 12,400 images found" in out and "mean nothing" not in out
    assert "official split by patient: 7,129 train / 5,271 test" in out and "downloaded and checked" in out
    assert len(list((cache / fetal_planes.FULL_FOLDER / "Images").iterdir())) == fetal_planes.N_IMAGES
    assert sorted(p.name for p in cache.iterdir()) == [fetal_planes.FULL_FOLDER, "fetal_planes"], \
        "the archive and the temporary folders are gone"
    assert len(list((view / "test").rglob("*.png"))) == 5271
    course_env.setenv("COURSE_OFFLINE", "1")
    fetal_planes.fetal_planes_folder()
    assert "(course cache)" in capsys.readouterr().out


@needs_sample
@pytest.mark.parametrize("damage, message", [
    ("a row less", r"is not FETAL_PLANES_DB's label file: images: 12399"),
    ("an image less", r"not the whole FETAL_PLANES_DB archive: 1 of the 12,400 images .* are not in Images/"),
    ("no label file", r"holds 0 files named FETAL_PLANES_DB_data.csv"),
    ("a web page", r"is not a zip archive"),
])
def test_a_wrong_archive_is_rejected_and_nothing_is_kept(course_env, official_rows, tmp_path, damage, message):
    archive = tmp_path / "served.zip"
    if damage == "a web page":
        archive.write_text("<html>Moved</html>")
    elif damage == "no label file":
        with zipfile.ZipFile(archive, "w") as opened:
            opened.writestr("Images/a.png", _png())
    else:
        rows = official_rows[:-1] if damage == "an image less" else official_rows
        _archive(archive, rows, label_text=_label_text(official_rows[1:] if damage == "a row less" else official_rows),
                 top="")
    course_env.setattr(fetal_planes, "ARCHIVE_URL", archive.as_uri())
    course_env.setenv("COURSE_OFFLINE", "0")
    with pytest.raises(fetal_planes.NotFetalPlanesError, match=message):
        fetal_planes.fetal_planes_folder()
    cache = tmp_path / "cache" / fetal_planes.CACHE_FOLDER
    assert not list(cache.iterdir()), "neither the archive, its part nor a folder is kept"


def test_a_failed_download_says_what_to_do(course_env, tmp_path):
    course_env.setattr(fetal_planes, "ARCHIVE_URL", (tmp_path / "gone.zip").as_uri())
    course_env.setenv("COURSE_OFFLINE", "0")
    with pytest.raises(OSError, match=r"Could not download .*gone.zip.*run again.*COURSE_DATA_DIR/FETAL_PLANES_DB/"):
        fetal_planes.fetal_planes_folder()


def test_offline_without_the_data_says_how_to_get_them(course_env):
    with pytest.raises(FileNotFoundError, match=r"FETAL_PLANES_DB is not on this machine .*COURSE_OFFLINE=1 forbids "
                                                r"the download.*zenodo.org/records/3904280/files/FETAL_PLANES_ZENODO"):
        folders.image_folder("fetal_planes")


@needs_sample
def test_an_archive_downloaded_whole_before_a_stop_is_unpacked_without_a_new_download(course_env, official_rows,
                                                                                       tmp_path):
    cache = tmp_path / "cache" / fetal_planes.CACHE_FOLDER
    cache.mkdir(parents=True)
    _archive(cache / fetal_planes.ARCHIVE_NAME, official_rows)
    course_env.setattr(fetal_planes, "ARCHIVE_URL", (tmp_path / "unreachable.zip").as_uri())
    course_env.setenv("COURSE_OFFLINE", "0")
    view = fetal_planes.fetal_planes_folder("fetal_planes_brain")
    assert len(list((view / "train").rglob("*.png"))) == data.DATASETS["fetal_planes_brain"].n_samples["train"]
    assert not (cache / fetal_planes.ARCHIVE_NAME).exists()
