"""Evaluating a parsed condition against a case's facts: never Python, never silently false."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from playbook.core.problems import describe
from playbook.policy.syntax import (
    BoolOp,
    Compare,
    ConditionError,
    Expr,
    Literal,
    MissingFact,
    Name,
    Not,
)

OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def evaluate(expr: Expr, facts: Mapping[str, Any]) -> bool:
    """Whether the condition holds for `facts`. `and`/`or` stop at the first deciding operand.

    Raises MissingFact for a fact the case lacks and ConditionError for a comparison of
    incompatible types; a condition is never silently false.
    """
    if isinstance(expr, Name):
        value = _lookup(expr, facts)
        if not isinstance(value, bool):
            raise ConditionError(
                f"expected fact {expr.name!r} to be true or false but received {describe(value)}"
            )
        return value
    if isinstance(expr, Not):
        return not evaluate(expr.operand, facts)
    if isinstance(expr, BoolOp):
        results: Iterator[bool] = (evaluate(operand, facts) for operand in expr.operands)
        return any(results) if expr.op == "or" else all(results)
    if isinstance(expr, Compare):
        return _compare(expr.op, expr.left, expr.right, facts)
    container = expr.container
    if isinstance(container, Name):
        items = _lookup(container, facts)
        if not isinstance(items, list):
            raise ConditionError(
                f"expected fact {container.name!r} to be a list for 'in' but received "
                f"{describe(items)}"
            )
        elements = [Literal(item) for item in items]
    else:
        elements = list(container.items)
    found = any(_compare("==", expr.left, element, facts, shown="in") for element in elements)
    return found != expr.negated


def _lookup(name: Name, facts: Mapping[str, Any]) -> Any:
    if name.name not in facts:
        known = [str(key) for key in facts]
        raise MissingFact(name.name, known)
    return facts[name.name]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def _label(node: Name | Literal, value: Any) -> str:
    return f"{node.name} {describe(value)}" if isinstance(node, Name) else describe(value)


def _compare(
    op: str, left: Name | Literal, right: Name | Literal, facts: Mapping[str, Any], shown: str = ""
) -> bool:
    a = _lookup(left, facts) if isinstance(left, Name) else left.value
    b = _lookup(right, facts) if isinstance(right, Name) else right.value
    kinds = {_kind(a), _kind(b)}
    allowed = {"number", "text"} if op in {"<", "<=", ">", ">="} else {"number", "text", "bool"}
    if len(kinds) != 1 or not kinds <= allowed:
        expected = "both of one type" if "bool" in allowed else "both numbers or both text"
        raise ConditionError(
            f"cannot compare {_label(left, a)} with {_label(right, b)} using "
            f"{(shown or op)!r}: expected {expected}"
        )
    if a != a or b != b:  # NaN: every comparison with it is false, which would decide silently
        raise ConditionError(
            f"cannot compare {_label(left, a)} with {_label(right, b)} using {(shown or op)!r}: "
            "expected a number, not NaN (not a number)"
        )
    return bool(OPERATIONS[op](a, b))
