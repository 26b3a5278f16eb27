"""From the spans of one trace to its tasks, for the OpenTelemetry reader (rules in `otel`'s
docstring): which spans are tasks (outermost `invoke_agent` spans, else outermost spans of the
task rule, else the root spans), each span's task, each task's agent, LLM calls and tools.

A span is kept as a small `Record` while the files are read; a span that may become a task (an
agent span, a span the task rule picks, a span without a parent) also keeps a `Candidate`: its
attributes (over its `Resource`'s, flattened only for candidates), times and status. A root
whose parent is missing from the export is found only once every span is read: `trace_tasks`
then asks for it (`Recover`), and the reader reads it again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.sources.common import LlmCall, Task
from monitor.sources.otlp import flatten
from monitor.sources.otlp_spans import LLM, TOOL
from monitor.sources.values import text

ERROR_CODES = (2, "2", "STATUS_CODE_ERROR")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_NANOS = 253_402_300_799_999_999_999  # 9999-12-31T23:59:59.999999999Z
SERVICE_NAME = "service.name"
UNKNOWN_SERVICE = "unknown_service"  # the SDK's service.name when none is set
BAD_SPAN = (KeyError, TypeError, AttributeError, ValueError)  # what a malformed span raises


class Candidate:
    """A span that may be a task: its attributes (flattened; its resource's attributes under its
    own), times, status and where it was read."""

    __slots__ = ("agent", "attributes", "end", "error", "rule", "start", "where")

    def __init__(
        self,
        span: dict[str, Any],
        attributes: dict[str, Any],
        resource: dict[str, Any],
        where: Any,
        *,
        agent: bool,
        rule: bool,
    ) -> None:
        own = flatten(attributes)  # ValueError on a malformed value: the span is a bad span
        self.attributes = {**resource, **own} if resource else own
        self.start = span.get("startTimeUnixNano")
        self.end = span.get("endTimeUnixNano")
        status = span.get("status")
        code = status.get("code") if isinstance(status, dict) else None
        self.error = code in ERROR_CODES or bool(own.get("error.type"))
        self.agent = agent
        self.rule = rule
        self.where = where


class Resource:
    """A resource's attributes, flattened when a task span first needs them (a malformed one:
    none)."""

    __slots__ = ("flat", "raw")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.flat: dict[str, Any] | None = None

    def attributes(self) -> dict[str, Any]:
        if self.flat is None:
            try:
                items = (self.raw.get("attributes") or ()) if isinstance(self.raw, dict) else ()
                self.flat = flatten({item["key"]: item.get("value") for item in items})
            except BAD_SPAN:
                self.flat = {}
        return self.flat


# A span: (span id, parent id or None, OTHER/TOOL/LLM, None/tool name/LlmCall, Candidate or None)
Record = tuple[str, str | None, int, Any, Candidate | None]


class Recover(Exception):  # a request to the reader, not an error
    """Root spans of a trace (their parents missing from the export) that were read without
    their attributes: the reader reads them again, then asks for the trace's tasks anew."""

    def __init__(self, span_ids: list[str]) -> None:
        super().__init__(span_ids)
        self.span_ids = span_ids


def trace_tasks(
    trace: str,
    records: list[Record],
    agent_keys: tuple[str, ...],
    skip: Callable[[str, Any], None],
) -> list[Task]:
    """The tasks of one trace; a task span whose times are wrong is skipped (`skip(reason,
    where)`). Raises `Recover` for root spans that must be read again."""
    by_id = {record[0]: record for record in records}
    if len(by_id) < len(records):  # a span exported twice is one span
        records = list(by_id.values())
    owner = _owner_of(records, by_id)
    roots = [record for record in records if owner.get(record[0]) == record[0]]
    missing = [record[0] for record in roots if record[4] is None]
    if missing:
        raise Recover(missing)
    if not roots:
        return []
    tools, calls = _contents(records, by_id, owner, roots)
    tasks = []
    for sid, _parent, _kind, _payload, candidate in roots:
        assert candidate is not None
        times = _times(candidate.start, candidate.end)
        if isinstance(times, str):
            skip(times, candidate.where)
            continue
        attributes = candidate.attributes
        tasks.append(
            Task(
                agent_name=_agent_name(attributes, agent_keys),
                task_id=_hex(trace) if len(roots) == 1 else f"{_hex(trace)}/{_hex(sid)}",
                start=times[0],
                end=times[1],
                error=candidate.error,
                llm_calls=calls[sid],
                attributes=attributes,
                tool_names=tools[sid],
            )
        )
    return tasks


def _owner_of(records: list[Record], by_id: dict[str, Record]) -> dict[str, str | None]:
    """Each span's task span (itself, when it is one), or None."""
    tops = [record for record in records if record[1] is None or record[1] not in by_id]
    top = tops[0] if len(tops) == 1 else None
    if top is not None and top[4] is not None and top[4].agent:  # one agent's tree: the usual
        return dict.fromkeys(by_id, top[0])
    chosen = _chosen(records, tops)
    if top is not None and top[0] in chosen:  # one tree under its task span
        return dict.fromkeys(by_id, top[0])
    return _owners(records, by_id, chosen)


def _contents(
    records: list[Record],
    by_id: dict[str, Record],
    owner: dict[str, str | None],
    roots: list[Record],
) -> tuple[dict[str, set[str]], dict[str, list[LlmCall]]]:
    """Each task's tool names and LLM calls (those without a call below them)."""
    covered = _with_llm_descendants(records, by_id)
    tools: dict[str, set[str]] = {r[0]: set() for r in roots}
    calls: dict[str, list[LlmCall]] = {r[0]: [] for r in roots}
    for sid, _parent, kind, payload, _candidate in records:
        task = owner.get(sid)
        if task is None:
            continue
        if kind == TOOL and payload:
            tools[task].add(payload)
        elif kind == LLM and sid not in covered:
            calls[task].append(payload)
    return tools, calls


def _chosen(records: list[Record], tops: list[Record]) -> set[str]:
    """The ids of the spans that are tasks where outermost: the agent spans, else the spans of
    the task rule, else the roots."""
    agents = {r[0] for r in records if r[4] is not None and r[4].agent}
    if agents:
        return agents
    ruled = {r[0] for r in records if r[4] is not None and r[4].rule}
    return ruled or {r[0] for r in tops}


def _owners(
    records: list[Record], by_id: dict[str, Record], chosen: set[str]
) -> dict[str, str | None]:
    """Each span's outermost enclosing chosen span (itself included), or None."""
    owner: dict[str, str | None] = {}
    for record in records:
        chain = []
        current = record
        found: str | None = None
        while True:
            if current[0] in owner:
                found = owner[current[0]]
                break
            chain.append(current)
            parent = by_id.get(current[1]) if current[1] else None
            if parent is None or len(chain) > len(records):  # a root, or a cycle
                break
            current = parent
        for link in reversed(chain):
            if found is None and link[0] in chosen:
                found = link[0]
            owner[link[0]] = found
    return owner


def _with_llm_descendants(records: list[Record], by_id: dict[str, Record]) -> set[str]:
    """The spans with an LLM call below them: their own usage is a sum of those calls (an agent
    span's total, a wrapper's), not counted again."""
    covered: set[str] = set()
    for record in records:
        if record[2] != LLM:
            continue
        parent = record[1]
        while parent is not None and parent not in covered:
            covered.add(parent)
            above = by_id.get(parent)
            parent = above[1] if above is not None else None
    return covered


def _agent_name(attributes: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of the agent attributes, else the service's name (unless the SDK's default)."""
    for key in keys:
        name = text(attributes.get(key))
        if name:
            return name
    service = text(attributes.get(SERVICE_NAME))
    return None if not service or service.startswith(UNKNOWN_SERVICE) else service


def _times(start: Any, end: Any) -> tuple[datetime, datetime] | str:
    """A span's start and end, or the reason it is skipped (see `otel`'s docstring)."""
    begin, finish = _instant(start), _instant(end)
    if isinstance(begin, str) or isinstance(finish, str):
        return "missing_timestamp" if "missing_timestamp" in (begin, finish) else "bad_timestamp"
    return (begin, finish) if finish >= begin else "end_before_start"


def _instant(nanos: Any) -> datetime | str:
    """Nanoseconds since the epoch (a number, or text as protobuf's JSON writes 64-bit integers)
    as a datetime, or the reason they are not one."""
    if nanos is None or nanos == "":
        return "missing_timestamp"
    if isinstance(nanos, bool) or not isinstance(nanos, int | float | str):
        return "bad_timestamp"
    try:
        value = int(nanos)
    except (ValueError, OverflowError):
        return "bad_timestamp"
    if value == 0:  # protobuf's unset
        return "missing_timestamp"
    if not 0 < value <= LAST_NANOS:
        return "bad_timestamp"
    return EPOCH + timedelta(microseconds=value // 1000)


def _hex(identifier: str) -> str:
    """Trace and span ids as hex; protobuf's JSON mapping writes them in base64."""
    if len(identifier) in (12, 24) and identifier.endswith("="):
        try:
            return base64.b64decode(identifier, validate=True).hex()
        except (binascii.Error, ValueError):
            return identifier
    return identifier
