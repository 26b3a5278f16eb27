"""Risk of one semantic change: does it widen what the agent may do, narrow it, or neither?

`widens`: a new tool or allowed work, forbidden work removed, the tier lowered, a threshold
loosened (a north star target, a guardrail, a stop condition, a policy limit), a metric removed
from monitoring, a budget raised, a policy, eval suite or reviewer removed, a charter added or
deleted. `narrows`: the opposite. `neutral`: the rest (names, owners, the model, the prompt).

Each change of a charter also says whose approval it needs (`govkit diff`): widening tools, work
or tier, or changing the model, the prompt or the policies needs the Model Steward; loosening or
removing a north star, guardrail or stop condition, or dropping a monitored metric, needs the
Agent Owner and the Model Steward.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

WIDENS, NARROWS, NEUTRAL = "widens", "narrows", "neutral"
RISKS = (WIDENS, NARROWS, NEUTRAL)
STEWARD = ("model_steward",)
OWNER_AND_STEWARD = ("agent_owner", "model_steward")
ROLE_NAMES = {"agent_owner": "Agent Owner", "model_steward": "Model Steward"}
BEHAVIOUR_KEYS = ("model", "prompt", "policies")  # and work.tools: a change needs fresh evals
CADENCES = ("weekly", "biweekly", "monthly", "quarterly")  # from the most frequent
_KEY = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def _direction(before: Any, after: Any, *, looser_when: str) -> str:
    """`widens` when a number moved the loose way (`up` or `down`), `narrows` the other."""
    old, new = _number(before), _number(after)
    if old is None or new is None or old == new:
        return NEUTRAL if old == new and old is not None else WIDENS
    went_up = new > old
    return WIDENS if went_up == (looser_when == "up") else NARROWS


def _by_op(op: str, *, added: str, removed: str) -> str:
    return {"added": added, "removed": removed}.get(op, NEUTRAL)


def _keys(field: str) -> list[str]:
    """`guardrails[cost.v2].max` as ['guardrails', 'cost.v2', 'max']."""
    return [item or key for item, key in _KEY.findall(field)]


def _bound(keys: list[str], op: str, before: Any, after: Any, limits: dict[str, str]) -> str:
    """A guardrail or stop condition: removed widens, added narrows, its bound by direction."""
    last = keys[-1] if len(keys) > 1 else None
    if last is None or last not in (*limits, "action", "window", "metric"):
        return _by_op(op, added=NARROWS, removed=WIDENS)
    if last in limits:
        if op != "changed":  # max became min, above became below: judged the strict way
            return WIDENS
        return _direction(before, after, looser_when=limits[last])
    if last == "action" and op == "changed":
        softer = {"escalate": 0, "pause": 1, "rollback": 1}
        old, new = softer.get(str(before), 1), softer.get(str(after), 1)
        return WIDENS if new < old else NARROWS if new > old else NEUTRAL
    return WIDENS if last == "metric" else NEUTRAL


def _north_star(
    keys: list[str], op: str, before: Any, after: Any, worse: dict[str, str], data: Any
) -> str:
    if len(keys) == 1 or op != "changed" or keys[-1] == "metric":
        return _by_op(op, added=NARROWS, removed=WIDENS) if len(keys) == 1 else WIDENS
    metric = data.get("north_star", {}).get("metric") if isinstance(data, dict) else None
    looser = {"lower": "down", "higher": "up"}.get(worse.get(str(metric), ""), "")
    if not looser:  # a metric of unknown direction: any move of its target is a loosening
        return WIDENS
    return _direction(before, after, looser_when=looser)


def _work(keys: list[str], op: str, before: Any, after: Any) -> str:
    if len(keys) == 1:  # the whole `work` section
        side = after if op == "added" else before
        listed = {k for k, v in (side or {}).items() if v} if isinstance(side, dict) else set()
        if op == "added":
            return WIDENS if listed & {"allowed", "tools"} else NARROWS
        return WIDENS if "forbidden" in listed else NARROWS
    if keys[1] == "forbidden":
        return _by_op(op, added=NARROWS, removed=WIDENS)
    return _by_op(op, added=WIDENS, removed=NARROWS)


def _monitor(keys: list[str], op: str, before: Any, after: Any) -> str:
    if len(keys) == 1:
        return _by_op(op, added=NARROWS, removed=WIDENS)
    if keys[1] == "metrics":
        return _by_op(op, added=NARROWS, removed=WIDENS)
    if keys[1] == "effect_floors":
        if op != "changed":
            return _by_op(op, added=NEUTRAL, removed=NEUTRAL)
        return _direction(before, after, looser_when="up")
    return NEUTRAL


def _up_or_whole(keys: list[str], op: str, before: Any, after: Any, *, looser: str) -> str:
    """A section whose numbers loosen one way (`up`: a budget): removed widens."""
    if op != "changed":
        return _by_op(op, added=NARROWS, removed=WIDENS)
    return _direction(before, after, looser_when=looser)


def _review(op: str, before: Any, after: Any) -> str:
    if op != "changed" or before not in CADENCES or after not in CADENCES:
        return _by_op(op, added=NARROWS, removed=WIDENS)
    return WIDENS if CADENCES.index(after) > CADENCES.index(before) else NARROWS


def _evals(keys: list[str], op: str, before: Any, after: Any) -> str:
    if keys[-1] == "min_pass_rate" and op == "changed":
        return _direction(before, after, looser_when="down")
    if keys[-1] in ("evals",) or len(keys) == 2:  # the list, or one suite
        return _by_op(op, added=NARROWS, removed=WIDENS)
    return NEUTRAL


def _status(before: Any, after: Any) -> str:
    """`status`: absent means active."""
    old, new = before or "active", after or "active"
    if old == new:
        return NEUTRAL
    return NARROWS if new == "retired" else WIDENS if old == "retired" else NEUTRAL


def _owners(keys: list[str], op: str) -> str:
    if keys[-1] == "reviewer":
        return _by_op(op, added=NARROWS, removed=WIDENS)
    return NEUTRAL


Rule = Callable[[list[str], str, Any, Any, dict[str, str], Any], str]
_CHARTER: dict[str, Rule] = {
    "tier": lambda k, op, b, a, w, d: _direction(b, a, looser_when="down"),
    "work": lambda k, op, b, a, w, d: _work(k, op, b, a),
    "north_star": _north_star,
    "guardrails": lambda k, op, b, a, w, d: _bound(k, op, b, a, {"max": "up", "min": "down"}),
    "stop_conditions": lambda k, op, b, a, w, d: _bound(
        k, op, b, a, {"above": "up", "below": "down"}
    ),
    "monitor": lambda k, op, b, a, w, d: _monitor(k, op, b, a),
    "budget": lambda k, op, b, a, w, d: _up_or_whole(k, op, b, a, looser="up"),
    "policies": lambda k, op, b, a, w, d: _by_op(op, added=NARROWS, removed=WIDENS),
    "approvals": lambda k, op, b, a, w, d: (
        _up_or_whole(k, op, b, a, looser="down") if k[-1] in ("approvals", "required") else NEUTRAL
    ),
    "audit": lambda k, op, b, a, w, d: _up_or_whole(k, op, b, a, looser="down"),
    "review": lambda k, op, b, a, w, d: _review(op, b, a),
    "evals": lambda k, op, b, a, w, d: _evals(k, op, b, a),
    "owners": lambda k, op, b, a, w, d: _owners(k, op),
    # Retiring an agent narrows what it may do (to nothing); bringing it back widens it.
    "status": lambda k, op, b, a, w, d: _status(b, a),
    "retired": lambda k, op, b, a, w, d: (
        _by_op(op, added=NARROWS, removed=WIDENS) if len(k) == 1 else NEUTRAL
    ),
}
# Policies: which way each rule loosens.
_POLICY_NUMBERS = {
    "auto_approve_max_usd": "up",
    "retention_days": "down",
    "sample_rate": "down",
}
_POLICY_LISTS_GUARDING = ("require_human_if", "if_topic_in")  # an item removed loosens


def _policy(keys: list[str], op: str, before: Any, after: Any) -> str:
    if not keys:  # the policy file itself: a new one applies to nobody yet
        return _by_op(op, added=NEUTRAL, removed=WIDENS)
    last = keys[-1]
    if last in _POLICY_NUMBERS:
        if op != "changed":
            return _by_op(op, added=NARROWS, removed=WIDENS)
        return _direction(before, after, looser_when=_POLICY_NUMBERS[last])
    if any(key in _POLICY_LISTS_GUARDING for key in keys):
        return _by_op(op, added=NARROWS, removed=WIDENS) if op != "changed" else NEUTRAL
    if last == "redact":
        return WIDENS if after is False or op == "removed" else NARROWS
    return NEUTRAL


def _tier_item(keys: list[str], op: str) -> str:
    if keys and keys[0] in ("controls", "minimum_metrics") and len(keys) <= 2:
        return _by_op(op, added=NARROWS, removed=WIDENS)
    return NEUTRAL if keys else _by_op(op, added=NEUTRAL, removed=WIDENS)


def classify(
    role: str,
    noun: str | None,
    field: str,
    op: str,
    before: Any = None,
    after: Any = None,
    *,
    worse: dict[str, str] | None = None,
    data: Any = None,
) -> str:
    """The risk of one change (`op` added, removed, changed) at `field` of a file of `role`;
    `worse` the metric catalog's directions, `data` the charter as it is after the change."""
    keys = _keys(field)
    if role == "agent":
        if not keys:  # a charter added or deleted
            return WIDENS
        rule = _CHARTER.get(keys[0])
        return rule(keys, op, before, after, worse or {}, data) if rule else NEUTRAL
    if role == "policy":
        return _policy(keys, op, before, after)
    if role == "catalog" and noun == "tier":
        return _tier_item(keys, op)
    return NEUTRAL


def approvers_needed(role: str, field: str, op: str, risk: str) -> tuple[str, ...]:
    """Whose approval a change to a charter (or to its prompt file, or to a policy it applies)
    needs, by role; () for none."""
    if role in ("prompt", "policy"):
        return STEWARD
    if role != "agent":
        return ()
    keys = _keys(field)
    if not keys:  # a new charter: its steward; a deleted one: its owner and steward
        return STEWARD if op == "added" else OWNER_AND_STEWARD
    top = keys[0]
    if top in ("north_star", "guardrails", "stop_conditions") and risk == WIDENS:
        return OWNER_AND_STEWARD
    if top == "monitor" and risk == WIDENS and (len(keys) == 1 or keys[1] == "metrics"):
        return OWNER_AND_STEWARD
    if top in BEHAVIOUR_KEYS:
        return STEWARD
    if top in ("work", "tier") and risk == WIDENS:
        return STEWARD
    return ()


def changes_behaviour(role: str, field: str, op: str) -> bool:
    """Whether a change alters the agent's behaviour: its model, prompt, tools or policies (a
    new charter sets them all; a deleted one leaves nothing to evaluate)."""
    if role in ("prompt", "policy"):
        return True
    if role != "agent":
        return False
    keys = _keys(field)
    if not keys:
        return op == "added"
    return keys[0] in BEHAVIOUR_KEYS or keys[:2] == ["work", "tools"] or keys == ["work"]
