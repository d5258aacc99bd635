"""The two environment files pin the same packages at the same versions."""

import re

from utils.config import COURSE_ROOT

PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s#]+)")


def _pins(path):
    return dict(m.groups() for line in path.read_text().splitlines() if (m := PIN.match(line)))


def test_requirements_and_environment_pin_the_same_versions():
    requirements = _pins(COURSE_ROOT / "requirements.txt")
    environment = _pins(COURSE_ROOT / "environment.yml")
    assert len(requirements) >= 10
    assert requirements == environment
