"""Decision logs: the record contract, PII redaction, exact sampling counts, size rotation, whole
lines from many threads, and `govkit policy decide --decision-log`."""

from __future__ import annotations

import json
import random
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from playbook.policy import DecisionLog, decision_log, load_policy
from tests.policy.conftest import seed_cases

POLICY = Path("governance/policies/support-agent.yaml")
KEYS = ["time", "decision_id", "policy", "revision", "agent", "facts", "decision", "reasons",
        "sample_rate", "represents"]  # fmt: skip
NOON = datetime(2026, 12, 4, 15, 0, 0, 123456, tzinfo=UTC)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _facts(index: int) -> dict:
    """Decision `index`: every third one needs a human, the rest are approved."""
    base = dict(seed_cases(POLICY)[0].facts)
    return {**base, "amount_usd": 900 if index % 3 == 0 else 150, "n": index}


def test_a_record_follows_the_contract_and_redacts_pii(workspace, tmp_path):
    log = DecisionLog(tmp_path / "logs" / "decisions.jsonl", clock=lambda: NOON)
    policy = load_policy(POLICY, decision_log=log)
    facts = {**_facts(0), "customer_email": "ada@example.com", "customer_name": "Ada"}

    decision = policy.decide(facts, agent="refunds")
    log.close()

    [record] = _records(log.path)
    assert list(record) == KEYS
    assert re.fullmatch(r"[0-9a-f]{32}", record.pop("decision_id"))
    assert record == {
        "time": "2026-12-04T15:00:00.123456Z",
        "policy": "support-agent",
        "revision": None,
        "agent": "refunds",
        "facts": {**facts, "customer_email": "[redacted]", "customer_name": "[redacted]"},
        "decision": "require_human",
        "reasons": ["amount_usd 900 > auto_approve_max_usd 200"],
        "sample_rate": 0.15,
        "represents": 1,
    }
    assert decision.decision == "require_human"
    assert facts["customer_email"] == "ada@example.com"  # the caller's facts are untouched


def test_the_agent_defaults_to_the_facts_agent(workspace, tmp_path):
    with DecisionLog(tmp_path / "d.jsonl") as log:
        load_policy(POLICY, decision_log=log).decide({**_facts(0), "agent": "billing-bot"})

    assert _records(log.path)[0]["agent"] == "billing-bot"


def test_sampling_is_exact_in_counts(workspace, tmp_path):
    total = 3000
    with DecisionLog(tmp_path / "d.jsonl", rng=random.Random(17)) as log:
        policy = load_policy(POLICY, decision_log=log)
        decided = [policy.decide(_facts(i), agent="refunds").decision for i in range(total)]

    records = _records(log.path)
    reviewed = [r for r in records if r["decision"] == "require_human"]
    approved = [r for r in records if r["decision"] == "auto_approve"]
    summary = approved.pop()
    assert len(reviewed) == decided.count("require_human") == total // 3
    assert all(r["represents"] == 1 for r in reviewed)
    assert 0.12 * 2000 < len(approved) < 0.18 * 2000  # sampled at 0.15
    assert not any("summary" in r for r in approved)
    assert summary["summary"] is True
    assert (summary["facts"], summary["reasons"], summary["agent"]) == (None, [], "refunds")
    assert sum(r["represents"] for r in [*approved, summary]) == decided.count("auto_approve")


@pytest.mark.parametrize("rate, approved_lines", [(0.0, 1), (1.0, 20)])
def test_sample_rate_zero_keeps_only_the_summary_and_one_keeps_all(rate, approved_lines, tmp_path):
    with DecisionLog(tmp_path / "d.jsonl") as log:
        for _ in range(20):
            log.write(policy="p", revision=None, decision="auto_approve", reasons=[],
                      facts={"a": 1}, sample_rate=rate)  # fmt: skip

    records = _records(log.path)
    assert len(records) == approved_lines
    assert sum(r["represents"] for r in records) == 20


def test_no_record_stands_for_more_than_a_reader_accepts(tmp_path, monkeypatch):
    monkeypatch.setattr(decision_log, "MAX_REPRESENTS", 7)
    with DecisionLog(tmp_path / "d.jsonl") as log:
        for _ in range(20):
            log.write(policy="p", revision=None, decision="auto_approve", reasons=[],
                      facts={"a": 1}, sample_rate=0.0)  # fmt: skip

    records = _records(log.path)
    assert [(r["represents"], r["summary"], r["facts"]) for r in records] == [
        (7, True, None), (7, True, None), (6, True, None)
    ]  # fmt: skip


def test_pending_counts_are_kept_per_policy_and_agent(tmp_path):
    with DecisionLog(tmp_path / "d.jsonl") as log:
        for agent, count in [("a", 3), ("b", 2), ("a", 1)]:
            for _ in range(count):
                log.write(policy="p", revision="r1", decision="auto_approve", reasons=[],
                          facts={}, sample_rate=0.0, agent=agent)  # fmt: skip

    summaries = {(r["agent"], r["represents"], r["revision"]) for r in _records(log.path)}
    assert summaries == {("a", 4, "r1"), ("b", 2, "r1")}


def test_files_rotate_by_size_newest_first(workspace, tmp_path):
    path = tmp_path / "logs" / "decisions.jsonl"
    with DecisionLog(path, max_bytes=2000, backups=2) as log:
        policy = load_policy(POLICY, decision_log=log)
        for index in range(0, 90, 3):  # require_human: every one is written
            policy.decide(_facts(index))

    files = [path, path.with_name("decisions.jsonl.1"), path.with_name("decisions.jsonl.2")]
    assert sorted(path.parent.iterdir()) == sorted(files)
    numbers = [[r["facts"]["n"] for r in _records(file)] for file in files]
    assert all(file.stat().st_size <= 2000 for file in files)
    assert numbers[2][-1] < numbers[1][0] and numbers[1][-1] < numbers[0][0]
    assert numbers[0][-1] == 87


def test_many_threads_never_tear_a_line(workspace, tmp_path):
    path = tmp_path / "logs" / "decisions.jsonl"
    with DecisionLog(path, max_bytes=20_000, backups=100, rng=random.Random(3)) as log:
        policy = load_policy(POLICY, decision_log=log)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(policy.decide, [_facts(i) for i in range(1200)]))

    files = list(path.parent.iterdir())
    assert len(files) > 3
    records = [record for file in files for record in _records(file)]  # every line parses
    assert sum(r["represents"] for r in records) == 1200
    assert len({r["decision_id"] for r in records}) == len(records)


def test_a_closed_log_refuses_to_write(tmp_path):
    log = DecisionLog(tmp_path / "d.jsonl")
    log.close()
    log.close()  # closing twice is harmless

    with pytest.raises(ValueError, match="is closed"):
        log.write(policy="p", revision=None, decision="escalate", reasons=[], facts={},
                  sample_rate=0.1)  # fmt: skip


def test_cli_decisions_can_be_logged(workspace, govkit):
    for index in (0, 1):
        result = govkit("policy", "decide", "support-agent", "--case", json.dumps(_facts(index)),
                        "--decision-log", "logs/decisions.jsonl", "--agent", "refunds")  # fmt: skip
        assert result.exit_code == 0, result.output

    first, second = _records(workspace.root / "logs" / "decisions.jsonl")
    assert (first["decision"], first["agent"], first["represents"]) == (
        "require_human",
        "refunds",
        1,
    )
    assert (second["decision"], second["represents"]) == ("auto_approve", 1)


def test_an_unwritable_log_is_exit_2_naming_it(workspace, govkit):
    (workspace.root / "afile").write_text("", encoding="utf-8")

    result = govkit("policy", "decide", "support-agent", "--case", json.dumps(_facts(0)),
                    "--decision-log", "afile/decisions.jsonl")  # fmt: skip

    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "decision log afile/decisions.jsonl: cannot write: File exists (afile)"
    )


def test_a_path_opens_a_log_and_anything_else_is_refused(workspace, tmp_path):
    policy = load_policy(POLICY, decision_log=str(tmp_path / "d.jsonl"))
    policy.decide(_facts(0))
    policy.decision_log.close()

    assert _records(tmp_path / "d.jsonl")[0]["decision"] == "require_human"
    with pytest.raises(
        TypeError, match=r"^expected a DecisionLog, a path or None but received int$"
    ):
        load_policy(POLICY, decision_log=3)


def test_nested_personal_data_is_redacted_by_its_dotted_path():
    from playbook.policy.decision_log import REDACTED, redacted

    facts = {
        "customer": {"email": "ann@example.com", "tenure_months": 14},
        "contacts": [{"email": "bob@example.com", "role": "payer"}, "not a mapping"],
        "customer.name": "Ann",
        "amount_usd": 120,
    }
    fields = ["customer.email", "contacts.email", "customer.name", "absent.path"]

    shown = redacted(facts, fields)

    assert shown == {
        "customer": {"email": REDACTED, "tenure_months": 14},
        "contacts": [{"email": REDACTED, "role": "payer"}, "not a mapping"],
        "customer.name": REDACTED,
        "amount_usd": 120,
    }
    assert facts["customer"]["email"] == "ann@example.com"  # the caller's facts are untouched
    assert facts["contacts"][0]["email"] == "bob@example.com"
