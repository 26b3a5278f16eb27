"""Fuzzing the decision-log reader: any JSON value in every field it reads, lines that are not
JSON, files cut anywhere. Every input gives event rows that can be written, one per decision a
valid record represents; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from monitor.sources.decisions import parse_record
from monitor.sources.importer import import_traces, write_events
from monitor.sources.values import DecodeError, loads

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(), st.text(max_size=5)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
records = st.fixed_dictionaries(
    {},
    optional={
        "time": st.one_of(
            st.sampled_from(["2026-11-20T10:00:00.000000Z", "2026-11-20", 1_763_632_800, "x"]),
            json_values,
        ),
        "decision_id": st.one_of(st.sampled_from(["a" * 32, "b" * 32, 7, ""]), json_values),
        "agent": st.one_of(st.sampled_from(["refunds", "support-replies"]), json_values),
        "facts": st.one_of(st.none(), st.dictionaries(st.sampled_from(["agent", "x"]), scalars)),
        "decision": st.one_of(
            st.sampled_from(["auto_approve", "require_human", "escalate"]), json_values
        ),
        "represents": st.one_of(
            st.integers(-2, 5), st.sampled_from([1.0, 2.5, "3", 10**6 + 1, True]), st.text()
        ),
        "summary": json_values,
    },
)
lines = st.one_of(records.map(lambda record: json.dumps(record).encode()), st.binary(max_size=20))


@given(st.lists(lines, max_size=8), st.integers(0, 40))
def test_any_log_imports_and_writes(tmp_path_factory, log_lines: list[bytes], cut: int) -> None:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    log = directory / "decisions.jsonl"
    data = b"\n".join(line.replace(b"\n", b" ") for line in log_lines) + b"\n"
    log.write_bytes(data[: max(len(data) - cut, 0)])  # a crash may cut the file anywhere
    result = import_traces("decisions", [log], None)
    expected, seen = 0, set()
    for line in log.read_bytes().split(b"\n"):
        try:
            record: Any = loads(line)
        except DecodeError:
            continue
        parsed = parse_record(record, None) if isinstance(record, dict) else "bad_json"
        if not isinstance(parsed, str) and parsed.decision_id not in seen:
            seen.add(parsed.decision_id)
            expected += parsed.represents
    assert len(result.rows) == expected
    if result.rows:
        write_events(result.rows, directory / "events.parquet")
