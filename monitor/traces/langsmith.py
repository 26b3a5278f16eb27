"""LangSmith runs as JSON Lines or Parquet: the SDK's `Run` fields, as `list_runs` returns them
and the bulk export writes them (which may JSON-encode `extra`, `tags` and `feedback_stats`).

A task is a root run (no `parent_run_id`): its agent is the run's `name` (or the metadata key
`agent_attribute.langsmith` names); `status` "error" or a non-null `error` marks it failed;
`total_cost` is its cost, `tags` its tags, `extra.metadata` its attributes, `feedback_stats`
(key -> {n, avg, ...}) its feedback. Descendant runs of run_type "tool" give tool names; those of
run_type "llm" give models (`extra.invocation_params.model` or `extra.metadata.ls_model_name`)
and `prompt_tokens` / `completion_tokens`, priced only when `total_cost` is absent.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.traces.common import LlmCall, Skipped, Task
from monitor.traces.records import (
    as_float,
    as_int,
    feedback_value,
    flatten,
    gc_paused,
    json_list,
    json_object,
    missing,
    parse_time,
    read_records,
)
from playbook.settings import SourceSettings

# id -> (parent id, trace id, run type, name, model, prompt tokens, completion tokens)
_Run = tuple[str, str, str, str, str | None, int, int]


def _model(extra: dict[str, Any]) -> str | None:
    params = json_object(extra.get("invocation_params"))
    metadata = json_object(extra.get("metadata"))
    for value in (
        params.get("model"),
        params.get("model_name"),
        metadata.get("ls_model_name"),
    ):
        if not missing(value):
            return str(value)
    return None


def _feedback(stats: dict[str, Any]) -> dict[str, float | bool]:
    feedback: dict[str, float | bool] = {}
    for key, stat in stats.items():
        if isinstance(stat, dict):
            value = feedback_value(stat.get("avg"))
            labels = json_object(stat.get("values"))
            if value is None and labels:  # categorical feedback: its most frequent label
                value = feedback_value(None, max(labels, key=lambda label: labels[label] or 0))
        else:
            value = feedback_value(stat)
        if value is not None:
            feedback[str(key)] = value
    return feedback


def _root_task(
    run: dict[str, Any],
    extra: dict[str, Any],
    times: tuple[datetime, datetime],
    settings: SourceSettings,
) -> Task:
    metadata = flatten(json_object(extra.get("metadata")))
    override = settings.agent_attribute.get("langsmith")
    agent = metadata.get(override, run.get(override)) if override else None
    if missing(agent):
        agent = run.get("name")
    status = str(run.get("status") or "").lower()
    return Task(
        agent_name=None if missing(agent) else str(agent),
        task_id=str(run["id"]),
        start=times[0],
        end=times[1],
        error=status == "error" or not missing(run.get("error")),
        cost_usd=as_float(run.get("total_cost")),
        tags={str(tag) for tag in json_list(run.get("tags"))},
        attributes={key: value for key, value in metadata.items() if not missing(value)},
        feedback=_feedback(json_object(run.get("feedback_stats"))),
    )


def _root_of(run_id: str, runs: dict[str, _Run], roots: dict[str, Task]) -> str | None:
    parent, trace_id = runs[run_id][0], runs[run_id][1]
    if trace_id in roots:
        return trace_id
    for _ in range(len(runs) + 1):  # walk up when the export has no trace_id
        if parent in roots:
            return parent
        if parent not in runs:
            return None
        parent = runs[parent][0]
    return None


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    skipped = Skipped()
    roots: dict[str, Task] = {}
    runs: dict[str, _Run] = {}
    for path in paths:
        for where, run in read_records(path, skipped):
            if missing(run.get("id")):
                skipped.add("missing_id", where)
                continue
            run_id, parent = str(run["id"]), run.get("parent_run_id")
            extra = json_object(run.get("extra"))
            if missing(parent):
                start, end = parse_time(run.get("start_time")), parse_time(run.get("end_time"))
                if start is None or end is None:
                    skipped.add("missing_timestamp", where)
                    continue
                if end < start:
                    skipped.add("end_before_start", where)
                    continue
                roots[run_id] = _root_task(run, extra, (start, end), settings)
            runs[run_id] = (
                "" if missing(parent) else str(parent),
                "" if missing(run.get("trace_id")) else str(run["trace_id"]),
                str(run.get("run_type") or "").lower(),
                str(run.get("name") or ""),
                _model(extra),
                as_int(run.get("prompt_tokens")),
                as_int(run.get("completion_tokens")),
            )
    for run_id, (parent, _, run_type, name, model, prompt, completion) in runs.items():
        root = run_id if not parent else _root_of(run_id, runs, roots)
        if root is None or root not in roots:
            continue  # its root run is not in the export (or was skipped and reported)
        if run_type == "llm":
            roots[root].llm_calls.append(LlmCall(model, prompt, completion))
        elif run_type == "tool" and parent:
            roots[root].tool_names.add(name)
    for run_id, task in roots.items():
        _, _, _, _, model, prompt, completion = runs[run_id]
        if not task.llm_calls and (prompt or completion):  # totals only: no llm runs exported
            task.llm_calls.append(LlmCall(model, prompt, completion))
    return list(roots.values()), skipped
