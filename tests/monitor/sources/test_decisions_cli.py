"""`govkit events import --from decisions LOG...`: what it writes, what it says, its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from playbook.core.errors import display_path
from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.sources.test_decisions_reader import EXPECTED, LOGS, record, write_log

MADE = EXPECTED["refunds"]
TOTAL = sum(MADE.values())


def test_import_writes_one_event_per_decision(govkit, tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    result = govkit(
        "events", "import", "--from", "decisions", str(LOGS / "decisions.jsonl*"),
        "--governance", str(EXAMPLE_GOVERNANCE), "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{TOTAL} tasks from 3 decisions file(s)",
        f"  refunds: {TOTAL}",
        f"wrote {out}",
    ]
    connection = duckdb.connect()
    rows = connection.execute(
        f"""SELECT count(*), count(DISTINCT task_id), sum(policy_hit::INT),
                   sum((outcome = 'escalated')::INT), sum((outcome = 'success')::INT),
                   count(latency_s), count(cost_usd), list(DISTINCT agent)
            FROM '{out}'"""
    ).fetchone()
    assert rows == (
        TOTAL, TOTAL, MADE["require_human"] + MADE["escalate"], MADE["escalate"],
        MADE["auto_approve"] + MADE["require_human"], 0, 0, ["refunds"],
    )  # fmt: skip


def test_auto_detects_a_rotated_log(govkit, tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    log = LOGS / "decisions.jsonl.2"
    result = govkit("events", "import", str(log), "--governance", str(EXAMPLE_GOVERNANCE),
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"reading {display_path(log)} as policy decision logs (decisions)\n"
    )
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"timestamp", "agent", "task_id", "outcome", "policy_hit"} <= set(header)


def test_bad_lines_are_reported_with_file_and_line(govkit, tmp_path: Path) -> None:
    bad = ["{oops", record(decision_id="e" * 32, agent=None)]
    log = write_log(tmp_path / "decisions.jsonl", [record(), *bad])
    out = tmp_path / "events.parquet"
    result = govkit("events", "import", "--from", "decisions", str(log),
                    "--governance", str(EXAMPLE_GOVERNANCE), "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "1 tasks from 1 decisions file(s)",
        "  refunds: 1",
        "skipped 2 record(s):",
        f"  bad_json: 1 (e.g. {log}:2)",
        f"  missing_agent: 1 (e.g. {log}:3)",
        f"wrote {out}",
    ]


def test_agents_without_a_charter_are_listed_and_left_out(govkit, tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "decisions.jsonl", [record(), record(decision_id="e" * 32, agent="refund-bot")]
    )
    result = govkit("events", "import", "--from", "decisions", str(log),
                    "--governance", str(EXAMPLE_GOVERNANCE), "--out",
                    str(tmp_path / "events.parquet"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "tasks of agents without a charter, left out" in result.output
    assert "  refund-bot: 1" in result.output


def test_no_decision_at_all_is_exit_2_saying_why(govkit, tmp_path: Path) -> None:
    log = write_log(tmp_path / "decisions.jsonl", [record(agent=None)])
    out = tmp_path / "events.parquet"
    result = govkit("events", "import", "--from", "decisions", str(log),
                    "--governance", str(EXAMPLE_GOVERNANCE), "--out", str(out))  # fmt: skip
    assert result.exit_code == 2
    assert "no agent tasks to write" in result.stderr
    assert f"missing_agent: 1 (e.g. {log}:1)" in result.stderr
    assert "every decision is a task: see the records skipped below" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_missing_log_is_exit_2_naming_it(govkit, tmp_path: Path) -> None:
    missing = tmp_path / "decisions.jsonl"
    result = govkit("events", "import", "--from", "decisions", str(missing),
                    "--out", str(tmp_path / "events.parquet"))  # fmt: skip
    assert result.exit_code == 2
    assert f"{missing}: no such file" in result.stderr
    assert "Traceback" not in result.output


def test_json_lines_of_other_tools_are_not_taken_for_decisions(tmp_path: Path) -> None:
    from monitor.sources.base import SOURCES

    columns = set(json.loads(json.dumps(record())))
    assert [name for name, source in SOURCES.items() if source.detect(columns)] == ["decisions"]
