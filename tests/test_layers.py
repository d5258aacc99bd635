"""The layers of `utils` hold: every import between its rooms is an arrow that docs/architecture.md allows.

The rules are the table "The rooms" of docs/architecture.md (its last column: what each room may import
from `utils`), read here, so the document and the test cannot disagree. Every import counts, also one
inside a function; a room is a module (`utils/data.py`: `data`) or a package (`utils/plots/`: `plots`).
"""

import ast
import re
from pathlib import Path

from utils.config import COURSE_ROOT

ARCHITECTURE = COURSE_ROOT / "docs" / "architecture.md"
PACKAGE = COURSE_ROOT / "utils"


def allowed_arrows(markdown: str) -> dict[str, set[str]]:
    """Room -> the rooms it may import, from the rows of the table whose first cell is `name.py` or `name/`."""
    rules = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        room = re.fullmatch(r"`(\w+)(?:\.py|/)`", cells[0]) if len(cells) >= 3 else None
        if room:
            rules[room.group(1)] = set(re.findall(r"`(\w+)`", cells[-1]))
    return rules


def _room(path: Path, package: Path) -> str:
    return path.relative_to(package).parts[0].removesuffix(".py")


def imported_rooms(path: Path, package: Path) -> set[str]:
    """The rooms of ``package`` that the file ``path`` imports, absolute or relative, anywhere in the file."""
    inside = path.relative_to(package).parts[:-1]  # the sub-package the file is in, () at the top
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:  # from . import x, from ..plots import y
            base = [package.name, *inside[:len(inside) - node.level + 1]]
            module = base + (node.module.split(".") if node.module else [])
            names = [module] if node.module else [base + [alias.name] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module.split(".")
            names = [module] if len(module) > 1 else [module + [alias.name] for alias in node.names]
        else:
            continue
        rooms |= {name[1] for name in names if name[0] == package.name and len(name) > 1}
    return rooms


def forbidden_imports(package: Path, rules: dict[str, set[str]]) -> list[str]:
    """One line per import that breaks ``rules``, and per room that has no rule."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        if path == package / "__init__.py":
            continue
        room = _room(path, package)
        if room not in rules:
            problems.append(f"{path.relative_to(package.parent)}: the room {room} has no row in the table of "
                            f"{ARCHITECTURE.name}; add one, with what it may import.")
            continue
        for target in sorted(imported_rooms(path, package) - rules[room] - {room}):
            problems.append(f"{path.relative_to(package.parent)} imports {target}: {room} may import only "
                            f"{', '.join(sorted(rules[room])) or 'nothing'} ({ARCHITECTURE.name}).")
    return problems


def cycle(rules: dict[str, set[str]]) -> list[str]:
    """A cycle of the allowed arrows (room, ..., the same room), or [] when there is none."""
    done, path = set(), []

    def visit(room):
        if room in path:
            return path[path.index(room):] + [room]
        if room in done:
            return []
        path.append(room)
        for target in sorted(rules.get(room, ())):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(room)
        return []

    for room in sorted(rules):
        found = visit(room)
        if found:
            return found
    return []


def test_every_import_in_utils_is_an_allowed_arrow():
    problems = forbidden_imports(PACKAGE, allowed_arrows(ARCHITECTURE.read_text()))
    assert not problems, "\n".join(problems)


def test_the_allowed_arrows_have_no_cycle_and_name_only_rooms():
    rules = allowed_arrows(ARCHITECTURE.read_text())
    assert {"images", "config", "data", "folders", "serving", "interpret", "plots"} <= set(rules)
    assert not cycle(rules), " -> ".join(cycle(rules))
    assert set().union(*rules.values()) <= set(rules)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_checker_finds_forbidden_imports_of_every_form(tmp_path):
    package = tmp_path / "utils"
    _write(package / "__init__.py", "")
    _write(package / "images.py", "import numpy\n")
    _write(package / "config.py", "def settings():\n    from utils.data import DATASETS  # hidden in a function\n")
    _write(package / "data.py", "from utils import config, images\n")
    _write(package / "plots" / "__init__.py", "from .style import WIDTH\n")
    _write(package / "plots" / "style.py", "WIDTH = 1\n")
    _write(package / "interpret" / "__init__.py", "from ..plots import LABELS\nimport utils.images\n")
    _write(package / "extra.py", "")
    rules = {"images": set(), "config": set(), "data": {"config", "images"}, "plots": set(), "interpret": {"images"}}

    problems = forbidden_imports(package, rules)

    assert problems == [
        "utils/config.py imports data: config may import only nothing (architecture.md).",
        "utils/extra.py: the room extra has no row in the table of architecture.md; add one, with what it may import.",
        "utils/interpret/__init__.py imports plots: interpret may import only images (architecture.md).",
    ]
    assert cycle({"config": {"data"}, "data": {"config"}}) == ["config", "data", "config"]
    assert allowed_arrows("| `data.py` | the loaders | `config`, `images` |\n| `plots/` | figures | nothing |") == {
        "data": {"config", "images"}, "plots": set()}
