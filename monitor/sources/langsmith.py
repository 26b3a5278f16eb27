"""LangSmith runs, in every shape teams export them, with their feedback.

Formats (any mix of them in one import; `records` reads the files):

- JSON Lines of runs: the SDK's `Run` (`client.list_runs()`, `run.dict()` / `model_dump()`);
- a JSON array of runs, pretty-printed or not; a run with nested `child_runs`
  (`read_run(..., load_child_runs=True)`) counts each of them as a run;
- API answers `{"runs": [...], "cursors": {...}}` (`POST /api/v1/runs/query` pages);
- the SDK's ingest payloads `{"post": [...], "patch": [...]}` (the bodies of `POST /runs/batch`,
  as the client's batch tracing sends them): a run is posted when it starts and patched when it
  ends (`end_time`, `outputs`, `error`, `extra`, `events`). Every record of one run `id` is
  merged into one, the later one's fields winning over the earlier's (a field absent or null in
  the later one keeps its earlier value), whichever files they come in: a post in one file and
  its patch in another make one run, and a run exported twice is one run;
- the bulk data export's Parquet (`id`, `name`, `run_type`, `start_time`, `end_time`, `status`,
  `error`, `extra`, `tags`, `feedback_stats`, `trace_id`, `dotted_order`, `parent_run_id`,
  `prompt_tokens`, `completion_tokens`, `total_tokens`, `total_cost`, ...; `extra`,
  `feedback_stats` and `tags` as JSON text or as nested columns);
- feedback records (`Client.list_feedback()`), see `langsmith_feedback`.

A task is a root run (no `parent_run_id`; when that field is absent, a `dotted_order` of one
segment):

- agent: the run's `name`, or the `extra.metadata` key (flattened, dotted) or run field that
  `agent_attribute.langsmith` names;
- outcome: failed when `status` is "error" or `error` is not null; tags: `tags`; attributes:
  `extra.metadata`, flattened (escalation keys are read there);
- latency: `start_time` to `end_time`;
- tools: the names of its descendant runs of run_type "tool";
- LLM calls: each run of run_type "llm" in the trace (the root too), with the model and the
  tokens (cached ones included in the input, cache reads and writes apart) that
  `langsmith_usage` finds; None tokens when the run records none (a call streamed without
  usage): its task's cost is then left empty, never 0. A root whose LLM runs are not exported
  (a bulk export of root runs only) gets one call of its own `prompt_tokens` /
  `completion_tokens`, its trace's totals;
- cost: the root's `total_cost` (LangSmith's own total over the trace) when present and not
  null, else the calls priced by `pricing.yaml`; a total of 0 for a task with LLM calls
  (LangSmith had no price for their model, or no tokens) is taken as no total;
- feedback: see `langsmith_feedback`.

What was seen: every run (by id) and feedback record read, the distinct traces, and the runs
by run type (feedback records as "feedback").

Skipped by reason, with `file:line` examples: `bad_json` and `empty_file` (see `records`),
`missing_id` (no `id`), `bad_id` (an `id`, `parent_run_id` or `trace_id` that is not text, an
integer or a UUID: a list, an object, a fraction), and for root runs `missing_timestamp` (also a
run still running: no `end_time`), `bad_timestamp` (not a time, or outside years 1 to 9999) and
`end_before_start`, at the run's first record. Runs whose root is not in the export are left
out without a count. The `/runs/multipart` ingest format (multipart form parts, not JSON) is not
read.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from monitor.sources import langsmith_feedback
from monitor.sources.common import LlmCall, Skipped, Task
from monitor.sources.langsmith_usage import llm_usage, model_name, run_level
from monitor.sources.records import gc_paused, id_problem, read_all, resolve_roots, task_times
from monitor.sources.values import (
    as_float,
    flatten,
    json_object,
    missing,
    read_id,
    tag_set,
    text,
)
from playbook.core.settings import SourceSettings

NAME = "langsmith"
_UUID_LENGTH = 36


def _dotted_ids(dotted: Any) -> tuple[str, str]:
    """(trace id, parent id) from a `dotted_order` ("<time><run id>.<time><run id>...": the
    first segment is the trace's root run, the one before the last the parent); "" for what
    it does not say."""
    order = text(dotted)
    if not order:
        return "", ""
    segments = order.split(".")
    ids = [segment[-_UUID_LENGTH:] for segment in segments if len(segment) > _UUID_LENGTH]
    if len(ids) != len(segments):
        return "", ""
    return ids[0], ids[-2] if len(ids) > 1 else ""


class _Runs:
    """What the reader keeps of the runs while reading: per run id, the fields it needs (merged
    over the run's records: a field a later record has replaces the earlier one's, a field it
    lacks keeps it), and the feedback records."""

    def __init__(self, settings: SourceSettings) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.feedback: list[langsmith_feedback.Item] = []
        self.override = settings.agent_attribute.get(NAME)

    def add(self, where: str, record: dict[str, Any], skipped: Skipped) -> None:
        if langsmith_feedback.is_feedback(record):
            skipped.seen.records += 1
            skipped.seen.kinds["feedback"] += 1
            if item := langsmith_feedback.record_item(record):
                self.feedback.append(item)
            return
        run_id, parent = read_id(record.get("id")), read_id(record.get("parent_run_id"))
        trace_id = read_id(record.get("trace_id"))
        if problem := id_problem(required=(run_id,), optional=(parent, trace_id)):
            skipped.seen.records += 1
            skipped.add(problem, where)
            return
        fields = self._fields(record, str(parent), str(trace_id))
        known = self.runs.get(str(run_id))
        if known is None:
            fields["where"] = where
            self.runs[str(run_id)] = fields
        else:
            known.update(fields)

    def _fields(self, run: dict[str, Any], parent: str, trace_id: str) -> dict[str, Any]:
        """The fields of one record of a run that the tasks need, those it has (bulky ones read
        where needed, not kept)."""
        if not parent or not trace_id:
            dotted_trace, dotted_parent = _dotted_ids(run.get("dotted_order"))
            trace_id = trace_id or dotted_trace
            if "parent_run_id" not in run:
                parent = dotted_parent
        run_type = (text(run.get("run_type")) or "").lower()
        fields: dict[str, Any] = {}
        for key, value in (("parent", parent), ("trace", trace_id), ("type", run_type)):
            if value:
                fields[key] = value
        if name := text(run.get("name")):
            fields["name"] = name
        if run.get("feedback_stats") and (
            feedback := langsmith_feedback.stats_feedback(run["feedback_stats"])
        ):
            fields["feedback"] = feedback
        llm = run_type in {"llm", ""}
        if llm or not parent:
            extra = json_object(run.get("extra"))
            if not parent:
                self._root_fields(fields, run, extra)
            if (llm or "totals" in fields) and (model := model_name(run, extra)):
                fields["model"] = model
            if llm and (usage := llm_usage(run, extra)):
                fields["usage"] = usage
        return fields

    def _root_fields(
        self, fields: dict[str, Any], run: dict[str, Any], extra: dict[str, Any]
    ) -> None:
        for key, field in (("start", "start_time"), ("end", "end_time")):
            if not missing(run.get(field)):
                fields[key] = run[field]
        if (text(run.get("status")) or "").lower() == "error" or not missing(run.get("error")):
            fields["error"] = True
        if (cost := as_float(run.get("total_cost"))) is not None:
            fields["cost"] = cost
        if tags := tag_set(run.get("tags")):
            fields["tags"] = tags
        metadata = flatten(json_object(extra.get("metadata")))
        if attributes := {key: value for key, value in metadata.items() if not missing(value)}:
            fields["attributes"] = attributes
        if self.override and (agent := text(metadata.get(self.override, run.get(self.override)))):
            fields["agent"] = agent
        if totals := run_level(run):
            fields["totals"] = totals

    def tasks(self, skipped: Skipped) -> list[Task]:
        """One Task per root run, with its descendants' tool names and LLM calls, and the
        feedback on it and on them."""
        roots = self._roots(skipped)
        runs = self.runs
        # a run's root: its trace's root run when that is exported, else found by walking up
        root_of = resolve_roots(
            {run_id: run.get("parent", "") for run_id, run in runs.items()}, roots
        )
        root_by_run: dict[str, str] = {}
        child_feedback: dict[str, dict[str, float | bool]] = {}
        for run_id, run in runs.items():
            parent, trace_id = run.get("parent", ""), run.get("trace", "")
            root = trace_id if parent and trace_id in roots else root_of.get(run_id)
            if root is None or root not in roots:
                continue  # its root run is not in the export (or was skipped and reported)
            root_by_run[run_id] = root
            if run.get("type") == "llm":
                roots[root].llm_calls.append(_llm_call(run))
            elif run.get("type") == "tool" and parent:
                roots[root].tool_names.add(run.get("name", ""))
            if parent and "feedback" in run:
                for key, value in run["feedback"].items():
                    child_feedback.setdefault(root, {}).setdefault(key, value)
        for root, task in roots.items():
            self._finish(task, runs[root], child_feedback.get(root, {}))
        trace_roots = {runs[root].get("trace") or root: root for root in roots}
        langsmith_feedback.apply(self.feedback, roots, root_by_run.get, trace_roots.get)
        self._seen(skipped, root_by_run)
        return list(roots.values())

    def _roots(self, skipped: Skipped) -> dict[str, Task]:
        roots: dict[str, Task] = {}
        for run_id, run in self.runs.items():
            if run.get("parent"):
                continue
            times = task_times(run.get("start"), run.get("end"))
            if isinstance(times, str):
                skipped.add(times, run["where"])
                continue
            roots[run_id] = Task(
                agent_name=run.get("agent") or run.get("name"),
                task_id=run_id,
                start=times[0],
                end=times[1],
                error=run.get("error", False),
                tags=run.get("tags", set()),
                attributes=run.get("attributes", {}),
            )
        return roots

    @staticmethod
    def _finish(task: Task, run: dict[str, Any], child_feedback: dict[str, float | bool]) -> None:
        """A root's own feedback statistics over its children's; its trace totals as one call
        when no LLM run of it is exported; LangSmith's total cost unless it is a 0 for LLM calls
        (which LangSmith could not price)."""
        task.feedback = {**child_feedback, **run.get("feedback", {})}
        if not task.llm_calls and "totals" in run:
            task.llm_calls.append(LlmCall(run.get("model"), *run["totals"]))
        cost = run.get("cost")
        task.cost_usd = None if cost == 0 and task.llm_calls else cost

    def _seen(self, skipped: Skipped, root_by_run: dict[str, str]) -> None:
        seen = skipped.seen
        seen.records += len(self.runs)
        traces = set()
        for run_id, run in self.runs.items():
            seen.kinds[run.get("type") or "(no run type)"] += 1
            traces.add(run.get("trace") or root_by_run.get(run_id) or run_id)
        seen.traces += len(traces)


def _llm_call(run: dict[str, Any]) -> LlmCall:
    usage = run.get("usage")
    if usage is None:
        return LlmCall(run.get("model"), None, None)
    return LlmCall(run.get("model"), *usage)


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per root run in the files, its descendant runs giving tools and LLM calls, the
    feedback records among the files joined to it."""
    skipped = Skipped()
    runs = _Runs(settings)
    for where, record in read_all(paths, skipped):
        stack = [record]
        while stack:  # a run with nested `child_runs`: each of them a run too
            run = stack.pop()
            children = run.get("child_runs")
            if isinstance(children, list):
                stack += [child for child in reversed(children) if isinstance(child, dict)]
            runs.add(where, run, skipped)
    return runs.tasks(skipped), skipped


class LangSmithSource:
    """LangSmith runs as a trace source (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "LangSmith runs"
    detected_by = (
        "LangSmith `run_type` with `dotted_order`/`trace_id`/`parent_run_id`, or feedback "
        "`run_id` with `key`"
    )

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        """Runs (their `run_type` and a tree field) in any format read, or feedback records
        (`run_id` and `key`), which only this reader reads."""
        if "run_type" in columns:
            return not {"parent_run_id", "dotted_order", "trace_id", "session_id"}.isdisjoint(
                columns
            )
        return {"run_id", "key"} <= set(columns) and "feedback_type" not in columns
