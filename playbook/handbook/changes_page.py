"""Cells of the change history tables (agent pages, the governance changelog): each change of an
entry on its own line, its risk as a badge, its approvers with their roles, its eval evidence."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from playbook.core import markdown

if TYPE_CHECKING:  # only types: the pages load without reading git's history modules
    from playbook.handbook.changes import Step
    from playbook.history.evals import SuiteStatus
    from playbook.history.log import Entry

_RISK_TONES = {"widens": "warning", "narrows": "ok", "neutral": "neutral"}
_ROLE_NAMES = {"agent_owner": "Agent Owner", "model_steward": "Model Steward",
               "reviewer": "reviewer"}  # fmt: skip


def risk_badge(risk: str) -> markdown.Markup:
    """The risk as a coloured label, like the pages' other badges (`page_helpers.badge`)."""
    tone = _RISK_TONES.get(risk, "neutral")
    return markdown.Markup(
        f'<span class="govkit-badge govkit-badge--{tone}">{markdown.escape(risk)}</span>'
    )


def _lines(texts: list[str]) -> markdown.Markup:
    return markdown.Markup("<br>".join(markdown.escape(text) for text in texts))


def change_texts(entry: Entry, *, keep_subject: bool = False) -> list[str]:
    """Each semantic change of the entry (`field: before -> after`, after its subject when
    `keep_subject`), with its risk when it widens; a rename or a change of form says so."""
    texts = [f"{entry.previous_file} renamed to {entry.file}"] if entry.previous_file else []
    for change in entry.changes:
        text = change.text if keep_subject else change.text.removeprefix(f"{entry.kind.subject}: ")
        texts.append(f"{text} (widens)" if change.risk == "widens" else text)
    return texts or [f"{entry.file}: comments or formatting only"]


def step_texts(step: Step) -> list[str]:
    """The changes one commit made to one agent; those of its charter without their subject."""
    return [
        text
        for entry in step.entries
        for text in change_texts(entry, keep_subject=entry.kind.role != "agent")
    ]


def change_cell(entry: Entry) -> markdown.Markup:
    return _lines(change_texts(entry))


def approver_names(entry: Entry | Step) -> list[str]:
    """`Henrik Lund (Model Steward)`: each approver with the role they held then."""
    texts = []
    for approver in entry.approvals:
        role = _ROLE_NAMES.get(approver.role or "")
        texts.append(f"{approver.who.name} ({role})" if role else approver.who.name)
    return texts


def approvers_cell(entry: Entry) -> markdown.Markup:
    names = approver_names(entry)
    return _lines(names) if names else markdown.Markup("none recorded")


def evals_texts(entries: list[Entry]) -> list[str]:
    """Eval results recorded with the change (`49 of 50 passed (98.0%), run ...`)."""
    return [change.note for entry in entries for change in entry.changes if change.note]


def suite_line(status: SuiteStatus) -> markdown.Markup:
    """`refunds-regression: 98.0% passed (min 0.98) in evals/refunds/x.xml, produced ...`."""
    suite, latest = status.suite, status.latest
    minimum = f"min {suite.min_pass_rate:g}" if suite.min_pass_rate is not None else "no minimum"
    if latest is None or status.pass_rate is None:
        text = f"{suite.suite}: {status.problem} ({minimum})"
        return markdown.Markup(f"**{markdown.escape(text)}**")
    verdict = "passes" if status.problem is None else "FAILS"
    produced = latest.produced_at.strftime("%Y-%m-%d %H:%M UTC") if latest.produced_at else "?"
    text = (
        f"{suite.suite}: {verdict}, {status.pass_rate:.1%} passed ({minimum}), "
        f"{latest.path.rsplit('/', 1)[-1]} produced {produced}"
    )
    return markdown.Markup(markdown.escape(text))


def when(entry: Entry | Step) -> str:
    """The day of an entry's commit (UTC)."""
    return entry.commit.committed_at.astimezone(UTC).strftime("%Y-%m-%d")


GLOBALS: dict[str, Any] = {
    "risk_badge": risk_badge,
    "change_cell": change_cell,
    "change_texts": change_texts,
    "step_texts": step_texts,
    "approvers_cell": approvers_cell,
    "approver_names": approver_names,
    "evals_texts": evals_texts,
    "suite_line": suite_line,
    "changed_on": when,
}
