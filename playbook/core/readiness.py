"""Tier readiness: the checklist each risk tier adds, assessed for one charter.

Rules come from the tier table: a tier's rules apply to it and every tier above. They are read
from the charter as written (a draft with TODO placeholders included), so the same assessment
drives `govkit check` (a missing item is an error naming the rule; a TODO is a warning) and the
readiness page of the handbook (met, missing, to do, or not applicable, with the evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playbook.core.errors import Problem

MET = "met"
MISSING = "missing"
TODO = "todo"
NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class PolicyStatus:
    """A policy's test results, as far as readiness needs them."""

    exists: bool
    passed: int = 0
    failed: int = 0

    @property
    def ok(self) -> bool:
        return self.exists and self.failed == 0 and self.passed > 0


@dataclass(frozen=True)
class Item:
    rule: str
    label: str
    from_tier: int
    status: str
    detail: str
    loc: tuple[Any, ...]  # where the evidence is (or would be) written in the charter


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    from_tier: int
    loc: tuple[Any, ...]
    assess: Callable[[dict[str, Any], Context], tuple[str, str]]


@dataclass(frozen=True)
class Context:
    minimum_metrics: list[str]  # the charter's tier's minimum metrics that events can compute
    policies: dict[str, PolicyStatus]


def _todo(value: Any) -> bool:
    return isinstance(value, str) and value.strip().upper().startswith("TODO")


def _minimum_metrics(charter: dict[str, Any], context: Context) -> tuple[str, str]:
    monitor = charter.get("monitor")
    listed = monitor.get("metrics") if isinstance(monitor, dict) else None
    if not context.minimum_metrics:
        return MET, "the tier names no metric events can compute"
    if not isinstance(listed, list):
        return (
            MISSING,
            f"monitor.metrics should include {', '.join(context.minimum_metrics)}",
        )
    absent = [m for m in context.minimum_metrics if m not in listed]
    if absent:
        if any(_todo(m) for m in listed):
            return TODO, f"still to add: {', '.join(absent)}"
        return MISSING, f"monitor.metrics lacks {', '.join(absent)}"
    return MET, f"monitored: {', '.join(context.minimum_metrics)}"


def _stop_condition(charter: dict[str, Any], context: Context) -> tuple[str, str]:
    stops = charter.get("stop_conditions")
    if not isinstance(stops, list) or not stops:
        return MISSING, "no stop condition declared"
    if any(_todo(v) for stop in stops if isinstance(stop, dict) for v in stop.values()):
        return TODO, f"{len(stops)} declared, with TODOs"
    return MET, f"{len(stops)} declared"


def _reviewer(charter: dict[str, Any], context: Context) -> tuple[str, str]:
    owners = charter.get("owners")
    reviewer = owners.get("reviewer") if isinstance(owners, dict) else None
    if not isinstance(reviewer, dict):
        return MISSING, "owners.reviewer not named"
    if any(_todo(v) for v in reviewer.values()):
        return TODO, "reviewer still TODO"
    return MET, str(reviewer.get("name", ""))


def _policy(charter: dict[str, Any], context: Context) -> tuple[str, str]:
    policies = charter.get("policies")
    if not isinstance(policies, list) or not policies:
        return MISSING, "no policy declared"
    if any(_todo(p) for p in policies):
        return TODO, "policy still TODO"
    unknown = [p for p in policies if p not in context.policies or not context.policies[p].exists]
    if unknown:
        return MISSING, f"no such policy: {', '.join(map(str, unknown))}"
    failing = [p for p in policies if not context.policies[p].ok]
    if failing:
        return MISSING, f"tests failing or absent: {', '.join(failing)}"
    passed = sum(context.policies[p].passed for p in policies)
    return MET, f"{', '.join(policies)}: {passed} test case(s) pass"


def _approvals(charter: dict[str, Any], context: Context) -> tuple[str, str]:
    approvals = charter.get("approvals")
    required = approvals.get("required") if isinstance(approvals, dict) else None
    if _todo(required):
        return TODO, "approvals.required still TODO"
    if not isinstance(required, int) or isinstance(required, bool) or required < 2:
        return MISSING, "expected approvals: {required: 2} (two-person approval)"
    return MET, f"{required} approvers required"


def _audit(charter: dict[str, Any], context: Context) -> tuple[str, str]:
    audit = charter.get("audit")
    days = audit.get("retention_days") if isinstance(audit, dict) else None
    if _todo(days):
        return TODO, "audit.retention_days still TODO"
    if not isinstance(days, int) or isinstance(days, bool):
        return MISSING, "expected audit: {retention_days: N}"
    return MET, f"kept {days} days"


def _break_glass(charter: dict[str, Any], context: Context) -> tuple[str, str]:
    procedure = charter.get("break_glass")
    text = procedure.get("procedure") if isinstance(procedure, dict) else None
    if _todo(text):
        return TODO, "break_glass.procedure still TODO"
    if not isinstance(text, str) or not text.strip():
        return MISSING, "expected break_glass: {procedure: ...}"
    return MET, "procedure written"


RULES = (
    Rule("minimum-metrics", "Tier's minimum metrics monitored", 0, ("monitor", "metrics"),
         _minimum_metrics),
    Rule("stop-condition", "At least one stop condition", 1, ("stop_conditions",), _stop_condition),
    Rule("reviewer", "Last-mile reviewer named", 2, ("owners", "reviewer"), _reviewer),
    Rule("policy", "A policy whose tests pass", 2, ("policies",), _policy),
    Rule("two-person-approval", "Two-person approval", 3, ("approvals",), _approvals),
    Rule("audit-trail", "Audit retention declared", 3, ("audit",), _audit),
    Rule("break-glass", "Break-glass procedure", 4, ("break_glass",), _break_glass),
)  # fmt: skip


def assess(charter: dict[str, Any], tier: int, context: Context) -> list[Item]:
    """Every rule, assessed for one charter of the given tier."""
    items = []
    for rule in RULES:
        if tier < rule.from_tier:
            items.append(Item(rule.id, rule.label, rule.from_tier, NOT_APPLICABLE, "", rule.loc))
            continue
        status, detail = rule.assess(charter, context)
        items.append(Item(rule.id, rule.label, rule.from_tier, status, detail, rule.loc))
    return items


def assess_organisation(governance: Any, policies: dict[str, PolicyStatus]) -> list[Problem]:
    """Assess every charter (drafts included); store the items on `governance.readiness` and
    return a located error for each missing item."""
    computable = {metric.id for metric in governance.metrics if metric.from_events}
    problems: list[Problem] = []
    for document in [*governance.agent_documents, *governance.drafts]:
        data = document.data
        if data.get("status") == "retired":  # a retired agent owes no live evidence
            continue
        tier = data.get("tier")
        if not isinstance(tier, int) or isinstance(tier, bool) or tier not in range(5):
            continue
        tier_minimum = next((t.minimum_metrics for t in governance.tiers if t.id == tier), [])
        context = Context([m for m in tier_minimum if m in computable], policies)
        items = assess(data, tier, context)
        governance.readiness[document.path.stem] = items
        for item in items:
            if item.status == MISSING:
                message = (
                    f"tier {tier} needs: {item.label.lower()} (rule of tier {item.from_tier} "
                    f"and up); {item.detail}"
                )
                problems.append(document.problem(item.loc, message))
    return problems
