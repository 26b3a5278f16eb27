"""Where events come from, and how each of their columns is read whatever its type.

A source is a CSV, JSON (Lines or an array) or Parquet file or glob, or a table of a DuckDB
database (`events.duckdb`, table `events`, or `events.duckdb::TABLE`). Sources are read as they
really are, not as the contract hopes: a JSON value may be a string in one row and an object in
the next, a CSV line may have a column too many. So:

- CSV is read as text (`all_varchar`), with the dialect pinned (`,`, or tab for `.tsv`) and
  DuckDB's rejects table on: a line that does not parse is a bad row (`bad_csv`), not a failed run.
- JSON is read one object per row as raw JSON (`read_json_objects`), every field taken out with
  one extraction of all the paths: a line that is not a JSON object is a bad row (`bad_json`),
  and a field's JSON type is known, so an `agent` that is a number or any field that is an
  object is caught (`bad_value`).
- Columnar sources keep their types; a nested column (struct, list, map) counts as `bad_value`
  wherever it holds a value.

A text source (CSV, JSON) is read once: its typed events
(`monitor.engine.event_checks.typed_events`) are stored in a table (`RawEvents.store`), so the
passes that follow scan typed, dictionary-compressed columns instead of converting text again;
storing the text instead cost about twice as much in all.

`open_duckdb_source` turns all of them into one uniform raw relation for the checks
(`monitor.engine.event_checks`): typed columns kept as they are, text columns as text, and for JSON
per column its value as text plus `<name>__nested`, with `_agent_not_text` and `_bad_json`; every
source adds `_file` and `_row`, where a row came from (file and 1-based data row).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import gzip
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from monitor.engine.raw import RawEvents, require_columns
from monitor.engine.sql import identifier, literal
from playbook.core.errors import UsageError

JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
CSV_DELIMITERS = {".csv": ",", ".tsv": "\t"}
GZIP = ".gz"
EXCEL_SEPARATOR = re.compile(r"sep=(.)")  # Excel's first line naming the delimiter: sep=;
REJECTS_TABLE = "govkit_rejects"
REJECTS_SCANS = "govkit_rejects_scans"
_NESTED_JSON = "('OBJECT', 'ARRAY')"


@dataclass(frozen=True)
class Source:
    """A DuckDB relation over the events, and how to number and describe its rows.

    Columnar sources (Parquet, a DuckDB table) are cheap to scan again and are read through a
    view; text sources (CSV, JSON: one relation per file in `parts`) are read once, by
    `RawEvents.store`, which keeps their typed events (text converted once, each file's rows
    numbered as read).
    """

    relation: str
    description: str
    kind: str  # "csv", "json", "parquet" or "duckdb"
    attach: str | None = None
    row_number: str | None = None  # expression for the 1-based row within its file
    file_name: str = "filename"
    parts: tuple[str, ...] = ()  # text sources: one relation per file, numbered on its own


@dataclass(frozen=True)
class SourceColumn:
    """One column of a source: its name and DuckDB type (`JSON` for a field of a JSON object)."""

    name: str
    type: str


def resolve_source(spec: str) -> Source:
    """Turn `--events` into a DuckDB relation; a missing file is a usage error (exit 2)."""
    path_part, _, table = spec.partition("::")
    if path_part.endswith(".duckdb") or table:
        database = Path(path_part)
        if not database.is_file():
            raise UsageError(f"{spec}: no such DuckDB database")
        table = table or "events"
        if not table.replace("_", "").isalnum():
            raise UsageError(f"{spec}: expected a plain table name but received {table!r}")
        return Source(
            f"(SELECT *, rowid + 1 AS _row FROM src.{identifier(table)})",
            f"{database}::{table}",
            "duckdb",
            attach=str(database),
            row_number="_row",
            file_name="NULL",
        )
    matches = sorted(glob.glob(path_part))
    if not matches:
        raise UsageError(f"{spec}: no such file (or no file matches the pattern)")
    directories = [match for match in matches if not Path(match).is_file()]
    if directories:
        raise UsageError(f"{directories[0]}: expected an events file but this is a directory")
    suffixes = {events_format(match) for match in matches}
    if len(suffixes) > 1:
        raise UsageError(f"{spec}: expected files of one format but found {sorted(suffixes)}")
    suffix = suffixes.pop()
    files = "[" + ", ".join(literal(match) for match in matches) + "]"
    if suffix in CSV_DELIMITERS:
        layouts = [_csv_layout(match, CSV_DELIMITERS[suffix]) for match in matches]
        for match, (delimiter, skip) in zip(matches, layouts, strict=True):
            _refuse_repeated_columns(match, delimiter, skip)
        parts = tuple(_read_csv(f"[{literal(match)}]", *layout)
                      for match, layout in zip(matches, layouts, strict=True))  # fmt: skip
        return Source(_read_csv(files, CSV_DELIMITERS[suffix], 0), spec, "csv", parts=parts)
    if suffix in JSON_SUFFIXES:
        parts = tuple(_read_json(f"[{literal(match)}]") for match in matches)
        return Source(_read_json(files), spec, "json", parts=parts)
    if suffix == ".parquet":
        relation = f"read_parquet({files}, filename=true, file_row_number=true, union_by_name=true)"
        return Source(relation, spec, "parquet", row_number="file_row_number + 1")
    raise UsageError(
        f"{spec}: unsupported events format {suffix!r}; expected .csv, .tsv, .jsonl, .json "
        "(each may be gzipped: .csv.gz), .parquet or a .duckdb database"
    )


def events_format(path: str) -> str:
    """The format a file's name says: `.csv` for `events.csv` and for `events.csv.gz` (text
    exports are often gzipped; DuckDB reads them as they are)."""
    name = Path(path)
    suffix = name.suffix.lower()
    if suffix == GZIP and Path(name.stem).suffix.lower() in {*CSV_DELIMITERS, *JSON_SUFFIXES}:
        return Path(name.stem).suffix.lower()
    return suffix


def _text_file(path: str) -> Any:
    opener = gzip.open if Path(path).suffix.lower() == GZIP else open
    return opener(path, "rt", newline="", encoding="utf-8-sig", errors="replace")


def _csv_layout(path: str, delimiter: str) -> tuple[str, int]:
    """(delimiter, lines before the header) of one CSV file: a file Excel saved may start with a
    `sep=;` line naming its delimiter, then the header."""
    with _text_file(path) as file:
        first = file.readline(64).rstrip("\r\n")
    named = EXCEL_SEPARATOR.fullmatch(first)
    return (named.group(1), 1) if named else (delimiter, 0)


def _refuse_repeated_columns(path: str, delimiter: str, skip: int) -> None:
    """A CSV header naming a column twice is refused: DuckDB would read the second as `NAME_1`
    (names compare case-insensitively), and which one counted would be a guess."""
    with _text_file(path) as file:
        lines = csv.reader(file, delimiter=delimiter)
        for _ in range(skip):
            next(lines, None)
        header = next(lines, [])
    seen: dict[str, int] = {}
    for position, name in enumerate(header, 1):
        if (first := seen.setdefault(name.lower(), position)) != position:
            named = header[first - 1]
            spelled = "" if named == name else f", as {name!r}"
            raise UsageError(
                f"{path}:{skip + 1}: the header names column {named!r} twice (columns {first} "
                f"and {position}{spelled}); expected each column once"
            )


def _read_json(files: str) -> str:
    return (
        f"(SELECT json AS _json, filename FROM read_json_objects({files}, format='auto', "
        "ignore_errors=true, filename=true))"
    )


def _read_csv(files: str, delimiter: str, skip: int) -> str:
    return (
        f"read_csv({files}, header=true, all_varchar=true, filename=true, "
        f"delim={literal(delimiter)}, skip={skip}, "
        f"store_rejects=true, rejects_table={literal(REJECTS_TABLE)}, "
        f"rejects_scan={literal(REJECTS_SCANS)})"
    )


def source_columns(
    connection: duckdb.DuckDBPyConnection, source: Source
) -> dict[str, SourceColumn]:
    """The columns a source has, by name: a JSON source's are the keys of its objects."""
    if source.kind == "json":
        keys = connection.execute(
            f"SELECT DISTINCT unnest(json_keys(_json)) FROM {source.relation} "
            "WHERE json_type(_json) = 'OBJECT'"
        ).fetchall()
        return {key: SourceColumn(key, "JSON") for (key,) in keys if isinstance(key, str)}
    rows = connection.execute(f"DESCRIBE SELECT * FROM {source.relation}").fetchall()
    return {name: SourceColumn(name, str(kind).upper()) for name, kind, *_ in rows}


def rejected_rows(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """`(file, line)` of every CSV line DuckDB could not parse, after the source was read."""
    try:
        return connection.execute(
            f"SELECT DISTINCT s.file_path, e.line FROM {REJECTS_TABLE} e "
            f"JOIN {REJECTS_SCANS} s USING (scan_id, file_id) ORDER BY s.file_path, e.line"
        ).fetchall()
    except duckdb.CatalogException:
        return []


RAW = "govkit_raw"
READER_COLUMNS = ("filename", "file_row_number")  # added by the readers: where a row came from


def open_duckdb_source(connection: duckdb.DuckDBPyConnection, backend: Any, spec: str) -> RawEvents:
    """`--events` as the uniform raw relation in `connection` (an Ibis `backend` over it); a
    text source comes with `store`, to be read once, typed."""
    source = resolve_source(spec)
    if source.attach:
        connection.execute(f"ATTACH {literal(source.attach)} AS src (READ_ONLY)")
    part_columns = _part_columns(connection, source)
    columns = (  # CSV files of one glob: every column any of them has
        {name: column for found in part_columns.values() for name, column in found.items()}
        if part_columns
        else source_columns(connection, source)
    )
    require_columns(source.description, set(columns) - set(READER_COLUMNS))
    select = _raw_select(source, columns, part_columns)
    connection.execute(f"CREATE VIEW {RAW} AS {select}")
    if source.parts:  # text: read once, typed, by `store` (the checks' typed relation)
        stored = RawEvents(
            backend.table(RAW),
            source.description,
            store=lambda relation: _store(connection, backend, relation),
        )
        if source.kind == "csv":  # only DuckDB's CSV reader keeps a rejects table
            stored.rejected = lambda: rejected_rows(connection)
        return stored
    return RawEvents(backend.table(RAW), source.description)


@contextlib.contextmanager
def _in_file_order(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Rows reach tables and `row_number() OVER ()` in the order the files hold them."""
    connection.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        connection.execute("SET preserve_insertion_order = false")


def _store(connection: duckdb.DuckDBPyConnection, backend: Any, relation: Any) -> Any:
    """`relation` (over a CSV or JSON source) stored once as a table: the text is parsed and
    converted once, and the passes that follow scan typed columns. Stored again only if it
    changes."""
    sql = str(backend.compile(relation))
    name = f"{RAW}_typed_{hashlib.sha256(sql.encode()).hexdigest()[:12]}"
    with _in_file_order(connection):
        connection.execute(f"CREATE TABLE IF NOT EXISTS {name} AS {sql}")
    return backend.table(name)


def _part_columns(
    connection: duckdb.DuckDBPyConnection, source: Source
) -> dict[str, dict[str, SourceColumn]]:
    """The columns of each CSV file of a source, by its relation: files exported at different
    times may not have the same columns (the source has all of them; a file without one reads it
    as empty)."""
    if source.kind != "csv":
        return {}
    return {p: source_columns(connection, replace(source, relation=p)) for p in source.parts}


def _raw_select(
    source: Source,
    columns: dict[str, SourceColumn],
    part_columns: dict[str, dict[str, SourceColumn]],
) -> str:
    """The uniform raw relation's SELECT: a text source's files each numbered as read (in order:
    `_in_file_order`), a columnar one as its reader numbers it (a Parquet glob by column name,
    so files written before a column was added, or with a wider type, line up)."""
    if source.kind == "json":
        select = _json_select(columns)
    else:
        hidden = {*READER_COLUMNS, "_row"}
        kept = [name for name in columns if name not in hidden]

        def select(row: str, part: str) -> str:
            has = part_columns.get(part)
            fields = ", ".join(
                identifier(name) if has is None or name in has
                else f"CAST(NULL AS VARCHAR) AS {identifier(name)}"
                for name in kept
            )  # fmt: skip
            return f"SELECT {fields}, {source.file_name} AS _file, {row} AS _row FROM {part}"

    if source.parts:
        return " UNION ALL ".join(select("row_number() OVER ()", part) for part in source.parts)
    return select(source.row_number or "CAST(NULL AS BIGINT)", source.relation)


def _json_select(columns: dict[str, SourceColumn]) -> Callable[[str, str], str]:
    """Each field's value as text and whether it is nested, from one extraction of all the paths
    per row (a path a call re-parses the object: 14 fields cost four times as much)."""
    names = sorted(columns)
    paths = "[" + ", ".join(literal("$." + identifier(name)) for name in names) + "]"
    fields = []
    for index, name in enumerate(names, start=1):
        kind = f"_types[{index}]"
        fields.append(
            f"CASE WHEN {kind} NOT IN {_NESTED_JSON} THEN _values[{index}] END "
            f"AS {identifier(name)}, "
            f"coalesce({kind} IN {_NESTED_JSON}, false) AS {identifier(name + '__nested')}"
        )
    agent = f"_types[{names.index('agent') + 1}]"
    flags = (
        f"NOT coalesce({agent} IN ('VARCHAR', 'NULL'), true) AS _agent_not_text, "
        "(_json IS NULL OR json_type(_json) <> 'OBJECT') AS _bad_json"
    )

    def select(row: str, part: str) -> str:
        extracted = (
            f"SELECT _json, filename, json_extract_string(_json, {paths}) AS _values, "
            f"json_type(_json, {paths}) AS _types, {row} AS _row FROM {part}"
        )
        return f"SELECT {', '.join(fields)}, {flags}, filename AS _file, _row FROM ({extracted})"

    return select
