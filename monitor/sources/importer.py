"""Trace exports in, govkit events out: pick the reader, map and price each task, write the rows.

`import_traces` reads with the registered source (`base.SOURCES`) and turns each Task into an
event row with `common.to_event`; `detect_format` asks each source whether a file looks like its
export; `write_events` writes Parquet or CSV atomically (a temporary file, then a rename). Bad
records are skipped and counted by the readers; a file that cannot be read at all is a
UsageError naming it (exit 2), never a traceback.
"""

from __future__ import annotations

import csv
import gc
import glob
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from monitor.engine.events import copy_frame
from monitor.sources.base import SOURCES, get_source
from monitor.sources.common import EVENT_COLUMNS, ImportResult, Task, to_event
from monitor.sources.records import CSV_SUFFIXES, PARQUET_SUFFIXES, open_binary, unwrap
from monitor.sources.summary import format_summary
from monitor.sources.values import DecodeError, loads
from playbook.core.errors import Problem, UsageError, ValidationFailed, display_path
from playbook.core.governance import Governance
from playbook.core.settings import Pricing, SourceSettings

AUTO = "auto"  # --from auto: the format detected from the content
PROGRESS_EVERY = 2.0  # seconds between progress lines while mapping tasks

WRITABLE = (".parquet", ".csv")  # the issue asks for Parquet or CSV events
TEXT_COLUMNS = ("agent", "task_id", "outcome")
FLOAT_COLUMNS = ("latency_s", "cost_usd", "customer_feedback")
BOOL_COLUMNS = ("reworked", "policy_hit", "rolled_back")
SNIFF_BYTES = 1 << 16
DOCUMENT_SNIFF_BYTES = 1 << 22  # a pretty-printed document's first record may be long
DETECTABLE = (".json", ".jsonl", ".ndjson", ".parquet", ".pq", ".csv", ".tsv", ".pb", ".bin")


def load_mapping(path: Path) -> SourceSettings:
    """A `sources.yaml` given on the command line, validated as the governance loader does."""
    from playbook.core.problems import validate_document
    from playbook.core.yamlsrc import YamlReadError, read_yaml

    if not path.is_file():
        raise ValidationFailed([Problem(display_path(path), 1, "", "file not found")])
    try:
        document = read_yaml(path)
    except YamlReadError as exc:
        raise ValidationFailed([exc.problem]) from None
    if not isinstance(document.data, dict):
        raise ValidationFailed([document.problem((), "expected a mapping at the top level")])
    problems: list[Problem] = []
    settings = validate_document(document, SourceSettings, problems)
    if settings is None:
        raise ValidationFailed(problems)
    return settings


def expand(patterns: list[str]) -> list[Path]:
    """Files named or matched by glob patterns, in order; a pattern matching nothing is an error."""
    paths: list[Path] = []
    for pattern in patterns:
        matched = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        files = [Path(found) for found in matched if Path(found).is_file()]
        if not files and len(matched) == 1 and Path(matched[0]).is_dir():
            files = sorted(
                found for found in Path(matched[0]).iterdir()
                if found.is_file() and found.suffix.lower() in DETECTABLE
            )  # fmt: skip  # a saved dataset (Phoenix TraceDataset.save()): its files
            if not files:
                raise UsageError(
                    f"{pattern}: a directory without trace files (expected {', '.join(DETECTABLE)})"
                )
        if not files:
            raise UsageError(f"{pattern}: no such file")
        paths += files
    return paths


def import_traces(
    source: str,
    paths: list[Path],
    governance: Governance | None,
    *,
    settings: SourceSettings | None = None,
    keep_unmapped: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> ImportResult:
    """Read the trace files of `source` and map each task to an event row. Without
    `governance` (a first look, before any charter) or with `keep_unmapped`, a task whose agent
    has no charter is kept under its traced name."""
    reader = get_source(source)
    settings = settings or (governance.sources if governance else SourceSettings())
    keep = governance is None or keep_unmapped
    charters = None if keep else {charter.id for charter in governance.agents}  # type: ignore[union-attr]
    pricing = governance.pricing if governance else Pricing()
    collecting = gc.isenabled()
    gc.disable()  # millions of acyclic containers: the cyclic GC would only rescan them
    try:
        size = sum(path.stat().st_size for path in paths if path.is_file())
        progress(f"reading {len(paths)} {source} file(s), {size / 2**20:,.1f} MB")
        tasks, skipped = reader.read(list(paths), settings)
        result = ImportResult(skipped=skipped)
        total = f" of {len(tasks):,}" if isinstance(tasks, Sized) else ""
        progress(f"mapping tasks{total} to charters and prices")
        shown = time.monotonic()
        for done, task in enumerate(_consumed(tasks), 1):
            row = to_event(
                task, settings=settings, pricing=pricing, charters=charters, result=result
            )
            if row is not None:
                result.rows.append(row)
            if done % 10_000 == 0 and time.monotonic() - shown >= PROGRESS_EVERY:
                shown = time.monotonic()
                progress(f"mapped {done:,}{total} tasks")
    finally:
        if collecting:
            gc.enable()
    return result


def _consumed(tasks: Iterable[Task]) -> Iterator[Task]:
    """The tasks in order, each let go of once mapped: a reader's list is emptied as it is read
    (a reader that yields its tasks holds none of them)."""
    if not isinstance(tasks, list):
        yield from tasks
        return
    tasks.reverse()
    while tasks:
        yield tasks.pop()


def _columns_of(path: Path) -> set[str]:
    """Field names of the file's first record (top-level names, and `a.b` for a nested object's),
    whatever its format: Parquet and CSV columns, a JSON Lines record, the first record of a JSON
    document (an array, an API response wrapping its records, pretty-printed records one after
    another). OTLP is `{"resourceSpans"}`; a binary OTLP protobuf message `{"otlp.protobuf"}`."""
    suffix = path.suffix.lower()
    with open_binary(path) as handle:
        head = handle.read(SNIFF_BYTES)
        if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
            return _parquet_columns(path)
        if suffix in CSV_SUFFIXES:
            first = head.decode("utf-8-sig", "replace").splitlines()[:1]
            delimiter = "\t" if suffix == ".tsv" else ","
            return {name.strip() for name in next(csv.reader(first, delimiter=delimiter), [])}
        if b'"resourceSpans"' in head or b'"resource_spans"' in head:
            return {"resourceSpans"}
        if _looks_like_protobuf(head):
            return {"otlp.protobuf"}
        first = next((line for line in head.splitlines() if line.strip()), b"")
        try:
            record = loads(first)
        except DecodeError:
            record = _first_of_document(head + handle.read(DOCUMENT_SNIFF_BYTES))
    if isinstance(record, dict) and isinstance(record.get("data"), list):
        described = _frame_columns(record)  # pandas to_json(orient="split" / "table")
        if described:
            return described
    records = unwrap(record)
    record = records[0] if records else None
    if not isinstance(record, dict):
        return set()
    names = set(record)
    for key, value in record.items():
        if isinstance(value, dict):
            names |= {f"{key}.{inner}" for inner in value}
    return names


def _frame_columns(document: dict[str, Any]) -> set[str]:
    """The column names of a pandas `to_json(orient="split")` (`columns`) or `orient="table"`
    (`schema.fields`) document; empty for any other document with a `data` list."""
    if isinstance(document.get("columns"), list):
        return {str(name) for name in document["columns"]}
    schema = document.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
        return {str(field.get("name")) for field in schema["fields"] if isinstance(field, dict)}
    return set()


def _parquet_columns(path: Path) -> set[str]:
    connection = duckdb.connect(":memory:")
    try:
        described = connection.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
        ).fetchall()
    except duckdb.Error as exc:
        raise UsageError(f"{display_path(path)}: not a readable Parquet file ({exc})") from None
    finally:
        connection.close()
    return {row[0] for row in described}


def _looks_like_protobuf(head: bytes) -> bool:
    """A binary OTLP `ExportTraceServiceRequest`/`TracesData` starts with field 1 (its resource
    spans), length-delimited: the byte 0x0A; and it is not UTF-8 text."""
    if not head.startswith(b"\x0a"):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"\x00" in head


def _first_of_document(data: bytes) -> Any:
    """The first JSON value of a pretty-printed document (or of several written one after
    another), or of its start when the whole is too long to sniff: an object's keys up to
    where the text was cut."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    try:
        return json.JSONDecoder().raw_decode(text)[0]
    except ValueError:
        pass
    if text.startswith("["):
        text = text[1:].lstrip()
        try:
            return [json.JSONDecoder().raw_decode(text)[0]]
        except ValueError:
            pass
    keys = re.findall(r'^\s{0,8}"([^"\\]{1,200})"\s*:', text[:SNIFF_BYTES], flags=re.MULTILINE)
    return dict.fromkeys(keys)


def detect_format(path: Path) -> str:
    """The name of the first trace source (`base.SOURCES`) whose export the file looks like, or
    `events` (a plain events file)."""
    columns = _columns_of(path)
    for source in SOURCES.values():
        if source.detect(columns):
            return source.name
    if "outcome" in columns:
        return "events"
    exports = ", ".join(source.detected_by for source in SOURCES.values())
    raise UsageError(
        f"{display_path(path)}: cannot tell the format from its content; expected events (an "
        f"`outcome` column) or a trace export ({exports}); name it with --events-format"
    )


def _check_suffix(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in WRITABLE:
        raise UsageError(
            f"{display_path(out)}: unsupported events format {out.suffix or '(none)'!r}; "
            f"expected {' or '.join(WRITABLE)}"
        )
    return suffix


def write_events(rows: list[dict[str, Any]], out: Path) -> None:
    """Write the rows (EVENT_COLUMNS) to `out`, Parquet or CSV by its extension, atomically."""
    suffix = _check_suffix(out)
    frame: dict[str, np.ndarray] = {
        "timestamp": np.array([row["timestamp"] for row in rows], dtype=object),
        **{c: np.array([row[c] for row in rows], dtype=object) for c in TEXT_COLUMNS},
        **{c: np.array([row[c] for row in rows], dtype=float) for c in FLOAT_COLUMNS},
        **{c: np.array([row[c] for row in rows], dtype=float) for c in BOOL_COLUMNS},
    }
    timestamp = '"timestamp"::TIMESTAMPTZ' if suffix == ".parquet" else '"timestamp"::VARCHAR'
    select = []
    for column in EVENT_COLUMNS:
        if column == "timestamp":
            select.append(f'{timestamp} AS "timestamp"')
        elif column in FLOAT_COLUMNS:
            select.append(f"CASE WHEN isnan({column}) THEN NULL ELSE {column} END AS {column}")
        elif column in BOOL_COLUMNS:
            select.append(f"CASE WHEN isnan({column}) THEN NULL ELSE {column} <> 0 END AS {column}")
        else:
            select.append(f"{column}::VARCHAR AS {column}")
    copy_frame(frame, ", ".join(select), out)


def convert(
    source: str,
    patterns: list[str],
    governance: Governance | None,
    out: Path,
    *,
    settings: SourceSettings | None = None,
    keep_unmapped: bool = False,
    echo: Callable[[str], None] = lambda _: None,
    progress: Callable[[str], None] = lambda _: None,
) -> ImportResult:
    """Import the files and write the events; no tasks at all is an error (exit 2) that says
    what was read instead. `source` "auto": detected from the first file's content (and said).
    `progress` hears each stage of a long import (on stderr when that is a terminal)."""
    _check_suffix(out)
    paths = expand(patterns)
    if source == AUTO:
        source = detect_trace_format(paths[0])
        echo(f"reading {display_path(paths[0])} as {SOURCES[source].description} ({source})")
    result = import_traces(
        source, paths, governance, settings=settings, keep_unmapped=keep_unmapped,
        progress=progress,
    )  # fmt: skip
    first_look = governance is None
    summary = format_summary(result, source, len(paths), first_look=first_look)
    if not result.rows:
        raise UsageError(f"no agent tasks to write\n{summary}")
    progress(f"writing {len(result.rows):,} events to {out}")
    write_events(result.rows, out)
    echo(summary)
    return result


def detect_trace_format(path: Path) -> str:
    """The trace source of `path`, from its content (`--from auto`); a plain events file or an
    unrecognised one is a UsageError naming the formats that were looked for."""
    found = detect_format(path)
    if found == "events":
        raise UsageError(
            f"{display_path(path)}: already an events file (it has an `outcome` column); "
            "give it to `govkit monitor run --events` as it is"
        )
    return found


def trace_events(
    events: str,
    events_format: str | None,
    governance: Governance,
    scratch: Path,
    echo: Callable[[str], None],
    progress: Callable[[str], None] = lambda _: None,
) -> str:
    """The events source `monitor run` should read: `events` itself, or a Parquet file in
    `scratch` converted from a trace export (named by `events_format`, else detected)."""
    if events_format is None:
        path = Path(events)
        if "::" in events or path.suffix.lower() not in DETECTABLE or not path.is_file():
            return events
        try:
            events_format = detect_format(path)
        except UsageError:
            return events  # the events reader says what is missing
        if events_format == "events":
            return events
    out = scratch / "events.parquet"
    convert(events_format, [events], governance, out, echo=echo, progress=progress)
    return str(out)
