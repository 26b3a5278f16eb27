"""OTLP protobuf files for the OpenTelemetry reader: one binary `ExportTraceServiceRequest` (what
an OTLP/HTTP exporter posts, what a collector's file exporter writes with `encoding: proto`) or
`TracesData` (the same fields, the same bytes) per file, turned into the shape of OTLP JSON
(`{"resourceSpans": [...]}`, camelCase keys, AnyValues as `{"stringValue": ...}`) so that one
reader reads both. Ids, bytes in protobuf, become hex; 64-bit times stay integers.

The protobuf module (`opentelemetry-proto`) is imported only here, and only when such a file is
read: the command line stays light.
"""

from __future__ import annotations

import base64
from typing import Any

FIRST_BYTE = 0x0A  # field 1 (resource_spans), length-delimited: how every such message starts
SUFFIXES = (".pb", ".binpb", ".protobuf")


def looks_like_protobuf(head: bytes, suffix: str) -> bool:
    """Whether a file that starts with `head` should be read as protobuf: its suffix says so, or
    it starts as a traces message does and not as JSON (which may start with a newline too)."""
    if suffix.lower() in SUFFIXES:
        return True
    return head[:1] == bytes([FIRST_BYTE]) and not head.lstrip(b" \t\r\n").startswith((b"{", b"["))


def decode(data: bytes) -> dict[str, Any] | None:
    """The message as an OTLP JSON document; None when the bytes are not one."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    try:
        message = ExportTraceServiceRequest.FromString(data)
    except (DecodeError, ValueError, RecursionError):
        return None
    if not message.resource_spans:
        return None
    return {"resourceSpans": [_resource_spans(part) for part in message.resource_spans]}


def _resource_spans(part: Any) -> dict[str, Any]:
    return {
        "resource": {"attributes": _attributes(part.resource.attributes)},
        "scopeSpans": [
            {"scope": {"name": scope.scope.name}, "spans": [_span(span) for span in scope.spans]}
            for scope in part.scope_spans
        ],
    }


def _span(span: Any) -> dict[str, Any]:
    return {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "parentSpanId": span.parent_span_id.hex(),
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": span.start_time_unix_nano,
        "endTimeUnixNano": span.end_time_unix_nano,
        "attributes": _attributes(span.attributes),
        "status": {"code": span.status.code},
    }


def _attributes(items: Any) -> list[dict[str, Any]]:
    return [{"key": item.key, "value": _any_value(item.value)} for item in items]


def _any_value(value: Any) -> dict[str, Any]:
    """An AnyValue message as OTLP JSON writes it (the reader bounds how deep it may nest;
    protobuf's own parser bounds the recursion here)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return {"stringValue": value.string_value}
    if which == "int_value":
        return {"intValue": value.int_value}
    if which == "bool_value":
        return {"boolValue": value.bool_value}
    if which == "double_value":
        return {"doubleValue": value.double_value}
    if which == "array_value":
        return {"arrayValue": {"values": [_any_value(item) for item in value.array_value.values]}}
    if which == "kvlist_value":
        return {"kvlistValue": {"values": _attributes(value.kvlist_value.values)}}
    if which == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode("ascii")}
    return {}
