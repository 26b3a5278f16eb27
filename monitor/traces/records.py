"""Record reading shared by the OpenInference, LangSmith and Weave readers: JSON Lines or Parquet
records with their `file:line` (or `file:row`), lenient value parsing, and a paused cyclic GC."""

from __future__ import annotations

import functools
import gc
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import duckdb

from monitor.traces.common import Skipped

try:  # about twice as fast as the standard library on large exports
    import orjson

    loads: Any = orjson.loads
    DecodeError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - where orjson is not installed
    loads = json.loads
    DecodeError = json.JSONDecodeError

PARQUET_SUFFIXES = {".parquet", ".pq"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bulky columns no reader looks at, left unread in Parquet (as are null values).
DROP_COLUMNS = ("inputs", "outputs", "output", "events", "serialized", "attachments",
    "child_runs", "attributes.input.", "attributes.output.", "attributes.llm.input_messages",
    "attributes.llm.output_messages", "attributes.llm.prompts", "attributes.retrieval.",
    "attributes.embedding.", "attributes.reranker.")  # fmt: skip
_TRUE = {"true", "yes", "y", "1", "pass", "passed", "correct"}
_FALSE = {"false", "no", "n", "0", "fail", "failed", "incorrect"}
P = ParamSpec("P")
R = TypeVar("R")


# --- shared by the readers ----------------------------------------------------------------------


def read_records(path: Path, skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(file:line, record)` for each record of a JSON Lines or Parquet file (`file:row` for
    Parquet, counted from 1); bad JSON lines are skipped and reported."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        connection = duckdb.connect()
        connection.execute("SET enable_progress_bar = false")
        source = "read_parquet(?, file_row_number = true)"
        try:
            columns = connection.execute(f"DESCRIBE SELECT * FROM {source}", [str(path)])  # noqa: S608
            select = [  # times as epoch µs: far faster to fetch than datetimes
                f"epoch_us({name}) AS {name}" if kind.startswith("TIMESTAMP") else name
                for column, kind, *_ in columns.fetchall()
                if not column.startswith(DROP_COLUMNS)
                for name in ['"' + column.replace('"', '""') + '"']
            ]
            query = f"SELECT {', '.join(select)} FROM {source}"  # noqa: S608 - quoted names
            cursor = connection.execute(query, [str(path)])
        except duckdb.Error as exc:
            raise ValueError(f"{path}: cannot read Parquet: {exc}") from exc
        names = [column[0] for column in cursor.description]
        while batch := cursor.fetchmany(50_000):
            for row in batch:
                record = {
                    key: value for key, value in zip(names, row, strict=True) if value is not None
                }
                yield f"{path}:{record.pop('file_row_number') + 1}", record
        connection.close()
        return
    with path.open("rb") as lines:
        first = next((line for line in lines if line.strip()), b"")
        lines.seek(0)
        if first.lstrip().startswith(b"["):  # a JSON array of records, not JSON Lines
            yield from _json_array(path, lines.read(), skipped)
            return
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = loads(line)
            except DecodeError:
                skipped.add("bad_json", where)
                continue
            if not isinstance(record, dict):
                skipped.add("bad_json", where)
                continue
            yield where, record


def _json_array(path: Path, data: bytes, skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        records = loads(data)
    except DecodeError as exc:
        skipped.add("bad_json", f"{path}:{getattr(exc, 'lineno', 1)}")
        return
    for number, record in enumerate(records if isinstance(records, list) else [records], 1):
        if isinstance(record, dict):
            yield f"{path}:record {number}", record
        else:
            skipped.add("bad_json", f"{path}:record {number}")


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def parse_time(value: Any) -> datetime | None:
    """A timezone-aware datetime from a datetime, an ISO 8601 string or epoch seconds, ms, µs or
    ns (pandas writes epoch milliseconds to JSON); naive times are taken as UTC."""
    if missing(value):
        return None
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, int) and not isinstance(value, bool):
            digits = len(str(abs(value)))  # s, ms, µs or ns since the epoch
            scale = 1000 ** min(max((digits - 10) // 3, 0), 3)
            return EPOCH + timedelta(microseconds=value * 1_000_000 // scale)
        elif isinstance(value, float):
            while abs(value) > 1e11:  # ms, µs or ns since the epoch
                value /= 1000
            moment = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_int(value: Any) -> int:
    try:
        return 0 if missing(value) else int(value)
    except (TypeError, ValueError):
        return 0


def as_float(value: Any) -> float | None:
    try:
        number = None if missing(value) or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None
    return None if number is None or math.isnan(number) else number


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
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def json_list(value: Any) -> list[Any]:
    """A list, also from a JSON-encoded string; a lone string is a list of one."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.lstrip().startswith("[") else [value]
        except ValueError:
            return [value]
    return list(value) if isinstance(value, list | tuple) else []


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    if not prefix and not any(type(value) is dict for value in record.values()):
        return record  # already flat (the usual dataframe export): no copy
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


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
