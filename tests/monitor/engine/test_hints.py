"""A refusal's hints: bad values are named by the columns of the first bad row that hold them and
what they read, with the likely cause (a decimal comma, a number beyond any measure); bad
outcomes by the words the export used; a bad timestamp that is a JSON object is said to be one."""

from __future__ import annotations

import pytest

from monitor.engine.engines import open_engine
from monitor.engine.events import open_events
from playbook.core.errors import UsageError

HEADER = "timestamp,agent,outcome,latency_s,cost_usd,reworked,score\n"
GOOD = "2026-11-20T10:00:00Z,refunds,success,1.5,0.01,true,3\n"


def _refusal(path, custom: frozenset[str] = frozenset()) -> str:
    events = open_events(str(path), open_engine("duckdb"), agents={"refunds"}, hourly_rate=60.0,
                         custom=set(custom))  # fmt: skip
    with pytest.raises(UsageError) as caught:
        events.check(max_fraction=0.01)
    return str(caught.value)


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ('2026-11-20T10:00:00Z,refunds,success,"1,5",0.01,true,3',
         "latency_s reads '1,5' (a decimal comma? write 1.5)"),
        ("2026-11-20T10:00:00Z,refunds,success,fast,1e13,true,3",
         "latency_s reads 'fast'; cost_usd reads '1e13' (NaN, infinite or beyond ±1e12: not a "
         "measurement)"),
        ("2026-11-20T10:00:00Z,refunds,success,1,0.01,perhaps,3",
         "reworked reads 'perhaps' (a flag is true/false, yes/no or 1/0)"),
        ("2026-11-20T10:00:00Z,refunds,success,1,0.01,true,NaN",
         "score reads 'NaN' (NaN, infinite or beyond ±1e12: not a measurement)"),
    ],
)  # fmt: skip
def test_the_first_bad_values_are_named_with_what_they_read(tmp_path, row, said):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + GOOD * 3 + row + "\n" + row + "\n")
    message = _refusal(path, custom=frozenset({"score"}))
    assert message.endswith(f". Hint: the first bad value (events.csv:4): {said}")


def test_values_that_are_json_objects_are_said_to_be(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"timestamp": "2026-11-20T10:00:00Z", "agent": {"id": "refunds"}, "outcome": "success",'
        ' "latency_s": [1, 2]}\n'
    )
    assert _refusal(path).endswith(
        ". Hint: the first bad value (events.jsonl:1): agent is not text; latency_s holds a "
        "JSON object or list"
    )


def test_every_hint_of_a_refusal_is_given_in_the_order_of_the_reasons(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        HEADER
        + "yesterday,refunds,success,1,0.01,true,3\n"
        + "2026-11-20T10:00:00Z,refunds,done,1,0.01,true,3\n"
        + '2026-11-20T10:00:00Z,refunds,success,"2,25",0.01,true,3\n'
    )
    hints = _refusal(path).split(". Hint: ")[1:]
    assert hints == [
        "the first bad timestamp (events.csv:1) reads 'yesterday'; a timestamp is ISO 8601 with "
        "an offset (2026-11-20T10:00:00Z) or epoch seconds, from 1970 to 2999",
        "the outcomes govkit cannot read are 'done' (1 row); an outcome is success, failure or "
        "escalated, in any case",
        "the first bad value (events.csv:3): latency_s reads '2,25' (a decimal comma? write 2.25)",
    ]


def test_a_refusal_for_bad_outcomes_names_them_with_what_they_may_mean(tmp_path):
    """An export in its own words ('succeeded', 'failed') is refused as the contract says; the
    refusal lists the words it could not read, most frequent first, with the likely meaning."""
    path = tmp_path / "events.csv"
    outcomes = ["Succeeded"] * 30 + ["failed"] * 8 + ["error"] * 2 + [""] + ["success"] * 9
    rows = "".join(f"2026-11-20T10:00:00Z,refunds,{outcome}\n" for outcome in outcomes)
    path.write_text("timestamp,agent,outcome\n" + rows, encoding="utf-8")
    assert _refusal(path).endswith(
        "By reason: bad_outcome 41. Examples: bad_outcome: events.csv:1, events.csv:2, "
        "events.csv:3, events.csv:4, events.csv:5. Hint: the outcomes govkit cannot read are "
        "'succeeded' (30 rows; did you mean 'success'?), 'failed' (8 rows; did you mean "
        "'failure'?), 'error' (2 rows), none (1 row); an outcome is success, failure or "
        "escalated, in any case"
    )


def test_a_timestamp_that_is_a_json_object_is_said_to_be_one(tmp_path):
    """MongoDB's extended JSON writes a date as {"$date": ...}: not a time govkit reads."""
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"timestamp": {"$date": "2026-11-20T10:00:00Z"}, "agent": "refunds", "outcome": "success"}\n'
    )
    assert _refusal(path).endswith(
        "Hint: the first bad timestamp (events.jsonl:1) holds a JSON object or list, not a time; "
        "a timestamp is ISO 8601 with an offset (2026-11-20T10:00:00Z) or epoch seconds, from "
        "1970 to 2999"
    )
