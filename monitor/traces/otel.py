"""OpenTelemetry GenAI traces: OTLP JSON (`{"resourceSpans": [...]}`, one document, possibly
pretty-printed) or the OTel file exporter's JSON Lines (one TracesData per line).

A task is the outermost span of a trace whose `gen_ai.operation.name` is `invoke_agent`. Its agent
is `gen_ai.agent.name` (else `gen_ai.agent.id`; `sources.yaml` `agent_attribute.otel` overrides);
it failed when its status code is ERROR (2) or it carries `error.type`. Descendant spans with
token usage or a request model are its LLM calls (the agent spans' own usage counts only when
there are none); descendant `execute_tool` spans name its tools (`gen_ai.tool.name`, else the
span name). Spans are reduced to small records as each line is parsed, then grouped by trace,
so a trace may be spread over several lines or files.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.traces.common import MAX_EXAMPLES, LlmCall, Skipped, Task
from monitor.traces.records import DecodeError, gc_paused, loads
from playbook.settings import SourceSettings

AGENT_KEYS = ("gen_ai.agent.name", "gen_ai.agent.id")
OPERATION = "gen_ai.operation.name"
MODEL_KEYS = ("gen_ai.request.model", "gen_ai.response.model")
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
ERROR_CODES = (2, "2", "STATUS_CODE_ERROR")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A span record: (span_id, parent_id, kind, payload); payload: _Agent, tool name, LlmCall or None.
OTHER, AGENT, TOOL, LLM = 0, 1, 2, 3
Record = tuple[str, str | None, int, Any]


class _Agent:
    __slots__ = ("attributes", "end", "error", "llm", "name", "start", "where")

    def __init__(self, span: dict[str, Any], attributes: dict[str, Any], where: Any) -> None:
        self.attributes = attributes
        self.start = span.get("startTimeUnixNano")
        self.end = span.get("endTimeUnixNano")
        self.error = (span.get("status") or {}).get("code") in ERROR_CODES
        self.llm = _llm_call(attributes, usage_only=True)
        self.name = span.get("name")
        self.where = where


def value_of(any_value: Any) -> Any:
    """An OTLP AnyValue as a plain Python value (arrays as lists, key-value lists as dicts)."""
    if not isinstance(any_value, dict):
        return any_value
    for key, found in any_value.items():
        if key == "stringValue" or key == "boolValue" or key == "doubleValue":
            return found
        if key == "intValue":
            return int(found)
        if key == "arrayValue":
            return [value_of(item) for item in (found or {}).get("values") or ()]
        if key == "kvlistValue":
            items = (found or {}).get("values") or ()
            return {item["key"]: value_of(item.get("value")) for item in items}
        if key == "bytesValue":
            return found
    return None


def flatten(attributes: dict[str, Any]) -> dict[str, Any]:
    """Raw attributes (key -> AnyValue) as plain values; key-value lists become dotted keys."""
    flat: dict[str, Any] = {}
    for key, raw in attributes.items():
        found = value_of(raw)
        if isinstance(found, dict):
            items = raw["kvlistValue"].get("values") or ()
            flat.update(flatten({f"{key}.{item['key']}": item.get("value") for item in items}))
        else:
            flat[key] = found
    return flat


def _text(any_value: Any) -> Any:
    """A string attribute's value (the common case first), else the plain value."""
    if any_value is None:
        return None
    found = any_value.get("stringValue") if type(any_value) is dict else None
    return found if found is not None else value_of(any_value)


def _tokens(any_value: Any) -> int:
    if any_value is None:
        return 0
    try:
        found = any_value.get("intValue") if type(any_value) is dict else None
        return int(found if found is not None else value_of(any_value) or 0)
    except (TypeError, ValueError, AttributeError):
        return 0


def _llm_call(attributes: dict[str, Any], *, usage_only: bool = False) -> LlmCall | None:
    has_usage = INPUT_TOKENS in attributes or OUTPUT_TOKENS in attributes
    model = attributes.get(MODEL_KEYS[0]) or attributes.get(MODEL_KEYS[1])
    if not has_usage and (usage_only or model is None):
        return None
    return LlmCall(
        _text(model), _tokens(attributes.get(INPUT_TOKENS)), _tokens(attributes.get(OUTPUT_TOKENS))
    )


def _record(span: dict[str, Any], where: Any) -> Record:
    """The small record kept of one span; raises KeyError/TypeError on a malformed span."""
    attributes = {item["key"]: item.get("value") for item in span.get("attributes") or ()}
    operation = _text(attributes.get(OPERATION))
    sid = span["spanId"]
    parent = span.get("parentSpanId") or None
    if operation == "invoke_agent":
        return sid, parent, AGENT, _Agent(span, attributes, where)
    if operation == "execute_tool":
        name = _text(attributes.get("gen_ai.tool.name"))
        return sid, parent, TOOL, name if name is not None else span.get("name")
    call = _llm_call(attributes)
    if call is not None:
        return sid, parent, LLM, call
    return sid, parent, OTHER, None


class _Reader:
    def __init__(self, settings: SourceSettings) -> None:
        self.traces: dict[str, list[Record]] = {}
        self.skipped = Skipped()
        override = settings.agent_attribute.get("otel")
        self.agent_keys = (override,) if override else AGENT_KEYS
        self.texts: dict[str, str] = {}  # whole-document files, to locate examples by line

    def skip(self, reason: str, where: Any) -> None:
        examples = self.skipped.examples.get(reason, ())
        self.skipped.add(reason, self.locate(where) if len(examples) < MAX_EXAMPLES else "")

    def locate(self, where: Any) -> str:
        if isinstance(where, str):
            return where
        path, span_id = where  # in a whole document: the line that holds the span's id
        text = self.texts.get(path, "")
        index = text.find(f'"{span_id}"') if span_id else -1
        return f"{path}:{text.count(chr(10), 0, index) + 1 if index >= 0 else 1}"

    def add_document(self, document: Any, where: str | None, path: str) -> None:
        if not isinstance(document, dict) or "resourceSpans" not in document:
            self.skip("not_otlp", where or f"{path}:1")
            return
        traces = self.traces
        for resource_spans in document["resourceSpans"] or ():
            scopes = resource_spans.get("scopeSpans") or resource_spans.get(
                "instrumentationLibrarySpans"
            )
            for scope_spans in scopes or ():
                for span in scope_spans.get("spans") or ():
                    here: Any = where or (path, span.get("spanId"))
                    try:
                        record = _record(span, here)
                        trace = span["traceId"]
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
        with path.open("rb") as handle:
            first = next((line for line in handle if line.strip()), b"")
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
                tools[task].add(str(payload))
            elif kind == LLM:
                calls[task].append(payload)
            elif kind == AGENT and payload.llm is not None:
                agent_calls[task].append(payload.llm)
        tasks = []
        for sid, _parent, _kind, agent in roots:
            start, end = _instant(agent.start), _instant(agent.end)
            if start is None or end is None:
                self.skip("missing_timestamp", agent.where)
                continue
            if end < start:
                self.skip("end_before_start", agent.where)
                continue
            attributes = flatten(agent.attributes)
            name = next((attributes[k] for k in self.agent_keys if attributes.get(k)), None)
            task_id = _hex(trace) if len(roots) == 1 else f"{_hex(trace)}/{_hex(sid)}"
            tasks.append(
                Task(
                    agent_name=str(name) if name is not None else None,
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
    """JSON Lines when the first line is a whole JSON value (or looks meant to be one); a
    pretty-printed document's first line is an opening brace."""
    try:
        loads(first)
    except DecodeError:
        return first.strip().endswith(b"}")
    return True


def _instant(nanos: Any) -> datetime | None:
    try:
        value = int(nanos)
    except (TypeError, ValueError):
        return None
    return EPOCH + timedelta(microseconds=value // 1000) if value > 0 else None


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
