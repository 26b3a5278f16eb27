"""LangSmith exports as teams have them, read into tasks: runs sent by LangChain's own tracer and
by `@traceable` (fixtures/langsmith/make_fixtures.py: the client's batch bodies, captured
offline), split over files as a post and a later patch; the same runs as the server gives them
back (JSON Lines, a `runs/query` page, the bulk export's Parquet) and feedback exported apart.
Then what those files leave open: each place tokens hide, merging, nesting, detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.sources import langsmith, langsmith_usage
from monitor.sources.common import ImportResult, LlmCall, Task, call_cost, to_event
from monitor.sources.importer import detect_format, import_traces
from monitor.sources.summary import format_summary
from playbook.core.settings import ModelPrice, Pricing, SourceSettings

FIXTURES = Path(__file__).parent / "fixtures" / "langsmith"
INGEST = ["ingest_batch_1.json", "ingest_batch_2.jsonl"]
SERVER = {"runs.jsonl", "runs_query.json", "bulk_export.parquet", "runs.json", "structs.parquet"}
EXPORTS = {
    "ingest": INGEST,
    "ingest, patches first": INGEST[::-1],
    "runs.jsonl": ["runs.jsonl"],
    "runs/query page": ["runs_query.json"],
    "pretty array": ["runs.json"],
    "bulk export": ["bulk_export.parquet"],
    "parquet of structs": ["structs.parquet"],
}
PRICES = Pricing(
    models={
        "gpt-4o": ModelPrice(
            input_per_million=2.5, output_per_million=10.0, cache_read_per_million=1.25
        ),
        "gpt-4o-mini": ModelPrice(input_per_million=0.15, output_per_million=0.6),
        "claude-sonnet-4-5": ModelPrice(
            input_per_million=3.0, output_per_million=15.0,
            cache_read_per_million=0.3, cache_write_per_million=3.75,
        ),
    }
)  # fmt: skip
ESCALATION = SourceSettings.model_validate({"escalation": {"tags": ["needs-human"]}})
GPT4O = LlmCall("gpt-4o", 1200, 150, cache_read_tokens=1000)
GPT4O_COST = (200 * 2.5 + 1000 * 1.25 + 150 * 10.0) / 1e6
CLAUDE = LlmCall("claude-sonnet-4-5", 3000, 200, cache_read_tokens=2000, cache_write_tokens=500)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixtures, plus the server's runs as a pretty JSON array and as Parquet with nested
    (struct) columns where the bulk export writes JSON text."""
    folder = tmp_path_factory.mktemp("langsmith")
    for path in FIXTURES.iterdir():
        if path.suffix != ".py":
            (folder / path.name).write_bytes(path.read_bytes())
    runs = [json.loads(line) for line in (FIXTURES / "runs.jsonl").read_text().splitlines()]
    (folder / "runs.json").write_text(json.dumps(runs, indent=2))
    duckdb.execute(
        f"COPY (SELECT * FROM read_json_auto('{FIXTURES / 'runs.jsonl'}')) "
        f"TO '{folder / 'structs.parquet'}' (FORMAT parquet)"
    )
    return folder


def _read(folder: Path, files: list[str]) -> dict[tuple[str, str], Task]:
    """Tasks by (agent, first tag): the two support_agent tasks told apart by their tags."""
    tasks, skipped = langsmith.read([folder / name for name in files], SourceSettings())
    assert not skipped.by_reason
    return {(task.agent_name or "", min(task.tags, default="")): task for task in tasks}


@pytest.mark.parametrize("export", EXPORTS)
def test_every_export_of_the_same_runs_gives_the_same_tasks(exports: Path, export: str) -> None:
    tasks = _read(exports, EXPORTS[export])

    assert set(tasks) == {
        ("support_agent", "beta"), ("refund_agent", ""), ("support_agent", "needs-human"),
        ("research_agent", ""),
    }  # fmt: skip
    ok, failed = tasks["support_agent", "beta"], tasks["refund_agent", ""]
    escalated, research = tasks["support_agent", "needs-human"], tasks["research_agent", ""]
    assert [task.error for task in (ok, failed, escalated, research)] == [False, True, False, False]
    assert (ok.tool_names, failed.tool_names) == ({"lookup_order"}, {"issue_refund"})
    assert escalated.tool_names == {"handoff_to_human"}
    # usage_metadata (cached tokens included in the input), old LangChain's llm_output, none
    assert ok.llm_calls == [GPT4O]
    assert failed.llm_calls == [LlmCall("gpt-4o-mini", 500, 50)]
    assert escalated.llm_calls == [LlmCall("gpt-4o", None, None)]  # streamed without usage
    assert research.llm_calls == [CLAUDE]
    assert ok.attributes["customer_tier"] == "gold"
    assert 0 < (ok.end - ok.start).total_seconds() < 5  # the end from the root's later patch


def test_a_run_posted_in_one_file_and_patched_in_another_is_one_run(exports: Path) -> None:
    tasks, skipped = langsmith.read([exports / INGEST[0]], SourceSettings())
    assert tasks == []  # alone, the post of a run still running: no end yet
    assert dict(skipped.by_reason) == {"missing_timestamp": 1}
    assert skipped.examples == {"missing_timestamp": [f"{exports / INGEST[0]}:record 1"]}

    tasks, _ = langsmith.read([exports / name for name in INGEST], SourceSettings())
    ok = next(task for task in tasks if "beta" in task.tags)
    assert ok.llm_calls == [GPT4O]  # its usage came in the LLM run's patch


@pytest.mark.parametrize("export", ["ingest", "runs.jsonl", "bulk export"])
def test_costs_are_langsmith_totals_or_priced_and_never_zero_for_unknown_tokens(
    exports: Path, export: str
) -> None:
    paths = [exports / name for name in EXPORTS[export]]
    result = import_traces("langsmith", paths, None, settings=ESCALATION)

    costs = {(row["agent"], row["outcome"]): row["cost_usd"] for row in result.rows}
    assert len(costs) == 4
    if export == "ingest":  # the SDK sends no costs: priced from pricing.yaml (none here)
        assert set(costs.values()) == {None}
        assert result.unpriced_models == {"gpt-4o": 1, "gpt-4o-mini": 1, "claude-sonnet-4-5": 1}
    else:  # the server's total_cost of each root
        assert costs["support_agent", "success"] == pytest.approx(0.00325)
        assert costs["refund_agent", "failure"] == pytest.approx(0.000105)
        assert costs["research_agent", "success"] == pytest.approx(0.0066)
    # the streamed call: no usage, so no cost, never 0.0 (the server's total of 0 is no price)
    assert costs["support_agent", "escalated"] is None
    assert result.unknown_tokens == {"gpt-4o": 1}


def test_sdk_runs_are_priced_with_cached_tokens_apart(exports: Path) -> None:
    tasks, _ = langsmith.read([exports / name for name in INGEST], SourceSettings())
    result = ImportResult()
    rows = {
        (task.agent_name, min(task.tags, default="")): to_event(
            task, settings=SourceSettings(), pricing=PRICES, charters=None, result=result
        )
        for task in tasks
    }
    assert rows["support_agent", "beta"]["cost_usd"] == pytest.approx(GPT4O_COST)
    assert rows["refund_agent", ""]["cost_usd"] == pytest.approx((500 * 0.15 + 50 * 0.6) / 1e6)
    claude = (500 * 3.0 + 2000 * 0.3 + 500 * 3.75 + 200 * 15.0) / 1e6
    assert rows["research_agent", ""]["cost_usd"] == pytest.approx(claude)
    assert call_cost(CLAUDE, PRICES, ImportResult()) == pytest.approx(claude)
    assert rows["support_agent", "needs-human"]["cost_usd"] is None
    assert result.unknown_tokens == {"gpt-4o": 1} and not result.unpriced_models


def test_traceable_functions_usage_in_their_outputs(exports: Path) -> None:
    """`@traceable(run_type="llm")` returning `usage_metadata`; one reporting none."""
    (task,) = langsmith.read([exports / "traceable_batches.json"], SourceSettings())[0]
    assert (task.agent_name, task.tags, task.attributes["queue"]) == (
        "triage_agent",
        {"triage"},
        "billing",
    )
    assert task.llm_calls == [
        LlmCall("gpt-4o", 800, 20, cache_read_tokens=512), LlmCall("gpt-4o", None, None)
    ]  # fmt: skip


@pytest.mark.parametrize(
    "files",
    [[*INGEST, "feedback.jsonl"], ["feedback.jsonl", *INGEST], ["runs_query.json"],
     ["runs.jsonl", "feedback.jsonl"]],
)  # fmt: skip
def test_feedback_from_records_or_run_statistics_reaches_the_root_task(
    exports: Path, files: list[str]
) -> None:
    tasks = _read(exports, files)
    assert tasks["support_agent", "beta"].feedback == {"user_rating": pytest.approx(0.7)}
    assert tasks["refund_agent", ""].feedback == {"correctness": 0.0}  # given on its LLM run
    escalated = tasks["support_agent", "needs-human"].feedback
    assert escalated["user_rating"] == 0.2 and escalated["resolution"] == 0.0
    if "feedback.jsonl" in files:  # only the records carry the correction
        assert escalated["resolution.corrected"] is True
    assert tasks["research_agent", ""].feedback == {"reworked": True}  # the label "yes"


def test_feedback_fills_event_columns(exports: Path) -> None:
    settings = SourceSettings.model_validate(
        {"escalation": {"tags": ["needs-human"]},
         "feedback": {"customer_feedback": ["user_rating"],
                      "reworked": ["reworked", "resolution.corrected"]}}
    )  # fmt: skip
    paths = [exports / name for name in [*INGEST, "feedback.jsonl"]]
    result = import_traces("langsmith", paths, None, settings=settings)
    rows = {(row["agent"], row["outcome"]): row for row in result.rows}
    assert rows["support_agent", "success"]["customer_feedback"] == pytest.approx(0.7)
    assert rows["support_agent", "escalated"]["reworked"] is True
    assert rows["research_agent", "success"]["reworked"] is True
    assert rows["refund_agent", "failure"]["reworked"] is None


def test_feedback_by_trace_id_when_its_run_is_not_exported(tmp_path: Path) -> None:
    root = {"id": "r1", "trace_id": "r1", "name": "agent", "run_type": "chain",
            "start_time": "2026-11-20T10:00:00Z", "end_time": "2026-11-20T10:00:02Z"}  # fmt: skip
    feedback = [
        {"id": "f1", "run_id": "gone", "trace_id": "r1", "key": "helpful", "score": True},
        {"id": "f2", "run_id": None, "trace_id": "r1", "key": "stars", "score": 4},
        {"id": "f3", "run_id": "other", "trace_id": "other", "key": "stars", "score": 1},
        {"id": "f4", "run_id": "r1", "key": "note", "value": "fine", "comment": "ok"},
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in [root, *feedback]))
    (task,), skipped = langsmith.read([path], SourceSettings())
    assert task.feedback == {"helpful": True, "stars": 4.0}
    assert (skipped.seen.records, skipped.seen.kinds) == (5, {"chain": 1, "feedback": 4})


def test_seen_counts_runs_traces_and_run_types(exports: Path) -> None:
    result = import_traces(
        "langsmith", [exports / name for name in INGEST], None, settings=SourceSettings()
    )
    seen = result.skipped.seen
    assert (seen.records, seen.traces) == (11, 4)  # 13 records: two runs posted then patched
    assert seen.kinds == {"chain": 4, "llm": 4, "tool": 3}


def test_a_feedback_file_alone_says_what_it_read(exports: Path) -> None:
    result = import_traces("langsmith", [exports / "feedback.jsonl"], None)
    assert not result.rows
    summary = format_summary(result, "langsmith", 1)
    assert "read 6 record(s)" in summary and "feedback (6)" in summary


@pytest.mark.parametrize(
    "name",
    ["ingest_batch_1.json", "ingest_batch_2.jsonl", "traceable_batches.json", "runs.jsonl",
     "runs_query.json", "runs.json", "bulk_export.parquet", "structs.parquet", "feedback.jsonl"],
)  # fmt: skip
def test_every_export_is_detected_as_langsmith(exports: Path, name: str) -> None:
    assert detect_format(exports / name) == "langsmith"


@pytest.mark.parametrize(
    "columns",
    [
        {"id", "op_name", "trace_id", "parent_id", "started_at"},  # Weave calls
        {"id", "weave_ref", "feedback_type", "payload"},  # Weave feedback
        {"context.span_id", "span_kind", "parent_id", "name"},  # Phoenix spans
        {"span_id", "name", "result.score", "result.label"},  # Phoenix annotations
        {"id", "traceId", "observationId", "name", "value"},  # Langfuse scores
        {"id", "traceId", "type", "startTime", "parentObservationId"},  # Langfuse observations
        {"timestamp", "agent", "outcome"},  # govkit events
    ],
)
def test_other_exports_are_not_langsmith(columns: set[str]) -> None:
    assert not langsmith.LangSmithSource().detect(columns)


def test_cli_imports_split_ingest_files_with_feedback(
    exports: Path, tmp_path: Path, govkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no governance here: a first look
    mapping = tmp_path / "sources.yaml"
    mapping.write_text("escalation:\n  tools: [handoff_to_human]\n")
    files = [str(exports / name) for name in [*INGEST, "feedback.jsonl"]]
    result = govkit(
        "events", "import", *files, "--from", "auto", "--mapping", str(mapping),
        "--out", "events.parquet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "as LangSmith runs (langsmith)" in result.output
    assert "4 tasks from 3 langsmith file(s)" in result.output
    assert "calls whose token counts the trace does not record:\n    gpt-4o: 1" in result.output
    rows = duckdb.execute(
        "SELECT agent, outcome, cost_usd IS NULL FROM read_parquet('events.parquet') "
        "ORDER BY agent, outcome"
    ).fetchall()
    assert rows == [
        ("refund_agent", "failure", True), ("research_agent", "success", True),
        ("support_agent", "escalated", True), ("support_agent", "success", True),
    ]  # fmt: skip


# --- where the tokens are -------------------------------------------------------------------

USAGE = {"input_tokens": 100, "output_tokens": 10, "input_token_details": {"cache_read": 60}}
LC_MESSAGE = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
              "kwargs": {"content": "ok", "usage_metadata": USAGE}}  # fmt: skip
PLACES: dict[str, tuple[dict[str, Any], tuple[Any, ...] | None]] = {
    "outputs.usage_metadata": ({"outputs": {"usage_metadata": USAGE}}, (100, 10, 60, 0)),
    "extra.metadata.usage_metadata": (
        {"extra": {"metadata": {"usage_metadata": USAGE}}},
        (100, 10, 60, 0),
    ),
    "run-level counts": (
        {"prompt_tokens": 100, "completion_tokens": 10, "prompt_token_details": {"cache_read": 60}},
        (100, 10, 60, 0),
    ),
    "generations": ({"outputs": {"generations": [[{"message": LC_MESSAGE}]]}}, (100, 10, 60, 0)),
    "generations of a JSON-encoded outputs": (
        {
            "outputs": json.dumps(
                {"generations": [[{"message": LC_MESSAGE}, {"message": LC_MESSAGE}]]}
            )
        },
        (100, 10, 60, 0),  # the choices of one call share its usage: counted once
    ),
    "llm_output.token_usage (OpenAI)": (
        {
            "outputs": {
                "llm_output": {
                    "token_usage": {
                        "prompt_tokens": 100,
                        "completion_tokens": 10,
                        "prompt_tokens_details": {"cached_tokens": 60},
                    }
                }
            }
        },
        (100, 10, 60, 0),
    ),
    "llm_output.usage (Anthropic: cache apart)": (
        {
            "outputs": {
                "llm_output": {
                    "usage": {
                        "input_tokens": 20,
                        "output_tokens": 10,
                        "cache_read_input_tokens": 60,
                        "cache_creation_input_tokens": 20,
                    }
                }
            }
        },
        (100, 10, 60, 20),
    ),
    "Anthropic's ephemeral cache writes": (
        {
            "outputs": {
                "usage_metadata": {
                    "input_tokens": 100,
                    "output_tokens": 10,
                    "input_token_details": {
                        "ephemeral_5m_input_tokens": 15,
                        "ephemeral_1h_input_tokens": 5,
                    },
                }
            }
        },
        (100, 10, 0, 20),
    ),
    "the first place wins": (
        {"outputs": {"usage_metadata": USAGE}, "prompt_tokens": 7, "completion_tokens": 7},
        (100, 10, 60, 0),
    ),
    "a later place when the first is empty": (
        {"outputs": {"usage_metadata": {}}, "prompt_tokens": 7, "completion_tokens": 3},
        (7, 3, 0, 0),
    ),
    "0 and 0: unknown": ({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, None),
    "only a total: unknown": ({"outputs": {"usage_metadata": {"total_tokens": 9}}}, None),
    "one count only": ({"prompt_tokens": 100, "completion_tokens": None}, (100, None, 0, 0)),
    "counts of the wrong type": ({"prompt_tokens": [1], "completion_tokens": "x"}, None),
    "nothing": ({"outputs": {"output": "hi"}}, None),
}


@pytest.mark.parametrize("place", PLACES)
def test_llm_usage_is_found_wherever_it_is(place: str) -> None:
    run, expected = PLACES[place]
    extra = run.get("extra", {})
    assert langsmith_usage.llm_usage(run, extra) == expected


def test_model_name_prefers_langsmiths_own() -> None:
    extra = {"metadata": {"ls_model_name": "gpt-4o"}, "invocation_params": {"model": "gpt-4o-2024"}}
    assert langsmith_usage.model_name({}, extra) == "gpt-4o"
    assert langsmith_usage.model_name({}, {"invocation_params": {"model_name": "o3"}}) == "o3"
    outputs = {"llm_output": {"model_name": "gpt-4o-mini"}}
    assert langsmith_usage.model_name({"outputs": outputs}, {}) == "gpt-4o-mini"


# --- merging, nesting, the tree without parent ids ---------------------------------------------

T0, T1, T2 = "2026-11-20T10:00:00Z", "2026-11-20T10:00:01Z", "2026-11-20T10:00:03Z"


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_later_fields_win_and_null_ones_keep_the_earlier_value(tmp_path: Path) -> None:
    post = {"id": "r1", "trace_id": "r1", "name": "agent", "run_type": "chain",
            "start_time": T0, "tags": ["a"], "extra": {"metadata": {"team": "x"}}}  # fmt: skip
    patch = {"id": "r1", "trace_id": "r1", "parent_run_id": None, "end_time": T2, "tags": None,
             "error": "boom", "extra": {"metadata": {"team": "y"}}, "name": None}  # fmt: skip
    again = {**post, "end_time": T1, "error": None}  # the run exported once more, later
    (task,), _ = langsmith.read(
        [_write(tmp_path / "runs.jsonl", [post, patch, again])], SourceSettings()
    )
    assert (task.agent_name, task.tags, task.attributes) == ("agent", {"a"}, {"team": "x"})
    assert task.error  # the patch's error is not undone by a later null
    assert (task.end - task.start).total_seconds() == 1


def test_nested_child_runs_are_runs_too(tmp_path: Path) -> None:
    tool = {"id": "t1", "parent_run_id": "r1", "name": "search", "run_type": "tool"}
    llm = {"id": "l1", "parent_run_id": "r1", "name": "chat", "run_type": "llm",
           "prompt_tokens": 5, "completion_tokens": 2,
           "extra": {"metadata": {"ls_model_name": "gpt-4o"}}, "child_runs": [tool]}  # fmt: skip
    root = {"id": "r1", "name": "agent", "run_type": "chain", "start_time": T0,
            "end_time": T1, "child_runs": [llm], "parent_run_id": None}  # fmt: skip
    (task,), skipped = langsmith.read([_write(tmp_path / "tree.json", [root])], SourceSettings())
    assert (task.tool_names, task.llm_calls) == ({"search"}, [LlmCall("gpt-4o", 5, 2)])
    assert skipped.seen.records == 3


def test_the_tree_from_dotted_order_when_parent_ids_are_not_exported(tmp_path: Path) -> None:
    root_id, child_id = (
        "0" * 8 + "-0000-7000-8000-" + "1" * 12,
        "0" * 8 + "-0000-7000-8000-" + "2" * 12,
    )
    root_order = f"20261120T100000000000Z{root_id}"
    root = {"id": root_id, "name": "agent", "run_type": "chain", "start_time": T0,
            "end_time": T1, "dotted_order": root_order}  # fmt: skip
    child = {"id": child_id, "name": "search", "run_type": "tool", "start_time": T0,
             "end_time": T1, "dotted_order": f"{root_order}.20261120T100000500000Z{child_id}"}  # fmt: skip
    tasks, _ = langsmith.read([_write(tmp_path / "runs.jsonl", [root, child])], SourceSettings())
    assert [(task.agent_name, task.tool_names) for task in tasks] == [("agent", {"search"})]


def test_root_totals_when_only_root_runs_are_exported(tmp_path: Path) -> None:
    """A bulk export filtered to `is_root`: the trace's totals, the model unknown."""
    root = {"id": "r1", "name": "agent", "run_type": "chain", "start_time": T0, "end_time": T1,
            "prompt_tokens": 900, "completion_tokens": 90, "total_cost": None}  # fmt: skip
    (task,), _ = langsmith.read([_write(tmp_path / "roots.jsonl", [root])], SourceSettings())
    assert task.llm_calls == [LlmCall(None, 900, 90)] and task.cost_usd is None


def test_agent_attribute_names_the_agent(exports: Path) -> None:
    settings = SourceSettings.model_validate({"agent_attribute": {"langsmith": "customer_tier"}})
    tasks, _ = langsmith.read([exports / "runs.jsonl"], settings)
    assert {task.agent_name for task in tasks} == {"gold"}
