"""Cross-file rules: references resolve, ids are unique, dates and tiers make sense.

Each rule returns located problems; none raises. The schema checks of single files live in
`playbook.model`; what needs more than one file lives here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from playbook.errors import Problem, did_you_mean, one_of
from playbook.governance import (
    METRICS_FILE,
    OPERATING_MODELS_FILE,
    ROLES_FILE,
    ROLLOUT_FILE,
    TIERS_FILE,
    Governance,
)
from playbook.model import Charter
from playbook.yamlsrc import YamlDocument

REVIEWER_FROM_TIER = 2


def cross_check(governance: Governance, *, today: date) -> list[Problem]:
    problems: list[Problem] = []
    problems += _unique_ids(governance)
    problems += _catalog_references(governance)
    problems += _rollout(governance)
    seen: set[str] = set()
    for charter, document in zip(governance.agents, governance.agent_documents, strict=True):
        if charter.id in seen:
            problems.append(document.problem(("id",), f"duplicate agent id {charter.id!r}"))
        seen.add(charter.id)
        problems += _charter(governance, charter, document, today=today)
    return problems


def _unique_ids(governance: Governance) -> list[Problem]:
    collections: list[tuple[str, str, Iterable[object]]] = [
        (OPERATING_MODELS_FILE, "operating_models", (m.id for m in governance.operating_models)),
        (TIERS_FILE, "tiers", (t.id for t in governance.tiers)),
        (ROLES_FILE, "roles", (r.id for r in governance.roles)),
        (METRICS_FILE, "metrics", (m.id for m in governance.metrics)),
        (ROLLOUT_FILE, "phases", (p.id for p in governance.rollout.phases)),
    ]
    problems = []
    for file_name, key, ids in collections:
        document = governance.documents[file_name]
        seen: Counter[object] = Counter()
        for index, item_id in enumerate(ids):
            seen[item_id] += 1
            if seen[item_id] == 2:
                problems.append(
                    document.problem(
                        (key, index, "id"), f"duplicate id {item_id!r}; ids must be unique"
                    )
                )
    tier_ids = sorted(t.id for t in governance.tiers)
    if tier_ids != list(range(len(tier_ids))):
        problems.append(
            governance.documents[TIERS_FILE].problem(
                ("tiers",),
                f"expected tiers numbered 0 to {len(tier_ids) - 1} but received {tier_ids}",
            )
        )
    fields = Counter(r.charter_field for r in governance.roles)
    for index, role in enumerate(governance.roles):
        if fields[role.charter_field] > 1:
            problems.append(
                governance.documents[ROLES_FILE].problem(
                    ("roles", index, "charter_field"),
                    f"charter field {role.charter_field!r} is claimed by more than one role",
                )
            )
    return problems


def _catalog_references(governance: Governance) -> list[Problem]:
    document = governance.documents[TIERS_FILE]
    known = governance.metric_ids
    problems = []
    for t_index, tier in enumerate(governance.tiers):
        for m_index, metric_id in enumerate(tier.minimum_metrics):
            if metric_id not in known:
                loc = ("tiers", t_index, "minimum_metrics", m_index)
                problems.append(document.problem(loc, _unknown("metric", metric_id, known)))
    return problems


def _rollout(governance: Governance) -> list[Problem]:
    document = governance.documents[ROLLOUT_FILE]
    role_ids = [role.id for role in governance.roles]
    problems = []
    previous_last = 0
    for index, phase in enumerate(governance.rollout.phases):
        if phase.owner_role not in role_ids:
            loc = ("phases", index, "owner_role")
            problems.append(document.problem(loc, _unknown("role", phase.owner_role, role_ids)))
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


def _charter(
    governance: Governance, charter: Charter, document: YamlDocument, *, today: date
) -> list[Problem]:
    problems = []
    stem = document.path.stem
    if charter.id != stem:
        problems.append(
            document.problem(
                ("id",), f"expected the file name's stem {stem!r} but received {charter.id!r}"
            )
        )
    tier_ids = [tier.id for tier in governance.tiers]
    if charter.tier not in tier_ids:
        problems.append(document.problem(("tier",), _unknown("tier", charter.tier, tier_ids)))
    model_ids = [m.id for m in governance.operating_models]
    if charter.operating_model not in model_ids:
        problems.append(
            document.problem(
                ("operating_model",),
                _unknown("operating model", charter.operating_model, model_ids),
            )
        )
    if charter.tier >= REVIEWER_FROM_TIER and charter.owners.reviewer is None:
        problems.append(
            document.problem(
                ("owners", "reviewer"),
                f"field required: a tier {charter.tier} agent needs a last-mile reviewer "
                f"(required from tier {REVIEWER_FROM_TIER})",
            )
        )
    metric_ids = governance.metric_ids
    for loc, metric_id in charter.metric_references():
        if metric_id not in metric_ids:
            problems.append(document.problem(loc, _unknown("metric", metric_id, metric_ids)))
        elif not governance.metric(metric_id).from_events and loc[0] != "north_star":
            problems.append(
                document.problem(
                    loc,
                    f"metric {metric_id!r} is reported manually; expected a metric the monitor "
                    "can compute from events",
                )
            )
    baseline_end = charter.monitor.baseline.to if charter.monitor else None
    if baseline_end is not None and baseline_end >= today:
        problems.append(
            document.problem(
                ("monitor", "baseline", "to"),
                f"expected a baseline that ends before today ({today}) but received {baseline_end}",
            )
        )
    return problems


def _unknown(what: str, value: object, known: Iterable[object]) -> str:
    choices = sorted(known, key=str)
    hint = did_you_mean(value, choices)
    return f"unknown {what} {value!r}.{hint} Expected one of {one_of(choices)}."
