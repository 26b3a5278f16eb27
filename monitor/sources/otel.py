"""OpenTelemetry GenAI traces: OTLP JSON (`{"resourceSpans": [...]}`, one document, possibly
pretty-printed) or the OTel file exporter's JSON Lines (one TracesData per line).

A task is the outermost span of a trace whose `gen_ai.operation.name` is `invoke_agent`. Its agent
is `gen_ai.agent.name` (else `gen_ai.agent.id`; `sources.yaml` `agent_attribute.otel` overrides);
it failed when its status code is ERROR (2) or it carries `error.type`. Descendant spans with
token usage or a request model are its LLM calls (the agent spans' own usage counts only when
there are none); descendant `execute_tool` spans name its tools (`gen_ai.tool.name`, else the
span name). Spans are reduced to small records as each line is parsed, then grouped by trace,
so a trace may be spread over several lines or files.

Skipped by reason, with `file:line` examples: `bad_json`, `empty_file`; `not_otlp` (no object
with a `resourceSpans` list, or a resource or scope entry that is no object with a list of
spans); `bad_span` (no object; a `traceId`/`spanId` that is not non-empty text, a `parentSpanId`
neither text nor empty; attributes not a list of `{key, value}`; a malformed AnyValue: an
`intValue` that is no 64-bit integer, a key-value item without a text `key`, nesting past 32).
A task's agent span: `missing_timestamp` (start or end absent or 0), `bad_timestamp` (not
nanoseconds since the epoch up to year 9999: negative, 1e30, a word), `end_before_start`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.sources.common import MAX_EXAMPLES, LlmCall, Skipped, Task
from monitor.sources.otlp import flatten, plain_value, token_count
from monitor.sources.records import gc_paused, open_binary
from monitor.sources.values import DecodeError, loads, read_id, text
from playbook.core.settings import SourceSettings

NAME = "otel"
AGENT_KEYS = ("gen_ai.agent.name", "gen_ai.agent.id")
OPERATION = "gen_ai.operation.name"
MODEL_KEYS = ("gen_ai.request.model", "gen_ai.response.model")
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
ERROR_CODES = (2, "2", "STATUS_CODE_ERROR")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_NANOS = 253_402_300_799_999_999_999  # 9999-12-31T23:59:59.999999999Z

# A span record: (span_id, parent_id, kind, payload); payload: _Agent, tool name, LlmCall or None.
OTHER, AGENT, TOOL, LLM = 0, 1, 2, 3
Record = tuple[str, str | None, int, Any]


class _Agent:
    __slots__ = ("attributes", "end", "error", "llm", "name", "start", "where")

    def __init__(self, span: dict[str, Any], attributes: dict[str, Any], where: Any) -> None:
        self.attributes = flatten(attributes)  # now, so that a malformed value is a bad span
        self.start = span.get("startTimeUnixNano")
        self.end = span.get("endTimeUnixNano")
        self.error = (span.get("status") or {}).get("code") in ERROR_CODES
        self.llm = _llm_call(attributes, usage_only=True)
        self.name = span.get("name")
        self.where = where


def _llm_call(attributes: dict[str, Any], *, usage_only: bool = False) -> LlmCall | None:
    has_usage = INPUT_TOKENS in attributes or OUTPUT_TOKENS in attributes
    model = attributes.get(MODEL_KEYS[0]) or attributes.get(MODEL_KEYS[1])
    if not has_usage and (usage_only or model is None):
        return None
    name = plain_value(model)
    return LlmCall(
        name if isinstance(name, str) else None,
        token_count(attributes.get(INPUT_TOKENS)),
        token_count(attributes.get(OUTPUT_TOKENS)),
    )


def _is_id(value: Any) -> bool:
    """Trace and span ids are text, hex or base64 (the JSON mapping of protobuf bytes)."""
    if type(value) is str and value.isascii():
        return value != ""
    return isinstance(value, str) and bool(read_id(value))


def _record(span: dict[str, Any], where: Any) -> Record:
    """The small record kept of one span; ValueError (or KeyError, TypeError, AttributeError) on
    a malformed span."""
    # KeyError or TypeError on an item without a key; other keys are checked when flattened
    attributes = {item["key"]: item.get("value") for item in span.get("attributes") or ()}
    operation = plain_value(attributes.get(OPERATION))
    sid = span.get("spanId")
    parent = span.get("parentSpanId") or None
    if not _is_id(sid) or not (parent is None or _is_id(parent)):
        raise ValueError("span ids must be text")
    if operation == "invoke_agent":
        return sid, parent, AGENT, _Agent(span, attributes, where)
    if operation == "execute_tool":
        name = text(plain_value(attributes.get("gen_ai.tool.name"))) or text(span.get("name"))
        return sid, parent, TOOL, name
    call = _llm_call(attributes)
    if call is not None:
        return sid, parent, LLM, call
    return sid, parent, OTHER, None


class _Reader:
    def __init__(self, settings: SourceSettings) -> None:
        self.traces: dict[str, list[Record]] = {}
        self.skipped = Skipped()
        override = settings.agent_attribute.get(NAME)
        self.agent_keys = (override,) if override else AGENT_KEYS
        self.texts: dict[str, str] = {}  # whole-document files, to locate examples by line

    def skip(self, reason: str, where: Any) -> None:
        examples = self.skipped.examples.get(reason, ())
        self.skipped.add(reason, self.locate(where) if len(examples) < MAX_EXAMPLES else "")

    def locate(self, where: Any) -> str:
        if isinstance(where, str):
            return where
        path, span_id = where  # in a whole document: the line that holds the span's id
        document = self.texts.get(path, "")
        index = document.find(f'"{span_id}"') if span_id and isinstance(span_id, str) else -1
        return f"{path}:{document.count(chr(10), 0, index) + 1 if index >= 0 else 1}"

    def add_document(self, document: Any, where: str | None, path: str) -> None:
        has_spans = isinstance(document, dict) and "resourceSpans" in document
        resources = _entries(document, "resourceSpans") if has_spans else None
        if resources is None:
            self.skip("not_otlp", where or f"{path}:1")
            return
        traces = self.traces
        for resource_spans in resources:
            scopes = _entries(resource_spans, "scopeSpans", "instrumentationLibrarySpans")
            if scopes is None:
                self.skip("not_otlp", where or f"{path}:1")
                continue
            for scope_spans in scopes:
                spans = _entries(scope_spans, "spans")
                if spans is None:
                    self.skip("not_otlp", where or f"{path}:1")
                    continue
                for span in spans:
                    here: Any = where or (path, span.get("spanId") if type(span) is dict else None)
                    try:
                        record = _record(span, here)
                        trace = span["traceId"]
                        if not _is_id(trace):
                            raise ValueError("a trace id must be text")
                    except (KeyError, TypeError, AttributeError, ValueError):
                        self.skip("bad_span", here)
                        continue
                    found = traces.get(trace)
                    if found is None:
                        traces[trace] = [record]
                    else:
                        found.append(record)

    def read_file(self, path: Path) -> None:
        name = str(path)
        with open_binary(path) as handle:
            first = next((line for line in handle if line.strip()), b"")
            if not first:
                self.skip("empty_file", f"{name}:1")
                return
            if _is_json_lines(first):
                handle.seek(0)
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        document = loads(line)
                    except DecodeError:
                        self.skip("bad_json", f"{name}:{number}")
                        continue
                    self.add_document(document, f"{name}:{number}", name)
                return
            handle.seek(0)
            data = handle.read()
        try:
            document = loads(data)
        except DecodeError as exc:
            self.skip("bad_json", f"{name}:{getattr(exc, 'lineno', 1)}")
            return
        self.texts[name] = data.decode("utf-8", "replace")
        self.add_document(document, None, name)

    def tasks(self) -> list[Task]:
        tasks: list[Task] = []
        for trace, records in self.traces.items():
            tasks += self._trace_tasks(trace, records)
        return tasks

    def _trace_tasks(self, trace: str, records: list[Record]) -> list[Task]:
        by_id = {record[0]: record for record in records}
        tops = [record for record in records if record[1] is None or record[1] not in by_id]
        if len(tops) == 1 and tops[0][2] == AGENT:  # one tree under an agent span: one task
            owner = dict.fromkeys(by_id, tops[0][0])
        else:
            owner = _owners(records, by_id)
        roots = [r for r in records if r[2] == AGENT and owner[r[0]] == r[0]]
        if not roots:
            return []
        tools: dict[str, set[str]] = {r[0]: set() for r in roots}
        calls: dict[str, list[LlmCall]] = {r[0]: [] for r in roots}
        agent_calls: dict[str, list[LlmCall]] = {r[0]: [] for r in roots}
        for sid, _parent, kind, payload in records:
            task = owner[sid]
            if task is None:
                continue
            if kind == TOOL and payload:
                tools[task].add(payload)
            elif kind == LLM:
                calls[task].append(payload)
            elif kind == AGENT and payload.llm is not None:
                agent_calls[task].append(payload.llm)
        tasks = []
        for sid, _parent, _kind, agent in roots:
            times = _times(agent.start, agent.end)
            if isinstance(times, str):
                self.skip(times, agent.where)
                continue
            start, end = times
            attributes = agent.attributes
            name = next(filter(None, (text(attributes.get(k)) for k in self.agent_keys)), None)
            task_id = _hex(trace) if len(roots) == 1 else f"{_hex(trace)}/{_hex(sid)}"
            tasks.append(
                Task(
                    agent_name=name,
                    task_id=task_id,
                    start=start,
                    end=end,
                    error=agent.error or bool(attributes.get("error.type")),
                    llm_calls=calls[sid] or agent_calls[sid],
                    attributes=attributes,
                    tool_names=tools[sid],
                )
            )
        return tasks


def _owners(records: list[Record], by_id: dict[str, Record]) -> dict[str, str | None]:
    """Each span's outermost enclosing `invoke_agent` span (itself included), or None."""
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
            if found is None and link[2] == AGENT:
                found = link[0]
            owner[link[0]] = found
    return owner


def _is_json_lines(first: bytes) -> bool:
    """JSON Lines unless the first line opens a pretty-printed document (a lone brace): a broken
    first line is then only that line's problem, not the whole file's."""
    try:
        loads(first)
    except DecodeError:
        return first.strip() not in (b"{", b"[")
    return True


def _entries(part: Any, *keys: str) -> list[Any] | None:
    """The list under the first of `keys` that holds a non-empty one in an OTLP object (none: an
    empty list); None when `part` is not an object or holds another type there."""
    if not isinstance(part, dict):
        return None
    present = [part[key] for key in keys if part.get(key) is not None]
    found = next((value for value in present if value), present[0] if present else [])
    return found if isinstance(found, list) else None


def _times(start: Any, end: Any) -> tuple[datetime, datetime] | str:
    """A span's start and end, or the reason it is skipped (see the module's docstring)."""
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


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per outermost `invoke_agent` span in the OTLP JSON / JSON Lines files."""
    reader = _Reader(settings)
    for path in paths:
        reader.read_file(Path(path))
    return reader.tasks(), reader.skipped


class OtelSource:
    """OpenTelemetry GenAI traces as a trace source (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "OpenTelemetry GenAI (OTLP JSON or JSON Lines)"
    detected_by = "OTLP `resourceSpans`"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
        return read(paths, settings)

    def detect(self, columns: Collection[str]) -> bool:
        return "resourceSpans" in columns
