"""Say where the course lives: rewrite every address of the course to another GitHub repository.

    python tools/set_repository.py my-name/my-course

``REPOSITORY`` in tools/notebook_style.py is the one setting. This command changes it and rewrites
every place that spells it out: the README's Colab badges and the course notebooks' header links
and setup cells (their clone address). The site's configuration (site/conf.py) and the workflows
read the setting or GitHub's own context, so they follow. tests/test_set_repository.py checks that
all of them agree.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from notebook_style import COURSE_NOTEBOOKS  # noqa: E402

STYLE = Path("tools") / "notebook_style.py"
SETTING = re.compile(r'^REPOSITORY = "([^"]*)"', re.MULTILINE)
OWNER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")


def files_with_the_address(root: Path = ROOT) -> list[Path]:
    """The files that spell the course's address out: the README and the course notebooks."""
    return [root / "README.md", *(root / "notebooks" / name for name in COURSE_NOTEBOOKS)]


def current_repository(root: Path = ROOT) -> str:
    """``REPOSITORY`` as tools/notebook_style.py under ``root`` sets it."""
    return SETTING.search((root / STYLE).read_text(encoding="utf-8")).group(1)


def addresses(repository: str) -> re.Pattern:
    """The addresses of ``repository`` in a text (``github.com/<repository>``, Colab's ``/github/<repository>``)."""
    return re.compile(rf"(?<=github\.com/){re.escape(repository)}(?![\w.-])|(?<=/github/){re.escape(repository)}(?![\w.-])")


def set_repository(repository: str, root: Path = ROOT) -> dict[str, int]:
    """Make ``repository`` (GitHub ``owner/name``) the course's address in every file; returns the
    number of addresses rewritten per file (relative path). Raises ``ValueError`` for a malformed name."""
    if not OWNER_NAME.fullmatch(repository):
        raise ValueError(f"repository: expected GitHub's owner/name (e.g. my-name/my-course), got {repository!r}.")
    old = current_repository(root)
    rewritten = {}
    for path in files_with_the_address(root):
        text = path.read_text(encoding="utf-8")
        new_text, count = addresses(old).subn(repository, text)
        if count:
            path.write_text(new_text, encoding="utf-8")
        rewritten[str(path.relative_to(root))] = count
    style = root / STYLE
    style.write_text(SETTING.sub(f'REPOSITORY = "{repository}"', style.read_text(encoding="utf-8")), encoding="utf-8")
    rewritten[str(STYLE)] = 1
    return rewritten


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repository", help="GitHub owner/name of the course, e.g. my-name/my-course")
    args = parser.parse_args(argv)
    try:
        rewritten = set_repository(args.repository)
    except ValueError as error:
        parser.error(str(error))
    for path, count in rewritten.items():
        print(f"{path}: {count} address{'es' * (count != 1)} rewritten")
    print(f"The course now lives at https://github.com/{args.repository}; run the tests: python -m pytest tests/test_set_repository.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
