"""A git repository holding a copy of the example organisation, with commits made on demand by
chosen authors at chosen times (git's environment, never the user's configuration)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Workspace

ADA = "Ada Lovelace <ada@northwind.example>"
GRACE = "Grace Hopper <grace@northwind.example>"
HENRIK = "Henrik Lund <henrik.lund@northwind.example>"  # refunds' model steward
OLIVER = "Oliver Brandt <oliver.brandt@northwind.example>"  # refunds' agent owner
FIRST = "2026-09-01T09:00:00Z"


def _person(text: str) -> tuple[str, str]:
    name, _, email = text.partition(" <")
    return name, email.rstrip(">")


@dataclass
class Repo:
    """The workspace as a git repository."""

    workspace: Workspace

    @property
    def root(self) -> Path:
        return self.workspace.root

    def git(self, *args: str, author: str = ADA, when: str = FIRST) -> str:
        name, email = _person(author)
        env = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        }
        done = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(
        self, subject: str, *, author: str = ADA, when: str = FIRST, approved: tuple[str, ...] = ()
    ) -> str:
        """Commit everything in the work tree; `approved`: `Approved-by:` trailers."""
        message = subject + (
            "\n\n" + "\n".join(f"Approved-by: {a}" for a in approved) if approved else ""
        )
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, author=author, when=when)
        return self.git("rev-parse", "HEAD")

    def edit(self, relative: str, old: str, new: str) -> None:
        self.workspace.edit(relative, old, new)

    def write(self, relative: str, text: str) -> Path:
        return self.workspace.write(relative, text)


@pytest.fixture
def repo(workspace: Workspace) -> Repo:
    """The example organisation committed once, by Ada, on 2026-09-01, on branch main."""
    found = Repo(workspace)
    found.git("init", "-q", "-b", "main")
    found.commit("The example organisation")
    return found


def junit(
    passed: int, failed: int = 0, *, timestamp: str | None = None, name: str = "suite"
) -> str:
    """A JUnit XML results file as pytest writes it (`timestamp` None: without one)."""
    stamp = f' timestamp="{timestamp}"' if timestamp else ""
    cases = "".join(f'    <testcase classname="c" name="ok {i}"/>\n' for i in range(passed))
    cases += "".join(
        f'    <testcase classname="c" name="bad {i}"><failure message="no"/></testcase>\n'
        for i in range(failed)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n'
        f'  <testsuite name="{name}" tests="{passed + failed}" failures="{failed}" errors="0" '
        f'skipped="0"{stamp}>\n{cases}  </testsuite>\n</testsuites>\n'
    )
