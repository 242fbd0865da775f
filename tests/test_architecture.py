"""The shape of the package: no import circle anywhere, and modules of a sensible size.

The layers themselves (each module imports only the ones beneath it, and never another
module's pages or forms) are import-linter's contracts in pyproject.toml, which
./scripts/test checks; docs/architecture.md draws them.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp

from signatory import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "signatory"
# "No module over about 500 lines": the number a test can hold the code to.
MAX_MODULE_LINES = 550
MAX_MODULES_PER_FOLDER = 12


def _import_circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected sets of modules (Tarjan), each one an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == module:
                    break
            if len(members) > 1:
                circles.append(sorted(members))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_itself_back_through_others():
    # Imports made only for annotations (``if TYPE_CHECKING:``) count too. No cache: a
    # stale one would answer for code that has changed since.
    graph = grimp.build_graph("signatory", cache_dir=None)
    assert _import_circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(name)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.one")
    graph.add_import(importer="a.three", imported="a.one")
    assert _import_circles(graph) == [["a.one", "a.two"]]


def _python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.py") if path.name != "__init__.py")


def test_no_module_is_over_about_500_lines():
    long = {
        str(path.relative_to(PROJECT_ROOT)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_folder_holds_more_than_a_dozen_modules():
    crowded = {
        str(folder.relative_to(PROJECT_ROOT)): count
        for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]
        if (count := len(_python_files(folder))) > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}


def _documented_routes() -> list[tuple[str, bool, str]]:
    """(URL pattern, whether it is a prefix, module) for each URL in docs/architecture.md.

    A cell may hold several patterns: ``…/edit`` continues the first one's parent path,
    and a trailing ``/…`` stands for every URL under it.
    """
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## URLs and the module that serves each", 1)[1].split("\n## ", 1)[0]
    documented = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[1].startswith("`signatory."):
            continue
        patterns = re.findall(r"`([^`]+)`", cells[0])
        module = cells[1].strip("`")
        first = patterns[0]
        base = first.rstrip("/").rsplit("/", 1)[0] if not first.endswith("/") else first[:-1]
        for pattern in patterns:
            if pattern.startswith("…"):
                pattern = base + pattern[1:]
            prefix = pattern.endswith("/…")
            documented.append((pattern[:-1] if prefix else pattern, prefix, module))
    return documented


def test_the_architecture_page_names_the_module_of_every_url(app):
    documented = _documented_routes()
    assert documented, "no URL table found in docs/architecture.md"
    wrong = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        module = app.view_functions[rule.endpoint].__module__
        named = {
            where
            for pattern, prefix, where in documented
            if rule.rule == pattern or (prefix and rule.rule.startswith(pattern))
        }
        if named != {module}:
            wrong.append(f"{rule.rule}: documented {sorted(named) or 'nowhere'}, is in {module}")
    assert wrong == []


def test_every_url_the_architecture_page_lists_exists(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    stale = [
        pattern
        for pattern, prefix, _ in _documented_routes()
        if not (pattern in rules or (prefix and any(rule.startswith(pattern) for rule in rules)))
    ]
    assert stale == []
