"""Fuzzing the trace-import readers: hostile OTLP documents and records (type confusion at every
level, huge numbers, deep nesting, non-object lines, invalid UTF-8, truncated lines) must give an
ImportResult, whose rows can be written, or govkit's own error naming the file; never a traceback.

Inputs are mostly plausible, so that they reach the span tree, the task and the event row, with
any JSON value put in place of a field now and then (`maybe`, `rarely`, `hostile`). The example
counts come from the profile in tests/conftest.py, lowered per test to keep the file quick.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.sources.common import ImportResult
from monitor.sources.importer import format_summary, import_traces, write_events
from playbook.core.errors import UsageError, ValidationFailed
from playbook.core.settings import ModelPrice, Pricing, SourceSettings
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

SETTINGS = SourceSettings.model_validate(
    {
        "agent_attribute": {"openinference": "agent", "langsmith": "agent", "weave": "agent"},
        "escalation": {"tags": ["needs-human"], "keys": ["escalated"], "tools": ["handoff"]},
        "feedback": {
            "customer_feedback": ["user_rating"],
            "reworked": ["reworked"],
            "rolled_back": ["escalated"],
        },
    }
)
GOVERNANCE = dataclasses.replace(
    load_governance(EXAMPLE_GOVERNANCE),
    sources=SETTINGS,
    pricing=Pricing(models={"gpt-4o": ModelPrice(input_per_million=2.5, output_per_million=10)}),
)
AGENTS = ["support-replies", "refunds", "shadow-bot"]  # two charters and an unmapped name
NOW_NS = 1_763_632_800_000_000_000  # 2025-11-20T10:00:00Z

# --- values -----------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, -1, 2**63, 2**64, 10**30, -(10**30), 1e30, -1e30, 1e308, 5e-324, 0.5]),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def replaced(strategy: st.SearchStrategy[Any], one_in: int) -> st.SearchStrategy[Any]:
    """`strategy`, but one time in `one_in` any JSON value in its place (`one_of` would draw
    each of its branches as often)."""
    return st.sampled_from(range(one_in)).flatmap(lambda n: strategy if n else json_values)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the expected shape, sometimes any JSON value in its place."""
    return replaced(strategy, 3)


def rarely(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The expected shape, rarely any JSON value: for the outer levels, so that enough inputs
    reach the levels below."""
    return replaced(strategy, 8)


def hostile(record: st.SearchStrategy[dict[str, Any]], fields: list[str]) -> st.SearchStrategy[Any]:
    """A plausible record, half the time with one or two of `fields` replaced by any JSON value,
    or (rarely) any JSON value where a record should be."""
    overrides = st.dictionaries(st.sampled_from(fields), json_values, min_size=1, max_size=2)
    some = st.booleans().flatmap(lambda replace: overrides if replace else st.just({}))
    return rarely(st.tuples(record, some).map(lambda pair: {**pair[0], **pair[1]}))


def nanos(spread: int = 10**12) -> st.SearchStrategy[int]:
    return st.integers(min_value=NOW_NS - spread, max_value=NOW_NS + spread)


UNITS: dict[str, Any] = {
    "ns": lambda ns: ns,
    "ns text": str,
    "µs": lambda ns: ns // 1000,
    "ms": lambda ns: ns // 10**6,
    "s": lambda ns: ns / 1e9,
    "iso": lambda ns: datetime.fromtimestamp(ns / 1e9, UTC).isoformat(),
}
BAD_TIMES = ["abc", "1e30", 1e30, -5, "0", 0, 2**64, "0001-01-01T00:00:00+05:00",
             "9999-12-31T23:59:59-05:00", "2025-11-20 10:00:01", "-5"]  # fmt: skip


def time_pairs(units: list[str]) -> st.SearchStrategy[tuple[Any, Any]]:
    """(start, end) in one of `units`, the end after the start; one time in three, two times
    drawn apart, either of them possibly hostile."""
    ordered = st.tuples(nanos(), st.integers(min_value=0, max_value=10**11), st.sampled_from(units))
    valid = ordered.map(lambda t: (UNITS[t[2]](t[0]), UNITS[t[2]](t[0] + t[1])))
    one_time = maybe(st.one_of(nanos().map(UNITS[units[0]]), st.sampled_from(BAD_TIMES)))
    apart = st.tuples(one_time, one_time)
    return st.sampled_from(range(3)).flatmap(lambda n: valid if n else apart)


def with_times(
    record: st.SearchStrategy[dict[str, Any]], keys: tuple[str, str], units: list[str]
) -> st.SearchStrategy[dict[str, Any]]:
    pairs = time_pairs(units)
    return st.tuples(record, pairs).map(lambda p: {**p[0], keys[0]: p[1][0], keys[1]: p[1][1]})


tokens = maybe(st.one_of(st.integers(min_value=0, max_value=5000), numbers))
feedback = maybe(
    st.one_of(
        st.floats(min_value=0, max_value=1),
        st.booleans(),
        st.sampled_from(["yes", "0.8", "x", "inf", "1e400"]),
    )
)
metadata = maybe(
    st.fixed_dictionaries(
        {"user_rating": feedback},
        optional={
            "agent": maybe(st.sampled_from(AGENTS)),
            "reworked": feedback,
            "escalated": feedback,
            "tags": maybe(st.lists(st.sampled_from(["needs-human", "beta"]), max_size=2)),
        },
    )
)
label_counts = st.dictionaries(  # counts of categorical feedback labels, of mixed types
    st.text(max_size=3), st.one_of(st.integers(min_value=0, max_value=9), st.text(max_size=3)), max_size=3
)  # fmt: skip

# --- OTLP -------------------------------------------------------------------------------------

OTEL_KEYS = ["gen_ai.agent.name", "gen_ai.agent.id", "gen_ai.request.model", "gen_ai.tool.name",
             "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "error.type", "user_rating"]  # fmt: skip
any_value = st.deferred(
    lambda: rarely(
        st.one_of(
            st.fixed_dictionaries(
                {"stringValue": rarely(st.sampled_from([*AGENTS, "gpt-4o", "handoff"]))}
            ),
            st.fixed_dictionaries(
                {"intValue": rarely(st.one_of(tokens, tokens.map(str), st.just("abc")))}
            ),
            st.fixed_dictionaries({"doubleValue": rarely(numbers)}),
            st.fixed_dictionaries({"boolValue": rarely(st.booleans())}),
            st.fixed_dictionaries(
                {"arrayValue": rarely(st.fixed_dictionaries({"values": st.lists(any_value, max_size=2)}))}
            ),
            st.fixed_dictionaries(
                {"kvlistValue": rarely(st.fixed_dictionaries({"values": st.lists(key_value, max_size=2)}))}
            ),
        )
    )
)  # fmt: skip
key_value = st.fixed_dictionaries({"key": rarely(st.sampled_from(OTEL_KEYS)), "value": any_value})


def attribute(key: str, names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(names).map(lambda name: {"key": key, "value": {"stringValue": name}})


span_attributes = st.tuples(
    attribute("gen_ai.operation.name", ["invoke_agent", "invoke_agent", "execute_tool", "chat"]),
    attribute("gen_ai.agent.name", AGENTS),
    st.lists(key_value, max_size=4),
).map(lambda found: [found[0], found[1], *found[2]])
otlp_span = hostile(
    with_times(
        st.fixed_dictionaries(
            {
                "traceId": st.sampled_from(
                    ["5b8efff798038103d269b633813fc60c", "W47/95gDgQPSabYzgTxgwA=="]
                ),
                "spanId": st.sampled_from(["s1", "s2", "s3", "7uGbfsPBsXQ="]),
                "parentSpanId": st.sampled_from(["", "", "s1", "s2", "s3", "gone"]),
                "attributes": rarely(span_attributes),
            },
            optional={
                "name": maybe(st.text(max_size=6)),
                "status": maybe(
                    st.fixed_dictionaries(
                        {"code": maybe(st.sampled_from([0, 1, 2, "STATUS_CODE_ERROR"]))}
                    )
                ),
            },
        ),
        ("startTimeUnixNano", "endTimeUnixNano"),
        ["ns text", "ns"],
    ),
    ["traceId", "spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "attributes"],
)
scope_spans = st.fixed_dictionaries({"spans": rarely(st.lists(otlp_span, min_size=1, max_size=4))})
resource_spans = st.one_of(
    st.fixed_dictionaries(
        {"scopeSpans": rarely(st.lists(rarely(scope_spans), min_size=1, max_size=2))}
    ),
    st.fixed_dictionaries({"instrumentationLibrarySpans": st.lists(scope_spans, max_size=1)}),
)
otlp_document = rarely(
    st.fixed_dictionaries(
        {"resourceSpans": rarely(st.lists(rarely(resource_spans), min_size=1, max_size=2))}
    )
)
# A sound frame around hostile spans, so that more traces get as far as their tasks.
span_document = st.lists(otlp_span, min_size=1, max_size=6).map(
    lambda spans: {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
)
documents = otlp_document | span_document

# --- the record readers -----------------------------------------------------------------------

span_ids, trace_ids = st.sampled_from(["a", "b", "c", "d", 7]), st.sampled_from(["t1", "t2"])
parents = st.sampled_from([None, None, "", "a", "b", "c", "gone"])
RECORD_UNITS = ["iso", "ns", "µs", "ms", "s"]
openinference_span = st.fixed_dictionaries(
    {
        "context.span_id": span_ids,
        "context.trace_id": trace_ids,
        "parent_id": parents,
        "name": st.sampled_from([*AGENTS, "llm", "handoff"]),
        "span_kind": st.sampled_from(["AGENT", "LLM", "TOOL", "CHAIN"]),
        "attributes.metadata": st.one_of(metadata, metadata.map(json.dumps)),
    },
    optional={
        "status_code": maybe(st.sampled_from(["OK", "ERROR"])),
        "attributes.llm.model_name": maybe(st.just("gpt-4o")),
        "attributes.llm.token_count.prompt": tokens,
        "attributes.llm.token_count.completion": tokens,
        "attributes.llm.cost.total": maybe(numbers),
        "attributes.tool.name": maybe(st.just("handoff")),
        "attributes.tag.tags": maybe(st.lists(st.sampled_from(["needs-human", "x"]), max_size=2)),
        "attributes.agent.name": maybe(st.sampled_from(AGENTS)),
        "attributes.session.id": json_values,
        "context": maybe(st.fixed_dictionaries({"span_id": span_ids, "trace_id": trace_ids})),
    },
)
openinference_annotation = st.fixed_dictionaries(
    {"span_id": span_ids, "annotation_name": st.sampled_from(["user_rating", "reworked"])},
    optional={
        "result.score": maybe(numbers),
        "result.label": maybe(st.sampled_from(["yes", "no", "3"])),
    },
)
langsmith_run = st.fixed_dictionaries(
    {
        "id": span_ids,
        "parent_run_id": parents,
        "name": st.sampled_from([*AGENTS, "chat", "handoff"]),
        "run_type": st.sampled_from(["chain", "llm", "tool"]),
        "extra": maybe(
            st.fixed_dictionaries(
                {"metadata": metadata},
                optional={
                    "invocation_params": maybe(
                        st.fixed_dictionaries({"model": maybe(st.just("gpt-4o"))})
                    )
                },
            )
        ).flatmap(lambda found: st.sampled_from([found, json.dumps(found)])),
        "feedback_stats": maybe(
            st.dictionaries(
                st.sampled_from(["user_rating", "reworked"]),
                maybe(
                    st.fixed_dictionaries(
                        {"values": maybe(label_counts)},
                        optional={"n": numbers, "avg": maybe(numbers)},
                    )
                ),
                max_size=2,
            )
        ),
    },
    optional={
        "trace_id": maybe(span_ids),
        "status": maybe(st.sampled_from(["success", "error"])),
        "error": maybe(st.none() | st.text(max_size=4)),
        "total_cost": maybe(numbers),
        "tags": maybe(st.lists(st.sampled_from(["needs-human", "x"]), max_size=2)),
        "prompt_tokens": tokens,
        "completion_tokens": tokens,
    },
)
weave_call = st.fixed_dictionaries(
    {
        "id": span_ids,
        "parent_id": parents,
        "trace_id": trace_ids,
        "op_name": st.sampled_from([f"weave:///acme/p/op/{AGENTS[0]}:v1", "handoff", ""]),
        "attributes": metadata,
    },
    optional={
        "display_name": maybe(st.sampled_from(AGENTS)),
        "exception": maybe(st.none() | st.text(max_size=4)),
        "summary": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "usage": maybe(
                        st.dictionaries(
                            st.sampled_from(["gpt-4o", "x"]),
                            maybe(
                                st.fixed_dictionaries(
                                    {}, optional={"prompt_tokens": tokens, "output_tokens": tokens}
                                )
                            ),
                            max_size=2,
                        )
                    ),
                    "weave": maybe(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "costs": maybe(
                                    st.dictionaries(
                                        st.just("gpt-4o"),
                                        maybe(
                                            st.fixed_dictionaries(
                                                {"prompt_tokens_total_cost": maybe(numbers)}
                                            )
                                        ),
                                        max_size=1,
                                    )
                                ),
                                "status": json_values,
                            },
                        )
                    ),
                },
            )
        ),
        "feedback": maybe(
            st.lists(
                maybe(
                    st.fixed_dictionaries(
                        {
                            "feedback_type": st.sampled_from(
                                ["wandb.reaction.1", "wandb.annotation.user_rating", "x", ""]
                            ),
                            "payload": maybe(
                                st.fixed_dictionaries(
                                    {},
                                    optional={
                                        "emoji": st.sampled_from(["👍", "👎", "x"]),
                                        "value": json_values,
                                    },
                                )
                            ),
                        }
                    )
                ),
                max_size=2,
            )
        ),
    },
)
RECORDS = {
    "openinference": st.one_of(
        hostile(
            with_times(openinference_span, ("start_time", "end_time"), RECORD_UNITS),
            ["context.span_id", "context.trace_id", "parent_id", "start_time", "end_time",
             "name", "span_kind", "attributes.metadata", "context"],
        ),
        hostile(openinference_annotation, ["span_id", "annotation_name", "result.score"]),
    ),
    "langsmith": hostile(
        with_times(langsmith_run, ("start_time", "end_time"), RECORD_UNITS),
        ["id", "parent_run_id", "trace_id", "start_time", "end_time", "name", "extra",
         "feedback_stats", "tags", "total_cost", "run_type"],
    ),
    "weave": hostile(
        with_times(weave_call, ("started_at", "ended_at"), RECORD_UNITS),
        ["id", "parent_id", "trace_id", "started_at", "ended_at", "op_name", "display_name",
         "attributes", "summary", "feedback", "exception"],
    ),
}  # fmt: skip

# A raw line: invalid UTF-8, truncated JSON, a value that is no object, lone surrogates, bytes.
raw_lines = st.one_of(
    st.binary(max_size=40).filter(lambda data: b"\n" not in data),
    st.sampled_from([b"\xff\xfe{}", b'{"id": "a", "na', b"[1, 2]", b'"x"', b"3", b"null", b"{",
                     b'{"id": "\\ud800"}', b'{"traceId": "\\udfff"}', b"[" * 2000]),
)  # fmt: skip

# --- the property -----------------------------------------------------------------------------


def assert_imports_or_fails_located(source: str, path: Path) -> None:
    try:
        result = import_traces(source, [path], GOVERNANCE)
    except (UsageError, ValidationFailed) as exc:
        assert path.name in str(exc), str(exc)
        return
    assert isinstance(result, ImportResult)
    for found in result.skipped.examples.values():
        assert all(where.startswith(f"{path}:") for where in found), found
    format_summary(result, source, 1)
    if result.rows:
        write_events(result.rows, path.with_suffix(".events.parquet"))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module: each example overwrites the files of the one before."""
    return tmp_path_factory.mktemp("fuzz")


def write_lines(folder: Path, name: str, lines: list[bytes]) -> Path:
    path = folder / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


@settings(max_examples=150)
@given(
    values=st.lists(documents, min_size=1, max_size=3),
    hostile_lines=st.lists(raw_lines, max_size=2),
    cut=st.floats(min_value=0, max_value=1),
)
def test_otel_json_lines_never_crash(
    scratch: Path, values: list[Any], hostile_lines: list[bytes], cut: float
) -> None:
    lines = [encoded(value) for value in values]
    truncated = lines[0][: int(len(lines[0]) * cut)]
    path = write_lines(scratch, "otel.jsonl", [*lines, truncated, *hostile_lines])
    assert_imports_or_fails_located("otel", path)


@settings(max_examples=60)
@given(document=documents, cut=st.floats(min_value=0.5, max_value=1))
def test_otel_whole_document_never_crashes(scratch: Path, document: Any, cut: float) -> None:
    data = json.dumps(document, indent=2).encode()
    path = scratch / "otel.json"
    path.write_bytes(data if cut > 0.9 else data[: int(len(data) * cut)])
    assert_imports_or_fails_located("otel", path)


@pytest.mark.parametrize("source", ["openinference", "langsmith", "weave"])
def test_record_readers_never_crash(scratch: Path, source: str) -> None:
    @settings(max_examples=120)
    @given(
        records=st.lists(RECORDS[source], min_size=1, max_size=6),
        hostile_lines=st.lists(raw_lines, max_size=2),
        cut=st.floats(min_value=0, max_value=1),
        layout=st.sampled_from(["lines", "lines", "one-line array", "pretty array"]),
    )
    def check(records: list[Any], hostile_lines: list[bytes], cut: float, layout: str) -> None:
        if layout == "lines":
            lines = [encoded(record) for record in records]
            lines += [lines[0][: int(len(lines[0]) * cut)], *hostile_lines]
            path = write_lines(scratch, f"{source}.jsonl", lines)
        else:
            path = scratch / f"{source}.json"
            path.write_text(json.dumps(records, indent=2 if layout == "pretty array" else None))
        assert_imports_or_fails_located(source, path)

    check()


# --- nesting up to orjson's limit (1,024 levels): nothing may recurse past Python's stack -------


def nested(depth: int, kind: str) -> bytes:
    """JSON `depth` levels deep, written without recursion (json.dumps would recurse)."""
    opening, closing = {"object": (b'{"k":', b"}"), "array": (b"[", b"]")}[kind]
    return opening * depth + b"1" + closing * depth


def placed(record: dict[str, Any], path: list[str], value: bytes) -> bytes:
    """`record` as JSON with `value` (raw JSON) at `path` (keys, outermost first)."""
    wrapped = value
    for key in reversed(path[1:]):
        wrapped = b'{"' + key.encode() + b'": ' + wrapped + b"}"
    head = encoded({key: found for key, found in record.items() if key != path[0]})
    return head[:-1] + b', "' + path[0].encode() + b'": ' + wrapped + b"}"


ROOTS = {
    "openinference": {"context.span_id": "a", "context.trace_id": "t", "name": AGENTS[0],
                      "start_time": "2025-11-20T10:00:00Z", "end_time": "2025-11-20T10:00:01Z"},
    "langsmith": {"id": "a", "name": AGENTS[0], "start_time": "2025-11-20T10:00:00Z",
                  "end_time": "2025-11-20T10:00:01Z"},
    "weave": {"id": "a", "display_name": AGENTS[0], "started_at": "2025-11-20T10:00:00Z",
              "ended_at": "2025-11-20T10:00:01Z"},
}  # fmt: skip
DEEP_PATHS = {
    "openinference": [["attributes"], ["attributes.metadata"], ["context.span_id"], ["start_time"]],
    "langsmith": [["extra", "metadata"], ["feedback_stats"], ["id"], ["start_time"], ["tags"]],
    "weave": [["attributes"], ["summary", "usage"], ["feedback"], ["id"], ["started_at"]],
}


@pytest.mark.parametrize("source", ["openinference", "langsmith", "weave"])
def test_record_readers_deeply_nested_values_never_crash(scratch: Path, source: str) -> None:
    for path in DEEP_PATHS[source]:
        for kind in ("object", "array"):
            deep = nested(1020 - len(path), kind)
            for value in (deep, json.dumps(deep.decode()).encode()):  # as is, or JSON-encoded
                line = placed(ROOTS[source], path, value)
                assert_imports_or_fails_located(
                    source, write_lines(scratch, f"deep-{source}.jsonl", [line])
                )


@pytest.mark.parametrize("kind", ["arrayValue", "kvlistValue", "plain list"])
@pytest.mark.parametrize("levels", [10, 40, 1000])
def test_otel_deeply_nested_values_never_crash(scratch: Path, kind: str, levels: int) -> None:
    opening, closing, depth = {  # depth: the JSON levels each level of the value opens
        "arrayValue": (b'{"arrayValue": {"values": [', b"]}}", 3),
        "kvlistValue": (b'{"kvlistValue": {"values": [{"key": "k", "value": ', b"}]}}", 4),
        "plain list": (b"[[[", b"]]]", 3),  # not an AnyValue at all
    }[kind]
    levels = min(levels, 1000 // depth)  # orjson parses up to 1,024 levels
    value = opening * levels + b'{"stringValue": "x"}' + closing * levels
    span = {
        "traceId": "ab", "spanId": "s1",
        "startTimeUnixNano": str(NOW_NS), "endTimeUnixNano": str(NOW_NS + 1),
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
            {"key": "gen_ai.agent.name", "value": "DEEP"},
            {"key": "gen_ai.tool.name", "value": "DEEP"},
        ],
    }  # fmt: skip
    document = encoded({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    line = document.replace(b'"DEEP"', value)
    assert_imports_or_fails_located("otel", write_lines(scratch, "deep.jsonl", [line]))


SPAN_FIELDS = ["traceId", "spanId", "parentSpanId", "startTimeUnixNano", "status", "attributes"]
ATTRIBUTES_WITH = {  # an attribute holding the deep value "DEEP" somewhere
    "intValue": {"key": "n", "value": {"intValue": "DEEP"}},
    "doubleValue": {"key": "n", "value": {"doubleValue": "DEEP"}},
    "kvlist key": {"key": "n", "value": {"kvlistValue": {"values": [{"key": "DEEP"}]}}},
    "attribute key": {"key": "DEEP", "value": {}},
    "tool name": {"key": "gen_ai.tool.name", "value": "DEEP"},
}


@pytest.mark.parametrize("layout", ["lines", "document"])
@pytest.mark.parametrize("where", [*SPAN_FIELDS, *ATTRIBUTES_WITH])
def test_otel_deeply_nested_span_fields_never_crash(scratch: Path, where: str, layout: str) -> None:
    operation = "execute_tool" if where == "tool name" else "invoke_agent"
    span: dict[str, Any] = {
        "traceId": "ab", "spanId": "s1",
        "startTimeUnixNano": str(NOW_NS), "endTimeUnixNano": str(NOW_NS + 1),
        "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": operation}},
                       {"key": "gen_ai.agent.name", "value": {"stringValue": AGENTS[0]}}],
    }  # fmt: skip
    if where in SPAN_FIELDS:
        span[where] = "DEEP"
    else:
        span["attributes"].append(ATTRIBUTES_WITH[where])
    document = encoded({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    line = document.replace(b'"DEEP"', b"[" * 1000 + b"]" * 1000)
    if layout == "document":  # pretty-printed: examples are located by searching the text
        line = b"{\n" + line[1:-1] + b"\n}"
    assert_imports_or_fails_located("otel", write_lines(scratch, "deep-span.json", [line]))
