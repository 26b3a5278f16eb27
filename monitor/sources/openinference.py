"""Arize Phoenix / OpenInference: a spans export (the spans dataframe as Parquet or JSON Lines,
columns `context.span_id`, `context.trace_id`, `parent_id`, `name`, `span_kind`, `start_time`,
`end_time`, `status_code`, `attributes.*`) and, optionally, span-annotation exports (columns
`annotation_name`, `result.score`, `result.label`, `span_id` or `context.span_id`).

A task is a root span (no `parent_id`): its agent is `attributes.agent.name` (or the attribute
`agent_attribute.openinference` names) or else the span's name; `status_code` ERROR marks it
failed; LLM descendants give models and token counts (`llm.cost.total` when every one has it);
TOOL descendants give tool names; annotations on the root span give feedback. Only root spans
need valid timestamps: a child still counts for its tokens and tool name.

Skipped by reason, with `file:line` examples: `bad_json` and `empty_file` (see `records`),
`missing_id` (no span or trace id), `bad_id` (a span, trace or parent id, or an annotation's span
id, that is not text, an integer or a UUID: a list, an object, a fraction), `missing_timestamp`,
`bad_timestamp` (not a time, or outside years 1 to 9999) and `end_before_start` (root spans
only), `no_root_span` (a trace whose root span is not in the export, reported once per trace).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
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
    json_object,
    missing,
    read_id,
    tag_set,
    text,
)
from playbook.core.settings import SourceSettings

NAME = "openinference"
_ID_KEYS = ("context.span_id", "context.trace_id", "parent_id")
_NOT_TASK_ATTRIBUTES = ("input.", "output.", "llm.", "tag.", "openinference.", "embedding.")


# What a span contributes to its task: ("LLM", name, model, prompt, completion, cost) or
# ("TOOL", name, None, 0, 0, None); None for other spans (kept only to find their root).
_Fact = tuple[str, str, str | None, int, int, float | None] | None


@dataclass
class _Trace:
    roots: list[tuple[str, Task]] = field(default_factory=list)  # (span id, task)
    spans: dict[str, tuple[str, _Fact]] = field(default_factory=dict)  # id -> (parent id, fact)
    first_seen: str = ""
    root_skipped: bool = False  # already reported: its spans are not reported again


def _fact(span: dict[str, Any], kind: str) -> _Fact:
    get = span.get
    if kind == "LLM":
        model = get("attributes.llm.model_name")
        return (
            kind,
            text(get("name")) or "",
            text(model),
            as_int(get("attributes.llm.token_count.prompt")),
            as_int(get("attributes.llm.token_count.completion")),
            as_float(get("attributes.llm.cost.total")),
        )
    if kind == "TOOL":
        name = get("attributes.tool.name")
        return kind, text(name) or text(get("name")) or "", None, 0, 0, None
    return None


def _attr(span: dict[str, Any], key: str) -> Any:
    value = span.get(f"attributes.{key}")
    return span.get(key) if missing(value) else value


def _root_task(
    span: dict[str, Any], trace_id: str, times: tuple[datetime, datetime], settings: SourceSettings
) -> Task:
    metadata = flatten(json_object(_attr(span, "metadata")))  # a JSON string, or nested
    metadata.update(
        (key[len("attributes.metadata.") :], value)
        for key, value in span.items()
        if key.startswith("attributes.metadata.")
    )
    attributes = {
        key[len("attributes.") :]: value
        for key, value in span.items()
        if key.startswith("attributes.")
        and not key.startswith("attributes.metadata")
        and not key[len("attributes.") :].startswith(_NOT_TASK_ATTRIBUTES)
        and not missing(value)
        and not isinstance(value, list | dict)
    }
    attributes.update({f"metadata.{key}": value for key, value in metadata.items()})
    for key, value in metadata.items():
        attributes.setdefault(key, value)
    override = settings.agent_attribute.get(NAME)
    agent = None
    if override:
        key = override.removeprefix("attributes.")
        agent = attributes.get(key, _attr(span, key))
    agent_name = text(agent) or text(_attr(span, "agent.name")) or text(span.get("name"))
    status = (text(span.get("status_code")) or "").upper()
    return Task(
        agent_name=agent_name,
        task_id=trace_id,
        start=times[0],
        end=times[1],
        error=status in {"ERROR", "STATUS_CODE_ERROR"},
        tags=tag_set(_attr(span, "tag.tags")),
        attributes=attributes,
    )


def _add_annotation(
    span: dict[str, Any], annotations: dict[str, dict[str, list[float | bool]]]
) -> bool:
    """Keep an annotation's value; False when its span id is malformed."""
    span_id = read_id(span.get("span_id") or span.get("context.span_id"))
    name = text(span.get("annotation_name")) or text(span.get("name"))
    value = feedback_value(span.get("result.score", span.get("score")), span.get("result.label"))
    if span_id and name and value is not None:
        annotations.setdefault(span_id, {}).setdefault(name, []).append(value)
    return span_id is not None


def _finish(task: Task, facts: list[_Fact]) -> None:
    costs: list[float | None] = []
    for fact in facts:
        if fact is None:
            continue
        kind, name, model, prompt, completion, cost = fact
        if kind == "LLM":
            task.llm_calls.append(LlmCall(model, prompt, completion))
            costs.append(cost)
        elif name:
            task.tool_names.add(name)
    if costs and all(cost is not None for cost in costs):
        task.cost_usd = sum(cost for cost in costs if cost is not None)


def _field(span: dict[str, Any], key: str) -> Any:
    """A flattened span's field; an object there, which flattening spread into `key.*` fields,
    comes back as `{}` so that it reads as malformed rather than missing."""
    if key in span:
        return span[key]
    return {} if any(name.startswith(f"{key}.") for name in span) else None


def _is_annotation(span: dict[str, Any]) -> bool:
    """A span-annotation export's record rather than a span."""
    return "start_time" not in span and (
        "annotation_name" in span or "result.score" in span or "result.label" in span
    )


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per root span in the spans exports, annotations (given alongside) as feedback."""
    skipped = Skipped()
    traces: dict[str, _Trace] = {}
    annotations: dict[str, dict[str, list[float | bool]]] = {}
    for where, record in read_all(paths, skipped):
        span = flatten(record)
        if _is_annotation(span):
            if not _add_annotation(span, annotations):
                skipped.add("bad_id", where)
            continue
        span_id, trace_id, parent = [read_id(_field(span, key)) for key in _ID_KEYS]
        if problem := id_problem(required=(span_id, trace_id), optional=(parent,)):
            if trace_id and parent == "":  # a root's: its trace is not reported again
                traces.setdefault(trace_id, _Trace(first_seen=where)).root_skipped = True
            skipped.add(problem, where)
            continue
        trace = traces.get(trace_id) or traces.setdefault(trace_id, _Trace(first_seen=where))
        if not parent:
            times = task_times(_field(span, "start_time"), _field(span, "end_time"))
            if isinstance(times, str):
                trace.root_skipped = True
                skipped.add(times, where)
                continue
            trace.roots.append((span_id, _root_task(span, trace_id, times, settings)))
        kind = text(span.get("span_kind")) or text(span.get("attributes.openinference.span.kind"))
        trace.spans[span_id] = (parent, _fact(span, (kind or "").upper()))
    tasks: list[Task] = []
    for trace_id, trace in traces.items():
        if not trace.roots and not trace.root_skipped:
            skipped.add("no_root_span", trace.first_seen)
        tasks += _trace_tasks(trace_id, trace, annotations)
    return tasks, skipped


def _trace_tasks(
    trace_id: str, trace: _Trace, annotations: dict[str, dict[str, list[float | bool]]]
) -> list[Task]:
    """The trace's root tasks, each with its descendants' facts and its annotations; `task_id`
    is the trace id, or `trace/span` when the trace has several roots."""
    if not trace.roots:
        return []
    by_root: dict[str, list[_Fact]] = {span_id: [] for span_id, _ in trace.roots}
    only = trace.roots[0][0] if len(trace.roots) == 1 else None
    parents = {} if only else {span_id: up for span_id, (up, _) in trace.spans.items()}
    root_of = resolve_roots(parents, by_root)  # several roots in one trace: each span's
    for span_id, (_, fact) in trace.spans.items():
        root = only or root_of.get(span_id)
        if fact is not None and root in by_root:
            by_root[root].append(fact)
    for span_id, task in trace.roots:
        if only is None:
            task.task_id = f"{trace_id}/{span_id}"
        _finish(task, by_root[span_id])
        for name, values in annotations.get(span_id, {}).items():
            task.feedback[name] = combined_feedback(values)
    return [task for _, task in trace.roots]


class OpenInferenceSource:
    """Arize Phoenix / OpenInference span exports as a trace source
    (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "OpenInference (Phoenix spans)"
    detected_by = "OpenInference `context.span_id`/`span_kind`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        return "context.span_id" in columns and "span_kind" in columns
