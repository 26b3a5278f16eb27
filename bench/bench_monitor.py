"""Benchmark: the drift monitor's pass against DuckDB's floor, whole processes, on N events.

Copies the example governance into a temporary directory, replaces its charters with --agents
synthetic ones (clones of the tier 0-2 example charters, each monitoring exactly 5 metrics against
a rolling 28-day baseline with a 7-day recent window), generates --events events over 35 days with
`monitor.simulate` (the generator behind `govkit events generate`), writes them as Parquet and as
CSV, and measures, each in its own fresh subprocess (this script with a hidden `--child`; the
children are in monitor_children.py):

* floor: DuckDB reading only the columns the charters' metrics read, with one
  `GROUP BY agent, window` (baseline: the 28 days before the recent window; recent: the last 7
  days), counting and summing: the least any reader of the file must do;
* naive: pandas reads the same columns; per agent, SciPy's Mann-Whitney on latency_s and
  cost_usd and a two-proportion z test on the success rate, baseline vs recent;
* govkit: one `run_monitor` pass (read + validate, metrics, the handbook's daily series, drift
  tests, checks, alerts, state, snapshot) on DuckDB; on Parquet also on Spark (`--spark-master`).

Then, unless --large is 0, it writes --large events as Parquet chunks (bounded generator memory)
and runs the floor and govkit's DuckDB pass on them once each.

Every figure is the child's own: CPU = ru_utime + ru_stime from `os.wait4` (interpreter start and
imports included), wall time, and peak RSS (the child's VmHWM, else ru_maxrss); median of --repeat
runs for CPU and wall, the maximum for RSS. Targets: govkit's CPU <= 3x the floor's on Parquet;
govkit's peak RSS <= 0.5 GB at --events and <= 1 GB at --large. Exits 0 whatever the verdict.

    python bench/bench_monitor.py                                   # ~12 minutes on 2 CPUs
    python bench/bench_monitor.py --events 200000 --large 0 --repeat 1   # seconds
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for _path in (str(BENCH), str(REPO)):  # run from a checkout without installing
    if _path not in sys.path:
        sys.path.insert(0, _path)

from monitor_children import NOW, run_child  # noqa: E402

EXAMPLE_GOVERNANCE = REPO / "governance"
DAYS = 35  # rolling 28d baseline + 7d recent
TIERS = (0, 1, 2)
METRICS = 5
METRIC_POOL = ("task_success_rate", "escalation_rate", "latency_s", "cost_per_task",
               "reviewer_minutes_per_task", "rework_rate", "customer_feedback")  # fmt: skip
CHUNK = 10_000_000  # the --large file is generated and written this many events at a time
TARGET_RATIO = 3.0
TARGET_RSS_MB = {"events": 512.0, "large": 1024.0}
STATE = "<state>"  # in a child's arguments: a fresh state path for each run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Measure govkit's drift-monitor pass (CPU of the whole process, wall time, peak RSS) "
            "against a DuckDB GROUP BY floor and a naive pandas + SciPy script, on synthetic "
            "events as Parquet and CSV; also a large Parquet pass on DuckDB and a Spark pass. "
            "Always exits 0 once the benchmark ran; read the PASS/FAIL lines."
        )
    )
    add = parser.add_argument
    add("--events", type=int, default=10_000_000, metavar="N",
        help="events for the Parquet, CSV and Spark passes (default: %(default)s)")  # fmt: skip
    add("--large", type=int, default=100_000_000, metavar="N",
        help="events for the DuckDB-only Parquet pass, one run each; 0 skips it "
             "(default: %(default)s)")  # fmt: skip
    add("--agents", type=int, default=200, metavar="N",
        help="number of synthetic charters, 5 metrics each (default: %(default)s)")  # fmt: skip
    add("--repeat", type=int, default=3, metavar="N",
        help="runs of each measurement at --events; CPU and wall are the median "
             "(default: %(default)s)")  # fmt: skip
    add("--jsonl", action="store_true",
        help="also measure a JSON Lines copy of the --events file (about 3.3 GB at 10M; no "
             "naive run on it)")  # fmt: skip
    add("--no-spark", action="store_true", help="skip the Spark pass")
    add("--no-naive", action="store_true", help="skip the naive pandas + SciPy script")
    add("--spark-master", default="local[2]", metavar="MASTER",
        help="the Spark pass's master, written to monitor.yaml (default: %(default)s)")  # fmt: skip
    add("--seed", type=int, default=7, help="generator seed (default: %(default)s)")
    add("--workdir", type=Path, metavar="DIR",
        help="where to put the temporary directory (default: the system's; --large 100M "
             "needs about 5 GB of disk)")  # fmt: skip
    add("--keep", action="store_true",
        help="keep the temporary directory (governance, events, state)")  # fmt: skip
    # Internal: one measured process (monitor_children.py), run in a fresh interpreter.
    add("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.agents < 1 or args.events < args.agents or args.repeat < 1 or args.large < 0:
        parser.error("expected --agents >= 1, --events >= --agents, --repeat >= 1, --large >= 0")
    if 0 < args.large <= args.events:
        parser.error("expected --large > --events (or --large 0)")
    return args


# --- synthetic governance ------------------------------------------------------------------------


def synthetic_charter(number: int, template: dict[str, Any], minimum: dict) -> dict[str, Any]:
    import yaml

    charter = yaml.safe_load(yaml.safe_dump(template))  # a deep copy
    charter["id"] = f"agent-{number:05d}"
    charter["name"] = f"Agent {number:05d} ({template['name']})"
    own = charter.get("monitor", {}).get("metrics", [])
    # The tier's minimum metrics first: tier readiness requires them to be monitored.
    required = [m for m in minimum.get(charter["tier"], []) if m in own]
    metrics = list(dict.fromkeys([*required, *own, *METRIC_POOL]))[:METRICS]
    charter["monitor"] = {"baseline": {"rolling": "28d"}, "recent": "7d", "metrics": metrics}
    return charter


def make_governance(root: Path, agents: int) -> Path:
    import yaml

    governance = root / "governance"
    shutil.copytree(EXAMPLE_GOVERNANCE, governance)
    for per_agent in ("agents", "evals", "incidents"):  # they name the example's agents
        shutil.rmtree(governance / per_agent, ignore_errors=True)
    (governance / "agents").mkdir()
    tiers = yaml.safe_load((EXAMPLE_GOVERNANCE / "tiers.yaml").read_text())["tiers"]
    minimum = {tier["id"]: tier["minimum_metrics"] for tier in tiers}
    charters = [yaml.safe_load(path.read_text(encoding="utf-8"))
                for path in sorted((EXAMPLE_GOVERNANCE / "agents").glob("*.yaml"))]  # fmt: skip
    examples = [data for data in charters if data["tier"] in TIERS]  # tiers 0-2, in file order
    for number in range(1, agents + 1):
        charter = synthetic_charter(number, examples[(number - 1) % len(examples)], minimum)
        (governance / "agents" / f"{charter['id']}.yaml").write_text(
            yaml.safe_dump(charter, sort_keys=False), encoding="utf-8"
        )
    return governance


def spark_governance(governance: Path, master: str) -> Path:
    """A copy whose monitor.yaml runs the monitor on a local Spark session."""
    import yaml

    copy = governance.with_name("governance-spark")
    shutil.copytree(governance, copy)
    settings = yaml.safe_load((copy / "monitor.yaml").read_text(encoding="utf-8")) or {}
    settings["engine"] = {"kind": "spark", "master": master}
    (copy / "monitor.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return copy


def metric_columns(governance: Any, present: list[str]) -> list[str]:
    """The event columns the charters' metrics (monitored, guardrails, stops, north star) read."""
    wanted = {"agent", "timestamp", "outcome"}
    for charter in governance.agents:
        ids = [*(charter.monitor.metrics if charter.monitor else []), charter.north_star.metric,
               *(g.metric for g in [*charter.guardrails, *charter.stop_conditions])]  # fmt: skip
        for metric in map(governance.metric, ids):
            if metric.compute is not None:
                wanted |= set(metric.compute.where or {}) | set(metric.compute.sum or [])
    if "human_cost_usd" in wanted:  # derived: reviewer_minutes x the hourly rate
        wanted.add("reviewer_minutes")
    return [column for column in present if column in wanted]


# --- events --------------------------------------------------------------------------------------


def generate(
    governance: Any, events: float, seed: int, paths: list[Path], first_task: int = 1
) -> int:
    """Simulate about `events` events in one go and write them to each of `paths`, task ids
    from `first_task`."""
    from monitor.simulate import simulate, write_events

    started = time.perf_counter()
    per_day = events / len(governance.agents) / DAYS
    columns, _, _ = simulate(governance, NOW, seed=seed, tasks_per_day=per_day)
    rows = len(columns["ts"])
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_events(columns, [c.id for c in governance.agents], path, first_task=first_task)
    size = sum(p.stat().st_size for p in paths) / 2**20
    print(f"  {rows:,} events -> {', '.join(p.name for p in paths)} ({size:,.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return rows


def generate_large(governance: Any, events: int, seed: int, folder: Path) -> int:
    """Chunks of at most CHUNK events, each a full 35 days for every agent, with its own seed:
    the union has the per-agent rates of one big file. Task ids are unique across chunks (a
    chunk holds fewer than 2 x CHUNK events), as in one export: ids repeated across files are
    what the monitor warns about (overlapping exports)."""
    chunks = math.ceil(events / CHUNK)
    return sum(generate(governance, events / chunks, seed + 1 + i,
                        [folder / f"part-{i:03d}.parquet"], first_task=1 + i * 2 * CHUNK)
               for i in range(chunks))  # fmt: skip


# --- measuring -----------------------------------------------------------------------------------


def measure(argv: list[str]) -> dict[str, Any]:
    """Run one child in a fresh interpreter; its JSON line plus cpu_s, wall_s and rss_mb."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *argv]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines()
        if process.returncode != 0 or not lines:
            tail = err.read().strip().splitlines() or [f"exit code {process.returncode}"]
            return {"error": tail[-1][:160]}
    result = json.loads(lines[-1])
    hwm = result.pop("hwm_mb")
    return result | {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall,
                     "rss_mb": hwm if hwm is not None else usage.ru_maxrss / 1024}  # fmt: skip


def repeated(argv: list[str], times: int, fresh: Callable[[], str]) -> dict[str, Any]:
    """Median CPU and wall, maximum RSS, over `times` runs (each with a `fresh()` state path for
    STATE); the other figures of the last run."""
    runs = []
    for _ in range(times):
        runs.append(measure([fresh() if arg == STATE else arg for arg in argv]))
        if "error" in runs[-1]:
            return runs[-1]
    return runs[-1] | {
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
        "runs": times,
    }


def scale(n: int) -> str:
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def machine() -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")  # fmt: skip
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kb = next((int(line.split()[1]) for line in meminfo.splitlines()
               if line.startswith("MemTotal:")), 0)  # fmt: skip
    versions = [f"python {platform.python_version()}"]
    for name in ("duckdb", "ibis-framework", "pyspark", "pandas", "scipy", "pyarrow"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    if java.returncode == 0 and java.stderr.strip():
        versions.append(java.stderr.strip().splitlines()[0])
    return [f"machine: {os.cpu_count()} CPUs ({model}), {kb / 2**20:.1f} GB RAM, "
            f"{platform.system()} {platform.release()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "versions: " + ", ".join(versions)]  # fmt: skip


# --- the benchmark -------------------------------------------------------------------------------


def run(args: argparse.Namespace, work: Path) -> None:
    import duckdb

    from playbook.policy import load_governance

    print("\n".join(machine()), flush=True)
    print(f"generating {args.agents:,} charters and the events in {work} ...", flush=True)
    governance_dir = make_governance(work, args.agents)
    governance = load_governance(governance_dir, today=NOW.date())
    parquet, csv = work / "events.parquet", work / "events.csv"
    generate(governance, args.events, args.seed, [parquet, csv])
    present = duckdb.sql(f"SELECT * FROM read_parquet('{parquet}') LIMIT 0").columns
    columns = ",".join(metric_columns(governance, present))
    print(f"columns the metrics read: {columns.replace(',', ', ')}", flush=True)

    rows: list[tuple[str, str, str, dict[str, Any]]] = []  # (format/scale, engine, what, result)
    runs = itertools.count()

    def state() -> str:  # a fresh state directory for each govkit run
        return str(work / "state" / str(next(runs)) / "monitor.db")

    def step(label: str, engine: str, what: str, argv: list[str], times: int) -> None:
        print(f"  {label} {engine} {what} ...", end=" ", flush=True)
        result = repeated(argv, times, state)
        print(result.get("error") or f"{result['cpu_s']:.2f} s CPU", flush=True)
        rows.append((label, engine, what, result))

    sized = scale(args.events)
    formats = [(parquet, "parquet"), (csv, "csv")]
    if args.jsonl:
        jsonl = work / "events.jsonl"
        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{jsonl}' (FORMAT JSON)")
        formats.append((jsonl, "jsonl"))
    for path, fmt in formats:
        label = f"{fmt} {sized}"
        step(label, "duckdb", "floor", ["floor", str(path), columns], args.repeat)
        if not args.no_naive and fmt != "jsonl":  # pandas holds a whole JSON Lines file as objects
            step(label, "pandas+scipy", "naive", ["naive", str(path), columns], args.repeat)
        govkit = ["govkit", str(governance_dir), str(path), STATE, "duckdb"]
        step(label, "duckdb", "govkit", govkit, args.repeat)
    if not args.no_spark:
        spark_dir = str(spark_governance(governance_dir, args.spark_master))
        step(f"parquet {sized}", f"spark {args.spark_master}", "govkit",
             ["govkit", spark_dir, str(parquet), STATE, "spark"], args.repeat)  # fmt: skip
    if args.large:
        print(f"generating {args.large:,} events as Parquet chunks ...", flush=True)
        generate_large(governance, args.large, args.seed, work / "large")
        glob = str(work / "large" / "*.parquet")
        label = f"parquet {scale(args.large)}"
        step(label, "duckdb", "floor", ["floor", glob, columns], 1)
        step(label, "duckdb", "govkit",
             ["govkit", str(governance_dir), glob, STATE, "duckdb"], 1)  # fmt: skip
    report(args, rows)


def report(args: argparse.Namespace, rows: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    floors = {label: r["cpu_s"] for label, _, what, r in rows if what == "floor" and "cpu_s" in r}
    print()
    header = ("format/scale", "engine", "what", "rows", "CPU s", "x floor", "wall s", "peak RSS MB")
    print("  {:<14} {:<16} {:<7} {:>12} {:>8} {:>8} {:>8} {:>12}".format(*header))
    for label, engine, what, r in rows:
        if "error" in r:
            print(f"  {label:<14} {engine:<16} {what:<7} failed: {r['error']}")
            continue
        ratio = r["cpu_s"] / floors[label] if floors.get(label) else float("nan")
        rss = f"{r['rss_mb'] + r.get('jvm_rss_mb', 0):,.0f}" + ("*" if "jvm_rss_mb" in r else "")
        print(f"  {label:<14} {engine:<16} {what:<7} {r['rows']:>12,} {r['cpu_s']:>8.2f} "
              f"{ratio:>7.1f}x {r['wall_s']:>8.2f} {rss:>12}")  # fmt: skip
    print()
    print(f"CPU s: user + system CPU of the whole child process (os.wait4: interpreter start and "
          f"imports included), median of {args.repeat} run(s); wall s: median; peak RSS: the "
          f"child's VmHWM, the largest over the runs. x floor: CPU / the same file's floor CPU."
          + (f" {scale(args.large)}: one run each." if args.large else ""))  # fmt: skip
    by_key = {(label, engine.split()[0], what): r for label, engine, what, r in rows}
    sized = scale(args.events)
    spark = by_key.get((f"parquet {sized}", "spark", "govkit"), {})
    if "cpu_s" in spark:
        print(f"* spark: peak RSS = the Python driver's {spark['rss_mb']:,.0f} MB + the JVM's "
              f"{spark['jvm_rss_mb']:,.0f} MB (separate processes; their sum bounds the joint "
              f"peak). CPU: the child reaps the JVM after spark.stop() "
              f"({'done' if spark['jvm_reaped'] else 'NOT done: JVM CPU missing'}), so wait4's "
              f"{spark['cpu_s']:.2f} s ~ driver {spark['driver_cpu_s']:.2f} s + JVM "
              f"{spark['jvm_cpu_s']:.2f} s; left to PySpark, the JVM exits on its own after the "
              f"driver, is reaped by init, and wait4 would show only the driver's "
              f"{spark['driver_cpu_s']:.2f} s.")  # fmt: skip
    govkit = by_key.get((f"parquet {sized}", "duckdb", "govkit"), {})
    if "rows" in govkit:
        alerts = govkit["alerts"]
        print(f"govkit's Parquet pass: {govkit['rows']:,} tasks, {govkit['findings']:,} findings, "
              f"the handbook's daily series for {govkit['series']:,} agents (computed in the "
              f"pass, so included in its figures), {len(alerts)} alerts firing: "
              f"{'; '.join(alerts)}")  # fmt: skip
    floor = floors.get(f"parquet {sized}")
    if "cpu_s" in govkit and floor:
        ratio = govkit["cpu_s"] / floor
        print(f"target: parquet {sized} govkit CPU <= {TARGET_RATIO:g}x floor: "
              f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'} ({ratio:.1f}x)")  # fmt: skip
    else:
        print(f"target: parquet {sized} govkit CPU <= {TARGET_RATIO:g}x floor: not measured")
    for key, n in (("events", args.events), ("large", args.large)):
        limit = TARGET_RSS_MB[key]
        passes = {label.split()[0]: r["rss_mb"] for (label, engine, what), r in by_key.items()
                  if label.endswith(f" {scale(n)}") and engine == "duckdb" and what == "govkit"
                  and "rss_mb" in r}  # fmt: skip
        line = f"target: peak RSS <= {limit / 1024:g} GB at {scale(n) if n else '--large'}: "
        if not n or not passes:
            print(line + ("not run (--large 0)" if not n else "not measured"))
            continue
        worst = max(passes.values())
        figures = ", ".join(f"{fmt} {mb:,.0f} MB" for fmt, mb in passes.items())
        print(line + f"{'PASS' if worst <= limit else 'FAIL'} (govkit on DuckDB: {figures})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args.child[0], args.child[1:])
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="govkit-bench-monitor-", dir=args.workdir))
    try:
        run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
