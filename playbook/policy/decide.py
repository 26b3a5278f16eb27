"""Deciding a case: escalate, require a human or approve automatically, and which rules fired.

A policy's rules are compiled once into a `Plan` (`Policy.plan`, built when the policy is loaded);
deciding a case reads the plan and the facts and changes nothing, so one policy decides cases from
many threads at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from playbook.core.errors import did_you_mean
from playbook.policy.compiled import Check, compile_condition
from playbook.policy.syntax import (
    BoolOp,
    Compare,
    ConditionError,
    Expr,
    ListLiteral,
    Member,
    MissingFact,
    Name,
)
from playbook.policy.syntax import Literal as Value

if TYPE_CHECKING:
    from playbook.policy.revision import Revision

DecisionName = Literal["auto_approve", "require_human", "escalate"]
MAX_FACTS_SHOWN = 20  # an error names a case's facts; a case of thousands lists these many
OVER_LIMIT = "action == 'refund' and amount_usd > auto_approve_max_usd"


@dataclass(frozen=True)
class Decision:
    decision: DecisionName
    reasons: list[str]
    redact_pii: bool
    log_sample_rate: float
    policy_revision: str | None = None  # the commit that last changed the policy file
    policy_source: dict[str, str | None] | None = None  # {blob, committed_at}
    # The decision log record's id when the decision was written to one (not part of the JSON:
    # the same facts give the same decision; the server sends it as X-Decision-Id).
    decision_id: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        found = asdict(self)
        del found["decision_id"]
        return found


@dataclass(frozen=True)
class Rule:
    """One rule of a plan: where it is written, its text as reported, and its compiled check."""

    where: str
    text: str
    holds: Check


@dataclass(frozen=True)
class Plan:
    escalation: tuple[Rule, ...]
    review: tuple[Rule, ...]
    over_limit: Rule
    limit: Any
    redact: bool
    sample_rate: float
    redact_fields: frozenset[str]  # facts a decision log writes as "[redacted]"


class Planned(Protocol):
    """A policy, as far as deciding goes: its compiled plan."""

    @property
    def plan(self) -> Plan: ...


def plan_for(
    *,
    if_sentiment: str | list[str],
    if_topic_in: list[str],
    conditions: Sequence[tuple[str, str, Expr]],
    auto_approve_max_usd: float,
    redact: bool,
    sample_rate: float,
    redact_fields: Iterable[str],
) -> Plan:
    """Compile a policy's rules once: escalation first, then the review conditions (`where`,
    `text`, parsed), then the refund limit."""
    checks = []
    if sentiment := if_sentiment:
        listed = sentiment if isinstance(sentiment, list) else [sentiment]
        rule = f"sentiment {'==' if isinstance(sentiment, str) else 'in'} escalation.if_sentiment"
        checks.append(_rule("escalation.if_sentiment", rule, _member("sentiment", listed)))
    if if_topic_in:
        rule = "topic in escalation.if_topic_in"
        checks.append(_rule("escalation.if_topic_in", rule, _member("topic", if_topic_in)))
    limit = _whole(auto_approve_max_usd)
    refund = Compare("==", Name("action"), Value("refund"))
    over = BoolOp("and", (refund, Compare(">", Name("amount_usd"), Value(limit))))
    return Plan(
        escalation=tuple(checks),
        review=tuple(_rule(where, text, expr) for where, text, expr in conditions),
        over_limit=_rule("refunds.auto_approve_max_usd", OVER_LIMIT, over),
        limit=limit,
        redact=redact,
        sample_rate=sample_rate,
        redact_fields=frozenset(redact_fields),
    )


def decide(policy: Planned, case: Mapping[str, Any]) -> Decision:
    """Escalate, require a human, or approve automatically, with every rule that fired; the
    decision alone (`Policy.decide` adds the policy's revision and writes the decision log).

    Escalation rules are checked first; only when none fires are the review rules checked. Raises
    MissingFact (a ConditionError, exit 2) when a rule needs a fact the case does not have.
    """
    return decide_plan(policy.plan, case)


def decide_plan(plan: Plan, case: Mapping[str, Any], revision: Revision | None = None) -> Decision:
    commit, source = (revision.commit, revision.source) if revision else (None, None)
    reasons = [rule.text for rule in plan.escalation if _holds(rule, case)]
    if reasons:
        return Decision("escalate", reasons, plan.redact, plan.sample_rate, commit, source)
    reasons = [rule.text for rule in plan.review if _holds(rule, case)]
    if _holds(plan.over_limit, case):
        amount = _whole(case["amount_usd"])
        reasons.append(f"amount_usd {amount} > auto_approve_max_usd {plan.limit}")
    decision: DecisionName = "require_human" if reasons else "auto_approve"
    return Decision(decision, reasons, plan.redact, plan.sample_rate, commit, source)


def _rule(where: str, text: str, expr: Expr) -> Rule:
    return Rule(where, text, compile_condition(expr))


def _member(fact: str, values: list[str]) -> Expr:
    return Member(Name(fact), ListLiteral(tuple(Value(value) for value in values)))


def _holds(rule: Rule, case: Mapping[str, Any]) -> bool:
    try:
        return rule.holds(case)
    except MissingFact as exc:
        shown = exc.known[:MAX_FACTS_SHOWN]
        more = len(exc.known) - len(shown)
        has = ", ".join(shown) + (f" and {more:,} more" if more > 0 else "") or "no facts"
        hint = did_you_mean(exc.fact, exc.known)
        message = (
            f"missing fact {exc.fact!r}, needed by {rule.where} ({rule.text}).{hint} "
            f"The case has: {has}."
        )
        raise MissingFact(exc.fact, exc.known, message) from None
    except ConditionError as exc:
        raise ConditionError(f"{rule.where} ({rule.text}): {exc}") from None


def _whole(value: Any) -> Any:
    """200.0 as 200, as a policy author wrote it; other values unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
