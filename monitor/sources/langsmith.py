"""LangSmith runs as JSON Lines or Parquet: the SDK's `Run` fields, as `list_runs` returns them
and the bulk export writes them (which may JSON-encode `extra`, `tags` and `feedback_stats`).

A task is a root run (no `parent_run_id`): its agent is the run's `name` (or the metadata key
`agent_attribute.langsmith` names); `status` "error" or a non-null `error` marks it failed;
`total_cost` is its cost, `tags` its tags, `extra.metadata` its attributes, `feedback_stats`
(key -> {n, avg, ...}) its feedback. Descendant runs of run_type "tool" give tool names; those of
run_type "llm" give models (`extra.invocation_params.model` or `extra.metadata.ls_model_name`)
and `prompt_tokens` / `completion_tokens`, priced only when `total_cost` is absent.

Skipped by reason, with `file:line` examples: `bad_json` and `empty_file` (see `records`),
`missing_id` (no `id`), `bad_id` (an `id`, `parent_run_id` or `trace_id` that is not text, an
integer or a UUID: a list, an object, a fraction), and for root runs `missing_timestamp`,
`bad_timestamp` (not a time, or outside years 1 to 9999) and `end_before_start`. Runs whose root
is not in the export are left out without a count.
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
    feedback_value,
    flatten,
    json_object,
    missing,
    read_id,
    tag_set,
    text,
)
from playbook.core.settings import SourceSettings

NAME = "langsmith"
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
        if found := text(value):
            return found
    return None


def _feedback(stats: dict[str, Any]) -> dict[str, float | bool]:
    feedback: dict[str, float | bool] = {}
    for key, stat in stats.items():
        if isinstance(stat, dict):
            value = feedback_value(stat.get("avg"))
            labels = json_object(stat.get("values"))
            if value is None and labels:  # categorical feedback: its most frequent label
                value = feedback_value(None, max(labels, key=lambda label: as_int(labels[label])))
        else:
            value = feedback_value(stat)
        if value is not None:
            feedback[str(key)] = value
    return feedback


def _root_task(
    run: dict[str, Any],
    run_id: str,
    extra: dict[str, Any],
    times: tuple[datetime, datetime],
    settings: SourceSettings,
) -> Task:
    metadata = flatten(json_object(extra.get("metadata")))
    override = settings.agent_attribute.get(NAME)
    agent = metadata.get(override, run.get(override)) if override else None
    status = (text(run.get("status")) or "").lower()
    return Task(
        agent_name=text(agent) or text(run.get("name")),
        task_id=run_id,
        start=times[0],
        end=times[1],
        error=status == "error" or not missing(run.get("error")),
        cost_usd=as_float(run.get("total_cost")),
        tags=tag_set(run.get("tags")),
        attributes={key: value for key, value in metadata.items() if not missing(value)},
        feedback=_feedback(json_object(run.get("feedback_stats"))),
    )


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per root run in the files, its descendant runs giving tools and LLM calls."""
    skipped = Skipped()
    roots: dict[str, Task] = {}
    runs: dict[str, _Run] = {}
    for where, run in read_all(paths, skipped):
        run_id, parent = read_id(run.get("id")), read_id(run.get("parent_run_id"))
        trace_id = read_id(run.get("trace_id"))
        if problem := id_problem(required=(run_id,), optional=(parent, trace_id)):
            skipped.add(problem, where)
            continue
        extra = json_object(run.get("extra"))
        if not parent:
            times = task_times(run.get("start_time"), run.get("end_time"))
            if isinstance(times, str):
                skipped.add(times, where)
                continue
            roots[run_id] = _root_task(run, run_id, extra, times, settings)
        runs[run_id] = (
            parent,
            trace_id,
            (text(run.get("run_type")) or "").lower(),
            text(run.get("name")) or "",
            _model(extra),
            as_int(run.get("prompt_tokens")),
            as_int(run.get("completion_tokens")),
        )
    _add_descendants(roots, runs)
    return list(roots.values()), skipped


def _add_descendants(roots: dict[str, Task], runs: dict[str, _Run]) -> None:
    """Each root run's descendant LLM runs and tool runs, on its task; a root's own token totals
    when none of its LLM runs is exported."""
    # a run's root: its trace's root run when that is exported, else found by walking up
    root_of = resolve_roots({run_id: run[0] for run_id, run in runs.items()}, roots)
    for run_id, (parent, trace_id, run_type, name, model, prompt, completion) in runs.items():
        root = trace_id if parent and trace_id in roots else root_of.get(run_id)
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


class LangSmithSource:
    """LangSmith runs as a trace source (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "LangSmith runs"
    detected_by = "LangSmith `run_type`/`dotted_order`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        return "run_type" in columns and ("parent_run_id" in columns or "dotted_order" in columns)
