"""The invisible workforce on the handbook's pages: agents without a charter, reviews due.

The dashboard lists the agents the last monitor run saw without a charter first (the snapshot's
`uncharted`, `playbook.results`); the registry's Review column shows each charter's last review,
its due date and whether it is overdue on the build's day, from the charter and the reviews written
beside the monitor's state (`playbook.core.review_due`): computed here, without the monitor.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from playbook import results
from playbook.core.costs import window_words
from playbook.core.governance import Governance
from playbook.core.markdown import Markup
from playbook.core.review_due import ReviewDue, review_due
from playbook.handbook.page_helpers import badge
from playbook.handbook.view import MonitorView


def workforce_context(
    governance: Governance, view: MonitorView | None, today: date
) -> dict[str, Any]:
    """`uncharted` (the last run's agents without a charter, most tasks first), `review_due`
    (per charter id) and `review_cell` (the registry's Review column)."""
    written = results.written_review_days(view.path) if view is not None else {}
    due = {
        charter.id: review_due(charter, written.get(charter.id), today)
        for charter in governance.agents
    }
    uncharted = view.uncharted if view is not None else []
    return {
        "uncharted": uncharted,
        "uncharted_window": window_words(uncharted[0].window) if uncharted else "",
        "review_due": due,
        "review_cell": lambda agent_id: review_cell(due[agent_id]),
    }


def review_cell(due: ReviewDue) -> Markup:
    """`weekly: last 2026-11-17, due 2026-11-24` with an `overdue 3 days` badge when it is."""
    if due.last is None:
        return Markup(f"{due.cadence}: no review yet")
    text = f"{due.cadence}: last {due.last}, due {due.due}"
    if due.overdue:
        days = due.days_overdue
        return Markup(
            f"{text} {badge(f'overdue {days} day' + ('s' if days != 1 else ''), 'warning')}"
        )
    return Markup(text)
