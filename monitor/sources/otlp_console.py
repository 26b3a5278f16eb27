"""The OpenTelemetry SDK's `ConsoleSpanExporter` output for the OpenTelemetry reader: each span's
`to_json()`, pretty-printed objects written one after another (or one per line, or a JSON array
of them), with `name`, `context.trace_id`/`span_id` ("0x..." hex), `kind` ("SpanKind.CLIENT"),
`parent_id` ("0x..." or null), `start_time`/`end_time` (ISO 8601), `status.status_code` ("OK",
"ERROR", "UNSET"), `attributes` and `resource.attributes` (plain JSON values). Each span becomes
a one-span OTLP JSON document, so that one reader reads both.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WHITESPACE = " \t\r\n"
ERROR_STATUS = "ERROR"
MAX_DEPTH = 40  # deeper values stay as they are (the reader counts the span as a bad span)
CONSOLE_PATTERNS = (r'"context":\s*\{', r'"trace_id":\s*"0x', r'"kind":\s*"SpanKind\.')


def split_objects(text: str) -> tuple[list[tuple[int, Any]], int | None]:
    """JSON values written one after another, each with the line it starts on; and the line
    where the text stops being such values (None when it never does)."""
    decoder = json.JSONDecoder()
    values: list[tuple[int, Any]] = []
    at, line, counted = 0, 1, 0
    while True:
        while at < len(text) and text[at] in WHITESPACE:
            at += 1
        if at == len(text):
            return values, None
        line += text.count("\n", counted, at)
        counted = at
        try:
            value, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            return values, exc.lineno
        except (ValueError, RecursionError):
            return values, line
        values.append((line, value))


def looks_like_console(head: bytes) -> bool:
    """Whether a file that starts with `head` holds console-exporter spans (for format sniffing:
    the first span may not be whole in `head`)."""
    text = head.decode("utf-8", "replace")
    return text.lstrip(WHITESPACE + "[").startswith("{") and all(
        re.search(pattern, text) for pattern in CONSOLE_PATTERNS
    )


def is_console_span(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("context"), dict)


def to_document(span: dict[str, Any]) -> dict[str, Any]:
    """A console span as a one-span OTLP JSON document; a value of the wrong type is passed on
    as it is, for the reader to count the span as bad."""
    context = span["context"]
    status = span.get("status")
    code = status.get("status_code") if isinstance(status, dict) else None
    resource = span.get("resource")
    resource_attributes = resource.get("attributes") if isinstance(resource, dict) else None
    converted = {
        "traceId": _id(context.get("trace_id")),
        "spanId": _id(context.get("span_id")),
        "parentSpanId": _id(span.get("parent_id")) or "",
        "name": span.get("name"),
        "kind": span.get("kind"),
        "startTimeUnixNano": _nanos(span.get("start_time")),
        "endTimeUnixNano": _nanos(span.get("end_time")),
        "attributes": _attributes(span.get("attributes")),
        "status": {"code": 2 if code == ERROR_STATUS else 0},
    }
    resource_part = {"attributes": _attributes(resource_attributes) or []}
    return {"resourceSpans": [{"resource": resource_part, "scopeSpans": [{"spans": [converted]}]}]}


def _id(value: Any) -> Any:
    """Ids written "0x...", without the prefix."""
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        return value[2:]
    return value


def _nanos(value: Any) -> Any:
    """An ISO 8601 time as nanoseconds since the epoch; anything else as it is (the reader says
    what is wrong with it)."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        delta = moment - EPOCH
    except OverflowError:
        return value
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _attributes(attributes: Any) -> Any:
    """Plain attributes (`{key: value}`) as OTLP key-value items; anything else as it is."""
    if not isinstance(attributes, dict):
        return attributes
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


def _any_value(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        return {"arrayValue": {"values": "nested too deeply"}}  # malformed: a bad span
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any_value(item, depth + 1) for item in value]}}
    if isinstance(value, dict):
        items = [{"key": k, "value": _any_value(v, depth + 1)} for k, v in value.items()]
        return {"kvlistValue": {"values": items}}
    return {}
