"""OpenTelemetry traces, as any OTel SDK or collector exports them: the GenAI semantic
conventions, OpenInference spans, OpenLLMetry, the Vercel AI SDK, or plain spans.

Formats: OTLP JSON (`{"resourceSpans": [...]}`, one document, possibly pretty-printed, or several
written one after another); the OTel file exporter's JSON Lines (one TracesData per line); OTLP
protobuf (one binary `ExportTraceServiceRequest` or `TracesData` per file: `otlp_protobuf`); the
OTel SDK's `ConsoleSpanExporter` output (pretty-printed spans one after another: `otlp_console`).
Ids may be hex, or base64 as protobuf's JSON mapping writes them. Spans are reduced to small
records as each line is parsed, then grouped by trace, so a trace may be spread over several
lines or files. Only a root whose parent is missing needs more than its record: the files are then
read a second time, for those roots' attributes and times only.

Tasks, per trace, in this order of preference: the outermost spans whose
`gen_ai.operation.name` is `invoke_agent`; else the outermost spans that sources.yaml's
`tasks.otel` rule picks (`span_name`: a glob on the span's name, case-sensitive; `attribute`: the
span has that attribute; `span_kind`: its `openinference.span.kind` or `traceloop.span.kind` is
one of these, case-insensitive); else the trace's root spans (no parent, or a parent missing from
the export). A task's agent is the attribute `agent_attribute.otel` names (if set), else
`gen_ai.agent.name`, `gen_ai.agent.id` or `agent.name`, else its resource's `service.name`
(unless the SDK's default `unknown_service...`); a task span's attributes are its resource's
with its own over them. A task failed when its status code is ERROR or it carries `error.type`.

A task's spans are its span and its descendants. LLM calls: GenAI `chat`, `text_completion` and
`generate_content` spans; spans with token usage or a model (the first of `gen_ai.request.model`,
`gen_ai.response.model`, `llm.model_name`, `ai.model.id`; a model alone does not make a call of an
agent span, an OpenInference span of another kind or a Vercel span other than these calls);
OpenInference `LLM` spans; the Vercel AI SDK's `ai.generateText.doGenerate` and
`ai.streamText.doStream` (any `*.doGenerate`, `*.doStream`). A span with an LLM call below it
(an agent span's total usage, `ai.generateText` around its `doGenerate`, a gateway's span around
the provider's) is not counted again: a task span's own usage counts only without LLM calls below
it, and a root that is itself an LLM call is its task's one call. Tokens, the first name present
of: input `gen_ai.usage.input_tokens`, `gen_ai.usage.prompt_tokens`,
`llm.token_count.prompt`, `ai.usage.inputTokens`, `ai.usage.promptTokens`; output
`gen_ai.usage.output_tokens`, `gen_ai.usage.completion_tokens`, `llm.token_count.completion`,
`ai.usage.outputTokens`, `ai.usage.completionTokens`; cache reads
`gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cache_read_input_tokens`,
`llm.token_count.prompt_details.cache_read`, `ai.usage.cachedInputTokens`; cache writes
`gen_ai.usage.cache_creation.input_tokens`, `gen_ai.usage.cache_creation_input_tokens`,
`llm.token_count.prompt_details.cache_write` (input includes the cache: see `otlp_spans`; a call
without token counts has unknown tokens and leaves its task's cost empty). Tools: `execute_tool`
spans, OpenInference `TOOL` spans, OpenLLMetry `tool` spans, the Vercel AI SDK's `ai.toolCall`;
named by `gen_ai.tool.name`, `tool.name`, `ai.toolCall.name` or `traceloop.entity.name`, else
the span's name.

What was read is reported when nothing became a task (`Skipped.seen`): spans, traces, and span
kinds (the GenAI operation, else the OpenInference or OpenLLMetry span kind, else the name).

Skipped by reason, with `file:line` examples (`file:span ID` in protobuf): `bad_json`,
`empty_file`; `not_otlp` (no object with a `resourceSpans` list, and no console span; a resource
or scope entry that is no object with a list of spans; a binary file that is no OTLP protobuf);
`bad_span` (no object; a `traceId`/`spanId` that is not non-empty text, a `parentSpanId` neither
text nor empty; attributes not a list of `{key, value}`; a malformed AnyValue: an `intValue` that
is no 64-bit integer, a key-value item without a text `key`, nesting past 32). A task span:
`missing_timestamp` (start or end absent or 0), `bad_timestamp` (not nanoseconds since the epoch
up to year 9999: negative, 1e30, a word), `end_before_start`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from monitor.sources import otlp_console, otlp_protobuf
from monitor.sources.common import MAX_EXAMPLES, Skipped, Task
from monitor.sources.otlp import plain_value
from monitor.sources.otlp_protobuf import SUFFIXES as PROTOBUF_SUFFIXES
from monitor.sources.otlp_spans import (
    AGENT_OPERATION,
    OPERATION,
    TaskMatcher,
    classify,
    kind_label,
)
from monitor.sources.otlp_tasks import BAD_SPAN, Candidate, Record, Recover, Resource, trace_tasks
from monitor.sources.records import gc_paused, open_binary
from monitor.sources.values import DecodeError, loads, read_id
from playbook.core.errors import UsageError, display_path
from playbook.core.settings import SourceSettings

NAME = "otel"
AGENT_KEYS = ("gen_ai.agent.name", "gen_ai.agent.id", "agent.name")
CONSOLE_COLUMNS = frozenset({"context.trace_id", "context.span_id", "kind", "resource"})
PROTOBUF_MARKER = "otlp.protobuf"  # what the importer's format sniffing says of such a file
MAX_KINDS = 1000  # distinct span kinds counted (names can be endless), the rest as OTHER_KINDS
OTHER_KINDS = "(other)"


def _is_id(value: Any) -> bool:
    """Trace and span ids are text, hex or base64 (the JSON mapping of protobuf bytes)."""
    if type(value) is str and value.isascii():
        return value != ""
    return isinstance(value, str) and bool(read_id(value))


class _Reader:
    def __init__(self, settings: SourceSettings) -> None:
        self.traces: dict[str, list[Record]] = {}
        self.skipped = Skipped()
        self.kinds: dict[str, int] = {}
        override = settings.agent_attribute.get(NAME)
        self.agent_keys = (override, *AGENT_KEYS) if override else AGENT_KEYS
        matcher = TaskMatcher(settings.tasks.get(NAME))
        self.rule = matcher if matcher.active else None
        self.texts: dict[str, str] = {}  # whole-document files, to locate examples by line
        self.binary: set[str] = set()  # protobuf files: examples located by span id
        self.paths: list[Path] = []
        # Re-reading for roots whose parent is missing: (trace, span id) -> Candidate or None.
        self.wanted: dict[tuple[str, str], Candidate | None] | None = None
        self.unreadable: list[Any] = []  # where a wanted root could not be read

    def skip(self, reason: str, where: Any) -> None:
        examples = self.skipped.examples.get(reason, ())
        self.skipped.add(reason, self.locate(where) if len(examples) < MAX_EXAMPLES else "")

    def locate(self, where: Any) -> str:
        if isinstance(where, str):
            return where
        path, span_id = where  # in a whole document: the line that holds the span's id
        if path in self.binary:
            return f"{path}:span {span_id}"
        document = self.texts.get(path, "")
        index = document.find(f'"{span_id}"') if span_id and isinstance(span_id, str) else -1
        return f"{path}:{document.count(chr(10), 0, index) + 1 if index >= 0 else 1}"

    def record(self, span: dict[str, Any], where: Any, resource: Resource) -> Record:
        """The small record kept of one span; ValueError (or KeyError, TypeError,
        AttributeError) on a malformed span."""
        # KeyError or TypeError on an item without a key; other keys are checked when flattened
        attributes = {item["key"]: item.get("value") for item in span.get("attributes") or ()}
        operation = plain_value(attributes.get(OPERATION))
        sid = span.get("spanId")
        parent = span.get("parentSpanId") or None
        if not _is_id(sid) or not (parent is None or _is_id(parent)):
            raise ValueError("span ids must be text")
        name = span.get("name")
        kind, payload = classify(attributes, operation, name)
        label = operation if type(operation) is str else kind_label(attributes, operation, name)
        kinds = self.kinds
        if label in kinds:
            kinds[label] += 1
        elif len(kinds) < MAX_KINDS:
            kinds[label] = 1
        else:
            kinds[OTHER_KINDS] = kinds.get(OTHER_KINDS, 0) + 1
        agent = operation == AGENT_OPERATION
        ruled = self.rule is not None and self.rule(name, attributes)
        if agent or ruled or parent is None:
            candidate = Candidate(
                span, attributes, resource.attributes(), where, agent=agent, rule=ruled
            )
            return sid, parent, kind, payload, candidate
        return sid, parent, kind, payload, None

    def add_document(self, document: Any, where: str | None, path: str) -> None:
        has_spans = isinstance(document, dict) and "resourceSpans" in document
        resources = _entries(document, "resourceSpans") if has_spans else None
        if resources is None:
            self.add_other(document, where or f"{path}:1", path)
            return
        traces, wanted = self.traces, self.wanted
        for resource_spans in resources:
            scopes = _entries(resource_spans, "scopeSpans", "instrumentationLibrarySpans")
            if scopes is None:
                self.skip("not_otlp", where or f"{path}:1")
                continue
            resource = Resource(resource_spans.get("resource"))
            for scope_spans in scopes:
                spans = _entries(scope_spans, "spans")
                if spans is None:
                    self.skip("not_otlp", where or f"{path}:1")
                    continue
                for span in spans:
                    here: Any = where or (path, span.get("spanId") if type(span) is dict else None)
                    if wanted is not None:
                        self.recover(span, here, resource)
                        continue
                    try:
                        trace = span["traceId"]
                        if not _is_id(trace):
                            raise ValueError("a trace id must be text")
                        record = self.record(span, here, resource)
                    except BAD_SPAN:
                        self.skip("bad_span", here)
                        continue
                    found = traces.get(trace)
                    if found is None:
                        traces[trace] = [record]
                    else:
                        found.append(record)

    def add_other(self, document: Any, where: str, path: str) -> None:
        """A JSON value without `resourceSpans`: console spans (alone or in a list), or no OTLP."""
        values = document if isinstance(document, list) and document else [document]
        if not all(otlp_console.is_console_span(value) for value in values):
            self.skip("not_otlp", where)
            return
        for value in values:
            self.add_document(otlp_console.to_document(value), where, path)

    def recover(self, span: Any, where: Any, resource: Resource) -> None:
        """On the second reading: the task data of a root span whose parent is missing."""
        assert self.wanted is not None
        try:
            key = (span["traceId"], span["spanId"])
            if key not in self.wanted or self.wanted[key] is not None:
                return
        except BAD_SPAN:
            return
        try:
            attributes = {item["key"]: item.get("value") for item in span.get("attributes") or ()}
            self.wanted[key] = Candidate(
                span, attributes, resource.attributes(), where, agent=False, rule=False
            )
        except BAD_SPAN:  # a malformed attribute value: a bad span, its trace without a task
            self.unreadable.append(where)

    def read_file(self, path: Path) -> None:
        name = str(path)
        with open_binary(path) as handle:
            head = handle.read(64)
            if head and otlp_protobuf.looks_like_protobuf(head, path.suffix):
                data = head + handle.read()
                if self.read_protobuf(
                    name, data, text_too=path.suffix.lower() not in PROTOBUF_SUFFIXES
                ):
                    return
            handle.seek(0)
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
        self.read_document(name, data)

    def read_document(self, name: str, data: bytes) -> None:
        """A whole JSON document; or values written one after another (console spans,
        pretty-printed OTLP documents), each read where it starts."""
        text = data.decode("utf-8", "replace")
        self.texts[name] = text
        try:
            document = loads(data)
        except DecodeError:
            values, broken = otlp_console.split_objects(text)
            for line, value in values:
                otlp = isinstance(value, dict) and "resourceSpans" in value
                self.add_document(value, None if otlp else f"{name}:{line}", name)
            if broken is not None:
                self.skip("bad_json", f"{name}:{broken}")
        else:
            self.add_document(document, None, name)

    def read_protobuf(self, name: str, data: bytes, *, text_too: bool) -> bool:
        """Whether the file was read as protobuf; not when it is no message but text and
        `text_too` (then it is read as JSON)."""
        try:
            document = otlp_protobuf.decode(data)
        except ImportError:
            raise UsageError(
                f"{display_path(Path(name))}: an OTLP protobuf file needs the package "
                "opentelemetry-proto (pip install opentelemetry-proto)"
            ) from None
        if document is None:
            if text_too and _is_text(data):
                return False
            self.skip("not_otlp", f"{name}:1")
            return True
        self.binary.add(name)
        self.add_document(document, None, name)
        return True

    def tasks(self) -> Iterator[Task]:
        """Each trace's tasks in turn, its span records let go of as its tasks are made (the
        traces whose roots must be read again come last)."""
        deferred: dict[str, list[str]] = {}
        for trace in list(self.traces):
            try:
                made = trace_tasks(trace, self.traces[trace], self.agent_keys, self.skip)
            except Recover as recover:
                deferred[trace] = recover.span_ids
                continue
            del self.traces[trace]
            yield from made
        if deferred:
            yield from self._recovered(deferred)

    def _recovered(self, deferred: dict[str, list[str]]) -> list[Task]:
        """Read the files again for the roots whose parents are missing, then their tasks."""
        self.wanted = {(trace, sid): None for trace, sids in deferred.items() for sid in sids}
        counted = self.skipped
        self.skipped = Skipped()  # the second reading's skips were counted by the first
        try:
            for path in self.paths:
                self.read_file(path)
        finally:
            self.skipped = counted
        wanted, self.wanted = self.wanted, None
        for where in self.unreadable:
            self.skip("bad_span", where)
        tasks: list[Task] = []
        for trace in deferred:
            records = []
            for sid, parent, kind, payload, candidate in self.traces[trace]:
                found = wanted.get((trace, sid)) if candidate is None else candidate
                if found is not None or (trace, sid) not in wanted:
                    records.append((sid, parent, kind, payload, found))
            try:  # a root that could not be read again is left out, its spans with it
                tasks += trace_tasks(trace, records, self.agent_keys, self.skip)
            except Recover:
                continue
        return tasks

    def seen(self) -> None:
        seen = self.skipped.seen
        seen.records += sum(self.kinds.values())
        seen.traces += len(self.traces)
        seen.kinds.update(self.kinds)


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


def _read_spans(paths: list[Path], settings: SourceSettings) -> _Reader:
    reader = _Reader(settings)
    for path in paths:
        reader.paths.append(Path(path))
        reader.read_file(Path(path))
    reader.seen()
    return reader


@gc_paused
def read(paths: list[Path], settings: SourceSettings) -> tuple[list[Task], Skipped]:
    """One Task per task span (see the module's docstring) in the OTLP JSON, JSON Lines,
    protobuf or console-exporter files."""
    reader = _read_spans(paths, settings)
    return list(reader.tasks()), reader.skipped


class OtelSource:
    """OpenTelemetry traces as a trace source (`monitor.sources.base.TraceSource`)."""

    name = NAME
    description = "OpenTelemetry (OTLP JSON/protobuf or console exporter)"
    detected_by = "OTLP `resourceSpans`/protobuf or console spans (`context`/`kind`)"

    def read(self, paths: list[Path], settings: SourceSettings) -> tuple[Iterable[Task], Skipped]:
        """The tasks as they are made, each trace's spans let go of once its tasks are out:
        the importer maps them as they come (the skips and what was seen are complete once
        the tasks have all been taken)."""
        reader = gc_paused(_read_spans)(paths, settings)
        return reader.tasks(), reader.skipped

    def detect(self, columns: Collection[str]) -> bool:
        if "resourceSpans" in columns or PROTOBUF_MARKER in columns:
            return True
        return CONSOLE_COLUMNS.issubset(columns)
