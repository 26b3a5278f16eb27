"""The benchmarks under bench/ still run: each at a toy size, in its own interpreter.

Their figures are not checked here (speed lives in the benchmarks, never in unit tests); what is
checked is that a change to govkit or to the example organisation has not broken them, as the
example's incidents once broke bench_monitor.py and bench_build.py without a test noticing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

TOY_RUNS = {
    "bench_monitor.py": ["--events", "3000", "--agents", "4", "--repeat", "1", "--no-spark",
                         "--no-naive", "--large", "0", "--jsonl"],
    "bench_build.py": ["--agents", "20", "--today", "2026-11-24"],
    "bench_history.py": ["--agents", "20", "--commits", "60"],
    "bench_import.py": ["--tasks", "200"],
    "bench_policy.py": ["--decisions", "200", "--no-server"],
}  # fmt: skip


def test_every_benchmark_has_a_toy_run() -> None:
    scripts = {path.name for path in BENCH.glob("bench_*.py")}
    assert scripts == set(TOY_RUNS)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(TOY_RUNS))
def test_benchmark_runs_at_a_toy_size(script: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *TOY_RUNS[script]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "target" in done.stdout
