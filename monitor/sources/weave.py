"""W&B Weave calls as JSON Lines (or Parquet), one call per line in Weave's call schema: `id`,
`op_name`, `display_name`, `trace_id`, `parent_id`, `started_at`, `ended_at`, `exception`,
`attributes`, `summary` and, when exported with feedback, `summary.weave.feedback` or
`feedback` (a list of {feedback_type, payload}).

A task is a trace-root call (no `parent_id`): its agent is the `display_name` or the op's name
("weave:///entity/project/op/support_agent:hash" -> "support_agent"), unless the attribute
`agent_attribute.weave` names it; an `exception` (or summary status "error") marks it failed;
`summary.usage` ({model: {prompt_tokens | input_tokens, completion_tokens | output_tokens}})
gives models and tokens, `summary.weave.costs` the cost; descendant calls' op names give tool
names. Weave rolls children's usage up into the root's summary; when the root has none, the
usage of the deepest calls that report one is summed instead.

Skipped by reason, with `file:line` examples: `bad_json` and `empty_file` (see `records`),
`missing_id` (no `id`), `bad_id` (an `id`, `parent_id` or `trace_id` that is not text, an
integer or a UUID: a list, an object, a fraction), and for root calls `missing_timestamp`,
`bad_timestamp` (not a time, or outside years 1 to 9999) and `end_before_start`. Calls whose
root is not in the export are left out without a count.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.sources.common import LlmCall, Skipped, Task
from monitor.sources.records import gc_paused, id_problem, read_all, resolve_roots, task_times
from monitor.sources.values import (
    as_float,
    as_int,
    combined_feedback,
    feedback_value,
    flatten,
    json_list,
    json_object,
    missing,
    read_id,
    tag_set,
    text,
)
from playbook.core.settings import SourceSettings

NAME = "weave"
_REACTIONS = {"👍": 1.0, "👎": 0.0}
_VALUE_KEYS = ("value", "score", "output")


def op_short_name(op_name: str | None) -> str:
    """ "weave:///entity/project/op/support_agent:hash" -> "support_agent"; other names as is."""
    if not op_name:
        return ""
    if op_name.startswith("weave:"):
        return op_name.rsplit("/", 1)[-1].split(":", 1)[0]
    return op_name


def _usage(summary: dict[str, Any]) -> list[LlmCall]:
    calls = []
    for model, usage in json_object(summary.get("usage")).items():
        if isinstance(usage, dict):
            prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
            completion = usage.get("completion_tokens", usage.get("output_tokens"))
            calls.append(LlmCall(text(model), as_int(prompt), as_int(completion)))
    return calls


def _cost(summary: dict[str, Any]) -> float | None:
    costs = json_object(json_object(summary.get("weave")).get("costs"))
    if not costs:
        return None
    total = 0.0
    for cost in costs.values():
        if isinstance(cost, dict):
            total += as_float(cost.get("prompt_tokens_total_cost")) or 0.0
            total += as_float(cost.get("completion_tokens_total_cost")) or 0.0
    return total


def _feedback(items: list[Any]) -> dict[str, float | bool]:
    """Reactions (👍 1, 👎 0) under "reaction"; annotations, scorers and custom feedback under
    their name with the payload's value, score or output; means when a key repeats."""
    found: dict[str, list[float | bool]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = text(item.get("feedback_type")) or ""
        payload = json_object(item.get("payload"))
        if kind.startswith("wandb.reaction."):
            key, value = "reaction", _REACTIONS.get(text(payload.get("emoji")) or "")
        elif kind.startswith("wandb.note.") or not kind:
            continue
        else:
            key = kind.removeprefix("wandb.annotation.").removeprefix("wandb.runnable.")
            key = key.removesuffix(".1") if key.startswith("wandb.") else key
            raw = next((payload[name] for name in _VALUE_KEYS if name in payload), None)
            value = feedback_value(raw, raw)
        if value is not None:
            found.setdefault(key, []).append(value)
    return {key: combined_feedback(values) for key, values in found.items()}


def _root_task(
    call: dict[str, Any], call_id: str, times: tuple[datetime, datetime], settings: SourceSettings
) -> Task:
    attributes = {
        key: value
        for key, value in flatten(json_object(call.get("attributes"))).items()
        if not key.startswith("weave.") and not missing(value)
    }
    override = settings.agent_attribute.get(NAME)
    agent = attributes.get(override, call.get(override)) if override else None
    agent_name = (
        text(agent) or text(call.get("display_name")) or op_short_name(text(call.get("op_name")))
    )
    summary = json_object(call.get("summary"))
    weave = json_object(summary.get("weave"))
    feedback = json_list(weave.get("feedback")) + json_list(call.get("feedback"))
    status = (text(weave.get("status")) or "").lower()
    return Task(
        agent_name=agent_name or None,
        task_id=call_id,
        start=times[0],
        end=times[1],
        error=not missing(call.get("exception")) or status == "error",
        cost_usd=_cost(summary),
        llm_calls=_usage(summary),
        tags=tag_set(attributes.pop("tags", None)),
        attributes={key: value for key, value in attributes.items() if not key.startswith("tags.")},
        feedback=_feedback(feedback),
    )


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per root call in the files, its descendant calls giving tool names (and usage
    when the root has none)."""
    skipped = Skipped()
    roots: dict[str, Task] = {}
    trace_roots: dict[str, list[str]] = {}  # trace id -> root call ids
    calls: dict[str, tuple[str, str, set[str], list[LlmCall]]] = {}  # id -> parent, trace, ...
    for where, call in read_all(paths, skipped):
        call_id, parent = read_id(call.get("id")), read_id(call.get("parent_id"))
        trace_id = read_id(call.get("trace_id"))
        if problem := id_problem(required=(call_id,), optional=(parent, trace_id)):
            skipped.add(problem, where)
            continue
        if not parent:
            times = task_times(call.get("started_at"), call.get("ended_at"))
            if isinstance(times, str):
                skipped.add(times, where)
                continue
            roots[call_id] = _root_task(call, call_id, times, settings)
            trace_roots.setdefault(trace_id, []).append(call_id)
            continue
        names = {op_short_name(text(call.get("op_name"))), text(call.get("display_name"))}
        usage = _usage(json_object(call.get("summary")))
        calls[call_id] = (parent, trace_id, {name for name in names if name}, usage)
    reporting = {parent for parent, _, _, usage in calls.values() if usage}
    own_usage = {call_id for call_id, task in roots.items() if task.llm_calls}
    # several roots in one trace, or no trace_id: walk up
    root_of = resolve_roots({call_id: call[0] for call_id, call in calls.items()}, roots)
    for call_id, (_, trace_id, names, usage) in calls.items():
        candidates = trace_roots.get(trace_id, [])
        root = candidates[0] if len(candidates) == 1 else root_of.get(call_id)
        if root is None:
            continue  # its root call is not in the export (or was skipped and reported)
        roots[root].tool_names |= names
        if usage and call_id not in reporting and root not in own_usage:
            roots[root].llm_calls.extend(usage)
    return list(roots.values()), skipped


class WeaveSource:
    """W&B Weave calls as a trace source (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "W&B Weave calls"
    detected_by = "Weave `op_name`/`started_at`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        return all(name in columns for name in ("op_name", "trace_id", "started_at"))
