"""Fuzz: a compiled condition answers exactly as the reference evaluator does, errors included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from playbook.core.errors import UsageError
from playbook.policy.compiled import compile_condition
from playbook.policy.evaluate import evaluate
from playbook.policy.syntax import COMPARISONS, ExpressionError, parse
from tests.policy.test_policy_fuzz import FACTS, _condition_text


def _outcome(check, facts: dict) -> tuple[str, object]:
    try:
        return "result", check(facts)
    except UsageError as exc:
        return type(exc).__name__, str(exc)


@given(_condition_text(), FACTS)
def test_compiled_conditions_match_the_evaluator(text: str, facts: dict) -> None:
    try:
        expr = parse(text)
    except ExpressionError:
        return
    compiled = compile_condition(expr)
    assert _outcome(compiled, facts) == _outcome(lambda f: evaluate(expr, f), facts)


FACT = st.sampled_from(["x", "y", "z", "amount_usd"])
LITERAL = st.sampled_from(["1", "-2", "2.5", "0", "'a'", "''", "true", "false"])
CONTAINER = st.sampled_from(["[]", "[1, 2.5]", "['a', 'b']", "['a', 1]", "[true]", "y"])
COMPARISON = st.one_of(
    st.builds("{} {} {}".format, FACT, st.sampled_from(COMPARISONS), st.one_of(LITERAL, FACT)),
    st.builds("{} {} {}".format, FACT, st.sampled_from(["in", "not in"]), CONTAINER),
    FACT,
)
CONDITION = st.recursive(
    COMPARISON,
    lambda inner: st.one_of(
        st.builds("not ({})".format, inner),
        st.builds("({}) {} ({})".format, inner, st.sampled_from(["and", "or"]), inner),
    ),
    max_leaves=4,
)


@given(CONDITION, FACTS)
def test_compiled_well_formed_conditions_match_the_evaluator(text: str, facts: dict) -> None:
    expr = parse(text)
    compiled = compile_condition(expr)
    assert _outcome(compiled, facts) == _outcome(lambda f: evaluate(expr, f), facts)
