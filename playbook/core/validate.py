"""Rules beyond one field's schema: unique ids, tier numbering, phase order, charter rules.

Each rule returns located problems; none raises. Field types and references to catalogs are
checked by the schemas in `playbook.core.model`.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from playbook.core import model
from playbook.core.charter import Charter
from playbook.core.errors import Problem
from playbook.core.governance import Governance
from playbook.core.yamlsrc import YamlDocument

REVIEWER_FROM_TIER = 2


def file_rules(document: YamlDocument, parsed: BaseModel) -> list[Problem]:
    """Rules within one schema-valid catalog file: unique ids, tier numbering, phase order."""
    problems: list[Problem] = []
    if isinstance(parsed, model.OperatingModelsFile):
        problems += _duplicates(
            document, "operating_models", [m.id for m in parsed.operating_models]
        )
    elif isinstance(parsed, model.MetricsFile):
        problems += _duplicates(document, "metrics", [m.id for m in parsed.metrics])
    elif isinstance(parsed, model.RolesFile):
        problems += _duplicates(document, "roles", [r.id for r in parsed.roles])
        problems += _duplicates(
            document, "roles", [r.charter_field for r in parsed.roles], field="charter_field"
        )
    elif isinstance(parsed, model.TiersFile):
        tier_ids = [t.id for t in parsed.tiers]
        problems += _duplicates(document, "tiers", tier_ids)
        if sorted(tier_ids) != list(range(len(tier_ids))):
            problems.append(
                document.problem(
                    ("tiers",),
                    f"expected tiers numbered 0 to {len(tier_ids) - 1} but received "
                    f"{sorted(tier_ids)}",
                )
            )
    elif isinstance(parsed, model.Rollout):
        problems += _duplicates(document, "phases", [p.id for p in parsed.phases])
        problems += _phase_order(document, parsed)
    return problems


def charter_rules(governance: Governance, *, today: date | None) -> list[Problem]:
    """Rules on charters that need the whole organisation: ids, reviewers, baselines."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for charter, document in zip(governance.agents, governance.agent_documents, strict=True):
        if charter.id in seen:
            problems.append(document.problem(("id",), f"duplicate agent id {charter.id!r}"))
        seen.add(charter.id)
        problems += _charter(charter, document, today=today)
    return problems


def _duplicates(
    document: YamlDocument, key: str, values: list[object], *, field: str = "id"
) -> list[Problem]:
    problems = []
    seen: set[object] = set()
    for index, value in enumerate(values):
        if value in seen:
            problems.append(
                document.problem(
                    (key, index, field), f"duplicate {field} {value!r}; each must be unique"
                )
            )
        seen.add(value)
    return problems


def _phase_order(document: YamlDocument, rollout: model.Rollout) -> list[Problem]:
    problems = []
    previous_last = 0
    for index, phase in enumerate(rollout.phases):
        first, last = phase.week_range
        if first <= previous_last:
            problems.append(
                document.problem(
                    ("phases", index, "weeks"),
                    f"expected weeks after week {previous_last} (phases run in order without "
                    f"overlap) but received {phase.weeks}",
                )
            )
        previous_last = max(previous_last, last)
    return problems


def _charter(charter: Charter, document: YamlDocument, *, today: date | None) -> list[Problem]:
    problems = []
    stem = document.path.stem
    if charter.id != stem:
        problems.append(
            document.problem(
                ("id",), f"expected the file name's stem {stem!r} but received {charter.id!r}"
            )
        )
    last_review = charter.review.last
    if last_review is not None and today is not None and last_review > today:
        problems.append(
            document.problem(
                ("review", "last"),
                f"expected the day of the last review, on or before today ({today}), but "
                f"received {last_review}; a review date ahead would hide an overdue review",
            )
        )
    baseline_end = charter.monitor.baseline.to if charter.monitor else None
    if baseline_end is not None and today is not None and baseline_end >= today:
        problems.append(
            document.problem(
                ("monitor", "baseline", "to"),
                f"expected a baseline that ends before today ({today}) but received {baseline_end}",
            )
        )
    return problems
