"""Fuzz: the policy condition parser, its evaluator, `--case` reading and `decide` end in a
result or a located error (ExpressionError / UsageError), never another exception."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from playbook.cli.policy import read_case
from playbook.core.errors import UsageError
from playbook.policy import decide, load_policy
from playbook.policy.evaluate import evaluate
from playbook.policy.syntax import ExpressionError, parse
from tests.conftest import EXAMPLE_GOVERNANCE

POLICY = load_policy(EXAMPLE_GOVERNANCE / "policies" / "support-agent.yaml")
TOKENS = [
    "x", "y", "amount_usd", "and", "or", "not", "in", "(", ")", "[", "]", ",", "<", "<=", ">",
    ">=", "==", "!=", "=", "=>", "&&", "!", "+", "-", "*", "1", "-2", "1e-4", "2.5E+3", "1e",
    "1.2.3", "'a'", '"b"', "'", "true", "False", ".", "x.y", "f(1)", "z[0]", "\u00e9", "\x00",
]  # fmt: skip
FACT_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
FACTS = st.dictionaries(st.sampled_from(["x", "y", "z", "amount_usd"]), FACT_VALUES, max_size=4)


def _condition_text() -> st.SearchStrategy[str]:
    from_tokens = st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join)
    return st.one_of(from_tokens, st.text(max_size=40))


@given(_condition_text(), FACTS)
def test_conditions_parse_and_evaluate_or_say_where_they_fail(text: str, facts: dict) -> None:
    try:
        expr = parse(text)
    except ExpressionError as exc:
        assert str(exc).startswith("expected")
        return
    try:
        assert isinstance(evaluate(expr, facts), bool)
    except UsageError as exc:  # a missing fact or a comparison of mismatched types
        assert str(exc)


@given(st.recursive(FACT_VALUES, lambda inner: st.dictionaries(st.text(max_size=6), inner)))
def test_cases_are_read_or_refused_with_a_reason(value: object) -> None:
    text = json.dumps(value, allow_nan=True)
    try:
        facts = read_case(text)
    except UsageError as exc:
        assert str(exc).startswith("--case: expected")
        return
    assert isinstance(facts, dict)


FULL_CASE = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["refund", "reply"]),
        "amount_usd": st.one_of(st.integers(-10, 10**6), st.floats(allow_nan=False), st.text()),
        "customer_tenure_months": st.one_of(st.integers(0, 120), st.none()),
        "fraud_risk_score": st.floats(0, 1),
        "lifetime_refunds_usd": st.integers(0, 10_000),
        "sentiment": st.sampled_from(["neutral", "angry", "happy", 3]),
        "topic": st.sampled_from(["billing", "legal", "self_harm", ""]),
    }
)


@given(FULL_CASE)
def test_decide_returns_a_decision_or_names_the_fact(case: dict) -> None:
    try:
        decision = decide(POLICY, case)
    except UsageError as exc:
        assert "fact" in str(exc) or "compare" in str(exc)
        return
    assert decision.decision in {"auto_approve", "require_human", "escalate"}
