"""Lenient reading of one field's value, as every reader of trace exports needs it: ids, names,
times, counts, scores and labels, JSON-encoded objects and lists, nested objects as dotted keys.
A value of the wrong type reads as missing (None, 0 or empty) rather than stopping the import;
only ids tell a malformed value (None) from a missing one ("").
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

try:  # about twice as fast as the standard library on large exports
    import orjson

    loads: Any = orjson.loads
    DecodeError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - where orjson is not installed

    def loads(data: bytes | str) -> Any:
        try:
            return json.loads(data)
        except RecursionError:  # orjson stops at a depth of 1024 instead
            raise ValueError("nested too deeply") from None

    DecodeError = ValueError  # JSONDecodeError, and UnicodeDecodeError on invalid UTF-8

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRUE = {"true", "yes", "y", "1", "pass", "passed", "correct"}
_FALSE = {"false", "no", "n", "0", "fail", "failed", "incorrect"}
INT64 = 2**63 - 1  # token counts beyond it are not counts (and would overflow the pricing)


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def text(value: Any) -> str | None:
    """A name, tag, kind or model as text: strings as they are, numbers and other scalars
    written out; None when missing, and for lists and objects, which no name is (writing one
    out could recurse as deep as it nests)."""
    if type(value) is str:
        return value or None
    if missing(value) or isinstance(value, list | tuple | dict | set):
        return None
    try:
        return str(value)
    except ValueError:  # an integer past Python's 4,300-digit conversion limit
        return None


def read_id(value: Any) -> str | None:
    """An id as text, "" when missing: a string, an integer (or a float without a fraction) or
    a UUID; None for anything else (a list, an object, a fraction, text that is not UTF-8)."""
    if type(value) is str:
        return value if value.isascii() or _utf8(value) else None
    if missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**128:
        return str(value)
    if isinstance(value, str | uuid.UUID):
        return read_id(str(value))
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, which the standard json module lets through
        return False
    return True


def parse_time(value: Any) -> datetime | None:
    """A timezone-aware datetime from a datetime, an ISO 8601 string or epoch seconds, ms, µs or
    ns (pandas writes epoch milliseconds to JSON); naive times are taken as UTC. None for
    anything else, and for times outside years 1 to 9999 in UTC."""
    if missing(value):
        return None
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 10**22:  # not even nanoseconds within year 9999
                return None
            digits = len(str(abs(value)))  # s, ms, µs or ns since the epoch
            scale = 1000 ** min(max((digits - 10) // 3, 0), 3)
            moment = EPOCH + timedelta(microseconds=value * 1_000_000 // scale)
        elif isinstance(value, float | Decimal):
            seconds = float(value)
            for _ in range(3):  # ms, µs or ns since the epoch
                if abs(seconds) <= 1e11:
                    break
                seconds /= 1000
            moment = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
        else:
            return None
        if not moment.tzinfo:
            moment = moment.replace(tzinfo=UTC)
        elif moment.year in (1, 9999):
            moment.astimezone(UTC)  # raises when its offset takes it out of range
    except (ValueError, OverflowError, OSError, ArithmeticError):
        return None
    return moment


def as_int(value: Any) -> int:
    """A count: an integer, or a number or numeric text read as one; 0 for anything else
    (missing, not a number, not finite, beyond 64 bits)."""
    try:
        number = 0 if missing(value) else int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return number if -INT64 <= number <= INT64 else 0


def as_float(value: Any) -> float | None:
    """A finite number, or None (missing, not a number, a bool, infinite)."""
    try:
        number = None if missing(value) or isinstance(value, bool) else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number is not None and math.isfinite(number) else None


def feedback_value(score: Any, label: Any = None) -> float | bool | None:
    """A score when there is one, else a label read as a yes/no or a number (other labels: None)."""
    number = as_float(score)
    if number is not None:
        return number
    if isinstance(score, bool):
        return score
    if isinstance(label, bool):
        return label
    if isinstance(label, str):
        word = label.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    return as_float(label)


def combined_feedback(values: list[float | bool]) -> float | bool:
    """One feedback key given several times (annotators, scorers): the mean of the scores, else
    the last yes/no."""
    numbers = [value for value in values if not isinstance(value, bool)]
    return sum(numbers) / len(numbers) if numbers else values[-1]


def json_object(value: Any) -> dict[str, Any]:
    """A dict, also from a JSON-encoded string (bulk exports encode nested fields so)."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = loads(value)
        except DecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def json_list(value: Any) -> list[Any]:
    """A list, also from a JSON-encoded string; a lone string is a list of one."""
    if isinstance(value, str):
        try:
            value = loads(value) if value.lstrip().startswith("[") else [value]
        except DecodeError:
            return [value]
    return list(value) if isinstance(value, list | tuple) else []


def tag_set(value: Any) -> set[str]:
    """Tags from a list (also JSON-encoded, or a lone tag) as text; a tag that is no name is left
    out."""
    return {tag for tag in map(text, json_list(value)) if tag}


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (`{"a": {"b": 1}}` -> `{"a.b": 1}`), however deep: walked
    with a stack of its own, never by recursion."""
    if not prefix and not any(type(value) is dict for value in record.values()):
        return record  # already flat (the usual dataframe export): no copy
    flat: dict[str, Any] = {}
    stack = [(prefix, iter(record.items()))]
    while stack:
        outer, items = stack[-1]
        for key, value in items:
            if isinstance(value, dict) and value:
                stack.append((f"{outer}{key}.", iter(value.items())))
                break
            flat[f"{outer}{key}"] = value
        else:
            stack.pop()
    return flat
