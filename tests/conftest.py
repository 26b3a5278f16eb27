"""Shared fixtures: a private copy of the example organisation and a CLI runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

from playbook.cli import cli

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_GOVERNANCE = REPO / "governance"
TODAY = "2026-11-24"

# The fuzz suite (test_*_fuzz.py): bounded so that all of it stays within a minute or two of
# `make test`; GOVKIT_FUZZ_EXAMPLES raises the count for a longer hunt on a developer's machine.
settings.register_profile(
    "govkit",
    max_examples=int(os.environ.get("GOVKIT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize="GOVKIT_FUZZ_EXAMPLES" not in os.environ,  # CI: the same examples every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("govkit")


@dataclass
class Workspace:
    """A temporary directory holding `governance/` (a copy of the example) as the cwd."""

    root: Path

    @property
    def governance(self) -> Path:
        return self.root / "governance"

    def edit(self, relative: str, old: str, new: str) -> None:
        """Replace `old` (which must occur exactly once) in a governance file."""
        path = self.governance / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def write(self, relative: str, text: str | bytes) -> Path:
        path = self.governance / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    shutil.copytree(EXAMPLE_GOVERNANCE, tmp_path / "governance")
    monkeypatch.chdir(tmp_path)
    return Workspace(tmp_path)


@pytest.fixture
def govkit() -> Callable[..., Result]:
    """Run the real `govkit` command line in-process; returns click's Result."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return run
