"""`govkit diff`: every change between two revisions, classed by risk, and the checks it must pass.

- **Roles.** Widening tools, work or tier, or changing the model, the prompt (the field or its
  file) or the policies (the field, or a policy file the agent applies) needs the Model Steward
  named in the charter before the change; loosening or removing a north star, guardrail or stop
  condition, or dropping a monitored metric (or deleting the charter) needs the Agent Owner and
  the Model Steward. A new charter needs the Model Steward it names.
- **Two people.** Any change to a charter (or its prompt file) whose `approvals.required` is 2 or
  more, before or after, needs that many distinct approvers, none of them an author of it.
- **Evals.** A change to the model, the prompt, the tools or the policies needs every eval
  suite's latest results produced after it and meeting `min_pass_rate` (`evals.py`, `fresh`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playbook.core.clock import iso
from playbook.core.errors import UsageError
from playbook.core.git import Commit, Repo
from playbook.history import approvals as gates
from playbook.history.change import ChangeSet, Span, read_change
from playbook.history.documents import FileKind
from playbook.history.evals import charter_suites, dating, suite_status
from playbook.history.freshness import Moment, change_moment, fresh
from playbook.history.risk import ROLE_NAMES, approvers_needed, changes_behaviour
from playbook.history.semantic import Change
from playbook.history.snapshot import WORKTREE

APPROVAL, TWO_PERSON, EVALS = "approval", "two-person", "evals"


@dataclass(frozen=True)
class Check:
    """One thing a change needs, and whether it has it."""

    rule: str  # approval, two-person, evals
    file: str
    line: int
    agent: str | None
    change: str  # what changed, as `govkit history` says it
    risk: str
    needs: str  # `the Model Steward, Henrik Lund <henrik.lund@x>`, `eval suite refunds`
    passed: bool
    evidence: str  # the approval or results found, or what is missing
    role: str | None = None
    suite: str | None = None

    @property
    def message(self) -> str:
        verdict = "has" if self.passed else "missing"
        return f"{self.file}:{self.line}: {self.change} ({self.risk}): {verdict} {self.needs}: " + (
            self.evidence
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "agent": self.agent,
            "change": self.change,
            "risk": self.risk,
            "needs": self.needs,
            "role": self.role,
            "suite": self.suite,
            "passed": self.passed,
            "evidence": self.evidence,
            "message": self.message,
        }


@dataclass
class Report:
    span: Span
    commits: list[Commit]
    changes: list[Change]
    checks: list[Check] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.span.base,
            "head": None if self.span.head == WORKTREE else self.span.head,
            "work_tree": self.span.head == WORKTREE,
            "commits": [commit.sha for commit in self.commits],
            "renamed": [{"from": old, "to": new} for new, old in sorted(self.renamed.items())],
            "changes": [
                {"file": c.file, "subject": c.subject, **c.to_json()} for c in self.changes
            ],
            "findings": [check.to_json() for check in self.findings],
            "checks": [check.to_json() for check in self.checks],
            "notes": self.notes,
            "passed": self.passed,
        }


@dataclass
class DiffQuery:
    base: str | None = None
    head: str | None = None  # None: the work tree
    approvals: Path | None = None


class _Gate:
    """The checks of one change."""

    def __init__(self, work: ChangeSet, given: list[gates.Approval]) -> None:
        self.work, self.given = work, given
        self.identity = work.repo.identity() if work.span.head == WORKTREE else None
        self.checks: list[Check] = []
        self.notes: list[str] = []

    def agents_of(self, kind: FileKind) -> list[str]:
        if kind.role in ("agent", "prompt"):
            return [kind.name]
        return self.work.appliers(kind.name) if kind.role == "policy" else []

    def role_checks(self, change: Change, kind: FileKind) -> None:
        needed = approvers_needed(kind.role, change.field, change.op, change.risk)
        for agent in self.agents_of(kind) if needed else []:
            charter = self.work.before(agent, change.file if kind.role == "agent" else None)
            named_in = "in the charter before the change"
            if charter is None:  # a new charter: the steward it names
                charter, named_in = self.work.new.charter(agent), "in the new charter"
            subject = change.text if kind.role == "agent" else f"{change.text} (agent {agent})"
            for role in needed:
                self.checks.append(self._role(change, agent, subject, role, charter, named_in))

    def _role(
        self, change: Change, agent: str, subject: str, role: str, charter: Any, named_in: str
    ) -> Check:
        title = ROLE_NAMES.get(role, role)
        person = gates.holder(charter, role)
        if person is None:
            needs = f"the {title} of agent {agent}"
            why = f"the charter names no {title} {named_in}"
            return Check(APPROVAL, change.file, change.line, agent, subject, change.risk, needs,
                         False, why, role)  # fmt: skip
        found = gates.by_email(self.given, person.email)
        evidence = (
            f"approved by {found.who} ({found.source})"
            if found
            else f"no Approved-by: trailer or review from {person.email}"
        )
        needs = f"the {title} named {named_in}, {person}"
        return Check(APPROVAL, change.file, change.line, agent, subject, change.risk, needs,
                     found is not None, evidence, role)  # fmt: skip

    def two_person(self, agent: str, changes: list[Change]) -> None:
        before = self.work.before(agent)
        count = gates.required([before, self.work.new.charter(agent)])
        if count < 2:
            return
        authors = self.work.authors(self.work.agent_files(agent), self.identity)
        people, refused = gates.distinct(self.given, authors, before)
        first = min(changes, key=lambda c: (c.file, c.line))
        shown = ", ".join(str(p) for p in people) or "none"
        evidence = f"{len(people)} counted: {shown}" + "".join(f"; {why}" for why in refused)
        needs = f"{count} distinct approvers, none an author (approvals.required: {count})"
        risk = "widens" if any(c.risk == "widens" for c in changes) else changes[0].risk
        what = f"agent {agent}: {len(changes)} change(s)"
        self.checks.append(Check(TWO_PERSON, first.file, first.line, agent, what, risk, needs,
                                 len(people) >= count, evidence))  # fmt: skip

    def eval_checks(self, agent: str, changes: list[Change]) -> None:
        work = self.work
        if agent not in work.new.charter_files:
            return
        suites = charter_suites(work.old.refs(agent).suites, work.new.refs(agent).suites)
        if not suites:
            self.notes.append(f"agent {agent}: its behaviour changed and it declares no eval suite")
            return
        moment = change_moment(work, agent)
        fallback = dating(work.new, work.head_files)
        path = work.new.charter_files[agent]
        document = work.new.parsed(path)
        first = changes[0]
        what = first.text if first.subject == f"agent {agent}" else f"{first.text} (agent {agent})"
        what += f" and {len(changes) - 1} more change(s)" if len(changes) > 1 else ""
        for suite in suites:
            status = suite_status(work.new, suite, fallback)
            line = document.document.line_of(("evals", suite.index)) if document and (
                document.document) else first.line  # fmt: skip
            problem = status.problem or fresh(status, moment, work.repo)
            evidence = problem or _passing(status, moment)
            self.checks.append(Check(EVALS, path, line, agent, what, first.risk,
                                     f"eval suite {suite.suite} passing after the change",
                                     problem is None, evidence, suite=suite.suite))  # fmt: skip


def _passing(status: Any, moment: Moment) -> str:
    latest = status.latest
    return (
        f"{latest.path}: {status.pass_rate:.1%} passed, produced {iso(latest.produced_at)} "
        f"({latest.produced_by}), after {moment.shown}"
    )


def _current(work: ChangeSet, reviews: list[gates.Approval]) -> list[gates.Approval]:
    """Reviews that still stand: one of an older commit counts only when nothing in the
    governance changed since (a commit this clone lacks cannot be shown to be current)."""
    tip, known, kept = work.span.tip, {}, []
    paths = [work.new.prefix or "."]
    for approval in reviews:
        commit = approval.commit
        if commit is not None and commit != tip and commit not in known:
            try:
                known[commit] = not work.repo.changed(work.repo.resolve(commit), tip, paths)
            except UsageError:
                known[commit] = False
        if commit is None or commit == tip or known[commit]:
            kept.append(approval)
    return kept


def gate_change(repo: Repo, prefix: str, query: DiffQuery) -> Report:
    """The change's semantic changes and the checks it must pass."""
    reviews = gates.read_approvals(query.approvals) if query.approvals is not None else []
    work = read_change(repo, prefix, query.base, query.head)
    changes = work.net_changes()
    report = Report(work.span, work.commits, changes, renamed=dict(work.renamed))
    if not changes:
        return report
    gate = _Gate(work, gates.from_trailers(work.commits) + _current(work, reviews))
    by_agent: dict[str, list[Change]] = {}
    behaviour: dict[str, list[Change]] = {}
    for change in changes:
        kind = work.kind(change.file)
        if kind is None:
            continue
        gate.role_checks(change, kind)
        if kind.role in ("agent", "prompt"):
            by_agent.setdefault(kind.name, []).append(change)
        if changes_behaviour(kind.role, change.field, change.op):
            agents = gate.agents_of(kind) if kind.role != "policy" else [
                a for a in work.new.charter_files if kind.name in work.new.refs(a).policies
            ]  # fmt: skip
            for agent in agents:
                behaviour.setdefault(agent, []).append(change)
    for agent, agent_changes in sorted(by_agent.items()):
        gate.two_person(agent, agent_changes)
    for agent, agent_changes in sorted(behaviour.items()):
        gate.eval_checks(agent, agent_changes)
    report.checks, report.notes = gate.checks, gate.notes
    return report
