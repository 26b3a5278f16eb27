"""The records of one Phoenix export file, whichever way pandas or Phoenix wrote it, for the
OpenInference reader (`openinference`).

Beyond what `records.read_records` reads (JSON Lines, JSON arrays, CSV, Parquet), a JSON document
may be a DataFrame written by `to_json` in any `orient`: `records` (an array), `index`
(`{"<span id>": {column: value}}`), `columns`, pandas' default (`{column: {"<span id>": value}}`),
`split` (`{"columns": [...], "index": [...], "data": [[...]]}`) or `table`
(`{"schema": {...}, "data": [{...}]}`); or a Phoenix REST response (`{"data": [...],
"next_cursor": ...}`). The DataFrame's index (the span id of `get_spans_dataframe` and
`get_span_annotations_dataframe`) comes back as the row's `context.span_id` (a span) or
`span_id` (an annotation) when the row has neither. Each row is at `file:line, row N`.

A Parquet file whose times pandas wrote as `timestamp[ns, tz=UTC]` (its default) is read here
with those times cast to microseconds, which `records` cannot yet do. `eval_name` is the name a
legacy Phoenix `SpanEvaluations` file gives its rows (`evaluations-<id>.parquet` says it in its
metadata), else the file's name without its suffix (`hallucination.csv`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from monitor.sources.common import Skipped
from monitor.sources.records import PARQUET_SUFFIXES, read_records

# Column names only a Phoenix spans or annotations DataFrame has: they tell `{column: {id: value}}`
# (orient="columns") from `{id: {column: value}}` (orient="index").
KNOWN_COLUMNS = frozenset(
    {
        "context.span_id", "context.trace_id", "span_kind", "parent_id", "start_time",
        "end_time", "status_code", "annotation_name", "annotator_kind", "result.score",
        "result.label", "score", "label",
    }
)  # fmt: skip
_SPAN_ID_KEYS = ("context.span_id", "span_id")


def file_records(path: Path, skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(where, record)` for each row of the file, DataFrame orientations unpacked."""
    for where, record in read_records(path, skipped):
        rows = dataframe_rows(record)
        if rows is None:
            yield where, record
            continue
        for number, row in enumerate(rows, 1):
            if isinstance(row, dict):
                yield f"{where}, row {number}", row
            else:
                skipped.add("bad_json", f"{where}, row {number}")


def dataframe_rows(record: dict[str, Any]) -> list[Any] | None:
    """The rows of a DataFrame written by `to_json` in an orientation other than `records`; None
    when `record` is one row itself."""
    data = record.get("data")
    if isinstance(data, list):
        keys = record.keys()
        columns = record.get("columns")
        if isinstance(columns, list) and keys <= {"columns", "index", "data"}:
            return _split_rows(columns, record.get("index"), data)
        schema = record.get("schema")
        if isinstance(schema, dict) and keys <= {"schema", "data"}:
            return _table_rows(schema, data)
        return None  # a REST page ({"data", "next_cursor"}) is unwrapped by records.unwrap
    for value in record.values():
        if type(value) is not dict:  # a row (the usual case: its first value tells)
            return None
    if not record:
        return None
    if KNOWN_COLUMNS.intersection(record):  # {column: {id: value}}
        ids = list(dict.fromkeys(key for column in record.values() for key in column))
        return [
            _with_id({name: column.get(key) for name, column in record.items()}, key) for key in ids
        ]
    first = next(iter(record.values()))
    if KNOWN_COLUMNS.intersection(first):  # {id: {column: value}}
        return [_with_id(dict(row), key) for key, row in record.items()]
    return None


def _with_id(row: dict[str, Any], index: Any) -> dict[str, Any]:
    """The row with its DataFrame index as its span id, unless it has one."""
    if isinstance(index, str) and index and not any(key in row for key in _SPAN_ID_KEYS):
        spanlike = "span_kind" in row or "context.trace_id" in row
        row["context.span_id" if spanlike else "span_id"] = index
    return row


def _split_rows(columns: list[Any], index: Any, data: list[Any]) -> list[Any]:
    names = [str(name) for name in columns]
    index = index if isinstance(index, list) and len(index) == len(data) else [None] * len(data)
    return [
        _with_id(dict(zip(names, row, strict=True)), key)
        if isinstance(row, list) and len(row) == len(names)
        else None
        for row, key in zip(data, index, strict=True)
    ]


def _table_rows(schema: dict[str, Any], data: list[Any]) -> list[Any]:
    """orient="table" rows hold their index under its name, or `index` when it had none."""
    if schema.get("primaryKey") != ["index"]:
        return data
    return [
        _with_id({key: value for key, value in row.items() if key != "index"}, row.get("index"))
        if isinstance(row, dict)
        else row
        for row in data
    ]


def eval_name(path: Path) -> str:
    """What a legacy `SpanEvaluations` file (rows without an annotation name) evaluated."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import duckdb

        connection = duckdb.connect()
        try:
            found = connection.execute(
                "SELECT value FROM parquet_kv_metadata(?) WHERE key = 'arize'", [str(path)]
            ).fetchone()
            metadata = json.loads(found[0]) if found else {}
        except (duckdb.Error, ValueError):
            metadata = {}
        finally:
            connection.close()
        name = metadata.get("eval_name") if isinstance(metadata, dict) else None
        if isinstance(name, str) and name:
            return name
    return path.stem
