"""OTLP JSON's AnyValue (`{"stringValue": ...}`, `{"intValue": "42"}`, arrays, key-value lists)
as plain Python values, for the OpenTelemetry reader (protobuf and console-exporter spans are
turned into this shape first). A malformed value is a ValueError, which the reader counts as a
`bad_span`: an `intValue` that is no 64-bit integer, an array or key-value list whose `values` is
no list, a key-value item without a text `key`, nesting deeper than 32.
"""

from __future__ import annotations

from typing import Any

from monitor.sources.values import flatten as flatten_objects

INT64 = (-(2**63), 2**63 - 1)
MAX_DEPTH = 32  # arrays and key-value lists nested deeper make a malformed value


def value_of(any_value: Any, depth: int = 0) -> Any:
    """An OTLP AnyValue as a plain Python value (arrays as lists, key-value lists as dicts);
    ValueError when it is malformed (see the module's docstring)."""
    if not isinstance(any_value, dict):
        return any_value
    if depth > MAX_DEPTH:
        raise ValueError("an AnyValue nested too deeply")
    for key, found in any_value.items():
        if key == "stringValue" or key == "boolValue" or key == "doubleValue":
            return found
        if key == "intValue":
            return _int64(found)
        if key == "arrayValue":
            return [value_of(item, depth + 1) for item in _values(found)]
        if key == "kvlistValue":
            return {_key(item): value_of(item.get("value"), depth + 1) for item in _values(found)}
        if key == "bytesValue":
            return found
    return None


def _int64(found: Any) -> int:
    if isinstance(found, bool) or not isinstance(found, int | float | str):
        raise ValueError("an intValue that is not an integer")
    try:
        number = int(found)
    except OverflowError:
        raise ValueError("an intValue that is not an integer") from None
    if not INT64[0] <= number <= INT64[1]:
        raise ValueError("an intValue beyond 64 bits")
    return number


def _values(container: Any) -> list[Any]:
    """The `values` of an arrayValue or kvlistValue."""
    values = container.get("values") if isinstance(container, dict) else container
    if values is None:
        return []
    if not isinstance(values, list):
        raise ValueError('expected {"values": [...]}')
    return values


def _key(item: Any) -> str:
    """The key of a key-value item (an attribute, or an entry of a kvlistValue)."""
    key = item.get("key") if isinstance(item, dict) else None
    if not isinstance(key, str):
        raise ValueError("a key-value item without a text key")
    return key


def flatten(attributes: dict[str, Any]) -> dict[str, Any]:
    """Raw attributes (key -> AnyValue) as plain values; key-value lists become dotted keys.
    ValueError on a malformed value or a key that is not text."""
    if not all(isinstance(key, str) for key in attributes):
        raise ValueError("an attribute key that is not text")
    return flatten_objects({key: value_of(raw) for key, raw in attributes.items()})


def plain_value(any_value: Any) -> Any:
    """`value_of`, with the common case first: a string attribute's value."""
    if any_value is None:
        return None
    found = any_value.get("stringValue") if type(any_value) is dict else None
    return found if found is not None else value_of(any_value)
