"""`govkit monitor run`: a run given `--now` publishes the same snapshot every time."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLE_GOVERNANCE
from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"


def test_runs_with_the_same_now_publish_identical_snapshots(govkit, tmp_path):
    """`make demo` pins --now, so its reruns must publish the same snapshot, byte for byte: the
    snapshot is stamped with the run's moment, never the wall clock."""
    events = write_events(tmp_path / "events.parquet")
    snapshots = []
    for name in ("first", "second"):
        state = tmp_path / name / "monitor.db"
        result = govkit("monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE),
                        "--events", str(events), "--state", str(state), "--now", NOW)  # fmt: skip
        assert result.exit_code == 0, result.output
        snapshots.append(state.with_suffix(".json").read_bytes())
    assert json.loads(snapshots[0])["generated_at"] == NOW
    assert snapshots[0] == snapshots[1]
