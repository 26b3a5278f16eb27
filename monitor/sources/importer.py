"""Trace exports in, govkit events out: pick the reader, map and price each task, write the rows.

`import_traces` reads with the registered source (`base.SOURCES`) and turns each Task into an
event row with `common.to_event`; `detect_format` asks each source whether a file looks like its
export; `write_events` writes Parquet or CSV atomically (a temporary file, then a rename). Bad
records are skipped and counted by the readers; a file that cannot be read at all is a
UsageError naming it (exit 2), never a traceback.
"""

from __future__ import annotations

import gc
import glob
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from monitor.engine.events import copy_frame
from monitor.sources.base import SOURCES, get_source
from monitor.sources.common import EVENT_COLUMNS, ImportResult, to_event
from monitor.sources.records import open_binary
from monitor.sources.values import DecodeError, loads
from playbook.core.errors import Problem, UsageError, ValidationFailed, display_path
from playbook.core.governance import Governance
from playbook.core.settings import SourceSettings

PROGRESS_EVERY = 2.0  # seconds between progress lines while mapping tasks

WRITABLE = (".parquet", ".csv")  # the issue asks for Parquet or CSV events
TEXT_COLUMNS = ("agent", "task_id", "outcome")
FLOAT_COLUMNS = ("latency_s", "cost_usd", "customer_feedback")
BOOL_COLUMNS = ("reworked", "policy_hit", "rolled_back")
SNIFF_BYTES = 1 << 16
DETECTABLE = (".json", ".jsonl", ".ndjson", ".parquet", ".csv")


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
            raise UsageError(f"{pattern}: a directory, not a trace file")
        if not files:
            raise UsageError(f"{pattern}: no such file")
        paths += files
    return paths


def import_traces(
    source: str,
    paths: list[Path],
    governance: Governance,
    *,
    settings: SourceSettings | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> ImportResult:
    """Read the trace files of `source` and map each task to an event row."""
    reader = get_source(source)
    settings = settings or governance.sources
    charters = {charter.id for charter in governance.agents}
    pricing = governance.pricing
    collecting = gc.isenabled()
    gc.disable()  # millions of acyclic containers: the cyclic GC would only rescan them
    try:
        size = sum(path.stat().st_size for path in paths if path.is_file())
        progress(f"reading {len(paths)} {source} file(s), {size / 2**20:,.1f} MB")
        tasks, skipped = reader.read(list(paths), settings)
        result = ImportResult(skipped=skipped)
        progress(f"read {len(tasks):,} task(s); mapping them to charters and prices")
        shown = time.monotonic()
        for done, task in enumerate(tasks, 1):
            row = to_event(
                task, settings=settings, pricing=pricing, charters=charters, result=result
            )
            if row is not None:
                result.rows.append(row)
            if done % 10_000 == 0 and time.monotonic() - shown >= PROGRESS_EVERY:
                shown = time.monotonic()
                progress(f"mapped {done:,} of {len(tasks):,} tasks")
    finally:
        if collecting:
            gc.enable()
    return result


def _columns_of(path: Path) -> set[str]:
    """Top-level field names of the first record (flat and nested `a.b` names alike)."""
    suffix = path.suffix.lower()
    with open_binary(path) as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PAR1") or suffix == ".parquet":
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
    if b'"resourceSpans"' in head:
        return {"resourceSpans"}
    first = next((line for line in head.splitlines() if line.strip()), b"")
    if suffix == ".csv":
        return {name.strip().strip('"') for name in first.decode("utf-8", "replace").split(",")}
    try:
        record = loads(first)
    except DecodeError:
        return set()
    if isinstance(record, list) and record:
        record = record[0]
    if not isinstance(record, dict):
        return set()
    names = set(record)
    for key, value in record.items():
        if isinstance(value, dict):
            names |= {f"{key}.{inner}" for inner in value}
    return names


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


def _printable(name: str) -> str:
    """A traced name as a terminal can print it (lone surrogates escaped)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def format_summary(result: ImportResult, source: str, files: int) -> str:
    """Counts for people: tasks per agent, skipped records, unmapped names, unpriced models."""
    lines = [f"{len(result.rows):,} tasks from {files} {source} file(s)"]
    for agent, count in sorted(result.per_agent.items()):
        lines.append(f"  {agent}: {count:,}")
    skipped = result.skipped
    if skipped.by_reason:
        lines.append(f"skipped {sum(skipped.by_reason.values()):,} record(s):")
        for reason, count in sorted(skipped.by_reason.items()):
            examples = ", ".join(skipped.examples.get(reason, []))
            lines.append(f"  {reason}: {count:,}" + (f" (e.g. {examples})" if examples else ""))
    if result.unmapped_agents:
        lines.append(
            "tasks of agents without a charter, left out (map them under `agents:` in "
            "sources.yaml):"
        )
        for name, count in result.unmapped_agents.most_common():
            lines.append(f"  {_printable(str(name))}: {count:,}")
    if result.unpriced_models:
        lines.append("models without a price in pricing.yaml (cost_usd left empty):")
        for model, count in result.unpriced_models.most_common():
            lines.append(f"  {_printable(str(model))}: {count:,} call(s)")
    return "\n".join(lines)


def convert(
    source: str,
    patterns: list[str],
    governance: Governance,
    out: Path,
    *,
    settings: SourceSettings | None = None,
    echo: Callable[[str], None] = lambda _: None,
    progress: Callable[[str], None] = lambda _: None,
) -> ImportResult:
    """Import the files and write the events; no tasks at all is an error (exit 2). `progress`
    hears each stage of a long import (the CLI prints it on stderr when that is a terminal)."""
    _check_suffix(out)
    paths = expand(patterns)
    result = import_traces(source, paths, governance, settings=settings, progress=progress)
    summary = format_summary(result, source, len(paths))
    if not result.rows:
        raise UsageError(f"no agent tasks to write\n{summary}")
    progress(f"writing {len(result.rows):,} events to {out}")
    write_events(result.rows, out)
    echo(summary)
    return result


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
