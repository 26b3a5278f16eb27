"""W&B Weave calls, in Weave's call schema (`id`, `op_name`, `display_name`, `trace_id`,
`parent_id`, `started_at`, `ended_at`, `exception`, `attributes`, `summary`), as the exports
teams have write them:
- JSON Lines, one call a line: `client.get_calls()` / the calls API dumped with
  `model_dump_json()`, the UI's "Export to jsonl";
- JSON: a pretty array (the UI's "Export to json"), or an API response `{"calls": [...]}`;
- CSV/TSV: the UI's export, or `pd.json_normalize(calls).to_csv()`: nested fields flattened into
  dotted columns (`summary.weave.status`, `summary.usage.<model>.prompt_tokens`,
  `attributes.weave.client_version`), nested values as JSON or Python-literal text (see
  `weave_fields`);
- Parquet (nested structs as objects);
and optionally a separate feedback file (`client.get_feedback()`, the feedback query API:
`weave_ref`, `feedback_type`, `payload`) read with them (see `weave_feedback`).

A task is a trace-root call (no `parent_id`): its agent is the attribute `agent_attribute.weave`
names, else the `display_name`, else the op's name ("weave:///entity/project/op/support_agent:
<digest>" -> "support_agent"); an `exception` or `summary.weave.status` "error" marks it failed
("descendant_error", a child that failed while the root went on, does not); its latency is
`ended_at - started_at` (`summary.weave.latency_ms` when `ended_at` is absent); `summary.usage`
gives one LlmCall per model with its tokens and cached tokens (see `weave_fields` for the
convention); `summary.weave.costs` (the calls query with costs) its cost, else the usage is priced
by pricing.yaml; its attributes (Weave's own `weave.*` left out) and `tags` are its attributes
and tags; the op names of its descendant calls its tool names; feedback on it or on any call of its
tree (reactions, annotations, scorer results: `weave_feedback` lists the keys) its feedback.
Weave rolls children's usage up into the root's summary; when the root has none, the usage of
the deepest calls that report one is summed instead. Root calls that are scorers' own calls
(named by a feedback's `call_ref`) are not tasks.

`Skipped.seen`: records = calls read, traces = distinct trace ids, kinds = op names.

Skipped by reason, with `file:line` examples: `bad_json` and `empty_file` (see `records`),
`missing_id` (no `id`), `bad_id` (an `id`, `parent_id` or `trace_id` that is not text, an
integer or a UUID: a list, an object, a fraction), and for root calls `missing_timestamp`,
`bad_timestamp` (not a time, or outside years 1 to 9999) and `end_before_start`. Calls whose
root is not in the export, and feedback on calls not in it, are left out without a count.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.sources import weave_feedback
from monitor.sources.common import LlmCall, Skipped, Task
from monitor.sources.records import gc_paused, id_problem, read_all, resolve_roots, task_times
from monitor.sources.values import as_float, missing, read_id, tag_set, text
from monitor.sources.weave_fields import (
    attribute_values,
    client_version,
    llm_calls,
    nested,
    summary_cost,
)
from playbook.core.settings import SourceSettings

NAME = "weave"


def op_short_name(op_name: str | None) -> str:
    """ "weave:///entity/project/op/support_agent:hash" -> "support_agent"; other names as is."""
    if not op_name:
        return ""
    if op_name.startswith("weave:"):
        return op_name.rsplit("/", 1)[-1].split(":", 1)[0]
    return op_name


def _times(call: dict[str, Any], summary: dict[str, Any]) -> tuple[datetime, datetime] | str:
    end = call.get("ended_at")
    latency = as_float(nested(summary, "weave").get("latency_ms"))
    if missing(end) and latency is not None and latency >= 0:
        times = task_times(call.get("started_at"), call.get("started_at"))
        if isinstance(times, str):
            return times
        try:
            return times[0], times[0] + timedelta(milliseconds=latency)
        except OverflowError:
            return "bad_timestamp"
    return task_times(call.get("started_at"), end)


def _root_task(
    call: dict[str, Any],
    call_id: str,
    times: tuple[datetime, datetime],
    summary: dict[str, Any],
    settings: SourceSettings,
) -> Task:
    raw_attributes = nested(call, "attributes")
    attributes = attribute_values(raw_attributes)
    override = settings.agent_attribute.get(NAME)
    agent = attributes.get(override, call.get(override)) if override else None
    agent_name = (
        text(agent) or text(call.get("display_name")) or op_short_name(text(call.get("op_name")))
    )
    status = (text(nested(summary, "weave").get("status")) or "").lower()
    calls = llm_calls(summary, client_version(raw_attributes))
    return Task(
        agent_name=agent_name or None,
        task_id=call_id,
        start=times[0],
        end=times[1],
        error=not missing(call.get("exception")) or status == "error",
        cost_usd=summary_cost(summary, calls),
        llm_calls=calls,
        tags=tag_set(attributes.pop("tags", None)),
        attributes={key: value for key, value in attributes.items() if not key.startswith("tags.")},
    )


class _Calls:
    """What the reader keeps of the calls while reading: root tasks, every other call's place in
    the tree, its names and usage, and the feedback rows by call id."""

    def __init__(self) -> None:
        self.roots: dict[str, Task] = {}
        self.trace_roots: dict[str, list[str]] = {}  # trace id -> root call ids
        self.calls: dict[str, tuple[str, str, set[str], list[LlmCall]]] = {}  # id -> parent, ...
        self.feedback: dict[str, list[dict[str, Any]]] = {}  # call id -> feedback rows
        self.traces: set[str] = set()

    def add(
        self, where: str, call: dict[str, Any], settings: SourceSettings, skipped: Skipped
    ) -> None:
        call_id, parent = read_id(call.get("id")), read_id(call.get("parent_id"))
        trace_id = read_id(call.get("trace_id"))
        skipped.seen.records += 1
        skipped.seen.kinds[op_short_name(text(call.get("op_name"))) or "(no op name)"] += 1
        if problem := id_problem(required=(call_id,), optional=(parent, trace_id)):
            skipped.add(problem, where)
            return
        call_id, parent, trace_id = str(call_id), str(parent), str(trace_id)  # checked above
        self.traces.add(trace_id or call_id)
        summary = nested(call, "summary")
        if items := weave_feedback.items_of(call, summary):
            self.feedback.setdefault(call_id, []).extend(items)
        if not parent:
            times = _times(call, summary)
            if isinstance(times, str):
                skipped.add(times, where)
                return
            self.roots[call_id] = _root_task(call, call_id, times, summary, settings)
            self.trace_roots.setdefault(trace_id, []).append(call_id)
            return
        names = {op_short_name(text(call.get("op_name"))), text(call.get("display_name"))}
        usage = llm_calls(summary, client_version(nested(call, "attributes")))
        self.calls[call_id] = (parent, trace_id, {name for name in names if name}, usage)

    def add_feedback(self, item: dict[str, Any]) -> None:
        if call_id := weave_feedback.target(item):
            self.feedback.setdefault(call_id, []).append(item)

    def tasks(self) -> list[Task]:
        """The root tasks with their descendants' tool names, usage (when the root has none) and
        feedback; scorers' own calls left out."""
        roots, calls = self.roots, self.calls
        reporting = {parent for parent, _, _, usage in calls.values() if usage}
        own_usage = {call_id for call_id, task in roots.items() if task.llm_calls}
        # several roots in one trace, or no trace_id: walk up
        root_of = resolve_roots({call_id: call[0] for call_id, call in calls.items()}, roots)
        root_by_call: dict[str, str] = {root: root for root in roots}
        for call_id, (_, trace_id, names, usage) in calls.items():
            candidates = self.trace_roots.get(trace_id, [])
            root = candidates[0] if len(candidates) == 1 else root_of.get(call_id)
            if root is None:
                continue  # its root call is not in the export (or was skipped and reported)
            root_by_call[call_id] = root
            roots[root].tool_names |= names
            if usage and call_id not in reporting and root not in own_usage:
                roots[root].llm_calls.extend(usage)
        items_by_root: dict[str, list[dict[str, Any]]] = {}
        for call_id, items in self.feedback.items():
            if (root := root_by_call.get(call_id)) is not None:
                items_by_root.setdefault(root, []).extend(items)
        scorers = weave_feedback.scorer_calls(
            [item for items in self.feedback.values() for item in items]
        )
        for root, items in items_by_root.items():
            roots[root].feedback = weave_feedback.feedback(items)
        return [task for call_id, task in roots.items() if call_id not in scorers]


def _is_feedback(record: dict[str, Any]) -> bool:
    return "feedback_type" in record and "weave_ref" in record and "op_name" not in record


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per root call in the files (see the module docstring)."""
    skipped = Skipped()
    calls = _Calls()
    for where, record in read_all(paths, skipped):
        if _is_feedback(record):
            calls.add_feedback(record)
        else:
            calls.add(where, record, settings, skipped)
    skipped.seen.traces = len(calls.traces)
    return calls.tasks(), skipped


class WeaveSource:
    """W&B Weave calls as a trace source (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "W&B Weave calls"
    detected_by = "Weave `op_name`/`started_at`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        calls = "op_name" in columns and ("started_at" in columns or "trace_id" in columns)
        return calls or {"weave_ref", "feedback_type", "payload"} <= set(columns)
