"""No function of govkit is rated D or worse by radon's cyclomatic complexity (more than 20 paths).

Every function, method and nested function of every module of `playbook` and `monitor` is
measured with radon's own API (`cc_visit`, `cc_rank`); a new one rated D, E or F fails here, named
by module and qualified name, with the five most complex functions of the code base for context.
Split such a function into named steps rather than adding it to the allow-list below.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from radon.complexity import add_inner_blocks, cc_rank, cc_visit
from radon.visitors import Function

from tests.conftest import REPO

PACKAGES = ("playbook", "monitor")
WORST_RANKS = {"D", "E", "F"}

# The functions allowed a D or worse (none at present). Matched by module and qualified name, so
# that a new D anywhere else, even a function of the same name in another module, still fails.
ALLOWED: set[tuple[str, str]] = set()


class Measured(NamedTuple):
    module: str
    name: str  # qualified: `Class.method`, `outer.inner`
    line: int
    complexity: int

    @property
    def rank(self) -> str:
        return cc_rank(self.complexity)

    def __str__(self) -> str:
        return f"{self.module}:{self.line} {self.name} {self.rank} ({self.complexity})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def measure() -> list[Measured]:
    """Every function, method and nested function, most complex first."""
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "_bundled" in path.parts:  # skipped, as in tests/test_layers.py
                continue
            blocks = add_inner_blocks(cc_visit(path.read_text(encoding="utf-8")))
            found += [
                Measured(module_name(path), block.fullname, block.lineno, block.complexity)
                for block in blocks
                if isinstance(block, Function)  # a class's figure is its methods' average
            ]
    return sorted(found, key=lambda m: (-m.complexity, m.module, m.line))


MEASURED = measure()


def worst_five() -> str:
    return "\n".join(f"  {m}" for m in MEASURED[:5])


def test_no_function_rated_d_or_worse() -> None:
    offenders = [m for m in MEASURED if m.rank in WORST_RANKS and (m.module, m.name) not in ALLOWED]
    assert not offenders, (
        "split these functions into named steps (radon rank D or worse, complexity over 20):\n"
        + "\n".join(f"  {m}" for m in offenders)
        + "\nthe five most complex functions:\n"
        + worst_five()
    )


def test_the_allow_list_names_functions_that_exist() -> None:
    """A function renamed, moved or split leaves no stale entry behind."""
    known = {(m.module, m.name) for m in MEASURED}
    stale = sorted(ALLOWED - known)
    assert not stale, f"remove these from ALLOWED, no such function: {stale}"


def test_the_measure_sees_methods_and_nested_functions() -> None:
    names = {(m.module, m.name) for m in MEASURED}
    assert ("monitor.engine.events", "Events.close") in names
    assert ("monitor.engine.events", "_with_progress.report") in names
