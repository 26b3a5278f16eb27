"""Policy decision logs as events: one event per decision a record represents, so that counts and
rates are exact however the auto_approve decisions were sampled; rotated files and globs; bad
lines located and skipped, a crashed writer's torn last line tolerated."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from monitor.sources import decisions
from monitor.sources.importer import detect_format, expand, import_traces
from playbook.core.settings import SourceSettings
from playbook.policy import DECISIONS, decision_log

FIXTURES = Path(__file__).parent / "fixtures" / "decisions"
LOGS = FIXTURES / "refunds"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
TIME = "2026-11-20T10:00:00.000000Z"


def record(**fields: Any) -> dict[str, Any]:
    """A decision record as the contract writes it, `fields` replacing its defaults."""
    base = {
        "time": TIME, "decision_id": "d" * 32, "policy": "support-agent", "revision": "abc123",
        "agent": "refunds", "facts": {"action": "refund", "amount_usd": 250},
        "decision": "require_human", "reasons": ["amount_usd 250 > auto_approve_max_usd 200"],
        "sample_rate": 0.15, "represents": 1,
    }  # fmt: skip
    return base | fields


def write_log(path: Path, records: list[dict[str, Any] | str], *, end: str = "\n") -> Path:
    """Each record as one JSON line (a string as it is); the last line ended with `end`."""
    lines = [item if isinstance(item, str) else json.dumps(item) for item in records]
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def imported(*patterns: str | Path, settings: SourceSettings | None = None):
    return import_traces(
        "decisions", expand([str(pattern) for pattern in patterns]), None, settings=settings
    )


def decision_of(row: dict[str, Any]) -> str:
    if row["outcome"] == "escalated":
        return "escalate"
    return "require_human" if row["policy_hit"] else "auto_approve"


def test_the_reader_names_the_same_decisions_as_the_policy_floor() -> None:
    assert decisions.DECISIONS == DECISIONS
    assert decisions.MAX_REPRESENTS == decision_log.MAX_REPRESENTS  # what the writer splits at


def test_events_reproduce_every_decision_made_despite_sampling() -> None:
    """The fixture's log holds about 15% of the auto_approve decisions (sample_rate 0.15) and a
    closing summary record; the events count every decision `decide` made."""
    logged = [
        json.loads(line)
        for path in LOGS.glob("decisions.jsonl*")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    sampled = [item for item in logged if item["decision"] == "auto_approve"]
    assert len(sampled) < EXPECTED["refunds"]["auto_approve"] / 3  # the log is sampled
    assert sum(item.get("summary", False) for item in logged) == 1
    result = imported(LOGS / "decisions.jsonl*")
    assert not result.skipped.by_reason
    counts = Counter((row["agent"], decision_of(row)) for row in result.rows)
    assert counts == Counter(
        {(agent, decision): n for agent, made in EXPECTED.items() for decision, n in made.items()}
    )
    assert len({row["task_id"] for row in result.rows}) == len(result.rows)


def test_a_record_representing_k_decisions_is_k_events_at_its_time(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "decisions.jsonl",
        [
            record(decision="auto_approve", reasons=[], represents=3),
            record(decision_id="e" * 32, decision="escalate", reasons=["topic in x"]),
            record(
                decision_id="f" * 32,
                decision="auto_approve",
                facts=None,
                reasons=[],
                represents=2,
                summary=True,
            ),
        ],
    )
    rows = imported(log).rows
    assert [(row["task_id"], row["outcome"], row["policy_hit"]) for row in rows] == [
        ("d" * 32, "success", False),
        ("d" * 32 + "#2", "success", False),
        ("d" * 32 + "#3", "success", False),
        ("e" * 32, "escalated", True),
        ("f" * 32, "success", False),
        ("f" * 32 + "#2", "success", False),
    ]
    assert {row["timestamp"] for row in rows} == {"2026-11-20T10:00:00+00:00"}
    assert {(row["latency_s"], row["cost_usd"]) for row in rows} == {(None, None)}


def test_require_human_is_a_policy_hit_that_did_not_escalate(tmp_path: Path) -> None:
    rows = imported(write_log(tmp_path / "decisions.jsonl", [record()])).rows
    assert [(row["outcome"], row["policy_hit"]) for row in rows] == [("success", True)]


def test_rotated_files_and_globs_each_read_once() -> None:
    current = imported(LOGS / "decisions.jsonl").rows
    everything = imported(LOGS / "decisions.jsonl*").rows
    assert 0 < len(current) < len(everything) == sum(EXPECTED["refunds"].values())
    again = imported(LOGS / "decisions.jsonl.1", LOGS / "decisions.jsonl*", LOGS / "*.jsonl.?")
    assert len(again.rows) == len(everything)
    assert not again.skipped.by_reason


def test_a_rotated_file_is_detected_from_its_content() -> None:
    assert detect_format(LOGS / "decisions.jsonl.2") == "decisions"


def test_bad_lines_are_located_and_the_rest_read(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "decisions.jsonl",
        [
            record(),
            "{not json",
            record(decision_id="a" * 32, agent=None),
            record(decision_id="b" * 32, decision="approve"),
            record(decision_id="c" * 32, represents=0),
            record(decision_id="0" * 32, represents=1.5),
            record(decision_id="1" * 32, time="yesterday"),
            record(decision_id="2" * 32, time=None),
            record(decision_id=None),
            record(decision_id=["x"]),
            record(),  # the first one's decision_id again
            "[1, 2]",
            record(decision_id="3" * 32),
        ],
    )
    result = imported(log)
    assert len(result.rows) == 2
    assert result.skipped.examples == {
        "bad_json": [f"{log}:2", f"{log}:12"],
        "missing_agent": [f"{log}:3"],
        "bad_decision": [f"{log}:4"],
        "bad_represents": [f"{log}:5", f"{log}:6"],
        "bad_timestamp": [f"{log}:7"],
        "missing_timestamp": [f"{log}:8"],
        "missing_id": [f"{log}:9"],
        "bad_id": [f"{log}:10"],
        "duplicate_decision": [f"{log}:11"],
    }


def test_a_torn_last_line_is_tolerated_and_reported(tmp_path: Path) -> None:
    """A writer that crashed mid-line leaves the file's last line cut short, without its
    newline: the lines before it are read, the torn one reported as such."""
    whole = json.dumps(record(decision_id="a" * 32))
    log = write_log(tmp_path / "decisions.jsonl", [record(), whole[: len(whole) // 2]], end="")
    result = imported(log)
    assert [row["task_id"] for row in result.rows] == ["d" * 32]
    assert result.skipped.examples == {"torn_last_line": [f"{log}:2"]}


def test_agent_from_the_facts_or_the_fact_sources_yaml_names(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "decisions.jsonl",
        [
            record(agent=None, facts={"agent": "support-replies", "team": {"name": "billing"}}),
            record(decision_id="e" * 32, facts={"team": {"name": "billing"}}),
        ],
    )
    assert [row["agent"] for row in imported(log).rows] == ["support-replies", "refunds"]
    settings = SourceSettings.model_validate({"agent_attribute": {"decisions": "team.name"}})
    assert [row["agent"] for row in imported(log, settings=settings).rows] == ["billing"] * 2
    by_policy = SourceSettings.model_validate({"agent_attribute": {"decisions": "policy"}})
    assert [row["agent"] for row in imported(log, settings=by_policy).rows] == ["support-agent"] * 2


def test_agents_map_to_charters_as_for_every_source(tmp_path: Path) -> None:
    log = write_log(tmp_path / "decisions.jsonl", [record(agent="refund-bot")])
    settings = SourceSettings.model_validate({"agents": {"refund-bot": "refunds"}})
    assert [row["agent"] for row in imported(log, settings=settings).rows] == ["refunds"]


@pytest.mark.parametrize("value", [True, "2", -1, 10**6 + 1, 10**9, [1]])
def test_represents_must_be_a_count(value: Any) -> None:
    assert decisions.parse_record(record(represents=value), None) == "bad_represents"


def test_represents_absent_is_one() -> None:
    parsed = decisions.parse_record({k: v for k, v in record().items() if k != "represents"}, None)
    assert not isinstance(parsed, str) and parsed.represents == 1


def test_an_empty_log_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    log.write_bytes(b"")
    result = imported(log)
    assert result.rows == [] and result.skipped.examples == {"empty_file": [f"{log}:1"]}


def test_a_byte_order_mark_and_crlf_line_ends_are_read(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    lines = [json.dumps(record()), json.dumps(record(decision_id="e" * 32))]
    log.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    result = imported(log)
    assert [row["task_id"] for row in result.rows] == ["d" * 32, "e" * 32]
    assert not result.skipped.by_reason


def test_an_enormous_represents_is_skipped_not_expanded(tmp_path: Path) -> None:
    """10^9 would be 10^9 event rows (hours); a sampled log's record stands for far fewer."""
    log = write_log(
        tmp_path / "decisions.jsonl",
        [
            record(decision="auto_approve", reasons=[], represents=10**6 + 1),
            record(decision_id="e" * 32),
        ],
    )
    result = imported(log)
    assert [row["task_id"] for row in result.rows] == ["e" * 32]
    assert result.skipped.examples == {"bad_represents": [f"{log}:1"]}
