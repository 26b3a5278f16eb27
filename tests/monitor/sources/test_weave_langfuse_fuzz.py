"""Fuzzing the Weave and Langfuse readers where their exports differ from a plain JSON call: any
JSON value (or its JSON or Python-literal text, as CSV cells carry them) in every field they read,
flattened `summary.*` and `feedback.[...]` columns, snake_case names, scores and traces beside
observations. Every input gives tasks whose event rows can be written; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.sources import langfuse, weave
from monitor.sources.common import ImportResult, to_event
from monitor.sources.importer import write_events
from playbook.core.settings import ModelPrice, Pricing, SourceSettings

SETTINGS = SourceSettings.model_validate(
    {
        "agent_attribute": {"weave": "agent", "langfuse": "agent"},
        "feedback": {"customer_feedback": ["reaction", "quality"], "reworked": ["resolved"]},
        "escalation": {"tools": ["handoff"]},
    }
)
PRICES = Pricing(models={"gpt-4o": ModelPrice(input_per_million=2.5, output_per_million=10)})
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2**63, -1, 0.5, "1200.0", "-3", "1e400"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=6))
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
times = st.sampled_from(
    ["2026-11-20T10:00:00Z", "2026-11-20 10:00:02.5", 1_763_632_800_000, "soon", None, "", -1]
)
ids = st.sampled_from(["a", "b", "c", "", None, 7, ["x"]])


def encoded(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or its JSON or Python-literal text (a CSV cell)."""
    return st.one_of(values, values.map(json.dumps), values.map(repr))


usage = st.dictionaries(
    st.sampled_from(["gpt-4o", "claude", "gpt-4.1", ""]),
    encoded(
        st.dictionaries(
            st.sampled_from(
                [
                    "prompt_tokens",
                    "input_tokens",
                    "completion_tokens",
                    "output_tokens",
                    "cache_read_input_tokens",
                    "cache_creation_input_tokens",
                    "prompt_tokens_details",
                    "requests",
                ]
            ),
            st.one_of(numbers, json_values),
            max_size=4,
        )
    ),
    max_size=2,
)
weave_calls = st.fixed_dictionaries(
    {"id": ids, "trace_id": ids, "parent_id": ids, "started_at": times, "ended_at": times},
    optional={
        "op_name": st.sampled_from(["weave:///a/p/op/agent:v1", "handoff", ""]),
        "display_name": scalars,
        "exception": scalars,
        "summary": encoded(
            st.fixed_dictionaries({}, optional={"usage": usage, "weave": json_values})
        ),
        "summary.weave.latency_ms": encoded(numbers),
        "summary.usage.gpt-4.1.prompt_tokens": encoded(numbers),
        "summary.weave.feedback": encoded(json_values),
        "feedback.[wandb.annotation.quality].payload.value": encoded(json_values),
        "attributes": encoded(json_values),
        "attributes.weave.client_version": scalars,
        "feedback": encoded(json_values),
    },
)
weave_feedback = st.fixed_dictionaries(
    {
        "weave_ref": st.sampled_from(["weave:///a/p/call/a", "weave:///a/p/call/", "", None]),
        "feedback_type": st.sampled_from(
            ["wandb.reaction.1", "wandb.runnable.s", "wandb.note.1", "quality", "", None]
        ),
        "payload": encoded(json_values),
    },
    optional={"call_ref": st.sampled_from(["weave:///a/p/call/b", None, 3])},
)
details = encoded(
    st.dictionaries(
        st.sampled_from(
            [
                "input",
                "output",
                "total",
                "input_cached_tokens",
                "cache_read_input_tokens",
                "cache_creation_ephemeral_5m_input_tokens",
            ]
        ),
        st.one_of(numbers, json_values),
        max_size=4,
    )
)
observations = st.fixed_dictionaries(
    {"id": ids, "traceId": ids, "startTime": times},
    optional={
        "type": st.sampled_from(["GENERATION", "SPAN", "TOOL", "EVENT", "", None, 3]),
        "endTime": times,
        "parentObservationId": ids,
        "level": st.sampled_from(["ERROR", "DEFAULT", None, 5]),
        "name": scalars,
        "model": st.sampled_from(["gpt-4o", None, 4]),
        "usageDetails": details,
        "costDetails": details,
        "usage": encoded(json_values),
        "inputUsage": encoded(numbers),
        "totalCost": encoded(numbers),
        "metadata": encoded(json_values),
        "isRootObservation": scalars,
        "traceName": scalars,
        "quality": encoded(json_values),
    },
)
others = st.one_of(
    st.fixed_dictionaries(
        {"name": scalars, "value": json_values},
        optional={
            "traceId": ids,
            "dataType": scalars,
            "stringValue": scalars,
            "subject": encoded(json_values),
            "timestamp": times,
        },
    ),
    st.fixed_dictionaries(
        {"id": ids, "timestamp": times},
        optional={
            "name": scalars,
            "latency": encoded(numbers),
            "totalCost": numbers,
            "tags": encoded(json_values),
            "metadata": json_values,
            "observations": st.lists(observations, max_size=2),
        },
    ),
)


def _rows(tasks: list[Any], tmp_path: Path) -> None:
    result = ImportResult()
    rows = [
        row
        for task in tasks
        if (row := to_event(task, settings=SETTINGS, pricing=PRICES, charters=None, result=result))
    ]
    write_events(rows, tmp_path / "events.parquet")


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.one_of(weave_calls, weave_feedback), min_size=1, max_size=6))
def test_weave_reads_any_call_or_feedback_without_a_traceback(
    tmp_path_factory: Any, records: list[dict[str, Any]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("weave")
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps(record, default=str) for record in records) + "\n")
    tasks, _ = weave.read([path], SETTINGS)
    _rows(tasks, tmp_path)


@settings(max_examples=60, deadline=None)
@given(records=st.lists(st.one_of(observations, others), min_size=1, max_size=6))
def test_langfuse_reads_any_observation_score_or_trace_without_a_traceback(
    tmp_path_factory: Any, records: list[dict[str, Any]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("langfuse")
    path = tmp_path / "observations.jsonl"
    path.write_text("\n".join(json.dumps(record, default=str) for record in records) + "\n")
    tasks, _ = langfuse.read([path], SETTINGS)
    _rows(tasks, tmp_path)
