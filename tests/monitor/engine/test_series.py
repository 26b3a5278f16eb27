"""Daily series and monthly costs, checked against an independent computation from the same rows;
the snapshot carries them for every monitored agent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest

from monitor.engine.metrics import measure
from monitor.engine.series import agent_trends
from playbook.policy import load_governance
from playbook.results import AgentResults, Snapshot, snapshot_json
from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import AGENT, write_events

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
RATE = 60.0
SUPPORT, INCIDENTS = "support-replies", "incident-summaries"


@pytest.fixture(scope="module")
def governance():
    return load_governance(EXAMPLE_GOVERNANCE, today=NOW.date())


@pytest.fixture(scope="module")
def charters(governance):
    """support-replies (dated baseline from 2026-09-01) as it is; incident-summaries (rolling
    28d: the series starts mid-day) also monitoring a count metric from a custom column."""
    incidents = governance.agent(INCIDENTS)
    metrics = [*incidents.monitor.metrics, "unauthorized_attempts"]
    monitor = incidents.monitor.model_copy(update={"metrics": metrics})
    return [governance.agent(SUPPORT), incidents.model_copy(update={"monitor": monitor})]


@pytest.fixture(scope="module")
def rows():
    """Tasks from before the baseline to after `now` (which nothing may count); a few empty
    cost, rollback and feedback cells; a day without any task for each agent."""
    rng = np.random.default_rng(11)
    made = []
    for agent, first in [
        (SUPPORT, datetime(2026, 8, 25, tzinfo=UTC)),
        (INCIDENTS, NOW - timedelta(days=40)),
    ]:
        moment = first
        while moment < NOW + timedelta(days=2):
            moment += timedelta(seconds=float(rng.exponential(86400 / 30)))
            if moment.date() == date(2026, 10, 28):
                continue
            outcome = rng.choice(["success", "failure", "escalated"], p=[0.8, 0.12, 0.08])
            made.append({
                "timestamp": moment.isoformat(),
                "agent": agent,
                "outcome": str(outcome),
                "latency_s": round(float(rng.lognormal(1, 0.5)), 3),
                "cost_usd": None if rng.random() < 0.05 else round(float(rng.uniform(0.01, 0.05)), 4),
                "tooling_cost_usd": round(float(rng.uniform(0, 0.01)), 4),
                "reviewer_minutes": round(float(rng.uniform(0, 3)), 2),
                "customer_feedback": round(float(rng.uniform(1, 5)), 1) if rng.random() < 0.4 else None,
                "unauthorized_attempt": bool(rng.random() < 0.1),
                "rolled_back": None if rng.random() < 0.1 else bool(rng.random() < 0.05),
                "policy_hit": bool(rng.random() < 0.1),
            })  # fmt: skip
    return made


@pytest.fixture(scope="module")
def trends(tmp_path_factory, governance, charters, rows):
    path = tmp_path_factory.mktemp("series") / "events.csv"
    columns = list(rows[0])
    lines = [",".join(columns)]
    lines += [",".join(_cell(r[c]) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    summaries, _ = measure(str(path), governance, [*charters, governance.agent("refunds")], NOW)
    return agent_trends(summaries, governance, [*charters, governance.agent("refunds")], NOW)


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _at(row: dict) -> datetime:
    return datetime.fromisoformat(row["timestamp"])


def _full_cost(row: dict) -> float | None:
    if row["cost_usd"] is None:
        return None
    return row["cost_usd"] + row["tooling_cost_usd"] + row["reviewer_minutes"] / 60 * RATE


def _expected(metric: str, inside: list[dict], days: float) -> tuple[float | None, int]:
    """(value, n) of one day, computed from the rows in Python."""
    if metric in ("task_success_rate", "escalation_rate"):
        wanted = "success" if metric == "task_success_rate" else "escalated"
        hits = sum(r["outcome"] == wanted for r in inside)
        return (hits / len(inside) if inside else None), len(inside)
    if metric in ("rollback_rate", "policy_hit_rate"):
        column = "rolled_back" if metric == "rollback_rate" else "policy_hit"
        known = [r[column] for r in inside if r[column] is not None]
        return (sum(known) / len(known) if known else None), len(known)
    if metric in ("latency_s", "customer_feedback", "cost_per_task"):
        values = [r[metric] if metric != "cost_per_task" else _full_cost(r) for r in inside]
        values = [v for v in values if v is not None]
        return (float(np.mean(values)) if values else None), len(values)
    if metric == "cost_per_successful_task":
        known = [r for r in inside if _full_cost(r) is not None]
        successes = sum(r["outcome"] == "success" for r in known)
        total = sum(_full_cost(r) for r in known)
        return (total / successes if successes else None), len(known)
    if metric == "unauthorized_attempts":
        return sum(r["unauthorized_attempt"] for r in inside) / days, len(inside)
    raise AssertionError(f"no independent computation for {metric}")


def test_daily_series_match_an_independent_computation(charters, trends, rows):
    series = {charter.id: trends[charter.id]["series"] for charter in charters}
    starts = {SUPPORT: datetime(2026, 9, 1, tzinfo=UTC), INCIDENTS: NOW - timedelta(days=35)}
    checked = 0
    for charter in charters:
        start = starts[charter.id]
        assert list(series[charter.id]) == charter.monitor.metrics
        own = [r for r in rows if r["agent"] == charter.id]
        day = start.date()
        expected_days = []
        while _midnight(day) < NOW:
            expected_days.append(day)
            day += timedelta(days=1)
        for metric, points in series[charter.id].items():
            assert [p["day"] for p in points] == [d.isoformat() for d in expected_days]
            for point, day in zip(points, expected_days, strict=True):
                low = max(start, _midnight(day))
                high = min(NOW, _midnight(day + timedelta(days=1)))
                inside = [r for r in own if low <= _at(r) < high]
                value, n = _expected(metric, inside, (high - low) / timedelta(days=1))
                where = (charter.id, metric, day)
                assert point["n"] == n, where
                if value is None:
                    assert point["value"] is None, where
                else:
                    assert point["value"] == pytest.approx(value, rel=1e-5), where
                checked += 1
    assert checked > 500
    # The empty day: no tasks, no value, except a count metric, which is 0 per day.
    empty = {p["day"]: p for p in series[INCIDENTS]["unauthorized_attempts"]}["2026-10-28"]
    assert empty == {"day": "2026-10-28", "value": 0.0, "n": 0}
    # The rolling baseline starts at 12:00: its first day is half a day.
    first = series[INCIDENTS]["unauthorized_attempts"][0]
    assert first["day"] == "2026-10-20"


def test_monthly_costs_match_an_independent_computation(charters, trends, rows):
    costs = {charter.id: trends[charter.id]["costs"] for charter in charters}
    for charter in charters:
        own = [r for r in rows if r["agent"] == charter.id and _at(r) < NOW]
        months = sorted({_at(r).strftime("%Y-%m") for r in own})
        assert [c["month"] for c in costs[charter.id]] == months
        for cell in costs[charter.id]:
            inside = [r for r in own if _at(r).strftime("%Y-%m") == cell["month"]]
            assert cell["tasks"] == len(inside)
            assert cell["successes"] == sum(r["outcome"] == "success" for r in inside)
            # An empty cost cell counts as 0 in the monthly totals.
            assert cell["inference"] == pytest.approx(
                sum(r["cost_usd"] or 0 for r in inside), abs=1e-3
            )
            assert cell["tooling"] == pytest.approx(
                sum(r["tooling_cost_usd"] for r in inside), abs=1e-3
            )
            human = sum(r["reviewer_minutes"] / 60 * RATE for r in inside)
            assert cell["human"] == pytest.approx(human, abs=1e-3)
    assert costs[SUPPORT][0]["month"] == "2026-08"  # before the baseline: still spend


def test_windows_are_half_open_iso_bounds(trends):
    assert trends[SUPPORT]["windows"] == {
        "baseline": {"from": "2026-09-01T00:00:00Z", "to": "2026-09-29T00:00:00Z"},
        "recent": {"from": "2026-11-17T12:00:00Z", "to": "2026-11-24T12:00:00Z"},
    }
    assert trends[INCIDENTS]["windows"]["baseline"] == {
        "from": "2026-10-20T12:00:00Z",
        "to": "2026-11-17T12:00:00Z",
    }
    # An agent without events: every day with n 0, no spend.
    refunds = trends["refunds"]
    assert refunds["costs"] == []
    assert all(p["n"] == 0 and p["value"] is None for p in refunds["series"]["rollback_rate"])


def test_snapshot_carries_series_costs_and_windows_for_every_monitored_agent(govkit, tmp_path):
    events = write_events(tmp_path / "events.parquet")
    state = tmp_path / "state" / "monitor.db"
    result = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events", str(events),
        "--state", str(state), "--now", "2026-11-24T12:00:00Z", "--format", "json",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    snapshot = json.loads(state.with_suffix(".json").read_text())
    assert snapshot["schema"] == "govkit.monitor/2"
    governance = load_governance(EXAMPLE_GOVERNANCE, today=NOW.date())
    for charter in governance.agents:
        agent = snapshot["agents"][charter.id]
        assert {"status", "findings", "checks", "firing_alerts"} <= set(agent)
        assert set(agent["windows"]) == {"baseline", "recent"}
        if charter.monitor is None:
            continue
        assert list(agent["series"]) == charter.monitor.metrics
        first = agent["windows"]["baseline"]["from"][:10]
        for points in agent["series"].values():
            assert points[0]["day"] == first
            assert points[-1]["day"] == "2026-11-24"
    refunds = snapshot["agents"][AGENT]
    assert [c["month"] for c in refunds["costs"]] == ["2026-09", "2026-10", "2026-11"]
    assert sum(c["tasks"] for c in refunds["costs"]) == snapshot["tasks"]
    rollbacks = refunds["series"]["rollback_rate"]
    assert sum(p["n"] for p in rollbacks) > 0
    assert all(p["value"] is None or 0 <= p["value"] <= 1 for p in rollbacks)
    # the series are published as they were computed, without a second validation: the file must
    # still be exactly what the handbook's schema reads back, key for key and in the same order
    read = Snapshot.model_validate(snapshot).to_json()
    assert json.dumps(read) == json.dumps(snapshot)


def test_a_series_point_that_is_not_finite_is_an_error_not_invalid_json():
    snapshot = Snapshot(run_id=1, generated_at="x", now="x", agents={AGENT: AgentResults()})
    series = {AGENT: {"success_rate": [{"day": "2026-11-24", "value": float("nan"), "n": 3}]}}
    with pytest.raises(ValueError, match="not JSON compliant"):
        snapshot_json(snapshot, series)
    finite = {AGENT: {"success_rate": [{"day": "2026-11-24", "value": 0.5, "n": 3}]}}
    published = json.loads(snapshot_json(snapshot, finite))
    assert published["agents"][AGENT]["series"] == finite[AGENT]
    assert list(published["agents"][AGENT]) == list(AgentResults().to_json())
