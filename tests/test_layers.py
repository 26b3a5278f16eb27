"""The house rules: which room may import which, and no import circles anywhere.

Every `import` and `from ... import` of govkit's own modules counts, including those inside
functions (a lazy import is still a dependency). The rules (README, "Layout"):

- `playbook.core` imports nothing else of govkit;
- `playbook.policy` and `playbook.results` import only `playbook.core` (and themselves);
- `playbook.history` (git: history, diff, the past) imports `playbook.core` and `playbook.policy`;
- `playbook.handbook` never imports `monitor` (it may read the past through `playbook.history`);
- `monitor` imports `playbook.core`, `playbook.policy` and `playbook.results` only;
- only the CLI modules (`playbook.cli`, `playbook.__main__`, `monitor.cli`, `monitor.review_cli`)
  import everything.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("playbook", "monitor")
CLI = ("playbook.cli", "playbook.__main__", "monitor.cli", "monitor.review_cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "_bundled" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """govkit modules `name` imports, anywhere in the file, resolved to modules that exist."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from playbook import results` imports the module playbook.results, not playbook
            candidates = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate.split(".")[0] in PACKAGES and candidate != name:
                targets.add(candidate)
    return targets


GRAPH = {name: imports_of(name, path, set(modules())) for name, path in modules().items()}


def room(name: str) -> str:
    for prefix in CLI:
        if name == prefix or name.startswith(prefix + "."):
            return "cli"
    parts = name.split(".")
    if (
        parts[0] == "playbook"
        and len(parts) > 1
        and parts[1] in {"core", "policy", "results", "history", "handbook"}
    ):
        return f"playbook.{parts[1]}"
    return parts[0] if parts[0] == "monitor" else name  # `playbook` itself


ALLOWED = {
    "playbook": set(),  # the package itself: its version, nothing else
    "playbook.core": {"playbook.core"},
    "playbook.policy": {"playbook.core", "playbook.policy"},
    "playbook.results": {"playbook.core", "playbook.results"},
    "playbook.history": {"playbook.core", "playbook.policy", "playbook.history"},
    "playbook.handbook": {
        "playbook.core",
        "playbook.policy",
        "playbook.results",
        "playbook.history",
        "playbook.handbook",
    },
    "monitor": {"playbook.core", "playbook.policy", "playbook.results", "monitor"},
}


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_each_module_imports_only_what_its_room_may(name: str) -> None:
    own = room(name)
    if own == "cli":
        return
    assert own in ALLOWED, f"{name} belongs to no room of the layout (see README, Layout)"
    wrong = sorted(target for target in GRAPH[name] if room(target) not in ALLOWED[own])
    assert not wrong, f"{name} ({own}) may not import {wrong}"


def test_no_import_circles() -> None:
    """Tarjan's strongly connected components over the module graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


def test_the_rules_see_lazy_imports() -> None:
    importer = GRAPH["monitor.sources.importer"]
    assert "playbook.core.problems" in importer  # imported inside a function


def test_no_module_over_400_lines() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert not long, f"split these modules: {long}"


def _violations_by_room() -> dict[str, list[str]]:  # for a readable failure when run by hand
    found: dict[str, list[str]] = defaultdict(list)
    for name in GRAPH:
        own = room(name)
        for target in GRAPH[name]:
            if own != "cli" and own in ALLOWED and room(target) not in ALLOWED[own]:
                found[name].append(target)
    return found
