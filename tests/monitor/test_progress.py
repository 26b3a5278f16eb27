"""Progress lines go to stderr when it is a terminal, never to stdout or into --format json."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import write_events


def _run_with_a_terminal_on_stderr(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run `govkit ARGS` with stderr on a pseudo-terminal and stdout on a pipe."""
    controller, terminal = pty.openpty()
    command = [sys.executable, "-c", "from playbook.cli import main; main()", *args]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is done writing
            break
        if not chunk:
            break
        seen += chunk
    stdout = process.stdout.read().decode()
    process.wait(timeout=120)
    os.close(controller)
    return process.returncode, stdout, seen.decode(errors="replace")


def test_monitor_run_shows_progress_on_a_terminal_and_keeps_stdout_json(tmp_path):
    events = write_events(tmp_path / "events.parquet")
    code, stdout, stderr = _run_with_a_terminal_on_stderr(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(events),
        "--state", str(tmp_path / "m.db"), "--now", "2026-11-24T12:00:00Z", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, stderr
    assert "govkit: reading events from" in stderr
    assert "valid events; testing 7 agents" in stderr
    assert "govkit:" not in stdout
    assert json.loads(stdout)["bad_rows"]["count"] == 0


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path):
    events = write_events(tmp_path / "events.parquet")
    result = subprocess.run(
        [sys.executable, "-c", "from playbook.cli import main; main()", "monitor", "run",
         "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(events),
         "--state", str(tmp_path / "m.db"), "--now", "2026-11-24T12:00:00Z", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "reading events" not in result.stderr
    json.loads(result.stdout)


def test_events_import_shows_its_stages_on_a_terminal(workspace, tmp_path):
    from tests.monitor.sources.test_traces_otel import Traces

    workspace.write("sources.yaml", "agents:\n  docs-bot: docs-qa\n")
    traces = Traces()
    for _ in range(3):
        traces.task("docs-bot")
    path = traces.json_lines(tmp_path / "trace.jsonl")
    out = tmp_path / "events.parquet"
    code, stdout, stderr = _run_with_a_terminal_on_stderr(
        "events", "import", "--from", "otel", str(path), "--out", str(out), cwd=workspace.root
    )
    assert code == 0, stderr
    assert "govkit: reading 1 otel file(s)" in stderr
    assert "govkit: mapping tasks to charters and prices" in stderr
    assert f"govkit: writing 3 events to {out}" in stderr
    assert "govkit:" not in stdout and "3 tasks from 1 otel file(s)" in stdout
