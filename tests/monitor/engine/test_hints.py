"""A refusal for bad values names the columns of the first bad row that hold them and what they
read, with the likely cause where there is one (a decimal comma, a number beyond any measure)."""

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
