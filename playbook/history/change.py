"""A change of the governance between two revisions: BASE (a commit) and HEAD (a commit or the
work tree), with the commits between them, its net semantic changes, renamed charters paired with
their old selves, and which agents each change concerns.

BASE defaults to the merge base of HEAD with the default branch (origin/HEAD, else main, master,
origin/main or origin/master); HEAD to the work tree, uncommitted changes included.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from playbook.core.errors import UsageError
from playbook.core.git import Commit, Identity, Repo
from playbook.history.documents import Blobs, FileKind, policy_path
from playbook.history.filediff import diff_file
from playbook.history.semantic import Change
from playbook.history.snapshot import (
    WORKTREE,
    Snapshot,
    add_outside,
    outside_files,
    snapshot,
    worktree,
)

RENAME_SIMILARITY = 0.5  # git's default: half the lines alike


@dataclass(frozen=True)
class Span:
    base: str
    head: str  # a commit, or WORKTREE
    tip: str  # the last commit (HEAD's commit when the work tree is compared)

    @property
    def label(self) -> str:
        head = "work tree" if self.head == WORKTREE else self.head[:7]
        return f"{self.base[:7]}..{head}"


def _resolve_base(repo: Repo, head: str) -> str:
    default = repo.default_branch()
    if default is None:
        raise UsageError(
            "no default branch to compare with (origin/HEAD, main, master, origin/main, "
            "origin/master): give BASE, e.g. govkit diff origin/main"
        )
    return repo.merge_base(default, head)


def span(repo: Repo, base: str | None, head: str | None) -> Span:
    """The revisions compared: `BASE...HEAD` and `BASE..HEAD` in BASE alone are accepted too."""
    if base is not None and head is None and ".." in base:
        three = "..." in base
        start, _, end = base.partition("...") if three else base.partition("..")
        tip = repo.resolve(end or "HEAD")
        first = repo.resolve(start or "HEAD", what="base")
        return Span(repo.merge_base(first, tip) if three else first, tip, tip)
    tip = repo.resolve(head) if head is not None else repo.resolve("HEAD", what="HEAD commit")
    found = repo.resolve(base, what="base") if base is not None else _resolve_base(repo, tip)
    return Span(found, tip if head is not None else WORKTREE, tip)


def _similar(one: bytes | None, other: bytes | None) -> float:
    lines = [(data or b"").decode("utf-8", "replace").splitlines() for data in (one, other)]
    return difflib.SequenceMatcher(None, *lines, autojunk=False).ratio()


@dataclass
class ChangeSet:
    """The two sides of a change and what lies between them."""

    repo: Repo
    blobs: Blobs
    old: Snapshot
    new: Snapshot
    span: Span
    commits: list[Commit]  # newest first, each with its governance files
    head_files: dict[str, str] | None = None  # the last commit's files (work tree compared)
    renamed: dict[str, str] = field(default_factory=dict)  # new charter path -> old path

    @cached_property
    def changed(self) -> list[str]:
        paths = {*self.old.files, *self.new.files}
        return sorted(p for p in paths if self.old.files.get(p) != self.new.files.get(p))

    def kind(self, path: str) -> FileKind | None:
        return self.new.kind(path) if path in self.new.files else self.old.kind(path)

    @cached_property
    def worse(self) -> dict[str, str]:
        """The metric catalog's directions, after the change (else before)."""
        for snap in (self.new, self.old):
            path = f"{snap.prefix}/metrics.yaml" if snap.prefix else "metrics.yaml"
            parsed = snap.parsed(path)
            metrics = (
                parsed.data.get("metrics") if parsed and isinstance(parsed.data, dict) else None
            )
            if isinstance(metrics, list):
                return {
                    str(m.get("id")): str(m.get("worse")) for m in metrics if isinstance(m, dict)
                }
        return {}

    def pair_renames(self) -> None:
        """Pair each charter the change removed with the one it added that is most like it."""
        gone = {p for a, p in self.old.charter_files.items() if a not in self.new.charter_files}
        born = {p for a, p in self.new.charter_files.items() if a not in self.old.charter_files}
        for path in sorted(born):
            new_raw = self.blobs.raw(self.new.files[path])
            scored = [(_similar(self.blobs.raw(self.old.files[o]), new_raw), o) for o in gone]
            best = max(scored, default=(0.0, ""))
            if best[0] >= RENAME_SIMILARITY:
                self.renamed[path] = best[1]
                gone.discard(best[1])

    def net_changes(self) -> list[Change]:
        """Every semantic change between the two sides, a renamed charter diffed against its
        old self."""
        sources = set(self.renamed.values())
        found: list[Change] = []
        for path in self.changed:
            if path in sources:
                continue
            kind = self.kind(path)
            if kind is None:
                continue
            source = self.renamed.get(path, path)
            old = self.blobs.parsed(source, self.old.files.get(source))
            new = self.blobs.parsed(path, self.new.files.get(path))
            found += diff_file(path, kind, old, new, self.worse)
        return found

    def agent_of_path(self, path: str) -> str | None:
        kind = self.kind(path)
        return kind.name if kind is not None and kind.role in ("agent", "prompt", "evals") else None

    def before(self, agent: str, path: str | None = None) -> Any:
        """The agent's charter before the change (its old self when it was renamed)."""
        source = self.renamed.get(path or self.new.charter_files.get(agent, ""))
        if source is not None:
            return self.blobs.parsed(source, self.old.files.get(source)).data  # type: ignore[union-attr]
        return self.old.charter(agent)

    def appliers(self, policy: str) -> list[str]:
        """The agents that apply a policy: as their charters were before the change, else after."""
        for snap in (self.old, self.new):
            found = sorted(a for a in snap.charter_files if policy in snap.refs(a).policies)
            if found:
                return found
        return []

    def agent_files(self, agent: str) -> set[str]:
        """The files that make up an agent: its charter (and old name) and its prompt file."""
        found = set()
        for snap in (self.old, self.new):
            found |= {snap.charter_files[agent]} if agent in snap.charter_files else set()
            prompt = snap.refs(agent).prompt if agent in snap.charter_files else None
            found |= {prompt} if prompt else set()
        path = self.new.charter_files.get(agent)
        return found | ({self.renamed[path]} if path in self.renamed else set())

    def behaviour_files(self, agent: str) -> set[str]:
        """The files whose every edit changes the agent's behaviour: its prompt and policies."""
        found = set()
        for snap in (self.old, self.new):
            if agent not in snap.charter_files:
                continue
            refs = snap.refs(agent)
            found |= {refs.prompt} if refs.prompt else set()
            found |= {policy_path(snap.prefix, p) for p in refs.policies}
        return found

    def authors(self, paths: set[str], identity: Identity | None) -> list[Identity]:
        """Who wrote the change to `paths`: the commits' authors and co-authors, and whoever
        works in the work tree when it changes them uncommitted."""
        found = [
            who
            for commit in self.commits
            if any(c.path in paths or c.old_path in paths for c in commit.changes)
            for who in commit.authors
        ]
        head = self.head_files
        if (
            head is not None
            and identity is not None
            and any(head.get(p) != self.new.files.get(p) for p in paths)
        ):
            found.append(identity)
        return list(dict.fromkeys(found))

    def uncommitted(self, paths: set[str]) -> list[datetime]:
        """The modification times of `paths` the work tree changes uncommitted."""
        if self.head_files is None:
            return []
        return [
            self.new.mtimes[p]
            for p in paths
            if p in self.new.mtimes and self.head_files.get(p) != self.new.files.get(p)
        ]


def _within(path: str, prefixes: list[str]) -> bool:
    return any(p in (".", "") or path == p or path.startswith(p + "/") for p in prefixes)


def read_change(repo: Repo, prefix: str, base: str | None, head: str | None) -> ChangeSet:
    """Both sides of the change and its commits (read once; blobs in one batch)."""
    found = span(repo, base, head)
    blobs = Blobs(repo)
    old = snapshot(blobs, found.base, prefix)
    new = worktree(blobs, prefix) if found.head == WORKTREE else snapshot(blobs, found.head, prefix)
    if not new.files and not old.files:
        raise UsageError(f"{prefix or '.'}: no governance files on either side of {found.label}")
    outside = sorted({*outside_files(old), *outside_files(new)})
    add_outside(old, outside)
    add_outside(new, outside)
    head_files = None
    if found.head == WORKTREE:
        head_files = repo.tree(found.tip, prefix)
        for path in outside:
            head_files.update(repo.tree(found.tip, path))
    paths = [prefix or ".", *outside]
    commits = [
        replace(commit, changes=tuple(c for c in commit.changes if _within(c.path, paths)))
        for commit in repo.log([f"{found.base}..{found.tip}"], [], options=["--topo-order"])
    ]
    change = ChangeSet(repo, blobs, old, new, found, commits, head_files)
    blobs.fetch({old.files[p] for p in change.changed if p in old.files})
    blobs.fetch({new.files[p] for p in change.changed if p in new.files})
    change.pair_renames()
    return change
