"""`--events` on Apache Spark: a Parquet path or glob, or a table the session knows.

A lakehouse table or a directory of Parquet files stays where it is: Spark reads it, the monitor's
queries run there, and only the summaries come back. The raw relation carries `_file` and `_row`
(the file and 1-based row, from Spark's hidden `_metadata` for files; the table name and no row
for a table), as the DuckDB engine's does.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Any

import duckdb

from monitor.engine.event_source import events_format
from monitor.engine.raw import RawEvents, require_columns
from playbook.core.errors import UsageError

RAW = "govkit_raw"
TABLE_NAME = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*){0,2}$")
NOT_FOR_SPARK = (".csv", ".tsv", ".jsonl", ".json", ".ndjson", ".duckdb", ".db")


def open_spark_source(engine: Any, spec: str) -> RawEvents:
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F
    from pyspark.sql.utils import AnalysisException

    session = engine.session
    suffix = events_format(spec)
    if suffix in NOT_FOR_SPARK:
        raise UsageError(
            f"{spec}: the spark engine reads Parquet files, directories or globs and tables, not "
            f"{suffix} files; use --engine duckdb, or convert it first (govkit events import "
            "writes Parquet)"
        )
    try:
        if _is_files(spec):
            paths = _parquet_paths(spec)
            frame = session.read.option("mergeSchema", "true").parquet(*paths)
            frame = frame.select(
                "*",
                F.col("_metadata.file_path").alias("_file"),
                (F.col("_metadata.row_index") + 1).alias("_row"),
            )
        elif TABLE_NAME.match(spec):
            frame = session.table(spec)
            frame = frame.select(
                "*", F.lit(spec).alias("_file"), F.lit(None).cast("long").alias("_row")
            )
        else:
            raise UsageError(
                f"{spec}: expected a Parquet file, directory or glob, or a table name such as "
                "catalog.schema.events, for the spark engine"
            )
    except AnalysisException as exc:
        first = str(exc).strip().splitlines()[0]
        raise UsageError(f"{spec}: cannot read events with Spark: {first}") from None
    except (Py4JJavaError, PySparkException) as exc:
        if "CANNOT_MERGE" not in str(exc):
            raise
        conflict = _type_conflict(_parquet_paths(spec)) if "://" not in spec else None
        raise UsageError(
            f"{spec}: the files do not agree on a column's type"
            f"{f' ({conflict})' if conflict else ''}; the spark engine reads one type per column "
            "across the files: rewrite them with one type, or use --engine duckdb, which widens "
            "them"
        ) from None
    require_columns(spec, [c for c in frame.columns if not c.startswith("_")])
    frame.createOrReplaceTempView(RAW)
    return RawEvents(engine.backend.table(RAW), spec)


def _type_conflict(paths: list[str]) -> str | None:
    """`column 'latency_s' is INTEGER in a.parquet but DOUBLE in b.parquet`: the first column two
    files type differently (DuckDB reads the footers), or None."""
    seen: dict[str, tuple[str, str]] = {}
    connection = duckdb.connect()
    try:
        for path in paths:
            files = f"{path}/**/*.parquet" if Path(path).is_dir() else path
            described = connection.execute(
                "DESCRIBE SELECT * FROM read_parquet(?, union_by_name=true)", [files]
            ).fetchall()
            for name, kind, *_ in described:
                first_kind, first_path = seen.setdefault(name, (kind, path))
                if first_kind != kind:
                    return (
                        f"column {name!r} is {first_kind} in {Path(first_path).name} but {kind} "
                        f"in {Path(path).name}"
                    )
    except duckdb.Error:
        return None
    finally:
        connection.close()
    return None


def _is_files(spec: str) -> bool:
    return spec.endswith(".parquet") or "/" in spec or glob.has_magic(spec) or Path(spec).exists()


def _parquet_paths(spec: str) -> list[str]:
    if "://" in spec:  # s3://, hdfs://, abfss://: Spark resolves them
        return [spec]
    matches = sorted(glob.glob(spec))
    if not matches:
        raise UsageError(f"{spec}: no such file (or no file matches the pattern)")
    return [str(Path(match).resolve()) for match in matches]
