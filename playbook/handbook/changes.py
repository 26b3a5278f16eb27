"""The governance's history as the handbook shows it: each agent's "Change history" and "Why it
passed the gates", and the governance changelog page.

Read once per build from git (`playbook.history`), and kept for the same HEAD commit while
`govkit serve` rebuilds. Outside a git repository (or without git) the handbook still builds:
these sections then say the governance is not under git, and eval results are read from the disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from playbook.core.charter import Charter
from playbook.core.clock import iso
from playbook.core.errors import UsageError
from playbook.core.git import Commit, Repo
from playbook.core.governance import Governance
from playbook.history.documents import (
    Blobs,
    SuiteRef,
    in_repository,
    literal_folder,
    policy_path,
)
from playbook.history.evals import SuiteStatus, dating, suite_status
from playbook.history.log import Entry, Query, read_history
from playbook.history.risk import NEUTRAL, RISKS, WIDENS
from playbook.history.snapshot import worktree

AGENT_HISTORY_ROWS = 5  # the last changes an agent page lists
NOT_UNDER_GIT = "The governance is not under git: there is no change history to show."
_CACHE: dict[tuple[str, str, str], list[Entry]] = {}


@dataclass
class Revision:
    commit: str
    date: str | None
    subject: str
    uncommitted: bool  # the governance directory differs from the commit


@dataclass
class Step:
    """What one commit changed of one agent: its charter, prompt and policies' entries, and the
    eval results it recorded."""

    commit: Commit
    entries: list[Entry] = field(default_factory=list)
    evals: list[Entry] = field(default_factory=list)

    @property
    def risk(self) -> str:
        risks = {entry.risk for entry in self.entries if entry.changes}
        return next((risk for risk in RISKS if risk in risks), NEUTRAL)

    @property
    def approvals(self) -> list[Any]:
        seen: dict[str, Any] = {}
        for entry in self.entries:
            for approver in entry.approvals:
                if approver.role or approver.who.email not in seen:
                    seen[approver.who.email] = approver
        return list(seen.values())


@dataclass
class History:
    """What the handbook says about change; `reason` when there is no history to read."""

    entries: list[Entry] = field(default_factory=list)  # newest first
    revision: Revision | None = None
    reason: str | None = None
    by_agent: dict[str, list[Entry]] = field(default_factory=dict)
    evals: dict[str, list[SuiteStatus]] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.reason is None

    def for_agent(self, agent_id: str, limit: int = AGENT_HISTORY_ROWS) -> list[Step]:
        """The agent's last changes, one per commit (eval results recorded alone are evidence,
        not changes: they come with the change they were recorded with)."""
        steps: dict[str, Step] = {}
        for entry in self.by_agent.get(agent_id, []):
            step = steps.setdefault(entry.commit.sha, Step(entry.commit))
            (step.evals if entry.kind.role == "evals" else step.entries).append(entry)
        return [step for step in steps.values() if step.entries][:limit]

    def last_widening(self, agent_id: str) -> Step | None:
        return next((s for s in self.for_agent(agent_id, 10**9) if s.risk == WIDENS), None)

    def suites(self, agent_id: str) -> list[SuiteStatus]:
        return self.evals.get(agent_id, [])


def _revision(repo: Repo, prefix: str) -> Revision:
    commit: Commit = repo.commit(repo.resolve("HEAD", what="HEAD commit"))
    dirty = bool(repo.text("status", "--porcelain", "--", prefix or ".").strip())
    return Revision(commit.sha, iso(commit.committed_at), commit.subject, dirty)


def _entries(repo: Repo, prefix: str, head: str) -> list[Entry]:
    key = (str(repo.top), prefix, head)
    if key not in _CACHE:
        _CACHE.clear()  # one HEAD at a time: serve rebuilds after each edit
        _CACHE[key] = read_history(repo, prefix, Query(head))
    return _CACHE[key]


def _by_agent(governance: Governance, entries: list[Entry], prefix: str) -> dict[str, list[Entry]]:
    """Each agent's entries: its charter, prompt and eval results, and the policies it applies."""
    applies: dict[str, list[str]] = {}
    charters = [*governance.agents, *governance.retired]  # a retired agent keeps its history
    for charter in charters:
        for policy in charter.policies:
            applies.setdefault(policy_path(prefix, policy), []).append(charter.id)
    found: dict[str, list[Entry]] = {charter.id: [] for charter in charters}
    for entry in entries:
        agents = [entry.agent] if entry.agent else applies.get(entry.file, [])
        for agent in agents:
            if agent in found:
                found[agent].append(entry)
    return found


def _suites(charter: Charter, prefix: str) -> list[SuiteRef]:
    found = []
    for index, suite in enumerate(charter.evals):
        pattern = in_repository(prefix, suite.results)
        if pattern is not None:
            found.append(SuiteRef(suite.suite, pattern, suite.min_pass_rate, index))
    return found


def _by_mtime(snap: Any) -> Any:
    def dated(paths: list[str]) -> dict[str, tuple[datetime, str]]:
        return {p: (snap.mtimes[p], "file time") for p in paths if p in snap.mtimes}

    return dated


def _outermost(suites: list[SuiteRef]) -> list[str]:
    """The folders the suites' results lie in, none inside another (each walked once)."""
    folders = {literal_folder(suite.pattern) for suite in suites}
    found = []
    for folder in sorted(folders):
        parents = [folder.rsplit("/", n)[0] for n in range(1, folder.count("/") + 1)]
        if not any(parent in folders for parent in parents):
            found.append(folder)
    return found


def _eval_statuses(
    governance: Governance, repo: Repo | None, prefix: str
) -> dict[str, list[SuiteStatus]]:
    """Every charter's eval suites, each with its latest results on disk."""
    if not any(charter.evals for charter in governance.agents):
        return {}
    root = repo.top if repo is not None else governance.root.resolve().parent
    if repo is None:
        prefix = governance.root.resolve().name
    suites = [suite for charter in governance.agents for suite in _suites(charter, prefix)]
    snap = worktree(Blobs(repo or Repo(root)), prefix, _outermost(suites))
    fallback = dating(snap, repo.tree("HEAD", prefix)) if repo is not None else _by_mtime(snap)
    return {
        charter.id: [suite_status(snap, suite, fallback) for suite in _suites(charter, prefix)]
        for charter in governance.agents
    }


def read_changes(governance: Governance) -> History:
    """The history of the governance directory, or why there is none (not under git)."""
    try:
        repo = Repo.around(governance.root)
        prefix = repo.relative(governance.root)
        revision = _revision(repo, prefix)
        entries = _entries(repo, prefix, revision.commit)
    except UsageError:
        return History(reason=NOT_UNDER_GIT, evals=_eval_statuses(governance, None, ""))
    return History(
        entries,
        revision,
        None,
        _by_agent(governance, entries, prefix),
        _eval_statuses(governance, repo, prefix),
    )


def not_under_git(governance: Governance) -> History:
    """The history of a build that reads none (tests of the pages, a handbook without git)."""
    return History(reason=NOT_UNDER_GIT, evals=_eval_statuses(governance, None, ""))
