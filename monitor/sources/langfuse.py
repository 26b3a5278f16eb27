"""Langfuse observations, with the traces and scores exported beside them when there are:
- JSON: the public API's responses (`GET /api/public/observations`, `/v2/observations`,
  `/traces`, `/v2/scores`, `/v3/scores`: `{"data": [...], "meta": {...}}`), a pretty array, or
  one trace with its observations and scores inside (`GET /api/public/traces/{id}`);
- JSON Lines, one record a line (the UI's and blob storage exports as JSONL);
- CSV: the UI's batch export of observations (flat columns: `traceId`, `type`, `startTime`,
  `usageDetails` as JSON, `traceName`, one column per score name) or of traces; blob storage
  exports with ClickHouse's snake_case names (`trace_id`, `start_time`, `usage_details`);
- Parquet.
Each record is told apart by its fields: an observation has `startTime` and `traceId` or
`type`; a score a `dataType`, a `subject`, or a `value`/`stringValue` without `startTime`; a
trace a `timestamp`. Field names and values are read as `langfuse_fields` says.

A task is a trace: its root observations (no `parentObservationId`, or `isRootObservation`; a
v2-SDK trace may have several) give its start (the earliest) and end (the latest `endTime`); a
trace exported without observations gives `timestamp` and `latency` (seconds). Its agent is the
metadata key `agent_attribute.langfuse` names (the trace's metadata, then the roots'), else the
trace's name (the trace record's `name`, or the observations' `traceName`), else the earliest
root observation's name. It failed when a root observation has `level` ERROR (an ERROR below a
root that went on, such as a failed tool call the agent recovered from, does not fail it). Its
LLM calls are its GENERATION and EMBEDDING observations (and any other with a `model` and
usage), with tokens and cached tokens as `langfuse_fields` reads them; its cost is the sum of
their costs when every one has a cost, else the trace's `totalCost` (above zero) when it has no
LLM observation exported, else left to pricing.yaml. Its tool names are the names of its
non-root observations (TOOL, SPAN, EVENT, ...; of all of them when it has several roots, each a
step of the trace); its tags the trace's tags; its attributes the trace's and roots' metadata,
flattened. Its feedback is its scores by name (trace-level and on
any of its observations; means when a name repeats; see `langfuse_fields.score_value`), from a
scores export, scores inside a trace, or the batch export's score-name columns.

`Skipped.seen`: records = records read, traces = distinct trace ids, kinds = observation types.

Skipped by reason, with `file:line` examples: `bad_json` and `empty_file` (see `records`),
`not_langfuse` (a record that is no observation, trace or score), `missing_id` (an observation
without `id` or `traceId`, a trace without `id`), `bad_id` (an id that is not text, an integer
or a UUID), `no_root_observation` (a trace whose exported observations all have a parent outside
the export), and for a trace's start and end `missing_timestamp` (a root still running: no
`endTime`), `bad_timestamp` and `end_before_start`. Scores on traces not in the export are left
out without a count.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.sources import langfuse_fields as lf
from monitor.sources.common import LlmCall, Skipped, Task
from monitor.sources.records import gc_paused, id_problem, read_all, task_times
from monitor.sources.values import (
    EPOCH,
    as_float,
    combined_feedback,
    feedback_value,
    flatten,
    missing,
    parse_time,
    read_id,
    text,
)
from monitor.sources.weave_fields import loose, loose_list, loose_object
from playbook.core.settings import SourceSettings

NAME = "langfuse"
# Fields of Langfuse's observation and trace exports; any other column holding a list is a
# score name's values (the batch export's one column per score name).
_KNOWN = {
    "tags", "traceTags", "trace_tags", "observations", "scores", "comments", "bookmarked",
    "modelParameters", "model_parameters", "input", "output", "metadata",
}  # fmt: skip


@dataclass
class _Observation:
    obs_id: str
    parent: str
    root: bool
    kind: str
    name: str
    start: Any
    end: Any
    error: bool
    metadata: dict[str, Any]
    llm: LlmCall | None
    cost: float | None
    where: str


@dataclass
class _Trace:
    observations: list[_Observation] = field(default_factory=list)
    record: dict[str, Any] | None = None
    trace_name: str | None = None
    tags: set[str] = field(default_factory=set)
    scores: dict[str, list[float | bool]] = field(default_factory=dict)
    where: str = ""


class _Reader:
    def __init__(self, skipped: Skipped) -> None:
        self.skipped = skipped
        self.traces: dict[str, _Trace] = {}
        self.pending: list[tuple[str, str, str, float | bool]] = []  # trace, obs id, name, value

    def add(self, where: str, record: dict[str, Any], trace_id: str = "") -> None:
        self.skipped.seen.records += 1
        if lf.has(record, "startTime") and (lf.has(record, "traceId") or "type" in record):
            self._observation(where, record, trace_id)
        elif (
            lf.has(record, "dataType")
            or "subject" in record
            or (("value" in record or lf.has(record, "stringValue")) and "timestamp" in record)
        ):
            self._score(record, trace_id)
        elif "timestamp" in record:
            self._trace(where, record)
        else:
            self.skipped.add("not_langfuse", where)

    def trace(self, trace_id: str, where: str) -> _Trace:
        if trace_id not in self.traces:
            self.traces[trace_id] = _Trace(where=where)
        return self.traces[trace_id]

    def _observation(self, where: str, record: dict[str, Any], trace_id: str) -> None:
        obs_id = read_id(record.get("id"))
        trace = read_id(lf.get(record, "traceId")) if lf.get(record, "traceId") else trace_id
        parent = read_id(lf.get(record, "parentObservationId"))
        kind = (text(record.get("type")) or "").upper()
        self.skipped.seen.kinds[kind or "(no type)"] += 1
        if problem := id_problem(required=(obs_id, trace), optional=(parent,)):
            self.skipped.add(problem, where)
            return
        trace, parent = str(trace), str(parent)
        llm = None
        if kind in lf.LLM_TYPES or (lf.get(record, "model") and lf.obj(record, "usageDetails")):
            llm = lf.llm_call(record)
        entry = self.trace(trace, where)
        entry.observations.append(
            _Observation(
                obs_id=str(obs_id),
                parent=parent,
                root=not parent or str(lf.get(record, "isRootObservation")).lower() == "true",
                kind=kind,
                name=text(record.get("name")) or "",
                start=lf.get(record, "startTime"),
                end=lf.get(record, "endTime"),
                error=(text(record.get("level")) or "").upper() == "ERROR",
                metadata=loose_object(record.get("metadata")),
                llm=llm,
                cost=lf.cost(record) if llm is not None else None,
                where=where,
            )
        )
        entry.trace_name = entry.trace_name or text(lf.get(record, "traceName"))
        entry.tags |= lf.tags(record)
        for key, value in record.items():  # the batch export's score-name columns
            for item in [] if key in _KNOWN else loose_list(value):
                if (found := feedback_value(loose(item), item)) is not None:
                    entry.scores.setdefault(key, []).append(found)

    def _score(self, record: dict[str, Any], trace_id: str) -> None:
        trace, observation = lf.score_trace(record)
        name, value = text(record.get("name")), lf.score_value(record)
        if name and value is not None:
            self.pending.append((trace or trace_id, observation, name, value))

    def _trace(self, where: str, record: dict[str, Any]) -> None:
        trace_id = read_id(record.get("id"))
        if problem := id_problem(required=(trace_id,)):
            self.skipped.add(problem, where)
            return
        entry = self.trace(str(trace_id), where)
        entry.record, entry.where = record, where
        entry.tags |= lf.tags(record)
        for inner in loose_list(record.get("observations")) + loose_list(record.get("scores")):
            if isinstance(inner, dict):  # a trace with its observations and scores inside
                self.add(where, inner, str(trace_id))

    def join_scores(self) -> None:
        trace_of = {o.obs_id: t for t, e in self.traces.items() for o in e.observations}
        for trace, observation, name, value in self.pending:
            entry = self.traces.get(trace or trace_of.get(observation, ""))
            if entry is not None:
                entry.scores.setdefault(name, []).append(value)


def _times(entry: _Trace, roots: list[_Observation]) -> tuple[datetime, datetime] | str:
    if not roots:  # a trace exported without its observations
        record = entry.record or {}
        latency = as_float(record.get("latency"))
        start = record.get("timestamp")
        if latency is None or latency < 0:
            return task_times(start, None)
        begin = parse_time(start)
        if begin is None:
            return "missing_timestamp" if missing(start) else "bad_timestamp"
        try:
            return begin, begin + timedelta(seconds=latency)
        except OverflowError:
            return "bad_timestamp"
    spans = []
    for root in roots:
        end = root.start if missing(root.end) and root.kind == "EVENT" else root.end
        times = task_times(root.start, end)
        if isinstance(times, str):
            return times
        spans.append(times)
    return min(start for start, _ in spans), max(end for _, end in spans)


def _roots(entry: _Trace) -> list[_Observation]:
    """The trace's root observations, the earliest first (those without a valid start last)."""
    roots = [o for o in entry.observations if o.root]
    roots.sort(key=lambda o: (parse_time(o.start) is None, parse_time(o.start) or EPOCH))
    return roots


def _attributes(record: dict[str, Any], roots: list[_Observation]) -> dict[str, Any]:
    """The trace's metadata, then its roots', flattened; the first value of a key wins."""
    attributes: dict[str, Any] = {}
    for metadata in [loose_object(record.get("metadata")), *(o.metadata for o in roots)]:
        for key, value in flatten(metadata).items():
            if not missing(value):
                attributes.setdefault(key, value)
    return attributes


def _agent_override(
    record: dict[str, Any], attributes: dict[str, Any], settings: SourceSettings
) -> str | None:
    """The metadata key (or trace field) `agent_attribute.langfuse` names, when set."""
    override = settings.agent_attribute.get(NAME)
    return text(attributes.get(override, record.get(override))) if override else None


def _agent(
    entry: _Trace,
    roots: list[_Observation],
    attributes: dict[str, Any],
    settings: SourceSettings,
) -> str | None:
    """The configured metadata key, else the trace's name, else the earliest root's name."""
    record = entry.record or {}
    agent = _agent_override(record, attributes, settings)
    agent = agent or text(record.get("name")) or entry.trace_name
    agent = agent or (roots[0].name if roots else None)
    return agent or None


def _llm_observations(entry: _Trace) -> list[_Observation]:
    return [o for o in entry.observations if o.llm is not None]


def _exported_total_cost(record: dict[str, Any]) -> float | None:
    """The trace record's `totalCost`, when above zero (exports write 0 for "unknown")."""
    total = as_float(lf.get(record, "totalCost"))
    return total if total is not None and total > 0 else None


def _cost(entry: _Trace, llm: list[_Observation]) -> float | None:
    """The sum of the LLM observations' costs when each has one; the trace's total without any
    LLM observation; else None (left to pricing.yaml)."""
    if not llm:
        return _exported_total_cost(entry.record or {})
    costs = [o.cost for o in llm]
    return None if None in costs else sum(c for c in costs if c is not None)


def _tool_names(entry: _Trace, roots: list[_Observation]) -> set[str]:
    """The non-root observations' names; every observation's when the trace has several roots."""
    several = len(roots) > 1
    return {o.name for o in entry.observations if o.name and (several or not o.root)}


def _task(trace_id: str, entry: _Trace, settings: SourceSettings, skipped: Skipped) -> Task | None:
    roots = _roots(entry)
    if entry.observations and not roots:
        skipped.add("no_root_observation", entry.observations[0].where)
        return None
    times = _times(entry, roots)
    if isinstance(times, str):
        skipped.add(times, roots[0].where if roots else entry.where)
        return None
    attributes = _attributes(entry.record or {}, roots)
    llm = _llm_observations(entry)
    return Task(
        agent_name=_agent(entry, roots, attributes, settings),
        task_id=trace_id,
        start=times[0],
        end=times[1],
        error=any(o.error for o in roots),
        cost_usd=_cost(entry, llm),
        llm_calls=[o.llm for o in llm if o.llm is not None],
        tags=entry.tags,
        attributes=attributes,
        tool_names=_tool_names(entry, roots),
        feedback={name: combined_feedback(values) for name, values in entry.scores.items()},
    )


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per trace in the files (see the module docstring)."""
    skipped = Skipped()
    reader = _Reader(skipped)
    for where, record in read_all(paths, skipped):
        reader.add(where, record)
    reader.join_scores()
    skipped.seen.traces = len(reader.traces)
    tasks = (_task(trace_id, entry, settings, skipped) for trace_id, entry in reader.traces.items())
    return [task for task in tasks if task is not None], skipped


class LangfuseSource:
    """Langfuse observations (and traces, scores) as a trace source
    (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "Langfuse observations"
    detected_by = "Langfuse `traceId`/`type`/`startTime`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        found = set(columns)
        if "outcome" in found:  # an events file
            return False
        observations = (
            bool(found & {"traceId", "trace_id"})
            and "type" in found
            and bool(found & {"startTime", "start_time"})
        )
        traces = "htmlPath" in found or (
            {"timestamp", "name"} <= found
            and bool(found & {"sessionId", "userId", "session_id", "user_id", "latency"})
        )
        scores = "name" in found and (
            bool(found & {"dataType", "data_type"})
            or ({"value", "source"} <= found and bool(found & {"traceId", "observationId"}))
        )
        return observations or traces or scores
