"""What `govkit history AGENT` reads: the agent's charter (followed back through renames, or found
in the past when it was deleted), its prompt file, its eval results and the policies it applies;
a policy id its file and tests; a path that file.

The whole governance directory is logged with rename detection (a rename is only seen when both
of its paths are logged), then the commits are filtered here, newest first: a rename of a file
followed adds its old path to those followed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from playbook.core.errors import UsageError, did_you_mean
from playbook.core.git import Commit, FileChange, Repo
from playbook.history.documents import (
    YAML_SUFFIXES,
    Labels,
    SuiteRef,
    kind_of,
    labels_for,
    policy_path,
    tests_of,
)
from playbook.history.snapshot import Snapshot, outside_files


@dataclass
class Targets:
    pathspec: list[str]
    exact: set[str] | None = None  # None: every governance file
    patterns: list[SuiteRef] = field(default_factory=list)
    labels: Labels | None = None  # the targets' prompts and eval results (None: every charter's)

    def _mine(self, change: FileChange, tracked: set[str]) -> bool:
        if change.path in tracked or (change.old_path is not None and change.old_path in tracked):
            return True
        return any(suite.matches(change.path) for suite in self.patterns)

    def select(self, commits: Sequence[Commit]) -> list[tuple[Commit, list[FileChange]]]:
        """The commits that changed the targets (newest first), each with those changes."""
        if self.exact is None:
            return [(commit, list(commit.changes)) for commit in commits if commit.changes]
        tracked = set(self.exact)
        found = []
        for commit in commits:
            mine = [change for change in commit.changes if self._mine(change, tracked)]
            for change in mine:
                if change.old_path is not None and change.path in tracked:
                    tracked.add(change.old_path)
            if mine:
                found.append((commit, mine))
        return found


def _policy_ids(snap: Snapshot) -> list[str]:
    kinds = (kind_of(path, snap.prefix) for path in snap.files)
    return [kind.name for kind in kinds if kind is not None and kind.role == "policy"]


def _unknown(target: str, snap: Snapshot) -> UsageError:
    known = sorted({*snap.charter_files, *_policy_ids(snap)})
    hint = did_you_mean(target, known)
    return UsageError(
        f"unknown agent or policy {target!r} at {snap.sha[:7]}.{hint} Expected an agent id, a "
        f"policy id or a file path; known: {', '.join(known)}"
    )


def _agent(snap: Snapshot, agent: str) -> tuple[set[str], list[SuiteRef]]:
    refs = snap.refs(agent)
    paths = {snap.charter_files[agent], *filter(None, [refs.prompt])}
    for policy in refs.policies:
        paths |= {policy_path(snap.prefix, policy), tests_of(policy_path(snap.prefix, policy))}
    return paths, list(refs.suites)


def _in_the_past(repo: Repo, snap: Snapshot, target: str) -> set[str]:
    """The charter paths an agent that no longer exists once had ({}: never)."""
    folder = f"{snap.prefix}/agents" if snap.prefix else "agents"
    paths = [f"{folder}/{target}.yaml", f"{folder}/{target}.yml"]
    if "/" in target or not repo.log([snap.sha], paths, options=["--max-count=1"]):
        return set()
    return set(paths)


def _one(repo: Repo, snap: Snapshot, target: str, query: Any) -> tuple[set[str], list[SuiteRef]]:
    if target in snap.charter_files:
        return _agent(snap, target)
    policy = policy_path(snap.prefix, target)
    if policy in snap.files:
        return {policy, tests_of(policy)}, []
    past = _in_the_past(repo, snap, target)
    if past:
        return past, []
    if "/" in target or target.endswith(YAML_SUFFIXES):
        return {repo.relative(query.cwd / target)}, []
    raise _unknown(target, snap)


def resolve_targets(repo: Repo, snap: Snapshot, query: Any) -> Targets:
    """The targets of `query.targets` (none: the whole governance); UsageError for a target that
    is none of an agent (now or once), a policy or a path."""
    if not query.targets:
        return Targets([snap.prefix or ".", *outside_files(snap)])
    pathspec = [snap.prefix or "."]
    exact: set[str] = set()
    patterns: list[SuiteRef] = []
    for target in query.targets:
        paths, suites = _one(repo, snap, target, query)
        exact |= paths
        patterns += suites
    inside = f"{snap.prefix}/" if snap.prefix else ""
    extra = sorted(p for p in exact if inside and not p.startswith(inside))
    agents = {t: snap.charter(t) for t in query.targets if t in snap.charter_files}
    labels = labels_for(agents, snap.prefix)
    return Targets(list(dict.fromkeys([*pathspec, *extra])), exact, patterns, labels)
