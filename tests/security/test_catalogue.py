"""SECURITY.md names the test proving each defence: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECURITY = ROOT / "SECURITY.md"
# `file.py::name` or `::name` (the file of the reference before it on the same line), or a
# path `tests/x/test_y.py`; a name may end in `*` for every test it starts.
_REFERENCE = re.compile(r"`((?:tests/[\w/]+/)?test_\w+\.py)?(?:::(\w+\*?))?`")


def _tests_in(path: Path) -> set[str]:
    return set(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), re.MULTILINE))


def _references() -> list[tuple[Path, str | None]]:
    found = []
    for line in SECURITY.read_text().splitlines():
        current: Path | None = None
        for file, name in _REFERENCE.findall(line):
            if file:
                current = (
                    ROOT / file if file.startswith("tests/") else ROOT / "tests/security" / file
                )
            if current is not None and (file or name):
                found.append((current, name or None))
    return found


def test_security_md_names_only_tests_that_exist():
    references = _references()
    assert len(references) > 60
    missing = []
    for path, name in references:
        if not path.exists():
            missing.append(str(path.relative_to(ROOT)))
        elif name and not (
            any(t.startswith(name[:-1]) for t in _tests_in(path))
            if name.endswith("*")
            else name in _tests_in(path)
        ):
            missing.append(f"{path.relative_to(ROOT)}::{name}")
    assert missing == []
