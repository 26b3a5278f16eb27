"""The governance at a moment of the past: `govkit whois AGENT --at DATE|COMMIT` (the revision of
a policy that decides a case is `playbook.policy.revision`).

`--at 2026-10-01` is the end of that day (UTC), `--at 2026-10-01T14:00:00Z` that instant: the last
commit of the current branch's first-parent line committed by then. Anything else is a revision
(a sha, a tag, `HEAD~3`). The governance files of that commit (the catalogs, the policies and the
one charter asked about) are read from git, written to a private temporary directory and loaded
by the same loader as today's, so that the answer is what govkit would have said then; a problem
in them is located as `COMMIT:path:line`.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from playbook.core.clock import check_calendar_date, midnight, parse_instant
from playbook.core.errors import Problem, UsageError, ValidationFailed, display_path
from playbook.core.framework import FRAMEWORKS_DIR
from playbook.core.git import Commit, Repo
from playbook.core.governance import AGENTS_DIR, Governance
from playbook.history.documents import Blobs
from playbook.history.evals import dating, suite_status
from playbook.history.log import Entry, Query, read_history
from playbook.history.snapshot import Snapshot, snapshot
from playbook.policy import POLICIES_DIR, load_governance

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@dataclass(frozen=True)
class Moment:
    """What `--at` named: the commit in force and the moment it stands for."""

    asked: str
    commit: Commit
    moment: datetime  # the end of the day asked, the instant asked, or the commit's time


def _asked_moment(at: str) -> datetime | None:
    """The moment `at` names when it is a date or an instant; None when it is a revision."""
    try:
        if _DATE.match(at):
            day = check_calendar_date(date.fromisoformat(at))
            return midnight(day) + timedelta(days=1) - timedelta(seconds=1)
        if _INSTANT.match(at):
            return check_calendar_date(parse_instant(at))
    except ValueError as exc:
        raise UsageError(
            f"--at: expected a date (YYYY-MM-DD), an ISO 8601 time or a commit but received "
            f"{at!r} ({exc})"
        ) from None
    return None


def resolve_at(repo: Repo, at: str) -> Moment:
    """The commit in force at `at` (a date, an instant or a revision)."""
    moment = _asked_moment(at)
    if moment is None:
        commit = repo.commit(repo.resolve(at))
        return Moment(at, commit, commit.committed_at)
    sha = repo.commit_before(moment)
    if sha is None:
        raise UsageError(
            f"--at {at}: no commit of the current branch is that old (the history starts later)"
        )
    return Moment(at, repo.commit(sha), moment)


def _remap(problem: Problem, stage: Path, shown: str) -> Problem:
    staged = display_path(stage)
    file = problem.file
    if file == staged or file.startswith(staged + "/"):
        file = shown + file[len(staged) :]
    return Problem(file, problem.line, problem.path, problem.message, problem.severity)


def at_commit(repo: Repo, prefix: str, sha: str) -> Snapshot:
    """The governance files at commit `sha` (read once for all of `whois --at`'s questions)."""
    found = snapshot(Blobs(repo), sha, prefix)
    if not found.files:
        raise UsageError(f"{prefix or '.'}: no governance files at {sha[:7]}")
    return found


def charter_ids(snap: Snapshot) -> list[str]:
    """The ids (file names) of the charters of a snapshot."""
    return sorted(snap.charter_files)


def _wanted(relative: PurePosixPath, agents: set[str] | None) -> bool:
    """What the loader reads: the top-level files, the charters asked for, the policies and the
    framework catalogues (not the prompts, eval results or schemas of a thousand agents)."""
    parts = relative.parts
    if agents is None or len(parts) == 1:
        return True
    if len(parts) == 2 and parts[0] == AGENTS_DIR:
        return relative.stem in agents
    return len(parts) == 2 and parts[0] in (POLICIES_DIR, FRAMEWORKS_DIR)


@contextmanager
def governance_at(snap: Snapshot, agents: set[str] | None = None) -> Iterator[Governance]:
    """The organisation as it was at a snapshot's commit, loaded and validated (policies
    included); `agents`: only these charters."""
    prefix, sha = snap.prefix, snap.sha
    staged = {}
    for path, oid in snap.files.items():
        relative = PurePosixPath(path).relative_to(prefix) if prefix else PurePosixPath(path)
        if ".." not in relative.parts and _wanted(relative, agents):
            staged[relative] = oid
    snap.blobs.fetch(set(staged.values()))
    contents = {oid: snap.blobs.raw(oid) for oid in staged.values()}
    with tempfile.TemporaryDirectory(prefix="govkit-at-") as directory:
        stage = Path(directory) / (PurePosixPath(prefix).name or "governance")
        for relative, oid in staged.items():
            data = contents.get(oid)
            if data is None:
                continue
            target = stage.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            governance = load_governance(stage, today=None, agents=agents)
        except ValidationFailed as exc:
            shown = f"{sha[:7]}:{prefix}" if prefix else f"{sha[:7]}:"
            raise ValidationFailed([_remap(p, stage, shown) for p in exc.problems]) from None
        yield governance


def change_in_force(snap: Snapshot, agent: str) -> Entry | None:
    """The last change to the agent (its charter, prompt or policies; not its eval results) at
    or before the snapshot's commit, with its approvals."""
    query = Query(snap.sha, (agent,), limit=5, follow=False)
    entries = read_history(snap.blobs.repo, snap.prefix, query, snap)
    return next((entry for entry in entries if entry.kind.role != "evals"), None)


def evals_at(snap: Snapshot, agent: str) -> list[dict[str, Any]]:
    """The agent's eval suites at the snapshot's commit, each with its latest results then."""
    fallback = dating(snap, None)
    return [suite_status(snap, s, fallback).to_json() for s in snap.refs(agent).suites]
