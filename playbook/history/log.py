"""`govkit history`: who changed what in the governance, commit by commit, as a semantic diff.

One `git log` (with rename detection) reads the commits that touched the governance directory
(and the prompt files charters keep elsewhere), one `git cat-file --batch` reads every version of
every file they touched, and each version is parsed once. Each (commit, file) is one entry; an
agent's history follows its charter through renames. A commit's approvals are its own
`Approved-by:` trailers and those of the merge commit that brought it into the branch (GitLab
writes them there), each with the role its holder had in the charter before the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from playbook.core.clock import iso
from playbook.core.errors import UsageError
from playbook.core.git import Commit, FileChange, Identity, Repo
from playbook.history.documents import Blobs, FileKind, Labels, kind_of
from playbook.history.filediff import diff_file
from playbook.history.risk import NEUTRAL, RISKS, ROLE_NAMES
from playbook.history.semantic import Change
from playbook.history.snapshot import Snapshot, snapshot
from playbook.history.targets import Targets, resolve_targets

ROLES = ("agent_owner", "model_steward", "reviewer")


@dataclass(frozen=True)
class Approver:
    who: Identity
    source: str  # `Approved-by in 3f2a1bc`, `Approved-by in merge 9e8d7c6`
    role: str | None  # the role its holder had in the charter before the change

    def to_json(self) -> dict[str, Any]:
        return {"name": self.who.name, "email": self.who.email, "role": self.role,
                "source": self.source}  # fmt: skip

    def __str__(self) -> str:
        role = f" ({ROLE_NAMES.get(self.role, self.role)})" if self.role else ""
        return f"{self.who}{role}"


@dataclass
class Entry:
    """One file one commit changed, with its semantic changes and approvals."""

    commit: Commit
    file: str
    kind: FileKind
    changes: list[Change]
    status: str = "modified"  # added, modified, renamed, deleted
    previous_file: str | None = None
    approvals: list[Approver] = field(default_factory=list)

    @property
    def agent(self) -> str | None:
        return self.kind.name if self.kind.role in ("agent", "prompt", "evals") else None

    @property
    def risk(self) -> str:
        risks = {change.risk for change in self.changes}
        return next((risk for risk in RISKS if risk in risks), NEUTRAL)

    def to_json(self) -> dict[str, Any]:
        commit = self.commit
        return {
            "commit": commit.sha,
            "date": iso(commit.committed_at),
            "author": person(commit.author),
            "message": commit.subject,
            "file": self.file,
            "previous_file": self.previous_file,
            "status": self.status,
            "agent": self.agent,
            "subject": self.kind.subject,
            "risk": self.risk,
            "changes": [change.to_json() for change in self.changes],
            "approvals": [approver.to_json() for approver in self.approvals],
        }


def person(who: Identity) -> dict[str, str]:
    found = {"name": who.name, "email": who.email}
    return found | ({"login": who.login} if who.login else {})


@dataclass
class Query:
    """What `govkit history` was asked for."""

    revision: str = "HEAD"  # a commit, or a range A..B
    targets: Sequence[str] = ()  # agent ids, policy ids, or file paths
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None  # commits
    cwd: Path = field(default_factory=Path.cwd)
    # False: the targets' files as they are named now, not followed through renames, and not
    # their eval results (a quick question about the last changes: `whois --at`).
    follow: bool = True


def _tip(repo: Repo, revision: str) -> tuple[list[str], str]:
    """The git revisions to log and the commit whose files name things (the range's end)."""
    if ".." in revision:
        three = "..." in revision
        start, _, end = revision.partition("...") if three else revision.partition("..")
        left, right = repo.resolve(start or "HEAD"), repo.resolve(end or "HEAD")
        return [f"{left}{'...' if three else '..'}{right}"], right
    tip = repo.resolve(revision)
    return [tip], tip


def _log_options(query: Query) -> list[str]:
    options = ["--no-merges"]
    if query.since is not None:
        options.append(f"--since=@{int(query.since.timestamp())}")
    if query.until is not None:
        options.append(f"--until=@{int(query.until.timestamp())}")
    return options


def landed_by(repo: Repo, tip: str, commits: Sequence[Commit]) -> dict[str, Commit]:
    """For each commit, the merge commit of the first-parent line that brought it in, when that
    merge carries approvals; {} when no merge does (one `git log`, no walk)."""
    merges = {merge.sha: merge for merge in repo.merges(tip) if merge.approvals}
    if not merges:
        return {}
    graph = repo.parents(tip)
    chain = [tip]
    while graph.get(chain[-1]):
        chain.append(graph[chain[-1]][0])
    owner: dict[str, str] = {}
    for head in reversed(chain):  # oldest first: a commit belongs to the first that reaches it
        stack = [head]
        while stack:
            sha = stack.pop()
            if sha not in owner:
                owner[sha] = head
                stack.extend(graph.get(sha, ()))
    wanted = {commit.sha for commit in commits}
    return {sha: merges[owner[sha]] for sha in wanted if owner.get(sha) in merges}


class _Reader:
    """Turns the commits of the log into entries, oldest first, keeping each agent's charter as
    it stood before each change (for the roles of its approvers)."""

    def __init__(
        self, blobs: Blobs, snap: Snapshot, merged: dict[str, Commit], labels: Labels | None
    ) -> None:
        self.blobs, self.snap, self.merged, self.labels = blobs, snap, merged, labels
        self.charter_at: dict[str, tuple[str, str | None]] = {}  # agent -> (path, blob) in force
        self.kinds: dict[str, FileKind | None] = {}

    def kind(self, change: FileChange) -> FileKind | None:
        if change.path not in self.kinds:
            if self.labels is not None:  # an agent's history: its prompt and results are known
                self.kinds[change.path] = kind_of(change.path, self.snap.prefix, self.labels)
            else:
                self.kinds[change.path] = self.snap.kind(change.path)
        return self.kinds[change.path]

    def _roles(self, agent: str | None) -> dict[str, str]:
        """Email -> role in the agent's charter in force before the change."""
        path, oid = self.charter_at.get(agent or "", ("", None))
        parsed = self.blobs.parsed(path, oid) if oid else None
        head = parsed.head() if parsed is not None else None  # composed, when not parsed yet
        data = head[1] if head is not None else parsed.data if parsed is not None else None
        owners = data.get("owners") if isinstance(data, dict) else None
        found = {}
        for role in ROLES:
            who = owners.get(role) if isinstance(owners, dict) else None
            email = who.get("email") if isinstance(who, dict) else None
            if isinstance(email, str):
                found.setdefault(email.lower(), role)
        return found

    def approvers(self, commit: Commit, agent: str | None) -> list[Approver]:
        merge = self.merged.get(commit.sha)
        if not commit.approvals and not (merge and merge.approvals):
            return []
        roles = self._roles(agent)
        given = [(who, f"Approved-by in {commit.short}") for who in commit.approvals]
        given += [(who, f"Approved-by in merge {merge.short}") for who in merge.approvals] if (
            merge) else []  # fmt: skip
        seen, found = set(), []
        for who, source in given:
            if who.email.lower() not in seen:
                seen.add(who.email.lower())
                found.append(Approver(who, source, roles.get(who.email.lower())))
        return found

    def entry(self, commit: Commit, change: FileChange, worse: dict[str, str]) -> Entry | None:
        kind = self.kind(change)
        if kind is None:
            return None
        source = change.old_path or change.path
        old = self.blobs.parsed(source, change.old)
        new = self.blobs.parsed(change.path, change.new)
        agent = kind.name if kind.role in ("agent", "prompt", "evals") else None
        if kind.role == "agent":
            self.charter_at.setdefault(kind.name, (source, change.old))
        changes = diff_file(change.path, kind, old, new, worse)  # first: it parses the charter
        entry = Entry(
            commit, change.path, kind, changes, change.status, change.old_path,
            self.approvers(commit, agent),
        )  # fmt: skip
        if kind.role == "agent":
            self.charter_at[kind.name] = (change.path, change.new)
        return entry


def _worse(blobs: Blobs, snap: Snapshot) -> dict[str, str]:
    parsed = snap.parsed(f"{snap.prefix}/metrics.yaml" if snap.prefix else "metrics.yaml")
    metrics = parsed.data.get("metrics") if parsed and isinstance(parsed.data, dict) else None
    listed = metrics if isinstance(metrics, list) else []
    return {str(m.get("id")): str(m.get("worse")) for m in listed if isinstance(m, dict)}


def _first_charters(reader: _Reader, selected: list[tuple[Commit, list[FileChange]]]) -> None:
    """Each agent's charter in force before the oldest change read: the old side of its oldest
    change in the log, else the charter at the tip."""
    for _, changes in reversed(selected):
        for change in changes:
            kind = reader.kind(change)
            if kind is not None and kind.role == "agent":
                reader.charter_at.setdefault(
                    kind.name, (change.old_path or change.path, change.old)
                )
    for agent, path in reader.snap.charter_files.items():
        reader.charter_at.setdefault(agent, (path, reader.snap.files[path]))


def _selected(
    repo: Repo, revisions: list[str], snap: Snapshot, query: Query
) -> tuple[Targets, list[tuple[Commit, list[FileChange]]]]:
    """The targets asked for and the commits (each with its changes) that changed them."""
    targets = resolve_targets(repo, snap, query)
    options = _log_options(query)
    if not query.follow and targets.exact is not None:
        targets.pathspec, targets.patterns = sorted(targets.exact), []
        options += [f"--max-count={query.limit}"] if query.limit else []
    commits = repo.log(revisions, targets.pathspec, options=options, renames=query.follow)
    selected = targets.select(commits)
    return targets, selected[: query.limit] if query.limit else selected


def read_history(repo: Repo, prefix: str, query: Query, at: Snapshot | None = None) -> list[Entry]:
    """The changes of `query.revision` to the governance (or to the targets), newest first,
    one entry per commit and file, each with its semantic changes and approvals; `at`: the
    snapshot of that revision when the caller has it already."""
    revisions, tip = _tip(repo, query.revision)
    snap = at if at is not None and at.sha == tip else snapshot(Blobs(repo), tip, prefix)
    if not snap.files:
        raise UsageError(f"{prefix or '.'}: no governance files at {tip[:7]}")
    targets, selected = _selected(repo, revisions, snap, query)
    blobs = snap.blobs
    blobs.fetch({oid for _, changes in selected for c in changes for oid in (c.old, c.new)})
    merged = landed_by(repo, tip, [commit for commit, _ in selected])
    reader = _Reader(blobs, snap, merged, targets.labels)
    _first_charters(reader, selected)
    worse = _worse(blobs, snap)
    groups: list[list[Entry]] = []
    for commit, changes in reversed(selected):  # oldest first: charters in force move forward
        found = [reader.entry(commit, change, worse) for change in changes]
        groups.append([entry for entry in found if entry is not None])
    return [entry for group in reversed(groups) for entry in group]


def _approved_line(entries: Sequence[Entry]) -> str | None:
    """`Approved by Henrik Lund <...> (Model Steward of agent refunds)` for one commit."""
    shown: dict[str, str] = {}
    for entry in entries:
        for approver in entry.approvals:
            role = ROLE_NAMES.get(approver.role or "", approver.role)
            text = f"{approver.who} ({role} of agent {entry.agent})" if role else str(approver.who)
            key = approver.who.email.lower()
            if key not in shown or (role and "(" not in shown[key]):
                shown[key] = text
    return f"    Approved by {', '.join(shown.values())}" if shown else None


def format_entries(entries: Sequence[Entry]) -> str:
    """The history for people: one block per commit, one `file:line: change [risk]` line each."""
    by_commit: dict[str, list[Entry]] = {}
    for entry in entries:
        by_commit.setdefault(entry.commit.sha, []).append(entry)
    blocks = []
    for group in by_commit.values():
        commit = group[0].commit
        when = commit.committed_at.strftime("%Y-%m-%d %H:%M UTC")
        lines = [f"commit {commit.short}  {when}  {commit.author}", f"    {commit.subject}"]
        approved = _approved_line(group)
        lines += [approved] if approved else []
        for entry in group:
            if entry.previous_file:
                lines.append(f"  {entry.previous_file} renamed to {entry.file}")
            lines += [f"  {c.where}: {c.text} [{c.risk}]" for c in entry.changes]
            if not entry.changes and not entry.previous_file:
                lines.append(f"  {entry.file}: no change to the governance itself (comments, "
                             "formatting)")  # fmt: skip
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
