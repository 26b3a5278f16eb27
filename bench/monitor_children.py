"""The measured processes of bench_monitor.py: each runs alone in a fresh interpreter.

`bench_monitor.py --child KIND ARG...` calls `run_child`; the benchmark measures the whole process
with `os.wait4`. Only the standard library is imported here at module level, so each child pays
for exactly what it uses (DuckDB; pandas + SciPy; govkit). Each prints one JSON line, with its own
peak RSS (VmHWM) last.

- floor EVENTS COLUMNS: DuckDB reads COLUMNS of EVENTS with one `GROUP BY agent, window`;
- naive EVENTS COLUMNS: pandas reads the same columns; per agent, SciPy's Mann-Whitney on
  latency_s and cost_usd and a two-proportion z test on the success rate, baseline vs recent;
- govkit GOVERNANCE EVENTS STATE ENGINE: one `run_monitor` pass on ENGINE (duckdb or spark).
"""

from __future__ import annotations

import json
import math
import resource
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 24, tzinfo=UTC)  # midnight: the synthetic events end here
RECENT_START = NOW - timedelta(days=7)  # recent: the last 7 days
BASELINE_START = RECENT_START - timedelta(days=28)  # baseline: the 28 days before them


def peak_rss_mb() -> float | None:
    """This process's own peak RSS (VmHWM): ru_maxrss may count what it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def emit(result: dict[str, Any]) -> int:
    print(json.dumps(result | {"hwm_mb": peak_rss_mb()}), flush=True)
    return 0


def floor(events: str, columns: str) -> int:
    """The least a reader of the file must do: the columns the metrics read, one GROUP BY."""
    import duckdb

    names = columns.split(",")
    sums = ["count(*) AS tasks"]
    for name in names:
        if name == "outcome":
            sums += ["count_if(outcome = 'success')", "count_if(outcome = 'escalated')"]
        elif name not in ("agent", "timestamp"):
            sums += [f'sum("{name}"::DOUBLE)', f'count("{name}")']
    reader = {".parquet": "read_parquet", ".jsonl": "read_json"}.get(
        Path(events).suffix, "read_csv"
    )
    recent, start, end = (f"'{t.isoformat()}'::TIMESTAMPTZ"
                          for t in (RECENT_START, BASELINE_START, NOW))  # fmt: skip
    query = f"""
        SELECT agent, CASE WHEN ts >= {recent} THEN 'recent' ELSE 'baseline' END AS window,
               {", ".join(sums)}
        FROM (SELECT {", ".join(f'"{n}"' for n in names)}, "timestamp"::TIMESTAMPTZ AS ts
              FROM {reader}('{events}'))
        WHERE ts >= {start} AND ts < {end}
        GROUP BY ALL"""
    rows = duckdb.connect().execute(query).fetchall()
    return emit({"rows": sum(row[2] for row in rows), "groups": len(rows)})


def naive(events: str, columns: str) -> int:
    """What a data scientist might write: pandas, then per agent SciPy tests."""
    import numpy as np
    import pandas as pd
    from scipy.stats import mannwhitneyu, norm

    names = columns.split(",")
    if events.endswith(".parquet"):
        frame = pd.read_parquet(events, columns=names, engine="pyarrow")
    else:
        frame = pd.read_csv(events, usecols=names)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    ts = frame["timestamp"]
    frame = frame[(ts >= pd.Timestamp(BASELINE_START)) & (ts < pd.Timestamp(NOW))]
    frame = frame.assign(recent=frame["timestamp"] >= pd.Timestamp(RECENT_START))
    tests = drifted = 0
    for _, rows in frame.groupby("agent", sort=False):
        base, last = rows[~rows["recent"]], rows[rows["recent"]]
        p_values = [mannwhitneyu(base[c], last[c]).pvalue for c in ("latency_s", "cost_usd")]
        k1, n1 = int((base["outcome"] == "success").sum()), len(base)
        k2, n2 = int((last["outcome"] == "success").sum()), len(last)
        pooled = (k1 + k2) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if n1 and n2 else 0.0
        z = (k2 / n2 - k1 / n1) / se if se else 0.0
        p_values.append(2 * norm.sf(abs(z)))
        tests += len(p_values)
        drifted += int(np.sum(np.asarray(p_values) < 0.05))
    return emit({"rows": len(frame), "tests": tests, "p_below_0.05": drifted})


def govkit(governance_dir: str, events: str, state: str, engine: str) -> int:
    """One monitor pass: read + validate, metrics, daily series, drift tests, checks, alerts,
    state and the handbook's snapshot. The collector is tuned first, as `govkit`'s entry point
    does before it loads the monitor's commands."""
    sys.path.insert(0, str(REPO))
    from playbook.core import collector

    collector.tune()
    from monitor.run import RunOptions, run_monitor
    from playbook.policy import load_governance

    governance = load_governance(Path(governance_dir), today=NOW.date())
    options = RunOptions(events=events, now=NOW, state=Path(state), engine=engine)
    report = run_monitor(governance, options)
    keys = ("alertname", "agent", "metric", "aspect")
    alerts = sorted(" ".join(a.labels[k] for k in keys if k in a.labels) for a in report.firing)
    series = sum(1 for trend in report.trends.values() if trend.get("series"))
    result = {"rows": report.tasks, "alerts": alerts, "findings": len(report.findings),
              "series": series}  # fmt: skip
    if engine == "spark":
        result |= stop_spark()
    return emit(result)


def stop_spark() -> dict[str, Any]:
    """Stop the session and reap the JVM, so that its CPU and memory count in this process's
    wait4 figures: PySpark never waits for it (it exits when our end of its stdin closes, and
    is then reaped by init, not by us)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    driver = resource.getrusage(resource.RUSAGE_SELF)
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
    reaped = False
    if proc is not None:
        proc.stdin.close()
        proc.wait(timeout=300)
        reaped = True
    jvm = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "jvm_reaped": reaped,
        "driver_cpu_s": driver.ru_utime + driver.ru_stime,
        "jvm_cpu_s": jvm.ru_utime + jvm.ru_stime,
        "jvm_rss_mb": jvm.ru_maxrss / 1024,
    }


CHILDREN = {"floor": floor, "naive": naive, "govkit": govkit}


def run_child(kind: str, args: list[str]) -> int:
    return CHILDREN[kind](*args)
