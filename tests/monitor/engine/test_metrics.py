"""Metrics per window, checked against an independent computation from the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.engine.metrics import measure, window_stats
from monitor.engine.summary import Histogram
from playbook.core.windows import BASELINE, RECENT, charter_windows
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
RATE = 60.0


@pytest.fixture(scope="module")
def governance():
    return load_governance(EXAMPLE_GOVERNANCE, today=NOW.date())


@pytest.fixture(scope="module")
def rows():
    """Tasks for support-replies in its baseline (2026-09-01..28) and recent week."""
    rng = np.random.default_rng(5)
    made = []
    for start, days, count in [
        (datetime(2026, 9, 1, tzinfo=UTC), 28, 400),
        (NOW - timedelta(days=7), 7, 150),
    ]:
        for _ in range(count):
            moment = start + timedelta(seconds=float(rng.uniform(0, days * 86400)))
            outcome = rng.choice(["success", "failure", "escalated"], p=[0.8, 0.12, 0.08])
            feedback = round(float(rng.uniform(1, 5)), 1) if rng.random() < 0.4 else None
            made.append({
                "timestamp": moment.isoformat(),
                "agent": "support-replies",
                "outcome": str(outcome),
                "latency_s": round(float(rng.lognormal(1, 0.5)), 3),
                "cost_usd": round(float(rng.uniform(0.01, 0.05)), 4),
                "tooling_cost_usd": round(float(rng.uniform(0, 0.01)), 4),
                "reviewer_minutes": round(float(rng.uniform(0, 3)), 2),
                "rolled_back": bool(rng.random() < 0.05),
                "policy_hit": bool(rng.random() < 0.1),
                "customer_feedback": feedback,
            })  # fmt: skip
    return made


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_metrics_match_an_independent_computation(tmp_path, governance, rows):
    path = tmp_path / "events.csv"
    columns = list(rows[0])
    lines = [",".join(columns)]
    lines += [",".join(_cell(r[c]) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    charter = governance.agent("support-replies")
    summaries, _ = measure(str(path), governance, [charter], NOW)
    stats = window_stats(summaries, [charter])

    windows = {w.label: w for w in charter_windows(charter, NOW)}
    for label in (BASELINE, RECENT):
        window = windows[label]
        inside = [
            r for r in rows if window.start <= datetime.fromisoformat(r["timestamp"]) < window.end
        ]
        n = len(inside)
        successes = sum(r["outcome"] == "success" for r in inside)
        cost = [
            r["cost_usd"] + r["tooling_cost_usd"] + r["reviewer_minutes"] / 60 * RATE
            for r in inside
        ]
        feedback = [r["customer_feedback"] for r in inside if r["customer_feedback"] is not None]

        def got(metric, label=label):
            return stats[("support-replies", label, metric)]

        assert got("task_success_rate").value == pytest.approx(successes / n)
        assert got("escalation_rate").value == pytest.approx(
            sum(r["outcome"] == "escalated" for r in inside) / n
        )
        assert got("rollback_rate").matches == sum(r["rolled_back"] for r in inside)
        assert got("policy_hit_rate").value == pytest.approx(
            sum(r["policy_hit"] for r in inside) / n
        )
        assert got("customer_feedback").value == pytest.approx(np.mean(feedback))
        histogram = got("customer_feedback").histogram
        expected = Histogram.of(np.array(feedback))
        assert histogram.codes.tolist() == expected.codes.tolist()
        assert histogram.counts.tolist() == expected.counts.tolist()
        ratio = got("cost_per_successful_task")
        assert ratio.value == pytest.approx(sum(cost) / successes)
        assert ratio.sums["sxx"] == pytest.approx(sum(c * c for c in cost))
        ys = [1.0 if r["outcome"] == "success" else 0.0 for r in inside]
        assert ratio.sums["sxy"] == pytest.approx(sum(c * y for c, y in zip(cost, ys, strict=True)))
        assert ratio.n == n


@pytest.mark.parametrize(
    "extra",
    [
        [],  # no bad row: the histograms come from the rows joined to the charters, unchecked
        [{"agent": "no-such-agent"}],  # likewise: an agent without a charter is not a bad row
        [{"outcome": "maybe"}, {"latency_s": -1.0}, {"agent": "no-such-agent"}],  # checked again
    ],
    ids=["clean", "unknown-agent", "bad-rows"],
)
def test_histograms_hold_the_valid_rows_only(tmp_path, governance, rows, extra):
    recent = NOW - timedelta(hours=1)
    bad = [rows[-1] | {"timestamp": recent.isoformat(), "customer_feedback": 99.0} | change
           for change in extra]  # fmt: skip
    path = tmp_path / "events.csv"
    columns = list(rows[0])
    lines = [",".join(columns)]
    lines += [",".join(_cell(r[c]) for c in columns) for r in rows + bad]
    path.write_text("\n".join(lines) + "\n")
    charter = governance.agent("support-replies")
    summaries, bad_rows = measure(str(path), governance, [charter], NOW)
    assert bad_rows.count == len(extra)

    window = {w.label: w for w in charter_windows(charter, NOW)}[RECENT]
    feedback = [r["customer_feedback"] for r in rows if r["customer_feedback"] is not None
                and window.start <= datetime.fromisoformat(r["timestamp"]) < window.end]  # fmt: skip
    histogram = summaries.histograms[("support-replies", RECENT, "customer_feedback")]
    expected = Histogram.of(np.array(feedback))
    assert histogram.codes.tolist() == expected.codes.tolist()
    assert histogram.counts.tolist() == expected.counts.tolist()
