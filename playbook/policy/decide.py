"""Deciding a case: escalate, require a human or approve automatically, and which rules fired."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from playbook.core.errors import did_you_mean
from playbook.policy.evaluate import evaluate as evaluate_condition
from playbook.policy.rules import DecisionName, Policy
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

MAX_FACTS_SHOWN = 20  # an error names a case's facts; a case of thousands lists these many


@dataclass(frozen=True)
class Decision:
    decision: DecisionName
    reasons: list[str]
    redact_pii: bool
    log_sample_rate: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def decide(policy: Policy, case: Mapping[str, Any]) -> Decision:
    """Escalate, require a human, or approve automatically, with every rule that fired.

    Escalation rules are checked first; only when none fires are the review rules checked. Raises
    MissingFact (a ConditionError, exit 2) when a rule needs a fact the case does not have.
    """
    rules, escalation = policy.rules, policy.rules.escalation
    checks: list[tuple[str, str, Expr]] = []
    if sentiment := escalation.if_sentiment:
        listed = sentiment if isinstance(sentiment, list) else [sentiment]
        rule = f"sentiment {'==' if isinstance(sentiment, str) else 'in'} escalation.if_sentiment"
        checks.append(("escalation.if_sentiment", rule, _member("sentiment", listed)))
    if escalation.if_topic_in:
        rule = "topic in escalation.if_topic_in"
        checks.append(("escalation.if_topic_in", rule, _member("topic", escalation.if_topic_in)))
    reasons = [rule for where, rule, expr in checks if _holds(expr, case, where, rule)]
    redact, sample_rate = rules.responses.pii.redact, rules.logging.sample_rate
    if reasons:
        return Decision("escalate", reasons, redact, sample_rate)
    reasons = [c.text for c in policy.conditions if _holds(c.expr, case, c.where, c.text)]
    limit = _whole(rules.refunds.auto_approve_max_usd)
    refund = Compare("==", Name("action"), Value("refund"))
    over = BoolOp("and", (refund, Compare(">", Name("amount_usd"), Value(limit))))
    rule = "action == 'refund' and amount_usd > auto_approve_max_usd"
    if _holds(over, case, "refunds.auto_approve_max_usd", rule):
        amount = _whole(case["amount_usd"])
        reasons.append(f"amount_usd {amount} > auto_approve_max_usd {limit}")
    decision: DecisionName = "require_human" if reasons else "auto_approve"
    return Decision(decision, reasons, redact, sample_rate)


def _member(fact: str, values: list[str]) -> Expr:
    return Member(Name(fact), ListLiteral(tuple(Value(value) for value in values)))


def _holds(expr: Expr, case: Mapping[str, Any], where: str, text: str) -> bool:
    try:
        return evaluate_condition(expr, case)
    except MissingFact as exc:
        shown = exc.known[:MAX_FACTS_SHOWN]
        more = len(exc.known) - len(shown)
        has = ", ".join(shown) + (f" and {more:,} more" if more > 0 else "") or "no facts"
        hint = did_you_mean(exc.fact, exc.known)
        message = (
            f"missing fact {exc.fact!r}, needed by {where} ({text}).{hint} The case has: {has}."
        )
        raise MissingFact(exc.fact, exc.known, message) from None
    except ConditionError as exc:
        raise ConditionError(f"{where} ({text}): {exc}") from None


def _whole(value: Any) -> Any:
    """200.0 as 200, as a policy author wrote it; other values unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
