"""Settings for the test command (`python -m pytest`): fast mode, offline, local data.

Set here, before any notebook kernel starts, so the unit tests and every notebook executed by
nbval see the same settings. A variable already set in the environment wins.
"""

import os
from pathlib import Path

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_OFFLINE", "1")
_shared_data = Path(__file__).resolve().parent.parent / "shared" / "data"
if _shared_data.is_dir():
    os.environ.setdefault("COURSE_DATA_DIR", str(_shared_data))
