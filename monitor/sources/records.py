"""The shape shared by the OpenInference, LangSmith and Weave readers, which all read a tree of
records (spans, runs, calls) whose roots are tasks: records out of JSON Lines, JSON, CSV or
Parquet files with their `file:line` (or `file:row`), ids and a root's times checked the same way
in every reader, each node's root in the tree, and a paused cyclic GC. How one field's value is
read is `values`'s business.

A JSON document may be an array of records, one record, pretty-printed records written one after
another, or an API response that wraps its records in a list under one of `WRAPPERS` (LangSmith's
`{"runs": [...]}`, its SDK's `{"post": [...], "patch": [...]}`, Langfuse's `{"data": [...]}`):
the records come in the order of those lists. A CSV file is read with its header as field names
(dotted names such as `context.span_id` kept as they are) and empty cells left out.

Skipped here, by reason: `bad_json` (a line or document that is not JSON, or a value in it that
is not an object where a record should be), `empty_file` (a file without a single record); the
readers count `bad_id` / `missing_id` and a root's time problems with the reasons `id_problem`
and `task_times` give. A file that cannot be read at all (a directory, no permission, not
Parquet although named so) is a `UsageError` naming it.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

from monitor.sources.common import Skipped
from monitor.sources.values import DecodeError, loads, missing, parse_time
from playbook.core.errors import UsageError, display_path

PARQUET_SUFFIXES = {".parquet", ".pq"}
CSV_SUFFIXES = {".csv", ".tsv"}
# Keys under which API responses and SDK payloads list their records, in the order read.
SIDE_KEYS = frozenset(("meta", "cursors", "next", "next_cursor", "has_more", "total"))  # paging
WRAPPERS = ("post", "patch", "runs", "data", "calls", "observations", "spans", "items")
# Bulky columns no reader looks at, left unread in Parquet (as are null values).
DROP_COLUMNS = frozenset(("inputs", "outputs", "input", "output", "events", "serialized",
    "attachments", "child_runs"))  # fmt: skip  # exactly these names (not Langfuse's outputUsage)
DROP_PREFIXES = ("attributes.input.", "attributes.output.", "attributes.llm.input_messages",
    "attributes.llm.output_messages", "attributes.llm.prompts", "attributes.retrieval.",
    "attributes.embedding.", "attributes.reranker.")  # fmt: skip
_WALKING = object()  # resolve_roots: a node on the path being walked
P = ParamSpec("P")
R = TypeVar("R")


def bulky(column: str) -> bool:
    """Whether a Parquet column is one no reader looks at (inputs, outputs, messages)."""
    return column in DROP_COLUMNS or column.startswith(DROP_PREFIXES)


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
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        yield from _parquet_records(path, skipped)
        return
    if suffix in CSV_SUFFIXES:
        yield from _csv_records(path, skipped, delimiter="\t" if suffix == ".tsv" else ",")
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
            for record in unwrap(value):  # a one-line array or API response too
                if isinstance(record, dict):
                    yield where, record
                else:
                    skipped.add("bad_json", where)


def read_all(paths: Iterable[Path], skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    """`read_records` of each file in turn."""
    for path in paths:
        yield from read_records(path, skipped)


def _parquet_records(path: Path, skipped: Skipped) -> Iterator[tuple[str, dict[str, Any]]]:
    import duckdb  # here: the source registry, which the command line loads, stays light

    connection = duckdb.connect()
    source = "read_parquet(?, file_row_number = true)"
    try:
        connection.execute("SET enable_progress_bar = false")
        columns = connection.execute(f"DESCRIBE SELECT * FROM {source}", [str(path)])  # noqa: S608
        select = [  # times as epoch µs: far faster to fetch than datetimes
            f"epoch_us({name}::TIMESTAMPTZ) AS {name}"  # pandas' ns: no epoch_us of its own
            if kind.startswith("TIMESTAMPTZ_")
            else f"epoch_us({name}) AS {name}"
            if kind.startswith("TIMESTAMP")
            else name
            for column, kind, *_ in columns.fetchall()
            if not bulky(column)
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
        documents = [loads(data)]
    except DecodeError as exc:
        documents = _concatenated(data)
        if documents is None:
            skipped.add("bad_json", f"{path}:{getattr(exc, 'lineno', 1)}")
            return
    number = 0
    for document in documents:
        for record in unwrap(document):
            number += 1
            if isinstance(record, dict):
                yield f"{path}:record {number}", record
            else:
                skipped.add("bad_json", f"{path}:record {number}")


def unwrap(document: Any) -> list[Any]:
    """The records of one JSON document: an array's items, the lists under `WRAPPERS` keys of a
    wrapping object (one with no other list-free purpose: every value a list, or a `meta`/
    `cursors` side object), else the document itself as one record."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and document and any(key in document for key in WRAPPERS):
        lists = {key: value for key, value in document.items() if isinstance(value, list)}
        side = set(document) - set(lists) <= SIDE_KEYS
        if side and set(lists) <= set(WRAPPERS):
            return [record for key in WRAPPERS for record in lists.get(key, ())]
    return [document]


def _concatenated(data: bytes) -> list[Any] | None:
    """Pretty-printed JSON values written one after another (the OTel SDK console exporter,
    `jq` without `-c`); None when the text is not such a sequence."""
    import json

    try:
        text_ = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    decoder, values, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text_) and text_[at] in " \t\r\n":
            at += 1
        if at == len(text_):
            return values or None
        try:
            value, at = decoder.raw_decode(text_, at)
        except ValueError:
            return None
        values.append(value)


def _csv_records(
    path: Path, skipped: Skipped, *, delimiter: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each data row of a CSV file as `{header: cell}` without its empty cells, at `file:line`
    (the line its row starts on: a quoted cell may span lines)."""
    import csv

    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise UsageError(f"{display_path(path)}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        csv.field_size_limit(1 << 30)
        try:
            header = [name.strip() for name in next(reader, [])]
            line = reader.line_num + 1
            rows = 0
            for row in reader:
                where, line = f"{path}:{line}", reader.line_num + 1
                if not any(row):
                    continue
                rows += 1
                if len(row) > len(header):
                    skipped.add("bad_csv_row", where)
                    continue
                cells = zip(header, row, strict=False)  # a short row: its last cells empty
                yield where, {key: cell for key, cell in cells if cell != ""}
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UsageError(
                f"{display_path(path)}:{reader.line_num}: not a readable CSV file ({exc})"
            ) from None
    if not header or not rows:
        skipped.add("empty_file", f"{path}:1")


def id_problem(required: Sequence[str | None], optional: Sequence[str | None] = ()) -> str | None:
    """Why a record's ids (as `values.read_id` reads them: None when malformed, "" when absent)
    leave it out: `bad_id` when any is malformed, `missing_id` when a required one is absent;
    None when they will do."""
    if None in required or None in optional:
        return "bad_id"
    return None if all(required) else "missing_id"


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
