"""The monitor dashboard says what the last run could not judge: the run's warnings, from the
published snapshot, escaped like any other text from the events."""

from __future__ import annotations

import json

from tests.handbook.test_workforce import monitored, render


def test_the_dashboard_names_the_metrics_the_events_could_not_measure(workspace):
    state = monitored(workspace, {"refunds": 0})  # events with timestamp, agent, outcome only
    snapshot = json.loads(state.with_suffix(".json").read_text(encoding="utf-8"))
    assert (
        "the events have no column rolled_back: rollback_rate cannot be measured for "
        "dependency-updates, refunds, support-replies (insufficient_data)"
    ) in snapshot["warnings"]

    dashboard = render(workspace, state)["monitor/index.md"]
    box = dashboard[dashboard.index('!!! warning "What the last run could not judge"') :]
    assert dashboard[: dashboard.index("!!! warning")].endswith("\n\n")  # a box, not a line
    box = box[: box.index("\n\n")]
    assert box.splitlines()[1:] == [
        "    - " + warning.replace("_", "\\_") for warning in snapshot["warnings"]
    ]
