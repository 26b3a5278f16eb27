"""Arize Phoenix / OpenInference: span exports and span-annotation exports, given together in one
import (which file is which is told by its columns, row by row).

Formats: the spans DataFrame (`px.Client().get_spans_dataframe()`, `Client().spans.
get_spans_dataframe()`) written by pandas as Parquet (times of any unit, zoned or naive; its
`context.span_id` index written as a column), JSON Lines or JSON (`to_json`, times as epoch
milliseconds or ISO text; any `orient`, see `openinference_files`) or CSV (`to_csv`: the index
as the first column, numbers as text such as "12.0", lists and objects as Python reprs); the
Parquet file of `TraceDataset.save()` (`trace_dataset-<id>.parquet`, with its legacy
`evaluations-<id>.parquet` beside it); the REST `v1/spans` JSON (`context` and `attributes`
nested). Annotations: see `openinference_feedback`.

Fields: `context.span_id`, `context.trace_id`, `parent_id`, `name`, `span_kind` (else
`attributes.openinference.span.kind`), `start_time`, `end_time`, `status_code`, `attributes.*`.

Tasks: per trace, the outermost spans that sources.yaml's `tasks.openinference` rule picks
(`span_name`: a glob on the name; `attribute`: the span has `attributes.<attribute>`; `span_kind`:
one of these kinds, case-insensitive); else the root spans (no `parent_id`). A task's agent is
the attribute `agent_attribute.openinference` names (also a metadata key), else
`attributes.agent.name`, else the span's name; `status_code` ERROR marks it failed; its
attributes are its `attributes.*` but input/output/llm/tag ones, with `metadata` (an object, JSON
or a Python repr) both as `metadata.<key>` and `<key>`; its tags `attributes.tag.tags`. The task's
spans are its span and its descendants (a lone root: every span of its trace). LLM spans (kind
LLM) are its LLM calls: the model `llm.model_name` (else `llm.invocation_parameters` "model"),
tokens `llm.token_count.prompt` (cached tokens included; one smaller than its cache reads and
writes, as older instrumentors wrote it, has them added), `llm.token_count.completion` (either
derived from `llm.token_count.total` when only one is given), `llm.token_count.prompt_details.
cache_read` and `.cache_write` (`.audio`, `.cache_input` ignored). Counts may be floats or text
("12.0"); a missing one is unknown (None: the task's cost is left empty, never 0). Cost: the sum
of `llm.cost.total` when every LLM span has one, else priced from the tokens. TOOL spans give
tool names (`tool.name`, else the span's name). Only a task span needs valid times: a child still
counts for its tokens and tool name.

What was read is reported when nothing became a task (`Skipped.seen`): spans, traces, and span
kinds. Skipped by reason, with `file:line` examples: `bad_json`, `bad_csv_row` and `empty_file`
(see `records`), `missing_id` (no span or trace id), `bad_id` (a span, trace or parent id, or an
annotation's span id, that is not text, an integer or a UUID: a list, an object, a fraction),
`missing_timestamp`, `bad_timestamp` (not a time, or outside years 1 to 9999) and
`end_before_start` (task spans only), `no_root_span` (a trace without a task span in the
export, reported once per trace), and the annotation reasons of `openinference_feedback`.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.sources.common import LlmCall, Skipped, Task
from monitor.sources.openinference_feedback import Annotations, is_annotation
from monitor.sources.openinference_feedback import field as _field
from monitor.sources.openinference_files import KNOWN_COLUMNS, eval_name, file_records
from monitor.sources.records import gc_paused, id_problem, resolve_roots, task_times
from monitor.sources.values import (
    INT64,
    as_float,
    flatten,
    json_object,
    loads,
    missing,
    read_id,
    tag_set,
    text,
)
from playbook.core.settings import SourceSettings, TaskRule

NAME = "openinference"
_ID_KEYS = ("context.span_id", "context.trace_id", "parent_id")
_NOT_TASK_ATTRIBUTES = ("input.", "output.", "llm.", "tag.", "openinference.", "embedding.")
_TOKENS = "attributes.llm.token_count."
_PROMPT, _COMPLETION, _TOTAL = f"{_TOKENS}prompt", f"{_TOKENS}completion", f"{_TOKENS}total"
_CACHE_READ = f"{_TOKENS}prompt_details.cache_read"
_CACHE_WRITE = f"{_TOKENS}prompt_details.cache_write"
MAX_KINDS = 64  # span kinds counted apart; more (hostile data) are counted as OTHER_KINDS
OTHER_KINDS = "(other kinds)"
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")

# What a span gives its task: ("LLM", model, prompt, completion, cache read, cache write, cost) or
# ("TOOL", name); None for other spans (kept only to find their task).
_Fact = tuple[Any, ...] | None


@dataclass(slots=True)
class _Candidate:
    """A span that may be a task: a root, or one the `tasks` rule picks."""

    span_id: str
    where: str
    task: Task | str  # or why it cannot be one (a time problem)
    root: bool
    ruled: bool


@dataclass
class _Trace:
    candidates: list[_Candidate] = field(default_factory=list)
    spans: dict[str, tuple[str, _Fact]] = field(default_factory=dict)  # id -> (parent id, fact)
    first_seen: str = ""
    root_skipped: bool = False  # already reported: its spans are not reported again


class _Rule:
    """sources.yaml's `tasks.openinference`: which spans are tasks besides the roots."""

    def __init__(self, rule: TaskRule | None) -> None:
        rule = rule or TaskRule()
        glob = rule.span_name
        self.name = re.compile(fnmatch.translate(glob)).match if glob else None
        self.attribute = rule.attribute.removeprefix("attributes.") if rule.attribute else None
        self.kinds = frozenset(kind.upper() for kind in rule.span_kind)
        self.active = bool(self.name or self.attribute or self.kinds)

    def __call__(self, span: dict[str, Any], kind: str) -> bool:
        name = span.get("name")
        if self.name is not None and isinstance(name, str) and self.name(name):
            return True
        if self.attribute is not None and not missing(_attr(span, self.attribute)):
            return True
        return kind in self.kinds


def _kind(span: dict[str, Any]) -> str:
    """The span's kind in capitals (LLM, TOOL, AGENT, CHAIN, ...); "" when it has none."""
    kind = text(span.get("span_kind")) or text(span.get("attributes.openinference.span.kind"))
    return kind.upper() if kind else ""


def _count(value: Any) -> int | None:
    """A token count: an integer, also written as a float or text ("12.0"); None when missing
    or no count (NaN, negative, a fraction, a word)."""
    if value is None:
        return None
    if type(value) is int:
        return value if 0 <= value <= INT64 else None
    number = value if type(value) is float else as_float(value)
    if number is None or not 0 <= number <= INT64 or not number.is_integer():
        return None  # NaN fails the comparison
    return int(number)


def _tokens(span: dict[str, Any]) -> tuple[int | None, int | None, int, int]:
    get = span.get
    prompt, completion = _count(get(_PROMPT)), _count(get(_COMPLETION))
    if (prompt is None) != (completion is None) and (total := _count(get(_TOTAL))) is not None:
        if prompt is None:
            prompt = max(total - (completion or 0), 0)
        else:
            completion = max(total - prompt, 0)
    read = _count(get(_CACHE_READ)) or 0
    write = _count(get(_CACHE_WRITE)) or 0
    if prompt is not None and prompt < read + write:  # counted without the cache
        prompt += read + write
    return prompt, completion, read, write


def _fact(span: dict[str, Any], kind: str) -> _Fact:
    get = span.get
    if kind == "LLM":
        model = text(get("attributes.llm.model_name"))
        if model is None:
            parameters = json_object(get("attributes.llm.invocation_parameters"))
            model = text(parameters.get("model")) or text(parameters.get("model_name"))
        return ("LLM", model, *_tokens(span), as_float(get("attributes.llm.cost.total")))
    if kind == "TOOL":
        return "TOOL", text(get("attributes.tool.name")) or text(get("name")) or ""
    return None


def _attr(span: dict[str, Any], key: str) -> Any:
    value = span.get(f"attributes.{key}")
    return span.get(key) if missing(value) else value


def _python_literal(value: Any) -> Any:
    """A list or dict that pandas' `to_csv` wrote as its Python repr; None when it is none."""
    if not isinstance(value, str) or len(value) > 100_000:
        return None
    try:
        return ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _metadata(value: Any) -> dict[str, Any]:
    found = json_object(value)
    if not found and isinstance(value, str) and value.lstrip().startswith("{"):
        literal = _python_literal(value)
        found = literal if isinstance(literal, dict) else {}
    return flatten(found)


def _tags(value: Any) -> set[str]:
    """Tags from a list, JSON text or a Python/NumPy repr (`['a', 'b']`, `['a' 'b']`)."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            loads(value)
        except ValueError:
            return {a or b for a, b in _QUOTED.findall(value) if a or b}
    return tag_set(value)


def _task(
    span: dict[str, Any], trace_id: str, times: tuple[datetime, datetime], settings: SourceSettings
) -> Task:
    metadata = _metadata(_attr(span, "metadata"))  # an object, JSON or a Python repr
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
        tags=_tags(_attr(span, "tag.tags")),
        attributes=attributes,
    )


def _finish(task: Task, facts: list[_Fact]) -> None:
    costs: list[float | None] = []
    for fact in facts:
        if fact is None:
            continue
        if fact[0] == "LLM":
            _, model, prompt, completion, read, write, cost = fact
            task.llm_calls.append(LlmCall(model, prompt, completion, read, write))
            costs.append(cost)
        elif fact[1]:
            task.tool_names.add(fact[1])
    if costs and all(cost is not None for cost in costs):
        task.cost_usd = sum(cost for cost in costs if cost is not None)


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per task span in the spans exports, annotations (given alongside) as feedback."""
    skipped = Skipped()
    traces: dict[str, _Trace] = {}
    annotations = Annotations()
    rule = _Rule(settings.tasks.get(NAME))
    kinds = skipped.seen.kinds
    for path in paths:
        default_name = functools.cache(functools.partial(eval_name, path))  # once needed
        for where, record in file_records(path, skipped):
            span = flatten(record)
            if is_annotation(span):
                annotations.add(span, where, default_name, skipped)
                continue
            skipped.seen.records += 1
            kind = _kind(span)
            label = kind or "(no span kind)"
            kinds[label if label in kinds or len(kinds) < MAX_KINDS else OTHER_KINDS] += 1
            span_id, trace_id, parent = [read_id(_field(span, key)) for key in _ID_KEYS]
            if problem := id_problem(required=(span_id, trace_id), optional=(parent,)):
                if trace_id and parent == "":  # a root's: its trace is not reported again
                    traces.setdefault(trace_id, _Trace(first_seen=where)).root_skipped = True
                skipped.add(problem, where)
                continue
            trace = traces.get(trace_id) or traces.setdefault(trace_id, _Trace(first_seen=where))
            ruled = rule.active and rule(span, kind)
            if not parent or ruled:
                times = task_times(_field(span, "start_time"), _field(span, "end_time"))
                task = times if isinstance(times, str) else _task(span, trace_id, times, settings)
                trace.candidates.append(_Candidate(span_id, where, task, not parent, ruled))
            trace.spans[span_id] = (parent, _fact(span, kind))
    skipped.seen.traces = len(traces)
    tasks: list[Task] = []
    task_spans: dict[str, Task] = {}
    for trace_id, trace in traces.items():
        for span_id, task in _trace_tasks(trace_id, trace, skipped):
            tasks.append(task)
            task_spans[span_id] = task
    annotations.join(
        task_spans, lambda: {span_id for trace in traces.values() for span_id in trace.spans},
        skipped,
    )  # fmt: skip
    return tasks, skipped


def _outermost(ruled: list[_Candidate], trace: _Trace) -> list[_Candidate]:
    """The ruled spans without a ruled span above them."""
    parents = {span_id: up for span_id, (up, _) in trace.spans.items()}
    nearest = resolve_roots(parents, {candidate.span_id for candidate in ruled})
    return [c for c in ruled if nearest.get(parents.get(c.span_id) or "") is None]


def _chosen(trace: _Trace) -> tuple[list[_Candidate], bool]:
    """(task spans, ruled): the outermost spans the `tasks` rule picks, else the roots."""
    ruled = [candidate for candidate in trace.candidates if candidate.ruled]
    if ruled:
        return _outermost(ruled, trace), True
    return [candidate for candidate in trace.candidates if candidate.root], False


def _valid_tasks(chosen: list[_Candidate], skipped: Skipped) -> list[tuple[str, Task]]:
    """(span id, task) of the chosen spans with valid times; the others counted as skipped."""
    found: list[tuple[str, Task]] = []
    for candidate in chosen:
        if isinstance(candidate.task, str):
            skipped.add(candidate.task, candidate.where)
        else:
            found.append((candidate.span_id, candidate.task))
    return found


def _facts_by_task(
    trace: _Trace, found: list[tuple[str, Task]], lone_root: bool
) -> dict[str, list[_Fact]]:
    """Each task's facts: its span's and its descendants' (a span goes to its nearest task);
    a lone root's task has every span of its trace."""
    if lone_root:
        return {found[0][0]: [fact for _, fact in trace.spans.values() if fact is not None]}
    by_task: dict[str, list[_Fact]] = {span_id: [] for span_id, _ in found}
    if found:
        parents = {span_id: up for span_id, (up, _) in trace.spans.items()}
        task_of = resolve_roots(parents, by_task)
        for span_id, (_, fact) in trace.spans.items():
            owner = task_of.get(span_id)
            if fact is not None and owner in by_task:
                by_task[owner].append(fact)
    return by_task


def _trace_tasks(trace_id: str, trace: _Trace, skipped: Skipped) -> list[tuple[str, Task]]:
    """The trace's tasks (span id, task), each with its spans' facts; `task_id` is the trace
    id, or `trace/span` when the trace has several tasks."""
    chosen, ruled = _chosen(trace)
    if not chosen:
        if not trace.root_skipped:
            skipped.add("no_root_span", trace.first_seen)
        return []
    found = _valid_tasks(chosen, skipped)
    by_task = _facts_by_task(trace, found, len(chosen) == 1 and bool(found) and not ruled)
    for span_id, task in found:
        if len(found) > 1:
            task.task_id = f"{trace_id}/{span_id}"
        _finish(task, by_task[span_id])
    return found


def _detects(columns: Collection[str]) -> bool:
    spans = "span_kind" in columns and (
        "context.span_id" in columns
        or "context.trace_id" in columns
        or "attributes.openinference.span.kind" in columns
    )
    annotations = (
        "annotation_name" in columns
        or "annotator_kind" in columns
        or ("context.span_id" in columns and ("score" in columns or "label" in columns))
    )
    return spans or annotations


class OpenInferenceSource:
    """Arize Phoenix / OpenInference span and annotation exports as a trace source
    (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "OpenInference (Phoenix spans)"
    detected_by = "OpenInference `context.span_id`/`span_kind`, Phoenix `annotation_name`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        """A spans or annotations export, also one written `{"<span id>": {...}}` (pandas'
        orient="index", whose columns are seen one level down)."""
        if _detects(columns):
            return True
        inner = {name.split(".", 1)[1] for name in columns if "." in name}
        return bool(KNOWN_COLUMNS.intersection(inner)) and _detects(inner)
