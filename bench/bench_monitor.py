"""Benchmark: one drift-monitor pass against DuckDB's floor, on N synthetic events.

Copies the example governance into a temporary directory, replaces its charters with --agents
synthetic ones (clones of the tier 0-2 example charters, each monitoring exactly 5 metrics against
a rolling 28-day baseline with a 7-day recent window), generates --events events over 35 days with
`monitor.simulate` (the same generator as `govkit events generate`), writes them as Parquet and as
CSV, then for each format times

* floor: `SELECT agent, count(*) FROM read_parquet/read_csv(file) GROUP BY agent` in DuckDB, in
  this process: the least any reader of the file must do;
* govkit: one monitor pass (`run_monitor`: read + validate, metrics, drift tests, checks, alerts,
  state) in a fresh subprocess, whose peak RSS is its own VmHWM (/proc/self/status).

Targets: govkit <= 3x the floor, peak RSS <= 1.5 GB. If Evidently is installed, a per-agent
Evidently data-drift report on the same data is timed too. The script exits 0 whatever the
verdict; read the PASS/FAIL lines.

    python bench/bench_monitor.py                      # 10,000,000 events, 200 agents
    python bench/bench_monitor.py --events 1000000     # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from playbook.policy import load_governance  # noqa: E402

EXAMPLE_GOVERNANCE = REPO / "governance"
NOW = datetime(2026, 11, 24, tzinfo=UTC)  # midnight: 35 whole days of events
DAYS = 35  # rolling 28d baseline + 7d recent
TIERS = (0, 1, 2)
METRICS = 5
METRIC_POOL = ("task_success_rate", "escalation_rate", "latency_s", "cost_per_task",
               "reviewer_minutes_per_task", "rework_rate", "customer_feedback")  # fmt: skip
TARGET_RATIO = 3.0
TARGET_RSS_MB = 1536.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time one govkit drift-monitor pass against a DuckDB GROUP BY floor on N synthetic "
            "events (Parquet and CSV), and measure its peak memory. Targets: govkit <= 3x the "
            "floor, peak RSS <= 1.5 GB. Always exits 0 once the benchmark ran; read PASS/FAIL."
        )
    )
    add = parser.add_argument
    add("--events", type=int, default=10_000_000, metavar="N",
        help="about how many events to generate, over 35 days (default: %(default)s)")  # fmt: skip
    add("--agents", type=int, default=200, metavar="N",
        help="number of synthetic charters (default: %(default)s)")  # fmt: skip
    add("--seed", type=int, default=7, help="generator seed (default: %(default)s)")
    add("--keep", action="store_true",
        help="keep the temporary directory (governance, events, state)")  # fmt: skip
    # Internal: the measured monitor pass, run by the benchmark in a fresh interpreter.
    add("--child", nargs=3, metavar=("GOVERNANCE", "EVENTS", "STATE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.agents < 1 or args.events < args.agents:
        parser.error("expected --agents >= 1 and --events >= --agents")
    return args


# --- synthetic governance ------------------------------------------------------------------------


def templates() -> list[dict[str, Any]]:
    """The example charters of tiers 0-2, in file order."""
    charters = []
    for path in sorted((EXAMPLE_GOVERNANCE / "agents").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data["tier"] in TIERS:
            charters.append(data)
    return charters


TIER_MINIMUM = {
    tier["id"]: tier["minimum_metrics"]
    for tier in yaml.safe_load((EXAMPLE_GOVERNANCE / "tiers.yaml").read_text())["tiers"]
}


def synthetic_charter(number: int, template: dict[str, Any]) -> dict[str, Any]:
    charter = yaml.safe_load(yaml.safe_dump(template))  # a deep copy
    charter["id"] = f"agent-{number:05d}"
    charter["name"] = f"Agent {number:05d} ({template['name']})"
    own = charter.get("monitor", {}).get("metrics", [])
    # The tier's minimum metrics first: tier readiness requires them to be monitored.
    required = [m for m in TIER_MINIMUM.get(charter["tier"], []) if m in own]
    metrics = list(dict.fromkeys([*required, *own, *METRIC_POOL]))[:METRICS]
    charter["monitor"] = {"baseline": {"rolling": "28d"}, "recent": "7d", "metrics": metrics}
    return charter


def make_governance(root: Path, agents: int) -> Path:
    governance = root / "governance"
    shutil.copytree(EXAMPLE_GOVERNANCE, governance)
    shutil.rmtree(governance / "agents")
    (governance / "agents").mkdir()
    examples = templates()
    for number in range(1, agents + 1):
        charter = synthetic_charter(number, examples[(number - 1) % len(examples)])
        (governance / "agents" / f"{charter['id']}.yaml").write_text(
            yaml.safe_dump(charter, sort_keys=False), encoding="utf-8"
        )
    return governance


# --- measuring -----------------------------------------------------------------------------------


def child(governance_dir: str, events: str, state: str) -> int:
    """The measured process: one monitor pass; prints its timings as JSON."""
    from monitor.run import RunOptions, run_monitor

    started = time.perf_counter()
    governance = load_governance(Path(governance_dir), today=NOW.date())
    loaded = time.perf_counter()
    report = run_monitor(governance, RunOptions(events=events, now=NOW, state=Path(state)))
    finished = time.perf_counter()
    alerts = sorted(" ".join(a.labels[k] for k in ("alertname", "agent", "metric"))
                    for a in report.firing)  # fmt: skip
    print(json.dumps({"load_s": loaded - started, "run_s": finished - loaded,
                      "tasks": report.tasks, "alerts": alerts,
                      "hwm_mb": _peak_rss_mb()}))  # fmt: skip
    return 0


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). getrusage would also count the memory of the
    benchmark process it was forked from, which exec folds into ru_maxrss on Linux."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def govkit_pass(governance: Path, events: Path, state: Path) -> dict[str, Any]:
    """Run `child` in a fresh interpreter; add its wall time and peak RSS (MB)."""
    command = [sys.executable, __file__, "--child", str(governance), str(events), str(state)]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"bench: the monitor pass failed:\n{err.read()[-3000:]}")
        result = json.loads(out.read().strip().splitlines()[-1])
    rss = result.pop("hwm_mb")
    return result | {"wall_s": wall, "rss_mb": rss if rss == rss else usage.ru_maxrss / 1024}


def floor(events: Path) -> tuple[float, int]:
    reader = "read_parquet" if events.suffix == ".parquet" else "read_csv"
    connection = duckdb.connect()
    started = time.perf_counter()
    rows = connection.execute(
        f"SELECT agent, count(*) FROM {reader}('{events}') GROUP BY agent"
    ).fetchall()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, sum(count for _, count in rows)


def evidently_pass(events: Path, governance: Path) -> str:
    """Time a per-agent Evidently data-drift report (baseline 28d vs recent 7d), if installed."""
    try:
        try:
            from evidently import Report  # type: ignore[import-not-found]
            from evidently.presets import DataDriftPreset  # type: ignore[import-not-found]
        except ImportError:
            from evidently.metric_preset import DataDriftPreset  # type: ignore[import-not-found]
            from evidently.report import Report  # type: ignore[import-not-found]
    except ImportError:
        return "Evidently: not installed (pip install evidently to compare); skipped"
    columns = "latency_s, cost_usd, tooling_cost_usd, reviewer_minutes, customer_feedback"
    split = (NOW - timedelta(days=7)).isoformat()
    started = time.perf_counter()
    frame = (
        duckdb.connect()
        .execute(
            f"SELECT agent, timestamp >= '{split}'::TIMESTAMPTZ AS recent, {columns} "
            f"FROM read_parquet('{events}')"
        )
        .df()
    )
    for _, rows in frame.groupby("agent"):
        reference = rows[~rows["recent"]].drop(columns=["agent", "recent"])
        current = rows[rows["recent"]].drop(columns=["agent", "recent"])
        Report([DataDriftPreset()]).run(reference_data=reference, current_data=current)
    agents = frame["agent"].nunique()
    return f"Evidently: per-agent data-drift reports for {agents} agents: " + (
        f"{time.perf_counter() - started:.2f} s (Parquet, read included)"
    )


def run(args: argparse.Namespace, work: Path) -> None:
    from monitor.simulate import simulate, write_events

    print(f"generating {args.agents:,} charters in {work} ...", flush=True)
    governance_dir = make_governance(work, args.agents)
    governance = load_governance(governance_dir, today=NOW.date())
    tasks_per_day = args.events / args.agents / DAYS
    started = time.perf_counter()
    columns, _, _ = simulate(governance, NOW, seed=args.seed, tasks_per_day=tasks_per_day)
    simulated = time.perf_counter()
    print(f"simulated {len(columns['ts']):,} events in {simulated - started:.1f} s", flush=True)
    files = [work / "events.parquet", work / "events.csv"]
    agents = [c.id for c in governance.agents]
    for path in files:
        started = time.perf_counter()
        write_events(columns, agents, path)
        size = path.stat().st_size / 2**20
        print(f"wrote {path.name} ({size:,.0f} MB) in {time.perf_counter() - started:.1f} s")
    del columns

    results = []
    for path in files:
        floor_s, rows = floor(path)
        print(f"{path.suffix[1:]}: floor {floor_s:.2f} s; running the monitor ...", flush=True)
        govkit = govkit_pass(governance_dir, path, work / f"state-{path.suffix[1:]}.db")
        results.append((path.suffix[1:], rows, floor_s, govkit))

    print()
    header = ("format", "rows", "floor s", "govkit s", "ratio", "process s", "peak RSS MB")
    print("  {:<8} {:>12} {:>9} {:>9} {:>7} {:>10} {:>12}".format(*header))
    for name, rows, floor_s, g in results:
        ratio = g["run_s"] / floor_s if floor_s else float("inf")
        print(f"  {name:<8} {rows:>12,} {floor_s:>9.2f} {g['run_s']:>9.2f} {ratio:>6.1f}x "
              f"{g['wall_s']:>10.2f} {g['rss_mb']:>12,.0f}")  # fmt: skip
    print()
    print("govkit s: run_monitor in the subprocess; process s: the whole subprocess (interpreter "
          "start, imports, load_governance).")  # fmt: skip
    for name, _, floor_s, g in results:
        ratio = g["run_s"] / floor_s if floor_s else float("inf")
        fast, small = ratio <= TARGET_RATIO, g["rss_mb"] <= TARGET_RSS_MB
        print(f"target: {name} govkit <= {TARGET_RATIO:g}x floor: "
              f"{'PASS' if fast else 'FAIL'} ({ratio:.1f}x)")  # fmt: skip
        print(f"target: {name} peak RSS <= 1.5 GB: "
              f"{'PASS' if small else 'FAIL'} ({g['rss_mb']:,.0f} MB)")  # fmt: skip
    alerts = results[0][3]["alerts"]
    print(f"alerts firing after the Parquet pass ({len(alerts)}): {'; '.join(alerts)}")
    print(evidently_pass(files[0], governance_dir))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(*args.child)
    work = Path(tempfile.mkdtemp(prefix="govkit-bench-monitor-"))
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
