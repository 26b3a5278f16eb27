"""Benchmark: `govkit events import --from otel` against DuckDB reading the same file.

Writes --tasks synthetic agent tasks (5 spans each: invoke_agent -> chat -> execute_tool -> chat
-> execute_tool, GenAI attributes, as the OTel file exporter writes them: one TracesData per line,
--traces-per-line traces a line) with plain `json`, then times, in this process:

* floor: `SELECT count(*) FROM read_json(file, format='newline_delimited')` in DuckDB;
* read: `monitor.sources.otel.read` (parse, group by trace, build tasks);
* import: `import_traces` (read + map + price) and `write_events` to Parquet;
* memory: `govkit events import` run on the same file in a child process, its peak resident set
  size (the kernel's ru_maxrss) against the same for a child that only imports govkit.

Targets: import <= 3x the floor; peak memory of the import < 1 GB at 1M spans. Exits 0 whatever
the verdicts; read the PASS/FAIL lines.

    python bench/bench_import.py                      # 200,000 tasks = 1,000,000 spans
    python bench/bench_import.py --tasks 20000        # a quick run
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from monitor.sources import otel  # noqa: E402
from monitor.sources.importer import import_traces, write_events  # noqa: E402
from playbook.policy import load_governance  # noqa: E402

TARGET_RATIO = 3.0
TARGET_PEAK_MB = 1024
START_NS = 1_763_600_000_000_000_000  # 2025-11-20
AGENTS = ("docs-bot", "support-bot", "triage-bot", "refund-bot")
MAPPING = {"docs-bot": "docs-qa", "support-bot": "support-replies",
           "triage-bot": "ticket-triage", "refund-bot": "refunds"}  # fmt: skip


def attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def span(trace: str, sid: str, parent: str, name: str, start: int, end: int,
         attributes: list[dict[str, Any]], error: bool = False) -> dict[str, Any]:  # fmt: skip
    return {
        "traceId": trace, "spanId": sid, "parentSpanId": parent, "name": name, "kind": 1,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
        "attributes": attributes, "status": {"code": 2 if error else 0},
    }  # fmt: skip


def task_spans(n: int) -> list[dict[str, Any]]:
    trace = f"{n:032x}"
    ids = [f"{n * 5 + k:016x}" for k in range(5)]
    t0 = START_NS + n * 7_000_000_000
    agent = AGENTS[n % len(AGENTS)]
    llm = [attr("gen_ai.operation.name", "chat"), attr("gen_ai.request.model", "gpt-4o"),
           attr("gen_ai.usage.input_tokens", 1000 + n % 500),
           attr("gen_ai.usage.output_tokens", 200 + n % 100)]  # fmt: skip
    return [
        span(trace, ids[0], "", f"invoke_agent {agent}", t0, t0 + 5_000_000_000,
             [attr("gen_ai.operation.name", "invoke_agent"), attr("gen_ai.agent.name", agent),
              attr("gen_ai.system", "openai"), attr("app.tenant", "acme")], error=n % 20 == 0),
        span(trace, ids[1], ids[0], "chat gpt-4o", t0 + 1, t0 + 1_000_000_000, llm),
        span(trace, ids[2], ids[1], "execute_tool search", t0 + 2, t0 + 500_000_000,
             [attr("gen_ai.operation.name", "execute_tool"), attr("gen_ai.tool.name", "search")]),
        span(trace, ids[3], ids[0], "chat gpt-4o", t0 + 1_000_000_000, t0 + 4_000_000_000, llm),
        span(trace, ids[4], ids[3], "execute_tool reply", t0 + 3_000_000_000, t0 + 3_500_000_000,
             [attr("gen_ai.operation.name", "execute_tool"), attr("gen_ai.tool.name", "reply")]),
    ]  # fmt: skip


def write_export(path: Path, tasks: int, per_line: int) -> int:
    resource = {"attributes": [attr("service.name", "agents")]}
    scope = {"name": "bench", "version": "1"}
    lines = 0
    with path.open("w", encoding="utf-8") as handle:
        for first in range(0, tasks, per_line):
            spans = [s for n in range(first, min(first + per_line, tasks)) for s in task_spans(n)]
            scopes = [{"scope": scope, "spans": spans}]
            data = {"resourceSpans": [{"resource": resource, "scopeSpans": scopes}]}
            handle.write(json.dumps(data, separators=(",", ":")) + "\n")
            lines += 1
    return lines


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


# The child prints its own high-water mark of resident memory (VmHWM) as it exits: the kernel's
# ru_maxrss would count the pages a child shares with this (large) process when it is forked.
REPORT_PEAK = (
    "import atexit, sys\n"
    "def report():\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('VmHWM', status.split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
    "atexit.register(report)\n"
)


def peak_rss_mb(code: str, *args: str) -> float:
    """Peak resident set size, in MB, of a fresh Python running `code` (it must succeed)."""
    argv = [sys.executable, "-c", REPORT_PEAK + code, *args]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{completed.stdout}{completed.stderr}")
    kib = completed.stderr.rsplit("VmHWM", 1)[1].split()[0]
    return int(kib) / 1024


def memory(export: Path, governance_dir: Path, out: Path) -> tuple[float, float]:
    """Peak RSS of `govkit events import` on the export, and of a Python that only loads the
    import's modules, each in a fresh process."""
    baseline = peak_rss_mb("import monitor.cli, monitor.sources.importer")
    command = ["events", "import", str(export), "--from", "otel",
               "--governance", str(governance_dir), "--out", str(out)]  # fmt: skip
    peak = peak_rss_mb("from playbook.cli import main; main()", *command)
    return peak, baseline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200_000, help="Agent tasks (5 spans each).")
    parser.add_argument("--traces-per-line", type=int, default=100, help="Traces per TracesData.")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="govkit-bench-import-"))
    try:
        governance_dir = scratch / "governance"
        shutil.copytree(REPO / "governance", governance_dir)
        sources = "agents:\n" + "".join(f"  {k}: {v}\n" for k, v in MAPPING.items())
        (governance_dir / "sources.yaml").write_text(sources)
        (governance_dir / "pricing.yaml").write_text(
            "models:\n  gpt-4o: {input_per_million: 2.5, output_per_million: 10}\n"
        )
        governance = load_governance(governance_dir)
        export = scratch / "traces.jsonl"
        generate_s, lines = timed(lambda: write_export(export, args.tasks, args.traces_per_line))
        size_mb = export.stat().st_size / 1e6
        parser_name = getattr(otel.loads, "__module__", None) or "orjson"
        print(f"{args.tasks * 5:,} spans, {args.tasks:,} tasks, {lines:,} lines, {size_mb:,.0f} MB"
              f" (generated in {generate_s:.1f}s; JSON parser: {parser_name})")  # fmt: skip

        connection = duckdb.connect()
        query = f"SELECT count(*) FROM read_json('{export}', format='newline_delimited')"
        floor_s, count = timed(lambda: connection.execute(query).fetchone()[0])
        read_s, (tasks, _) = timed(lambda: otel.read([export], governance.sources))
        import_s, result = timed(lambda: import_traces("otel", [export], governance))
        out = scratch / "events.parquet"
        write_s, _ = timed(lambda: write_events(result.rows, out))
        assert count == lines and len(tasks) == args.tasks == len(result.rows), "counts differ"

        total = import_s + write_s
        ratio = total / floor_s
        print(f"{'step':<40}{'seconds':>10}{'x floor':>10}")
        for label, seconds in [
            ("floor: DuckDB read_json count(*)", floor_s),
            ("otel.read (parse + tasks)", read_s),
            ("import_traces (read + map + price)", import_s),
            ("write_events (Parquet)", write_s),
            ("import + write", total),
        ]:
            print(f"{label:<40}{seconds:>10.2f}{seconds / floor_s:>10.2f}")
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        print(f"{verdict}: import + write = {ratio:.2f}x the floor (target <= {TARGET_RATIO}x); "
              f"{args.tasks * 5 / total:,.0f} spans/s")  # fmt: skip
        peak, baseline = memory(export, governance_dir, scratch / "cli-events.parquet")
        verdict = "PASS" if peak < TARGET_PEAK_MB else "FAIL"
        print(f"{verdict}: `govkit events import` peak RSS {peak:,.0f} MB for {args.tasks * 5:,} "
              f"spans (govkit loaded, nothing read: {baseline:,.0f} MB; target < "
              f"{TARGET_PEAK_MB:,} MB)")  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
