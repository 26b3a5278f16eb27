"""The ops files a team pastes (ops/prometheus.yml, ops/govkit-rules.yml) and govkit's metrics,
checked by Prometheus' own `promtool` (Debian's `prometheus` package): the config and rules are
valid, the rules' unit tests pass ("monitor stalled", "budget burn"), and the exposition passes
promtool's lint of metric names, types and help."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

OPS = REPO / "ops"
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not found: install Debian's `prometheus` package (apt-get install "
    "prometheus) to check the ops files with it",
)


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROMTOOL), *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=OPS
    )


def test_the_scrape_config_and_its_rules_are_valid():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_the_alerting_rules_pass_their_unit_tests():
    result = promtool("test", "rules", "govkit-rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_metrics_pass_promtools_lint(tmp_path, govkit):
    from tests.monitor.test_metrics_export import events_with_bad_rows

    metrics_file = tmp_path / "govkit.prom"
    result = govkit("monitor", "run", "--governance", str(REPO / "governance"),
                    "--events", str(events_with_bad_rows(tmp_path)), "--state",
                    str(tmp_path / "monitor.db"), "--now", "2026-11-24T12:00:00Z",
                    "--metrics-file", str(metrics_file))  # fmt: skip
    assert result.exit_code == 0, result.output
    checked = promtool("check", "metrics", stdin=Path(metrics_file).read_text(encoding="utf-8"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""  # not one naming or help problem
