"""Where the events live and the monitor's queries run: one interface, one registry of engines.

The monitor writes every query once, as an Ibis expression; an engine supplies the connection it
runs on and turns `--events` into a table of raw columns:

- `duckdb` (the default): embedded, nothing to start; reads CSV, JSON Lines, Parquet, globs and
  `.duckdb` databases (`monitor.engine.event_source`);
- `spark`: Apache Spark, for events past one machine: `--events` names a Parquet path or glob, or
  a table (`catalog.schema.table`); the session comes from monitor.yaml (`engine: {kind: spark,
  remote: "sc://host:15002"}` for Spark Connect, or `master: "local[2]"`), else a local session on
  this machine's cores. An optional extra: `pip install 'agent-governance-kit[spark]'`.

The raw table has the source's columns (typed, or text), plus `_file` and `_row` (where a row came
from, for bad-row examples) and, for JSON, per column `<name>__nested` and `_bad_json`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.datatypes as dt

from monitor.engine.raw import RawEvents
from playbook.core.errors import UsageError, unknown_choice
from playbook.core.settings import EngineSettings

# DuckDB's own budget; a parsed text source spills to disk beyond it.
MEMORY_LIMIT = "256MB"
DAY = 86_400
DAY_US = DAY * 1_000_000  # a day in microseconds: `time_of_day` counts in them


class Engine(Protocol):
    """A place events are read and summarised."""

    name: str
    backend: Any  # the Ibis backend queries run on

    def raw_events(self, spec: str) -> RawEvents: ...

    def day_number(self, moment: Any) -> Any:
        """The UTC day (days since 1970-01-01) of a UTC timestamp expression."""

    def time_of_day(self, moment: Any) -> Any:
        """Microseconds since the UTC midnight before a UTC timestamp expression (int64)."""

    def from_epoch(self, seconds: Any) -> Any:
        """The UTC time of (fractional) seconds since 1970-01-01 UTC, a float64 expression."""

    def small_table(self, columns: dict[str, list[Any]], schema: dict[str, Any]) -> Any:
        """An Ibis table of a few rows (the charters' agents and their windows) that queries
        on this engine can join; `schema`: column name -> Ibis type."""

    def to_arrow(self, expression: Any) -> Any:
        """Run `expression`; the result as a pyarrow table with the expression's schema."""

    def to_numpy(self, expression: Any) -> dict[str, Any]:
        """Run `expression` (a small result); numpy arrays by column: text as object arrays,
        NULL as None, NaN or NaT (an integer column with NULLs as floats), as pyarrow gives."""

    def close(self) -> None: ...


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, settings: EngineSettings | None = None, *, threads: int | None = None):
        import duckdb
        import ibis

        self._workdir = Path(tempfile.mkdtemp(prefix="govkit-events-"))
        self._cleanup = weakref.finalize(
            self, shutil.rmtree, str(self._workdir), ignore_errors=True
        )
        try:
            self.connection = duckdb.connect(str(self._workdir / "events.duckdb"))
            self.connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            self.connection.execute("SET enable_progress_bar = false")  # stdout may be JSON
            self.connection.execute(f"SET temp_directory = '{self._workdir / 'spill'}'")
            self.connection.execute("SET preserve_insertion_order = false")
            if threads:
                self.connection.execute(f"SET threads = {int(threads)}")
            self.connection.execute("SET TimeZone = 'UTC'")
        except duckdb.Error as exc:
            self._cleanup()
            raise UsageError(f"{self._workdir}: cannot open DuckDB: {_first_line(exc)}") from None
        self.backend = ibis.duckdb.from_connection(self.connection)
        self._small_tables = 0

    # Both written in SQL rather than with an Ibis memtable and Ibis's to_pyarrow: those import
    # pandas (a third of a second, more than the whole pass on a small source).
    def small_table(self, columns: dict[str, list[Any]], schema: dict[str, Any]) -> Any:
        self._small_tables += 1
        name = f"govkit_small_{self._small_tables}"
        self.backend.create_table(name, schema=ibis.schema(schema), temp=True)
        rows = list(zip(*(columns[column] for column in schema), strict=True))
        if rows:  # one statement with parameters: executemany runs one a row (0.1 s for 200)
            places = ", ".join(["(" + ", ".join("?" for _ in schema) + ")"] * len(rows))
            values = [value for row in rows for value in row]
            self.connection.execute(f"INSERT INTO {name} VALUES {places}", values)  # noqa: S608
        return self.backend.table(name)

    def to_arrow(self, expression: Any) -> Any:
        result = self.connection.sql(str(self.backend.compile(expression))).to_arrow_table()
        return result.cast(expression.schema().to_pyarrow())  # SUM(BIGINT) is a HUGEINT

    def to_numpy(self, expression: Any) -> dict[str, Any]:
        # DuckDB's own conversion: any pyarrow-to-numpy conversion imports pandas as well.
        columns = self.connection.sql(str(self.backend.compile(expression))).fetchnumpy()
        return {name: _unmasked(columns[name], kind) for name, kind in expression.schema().items()}

    def raw_events(self, spec: str) -> RawEvents:
        import duckdb

        from monitor.engine.event_source import open_duckdb_source

        try:
            return open_duckdb_source(self.connection, self.backend, spec)
        except duckdb.Error as exc:
            raise UsageError(f"{spec}: cannot read events: {_first_line(exc)}") from None

    def day_number(self, moment: Any) -> Any:
        # DuckDB's epoch_us() of a TIMESTAMPTZ directly: Ibis's epoch_seconds() casts to
        # TIMESTAMP first, which costs four times the whole day computation on a large scan, and
        # the integer microseconds are cheaper to divide than epoch()'s fractional seconds
        # (summary query of the 10M-row bench file: 1.19 -> 1.14 CPU s, alternating runs).
        return (_duckdb_epoch_us(moment) // DAY_US).cast("int64")

    def time_of_day(self, moment: Any) -> Any:
        return _duckdb_epoch_us(moment) % DAY_US

    def from_epoch(self, seconds: Any) -> Any:
        return _duckdb_to_timestamp(seconds)

    def progress(self) -> float | None:
        """The running query's progress (0-100), for the progress line; None when unknown."""
        try:
            done = self.connection.query_progress()
        except Exception:
            return None
        return done if done is not None and done >= 0 else None

    def close(self) -> None:
        self.connection.close()
        self._cleanup()


class SparkEngine:
    name = "spark"

    def __init__(self, settings: EngineSettings | None = None, *, threads: int | None = None):
        if importlib.util.find_spec("pyspark") is None:
            raise UsageError(
                "the spark engine needs PySpark: pip install 'agent-governance-kit[spark]'"
            )
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise UsageError("the spark engine needs Java (17 or newer) on PATH or JAVA_HOME")
        import ibis
        from pyspark.sql import SparkSession

        settings = settings or EngineSettings(kind="spark")
        builder = SparkSession.builder.appName("govkit-monitor")
        if settings.remote:
            builder = builder.remote(settings.remote)
        else:
            master = settings.master or f"local[{threads or os.cpu_count() or 1}]"
            if master.startswith("local"):  # a session on this machine talks to itself only
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            builder = builder.master(master)
            builder = (
                builder.config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
            )
        try:
            self.session = builder.getOrCreate()
        except Exception as exc:
            raise UsageError(f"cannot start a Spark session: {_first_line(exc)}") from None
        self.session.conf.set("spark.sql.session.timeZone", "UTC")
        if not settings.remote:
            self.session.sparkContext.setLogLevel("ERROR")
        self.backend = ibis.pyspark.connect(self.session)

    def raw_events(self, spec: str) -> RawEvents:
        from monitor.engine.spark_source import open_spark_source

        return open_spark_source(self, spec)

    def day_number(self, moment: Any) -> Any:
        return (moment.epoch_seconds() // DAY).cast("int64")

    def time_of_day(self, moment: Any) -> Any:
        return _spark_unix_micros(moment) % DAY_US

    def from_epoch(self, seconds: Any) -> Any:
        return _spark_timestamp_seconds(seconds)

    def progress(self) -> float | None:
        """Percent of the running stages' tasks done (local and master sessions only)."""
        try:
            tracker = self.session.sparkContext.statusTracker()
            stages = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
        except Exception:  # Spark Connect has no SparkContext: no progress, not an error
            return None
        total = sum(s.numTasks for s in stages if s)
        done = sum(s.numCompletedTasks for s in stages if s)
        return 100.0 * done / total if total else None

    def small_table(self, columns: dict[str, list[Any]], schema: dict[str, Any]) -> Any:
        return ibis.memtable(columns, schema=schema)

    def to_arrow(self, expression: Any) -> Any:
        return self.backend.to_pyarrow(expression)

    def to_numpy(self, expression: Any) -> dict[str, Any]:
        import numpy as np

        table = self.to_arrow(expression)
        return {
            name: np.array(column.to_pylist(), dtype=object)
            if column.type.equals("string") or column.type.equals("large_string")
            else column.to_numpy(zero_copy_only=False)
            for name, column in zip(table.column_names, table.columns, strict=True)
        }

    def close(self) -> None:
        """The session stays for the process (Spark sessions are costly to start)."""


def _unmasked(values: Any, kind: dt.DataType) -> Any:
    """A column of DuckDB's `fetchnumpy` as pyarrow would convert it: a masked array (a column
    with NULLs) filled with None, NaN or NaT; a HUGEINT sum (a float there) as int64."""
    import numpy as np

    if isinstance(values, np.ma.MaskedArray):
        missing = np.ma.getmaskarray(values)
        if values.dtype.kind in "Ob":
            filled, blank = values.data.astype(object), None
        elif values.dtype.kind in "Mm":
            filled, blank = values.data.copy(), np.datetime64("NaT")
        else:
            filled, blank = values.data.astype(float), np.nan
        filled[missing] = blank
        return filled
    if kind.is_integer() and values.dtype.kind == "f":
        return values.astype(np.int64)
    return values


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's epoch_us(): microseconds since 1970-01-01 UTC."""


@ibis.udf.scalar.builtin(name="to_timestamp")
def _duckdb_to_timestamp(seconds: dt.float64) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type]
    """DuckDB's to_timestamp(double): fractional seconds kept."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """Spark's unix_micros(): microseconds since 1970-01-01 UTC."""


@ibis.udf.scalar.builtin(name="timestamp_seconds")
def _spark_timestamp_seconds(seconds: dt.float64) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type]
    """Spark's timestamp_seconds(double): fractional seconds kept (Ibis's as_timestamp("s")
    would drop them)."""


ENGINES: dict[str, type] = {"duckdb": DuckDBEngine, "spark": SparkEngine}


def open_engine(
    name: str | None = None, settings: EngineSettings | None = None, *, threads: int | None = None
) -> Engine:
    """The engine `name` (default: the settings' kind, else duckdb)."""
    kind = name or (settings.kind if settings else "duckdb")
    if kind not in ENGINES:
        raise UsageError(unknown_choice("engine", kind, ENGINES))
    return ENGINES[kind](settings if settings and settings.kind == kind else None, threads=threads)
