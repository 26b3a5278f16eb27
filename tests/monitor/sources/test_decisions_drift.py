"""End to end: the seed's support policy decides a seeded stream of cases for `support-replies`
(whose charter watches `policy_hit_rate`, with an `escalation_rate` guardrail of 0.15), every
decision written to its rotating decision log; `govkit events import --from decisions` turns the
logs into events and `govkit monitor run` finds the drift, or the breach, planted in the recent
week, and nothing when there is none."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.monitor.sources.fixtures.decisions.make_fixtures import Case, cases, decide_all, spread

NOW = "2026-11-24T12:00:00Z"
AGENT = "support-replies"  # baseline 2026-09-01 to 2026-09-28, recent 7d
PER_DAY = 100
BASELINE = (datetime(2026, 9, 1, tzinfo=UTC), 28)
RECENT = (datetime(2026, 11, 17, 12, tzinfo=UTC), 7)


def days(
    rng: random.Random, start: datetime, count: int, *, hit_share: float, angry_share: float
) -> Iterator[tuple[datetime, Case]]:
    for day in range(count):
        yield from spread(
            start + timedelta(days=day),
            timedelta(days=1) / PER_DAY,
            cases(rng, PER_DAY, AGENT, hit_share=hit_share, angry_share=angry_share),
        )


def decision_logs(directory: Path, *, hit_share: float, angry_share: float = 0.03) -> str:
    """About 10% require_human and 3% escalate over the baseline, the given shares in the recent
    week; the logs' glob."""
    rng = random.Random(5)
    timeline = itertools.chain(
        days(rng, *BASELINE, hit_share=0.1, angry_share=0.03),
        days(rng, *RECENT, hit_share=hit_share, angry_share=angry_share),
    )
    log = directory / "logs" / "decisions.jsonl"
    decide_all(log, timeline, seed=5, max_bytes=200_000)
    assert log.with_name("decisions.jsonl.1").exists()  # rotated: the glob reads every file
    return f"{log}*"


def firing(govkit, workspace, logs: str, *extra: str) -> list[tuple[str, str]]:
    """The alerts a monitor pass over the imported logs fires, as (alertname, metric)."""
    events = workspace.root / "events.parquet"
    imported = govkit("events", "import", "--from", "decisions", logs, "--out", str(events))
    assert imported.exit_code == 0, imported.output
    assert f"  {AGENT}: {PER_DAY * (BASELINE[1] + RECENT[1]):,}" in imported.output
    run = govkit("monitor", "run", "--events", str(events), "--state",
                 str(workspace.root / "monitor.db"), "--now", NOW, "--format", "json", *extra)  # fmt: skip
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    return sorted(
        (alert["labels"]["alertname"], alert["labels"].get("metric", ""))
        for alert in report["alerts"]
        if alert["status"] == "firing"
    )


def test_more_rules_firing_is_a_policy_hit_rate_drift(govkit, workspace) -> None:
    logs = decision_logs(workspace.root, hit_share=0.25)
    assert firing(govkit, workspace, logs) == [("MetricDrift", "policy_hit_rate")]


def test_no_alert_when_the_policy_decides_as_before(govkit, workspace) -> None:
    logs = decision_logs(workspace.root, hit_share=0.1)
    assert firing(govkit, workspace, logs) == []


def test_escalations_past_the_guardrail_breach_it(govkit, workspace) -> None:
    logs = decision_logs(workspace.root, hit_share=0.1, angry_share=0.2)
    assert firing(govkit, workspace, logs) == [
        ("GuardrailBreach", "escalation_rate"),
        ("MetricDrift", "escalation_rate"),
        ("MetricDrift", "policy_hit_rate"),
        ("MetricDrift", "task_success_rate"),  # a decision log's only "failure": escalating
    ]


def test_the_monitor_reads_the_logs_directly(govkit, workspace) -> None:
    """`monitor run --events 'LOG*' --events-format decisions` converts on the way, with the same
    finding."""
    logs = decision_logs(workspace.root, hit_share=0.25)
    run = govkit("monitor", "run", "--events", logs, "--events-format", "decisions", "--state",
                 str(workspace.root / "monitor.db"), "--now", NOW, "--format", "json")  # fmt: skip
    assert run.exit_code == 0, run.output
    alerts = json.loads(run.stdout)["alerts"]
    assert [(a["labels"]["alertname"], a["labels"]["metric"]) for a in alerts] == [
        ("MetricDrift", "policy_hit_rate")
    ]
