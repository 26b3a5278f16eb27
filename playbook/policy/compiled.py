"""Conditions compiled once into Python closures, for deciding many cases quickly.

A closure answers the common case (a fact of the expected type compared with a literal) directly;
anything else (a missing fact, a type that needs an error message, a comparison of two facts) is
handed to `playbook.policy.evaluate`, the reference evaluator, which returns the same answer or
raises the same located error. Evaluation has no side effects, so that second look is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from playbook.policy.evaluate import OPERATIONS, evaluate
from playbook.policy.syntax import BoolOp, Compare, Expr, ListLiteral, Literal, Member, Name, Not

Check = Callable[[Mapping[str, Any]], bool]
_ABSENT = object()
_NUMBERS = (int, float)


def compile_condition(expr: Expr) -> Check:
    """A function of the facts with exactly the result and errors of `evaluate(expr, facts)`."""
    if isinstance(expr, Not):
        operand = compile_condition(expr.operand)
        return lambda facts: not operand(facts)
    if isinstance(expr, BoolOp):
        return _bool_op(expr.op, tuple(compile_condition(item) for item in expr.operands))
    if isinstance(expr, Name):
        return _flag(expr)
    if (
        isinstance(expr, Compare)
        and isinstance(expr.left, Name)
        and isinstance(expr.right, Literal)
    ):
        return _compare(expr, expr.left.name, expr.right.value)
    fact_in_list = isinstance(expr, Member) and isinstance(expr.container, ListLiteral)
    if fact_in_list and isinstance(expr.left, Name):
        return _member(expr, expr.left.name, expr.container)
    return lambda facts: evaluate(expr, facts)


def _types_of(value: Any) -> tuple[type, ...]:
    """The Python types a fact must have to be compared with `value` without an error."""
    if isinstance(value, bool):
        return (bool,)
    return _NUMBERS if isinstance(value, _NUMBERS) else (str,)


def _bool_op(op: str, operands: tuple[Check, ...]) -> Check:
    if op == "or":
        return lambda facts: any(operand(facts) for operand in operands)
    return lambda facts: all(operand(facts) for operand in operands)


def _flag(expr: Name) -> Check:
    name = expr.name

    def check(facts: Mapping[str, Any]) -> bool:
        value = facts.get(name, _ABSENT)
        return value if type(value) is bool else evaluate(expr, facts)

    return check


def _compare(expr: Compare, name: str, literal: Any) -> Check:
    operation, types = OPERATIONS[expr.op], _types_of(literal)
    if types == (bool,) and expr.op not in {"==", "!="}:
        return lambda facts: evaluate(expr, facts)

    def check(facts: Mapping[str, Any]) -> bool:
        value = facts.get(name, _ABSENT)
        if type(value) in types and value == value:  # NaN != NaN: the evaluator refuses it
            return bool(operation(value, literal))
        return evaluate(expr, facts)

    return check


def _member(expr: Member, name: str, container: ListLiteral) -> Check:
    values = [item.value for item in container.items]
    kinds = {_types_of(value) for value in values}
    if len(kinds) != 1:  # empty, or of mixed kinds: the reference evaluator decides (or refuses)
        return lambda facts: evaluate(expr, facts)
    types, members, negated = kinds.pop(), frozenset(values), expr.negated

    def check(facts: Mapping[str, Any]) -> bool:
        value = facts.get(name, _ABSENT)
        if type(value) in types and value == value:  # NaN != NaN: the evaluator refuses it
            return (value in members) != negated
        return evaluate(expr, facts)

    return check
