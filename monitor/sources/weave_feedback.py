"""Weave feedback as the Weave reader reads it: the feedback rows Weave keeps per call (`payload`
by `feedback_type`, on the call `weave_ref` names), wherever the export put them: inline in
`summary.weave.feedback` (`get_calls(include_feedback=True)`, the UI's export with feedback), in
a `feedback` list or `feedback.[<type>].payload.<field>` columns of the call, or in a separate
feedback file (`client.get_feedback()`, the feedback query API) joined by `weave_ref`
("weave:///entity/project/call/<call id>").

The feedback keys a task gets (what sources.yaml `feedback` can name):
- `reaction`: emoji reactions (`wandb.reaction.1`, and the agent UI's `wandb.agent_user_feedback`)
  👍 as 1, 👎 as 0 (skin tones and `:thumbs_up:` aliases alike; other emojis are left out), the
  mean when there are several;
- `<name>`: annotations (`wandb.annotation.<name>`, payload `value`) and custom feedback types
  (`call.feedback.add("<name>", {...})`, payload `value`, `score` or `output`);
- `<name>` or `<name>.<field>`: scorer results (`wandb.runnable.<name>`, payload `output`: a
  number, yes/no or label as `<name>`, an object as one key per field, e.g. `helpfulness.score`).
Notes (`wandb.note.1`) are text and give no key. A call scored by a scorer has that scorer's own
call named in the feedback's `call_ref`: such calls are scoring, not agent tasks.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.sources.values import combined_feedback, feedback_value, flatten, read_id, text
from monitor.sources.weave_fields import loose, loose_list, loose_object

REACTIONS = {"👍": 1.0, "👎": 0.0, ":thumbs_up:": 1.0, ":+1:": 1.0, ":thumbs_down:": 0.0,
    ":-1:": 0.0, "+1": 1.0, "-1": 0.0}  # fmt: skip
_EMOJI_NOISE = re.compile("[\U0001f3fb-\U0001f3ff\ufe0e\ufe0f]")  # skin tones, variation selectors
_VALUE_KEYS = ("value", "score", "output")
_COLUMN = re.compile(r"^feedback\.\[([^\]]+)\]\.payload\.?(.*)$")


def call_ref_id(ref: Any) -> str:
    """The call id of a `weave:///entity/project/call/<id>` ref ("" when it names no call)."""
    found = text(ref) or ""
    head, _, call_id = found.rpartition("/call/")
    return call_id.split("/")[0] if head.startswith("weave") and call_id else ""


def items_of(call: dict[str, Any], summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The feedback rows a call carries itself."""
    weave = loose_object(summary.get("weave"))
    items = [loose_object(item) for item in loose_list(weave.get("feedback"))]
    items += [loose_object(item) for item in loose_list(call.get("feedback"))]
    payloads: dict[str, dict[str, Any]] = {}
    for key, value in call.items():
        match = _COLUMN.match(key)
        if match and value not in (None, ""):
            payload = payloads.setdefault(match[1], {})
            payload[match[2] or "value"] = loose(value)
    items += [{"feedback_type": kind, "payload": payload} for kind, payload in payloads.items()]
    return [item for item in items if item]


def scorer_calls(items: list[dict[str, Any]]) -> set[str]:
    """Ids of the scorers' own calls named by these feedback rows."""
    return {call_id for item in items if (call_id := call_ref_id(item.get("call_ref")))}


def target(item: dict[str, Any]) -> str:
    """The call id a separate feedback row belongs to."""
    return call_ref_id(item.get("weave_ref")) or (read_id(item.get("call_id")) or "")


def feedback(items: list[dict[str, Any]]) -> dict[str, float | bool]:
    """Feedback keys and values (see the module docstring); means when a key repeats."""
    found: dict[str, list[float | bool]] = {}
    for item in items:
        kind = text(item.get("feedback_type")) or ""
        payload = loose_object(item.get("payload"))
        for key, value in _values(kind, payload):
            found.setdefault(key, []).append(value)
    return {key: combined_feedback(values) for key, values in found.items()}


def _values(kind: str, payload: dict[str, Any]) -> list[tuple[str, float | bool]]:
    if kind.startswith("wandb.reaction.") or kind == "wandb.agent_user_feedback":
        value = _reaction(payload)
        return [] if value is None else [("reaction", value)]
    if kind.startswith("wandb.note.") or not kind:
        return []
    name = kind.removeprefix("wandb.annotation.").removeprefix("wandb.runnable.")
    raw = next((loose(payload[key]) for key in _VALUE_KEYS if key in payload), None)
    if isinstance(raw, dict):
        return [
            (f"{name}.{field}", value)
            for field, inner in flatten(raw).items()
            if (value := feedback_value(inner, inner)) is not None
        ]
    value = feedback_value(raw, raw)
    return [] if value is None else [(name, value)]


def _reaction(payload: dict[str, Any]) -> float | None:
    for key in ("detoned", "emoji", "alias", "detoned_alias"):
        emoji = _EMOJI_NOISE.sub("", (text(payload.get(key)) or "").strip())
        if emoji in REACTIONS:
            return REACTIONS[emoji]
    return None
