"""When an agent's behaviour last changed in a change, and whether eval results came after it.

The moment of a change of behaviour is the commit time of the newest commit of the change that
altered the agent's model, prompt, tools or policies (or its prompt file, or a policy file it
applies), or, for such a change not committed yet, the modification time of the file. Results are
produced after it when their moment (JUnit `timestamp`, else the commit that added the file) is
not earlier; results committed in that very commit count when they were produced after the commit
before it (the evals were run while the change was prepared, and committed with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from playbook.core.clock import iso
from playbook.core.git import Commit, Repo
from playbook.history.change import ChangeSet
from playbook.history.evals import SuiteStatus

BEHAVIOUR = (("model",), ("prompt",), ("policies",), ("work", "tools"))


@dataclass(frozen=True)
class Moment:
    at: datetime
    commit: Commit | None  # None: uncommitted changes in the work tree

    @property
    def shown(self) -> str:
        if self.commit is None:
            return f"the uncommitted change ({iso(self.at)})"
        return f"the change in {self.commit.short} ({iso(self.at)}, {self.commit.subject})"


def _get(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _alters(work: ChangeSet, commit: Commit, charters: set[str], files: set[str]) -> bool:
    """Whether one commit altered the agent's behaviour."""
    for change in commit.changes:
        if change.path in files:
            return True
        if change.path not in charters or change.new is None:
            continue
        old = work.blobs.parsed(change.path, change.old)
        new = work.blobs.parsed(change.path, change.new)
        if old is None:
            return True
        before, after = old.data, new.data if new else None
        if any(_get(before, keys) != _get(after, keys) for keys in BEHAVIOUR):
            return True
    return False


def change_moment(work: ChangeSet, agent: str) -> Moment:
    """The moment the agent's behaviour last changed within the change."""
    charters = {s.charter_files[agent] for s in (work.old, work.new) if agent in s.charter_files}
    files = work.behaviour_files(agent)
    pending = work.uncommitted(charters | files)
    if pending:
        return Moment(max(pending), None)
    for commit in work.commits:  # newest first
        if _alters(work, commit, charters, files):
            return Moment(commit.committed_at, commit)
    tip = work.repo.commit(work.span.tip)
    return Moment(tip.committed_at, tip)


def fresh(status: SuiteStatus, moment: Moment, repo: Repo) -> str | None:
    """Why the suite's latest results do not come after the change (None: they do)."""
    latest = status.latest
    if latest is None or latest.problem is not None:
        return None
    if latest.produced_at is None:
        return f"{latest.path}: cannot tell when it was produced (no timestamp, not committed)"
    if latest.produced_at >= moment.at:
        return None
    commit = moment.commit
    if commit is not None and any(c.path == latest.path for c in commit.changes):
        parent = repo.commit(commit.parents[0]) if commit.parents else None
        if parent is None or latest.produced_at > parent.committed_at:
            return None
    return (
        f"{latest.path}: produced {iso(latest.produced_at)} ({latest.produced_by}), before "
        f"{moment.shown}: run the suite again"
    )
