"""Record reading shared by the OpenInference, LangSmith and Weave readers: JSON Lines or Parquet
records with their `file:line` (or `file:row`), lenient value parsing, ids and task times checked
the same way in every reader, each node's root in a span tree, and a paused cyclic GC.

Skipped here, by reason: `bad_json` (a line or document that is not JSON, or a value in it that
is not an object where a record should be), `empty_file` (a file without a single record). A
file that cannot be read at all (a directory, no permission, not Parquet although named so) is
a `UsageError` naming it.
"""

from __future__ import annotations

import functools
import gc
import json
import math
import uuid
from collections.abc import Callable, Container, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

import duckdb

from monitor.sources.common import Skipped
from playbook.core.errors import UsageError, display_path

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

PARQUET_SUFFIXES = {".parquet", ".pq"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bulky columns no reader looks at, left unread in Parquet (as are null values).
DROP_COLUMNS = ("inputs", "outputs", "output", "events", "serialized", "attachments",
    "child_runs", "attributes.input.", "attributes.output.", "attributes.llm.input_messages",
    "attributes.llm.output_messages", "attributes.llm.prompts", "attributes.retrieval.",
    "attributes.embedding.", "attributes.reranker.")  # fmt: skip
_TRUE = {"true", "yes", "y", "1", "pass", "passed", "correct"}
_FALSE = {"false", "no", "n", "0", "fail", "failed", "incorrect"}
INT64 = 2**63 - 1  # token counts beyond it are not counts (and would overflow the pricing)
_WALKING = object()  # resolve_roots: a node on the path being walked
P = ParamSpec("P")
R = TypeVar("R")


# --- shared by the readers ----------------------------------------------------------------------


def open_binary(path: Path) -> IO[bytes]:
    """`path` opened for reading; one that cannot be (a directory, no permission) is a
    UsageError naming it."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise UsageError(f"{display_path(path)}: cannot read: {exc.strerror or exc}") from None


def read_records(path: Path, skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(file:line, record)` for each record of a JSON Lines, JSON or Parquet file (`file:row`
    for Parquet, counted from 1; `file:record N` in a pretty-printed JSON array). Lines that are
    not JSON objects (or one-line arrays of them) and files without records are reported."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        yield from _parquet_records(path, skipped)
        return
    with open_binary(path) as lines:
        first = next((line for line in lines if line.strip()), b"")
        if not first:
            skipped.add("empty_file", f"{path}:1")
            return
        lines.seek(0)
        if _opens_document(first):
            yield from _json_document(path, lines.read(), skipped)
            return
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                value = loads(line)
            except DecodeError:
                skipped.add("bad_json", where)
                continue
            for record in value if isinstance(value, list) else (value,):  # a one-line array
                if isinstance(record, dict):
                    yield where, record
                else:
                    skipped.add("bad_json", where)


def _parquet_records(path: Path, skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    connection = duckdb.connect()
    source = "read_parquet(?, file_row_number = true)"
    try:
        connection.execute("SET enable_progress_bar = false")
        columns = connection.execute(f"DESCRIBE SELECT * FROM {source}", [str(path)])  # noqa: S608
        select = [  # times as epoch µs: far faster to fetch than datetimes
            f"epoch_us({name}) AS {name}" if kind.startswith("TIMESTAMP") else name
            for column, kind, *_ in columns.fetchall()
            if not column.startswith(DROP_COLUMNS)
            for name in ['"' + column.replace('"', '""') + '"']
        ]
        query = f"SELECT {', '.join(select)} FROM {source}"  # noqa: S608 - quoted names
        cursor = connection.execute(query, [str(path)])
        names = [column[0] for column in cursor.description]
        rows = 0
        while batch := cursor.fetchmany(50_000):
            rows += len(batch)
            for row in batch:
                record = {
                    key: value for key, value in zip(names, row, strict=True) if value is not None
                }
                yield f"{path}:{record.pop('file_row_number') + 1}", record
        if not rows:
            skipped.add("empty_file", f"{path}:1")
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{display_path(path)}: not a readable Parquet file ({reason})") from None
    finally:
        connection.close()


def _opens_document(first: bytes) -> bool:
    """Whether the first line opens a pretty-printed JSON document or array rather than being
    one whole JSON value (JSON Lines; a broken line there is only that line's problem)."""
    stripped = first.strip()
    if not stripped.startswith((b"[", b"{")):
        return False
    try:
        loads(first)
    except DecodeError:
        return stripped == b"{" or stripped.startswith(b"[")
    return False


def _json_document(
    path: Path, data: bytes, skipped: Skipped
) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        document = loads(data)
    except DecodeError as exc:
        skipped.add("bad_json", f"{path}:{getattr(exc, 'lineno', 1)}")
        return
    for number, record in enumerate(document if isinstance(document, list) else [document], 1):
        if isinstance(record, dict):
            yield f"{path}:record {number}", record
        else:
            skipped.add("bad_json", f"{path}:record {number}")


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


def task_times(start: Any, end: Any) -> tuple[datetime, datetime] | str:
    """A root's start and end, or the reason it is skipped: `missing_timestamp` (either absent),
    `bad_timestamp` (not a time, or outside years 1 to 9999), `end_before_start`."""
    if missing(start) or missing(end):
        return "missing_timestamp"
    begin, finish = parse_time(start), parse_time(end)
    if begin is None or finish is None:
        return "bad_timestamp"
    if finish < begin:
        return "end_before_start"
    return begin, finish


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


def resolve_roots(parents: Mapping[str, str], roots: Container[str]) -> dict[str, str | None]:
    """Each node's root: the first of itself and its ancestors (following `parents`, node ->
    parent id) that is one of `roots`; None when the chain ends elsewhere (a parent not in the
    export) or loops. Linear: each node is walked once, then its root remembered."""
    resolved: dict[str, Any] = {}
    for node in parents:
        current, path = node, []
        while current not in resolved:
            if current in roots:
                resolved[current] = current
                break
            parent = parents.get(current)
            if parent is None:
                resolved[current] = None
                break
            resolved[current] = _WALKING
            path.append(current)
            current = parent
        found = resolved[current]
        if found is _WALKING:  # a loop without a root
            found = None
        for walked in path:
            resolved[walked] = found
    return resolved


def gc_paused(read: Callable[P, R]) -> Callable[P, R]:
    """Run a reader with the cyclic garbage collector paused: it otherwise rescans the growing
    heap of parsed records again and again (more than halves the time on large exports)."""

    @functools.wraps(read)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return read(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused
