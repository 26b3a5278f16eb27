"""`govkit diff` as a CI job runs it: in a fresh clone of the repository, on the pull request's
branch, with no arguments (BASE: the merge base with origin/HEAD; HEAD: the clean work tree)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.history.conftest import ADA, OLIVER

TRIAGE_TOOLS = "    - team-directory (read-only)\n"
TOMASZ = "Tomasz Nowak <tomasz.nowak@northwind.example>"
ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def clone(source: Path, target: Path, *options: str) -> Path:
    subprocess.run(["git", "clone", "-q", *options, f"file://{source}", str(target)], env=ENV,
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(["git", "checkout", "-q", "change"], cwd=target, env=ENV, check=True)
    return target


def ci_diff(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playbook", "diff", *args],
        cwd=where, env=ENV, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def pull_request(repo, approved: tuple[str, ...]) -> None:
    """A branch `change` giving ticket-triage a new tool; main stays checked out (origin/HEAD)."""
    repo.git("checkout", "-q", "-b", "change")
    repo.edit("agents/ticket-triage.yaml", TRIAGE_TOOLS, TRIAGE_TOOLS + "    - crm (read-only)\n")
    repo.commit("CRM lookups", author=ADA, when="2026-10-02T09:00:00Z", approved=approved)
    repo.git("checkout", "-q", "main")


def test_a_pull_request_without_the_stewards_approval_fails_in_ci(repo, tmp_path):
    pull_request(repo, approved=(OLIVER,))
    work = clone(repo.root, tmp_path / "ci")

    done = ci_diff(work, "--format", "junit", "--output", "govkit-diff.xml")

    assert done.returncode == 1, done.stderr
    assert (
        "  FAIL  governance/agents/ticket-triage.yaml:42: agent ticket-triage: work.tools: added "
        "'crm (read-only)' (widens): missing the Model Steward named in the charter before the "
        f"change, {TOMASZ}: no Approved-by: trailer or review from tomasz.nowak@northwind.example"
    ) in done.stdout
    assert 'failures="1"' in (work / "govkit-diff.xml").read_text()


def test_the_same_pull_request_approved_by_the_steward_passes(repo, tmp_path):
    pull_request(repo, approved=(TOMASZ,))
    work = clone(repo.root, tmp_path / "ci")

    done = ci_diff(work, "--format", "json")

    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["base"] == repo.git("rev-parse", "main")
    assert report["work_tree"] is True and len(report["commits"]) == 1


def test_a_shallow_clone_is_exit_2_saying_to_fetch_the_history(repo, tmp_path):
    pull_request(repo, approved=(TOMASZ,))
    repo.edit("organisation.yaml", "name: Northwind Logistics\n", "name: Northwind Logistics AB\n")
    repo.commit("Main moves on", when="2026-10-03T09:00:00Z")
    work = clone(repo.root, tmp_path / "ci", "--depth", "1", "--no-single-branch")

    done = ci_diff(work)

    assert done.returncode == 2
    assert "share no history; fetch the whole history (a shallow clone)" in done.stderr
