"""W&B Weave exports as teams have them, read into tasks: calls written by Weave's own client
(fixtures/weave/make_fixtures.py: weave 0.51.59 and its local trace server) and exported as
JSON Lines, a pretty JSON array, a flattened CSV, and calls plus a separate feedback file; then
what those files leave open: newer clients' usage, costs, dotted model names, unknown tokens."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from monitor.sources import weave
from monitor.sources.common import ImportResult, LlmCall, call_cost, to_event
from monitor.sources.importer import detect_format, import_traces
from playbook.core.settings import ModelPrice, Pricing, SourceSettings

FIXTURES = Path(__file__).parent / "fixtures" / "weave"
EXPORTS = {
    "jsonl": ["calls.jsonl"],
    "json": ["calls.json"],
    "csv": ["calls.csv"],
    "calls+feedback": ["calls_no_feedback.jsonl", "feedback.jsonl"],
}
PRICES = Pricing(
    models={
        "gpt-4.1-2025-04-14": ModelPrice(
            input_per_million=2.0, output_per_million=8.0, cache_read_per_million=0.5
        ),
        "claude-sonnet-4-5": ModelPrice(
            input_per_million=3.0, output_per_million=15.0, cache_read_per_million=0.3
        ),
    }
)


def _tasks(files: list[str], settings: SourceSettings | None = None) -> dict[str, weave.Task]:
    tasks, skipped = weave.read([FIXTURES / name for name in files], settings or SourceSettings())
    assert not skipped.by_reason
    return {task.agent_name or "": task for task in tasks}


@pytest.mark.parametrize("export", EXPORTS)
def test_every_export_of_the_same_calls_gives_the_same_tasks(export: str) -> None:
    tasks = _tasks(EXPORTS[export])

    assert set(tasks) == {"support_agent", "refund_agent"}  # the scorer's own call is no task
    ok, failed = tasks["support_agent"], tasks["refund_agent"]
    assert (ok.error, failed.error) == (False, True)  # TimeoutError raised in issue_refund
    assert ok.tool_names == {"openai_chat", "lookup_order"}
    assert failed.tool_names == {"anthropic_messages", "issue_refund"}
    # OpenAI: prompt_tokens counts its cached part; the Anthropic usage of a 0.51 client does not
    assert ok.llm_calls == [LlmCall("gpt-4.1-2025-04-14", 1200, 150, cache_read_tokens=1000)]
    assert failed.llm_calls == [LlmCall("claude-sonnet-4-5", 2040, 90, cache_read_tokens=2000)]
    assert ok.feedback == {"reaction": 1.0, "helpfulness.score": 0.75, "helpfulness.passed": True}
    assert failed.feedback == {"reaction": 0.0}
    assert ok.cost_usd is None  # no `summary.weave.costs`: priced from pricing.yaml
    assert 0 < (ok.end - ok.start).total_seconds() < 1


@pytest.mark.parametrize("export", EXPORTS)
def test_every_export_becomes_priced_events_with_outcomes_and_feedback(export: str) -> None:
    settings = SourceSettings.model_validate(
        {"feedback": {"customer_feedback": ["reaction"], "reworked": ["helpfulness.passed"]}}
    )
    paths = [FIXTURES / name for name in EXPORTS[export]]
    first_look = import_traces("weave", paths, None, settings=settings)
    assert {row["agent"]: row["outcome"] for row in first_look.rows} == {
        "support_agent": "success", "refund_agent": "failure",
    }  # fmt: skip
    assert first_look.skipped.seen.records == 7 and first_look.skipped.seen.traces == 3
    assert first_look.skipped.seen.kinds["helpfulness"] == 1

    tasks, _ = weave.read(paths, settings)
    result = ImportResult()
    rows = {
        task.agent_name: to_event(
            task, settings=settings, pricing=PRICES, charters=None, result=result
        )
        for task in tasks
    }

    ok, failed = rows["support_agent"], rows["refund_agent"]
    assert ok is not None and failed is not None
    assert ok["cost_usd"] == pytest.approx(0.0021)  # (200 x 2 + 1000 x 0.5 + 150 x 8) / 1e6
    assert failed["cost_usd"] == pytest.approx(0.00207)  # (40 x 3 + 2000 x 0.3 + 90 x 15) / 1e6
    assert (ok["customer_feedback"], ok["reworked"]) == (1.0, True)
    assert (failed["customer_feedback"], failed["reworked"]) == (0.0, None)
    assert not result.unpriced_models and not result.unknown_tokens


@pytest.mark.parametrize("export", ["calls.jsonl", "calls.json", "calls.csv", "feedback.jsonl"])
def test_auto_detects_each_weave_file_and_no_other_source_claims_it(export: str) -> None:
    assert detect_format(FIXTURES / export) == "weave"


def test_the_command_line_imports_the_csv_export(govkit, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "events.parquet"
    result = govkit("events", "import", str(FIXTURES / "calls.csv"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "W&B Weave calls (weave)" in result.output
    rows = duckdb.execute(
        "SELECT agent, outcome FROM read_parquet(?) ORDER BY agent", [str(out)]
    ).fetchall()
    assert rows == [("refund_agent", "failure"), ("support_agent", "success")]


# --- what the fixtures leave open ---------------------------------------------------------------


def _call(usage: dict[str, Any], version: str = "0.54.0", **summary: Any) -> dict[str, Any]:
    return {
        "id": "c1", "trace_id": "t1", "parent_id": None, "op_name": "weave:///a/p/op/agent:v1",
        "started_at": "2026-11-20T10:00:00Z", "ended_at": "2026-11-20T10:00:02Z",
        "attributes": {"weave": {"client_version": version}},
        "summary": {"usage": usage, **summary},
    }  # fmt: skip


def _read_one(tmp_path: Path, call: dict[str, Any]) -> weave.Task:
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(call) + "\n")
    (task,), _ = weave.read([path], SourceSettings())
    return task


ANTHROPIC = {"input_tokens": 2040, "output_tokens": 90, "cache_read_input_tokens": 2000}


@pytest.mark.parametrize(
    ("usage", "version", "expected"),
    [
        # Weave >= 0.53.2 writes Anthropic's input with the cache in it
        ({"claude": {**ANTHROPIC, "requests": 1}}, "0.54.0", LlmCall("claude", 2040, 90, 2000)),
        # older clients wrote Anthropic's own count, the uncached part
        (
            {"claude": {**ANTHROPIC, "input_tokens": 3000}},
            "0.52.1",
            LlmCall("claude", 5000, 90, 2000),
        ),
        # a count smaller than its cache counts cannot have included them, whatever the client
        (
            {"claude": {**ANTHROPIC, "input_tokens": 40}},
            "0.54.0",
            LlmCall("claude", 2040, 90, 2000),
        ),
        (
            {
                "claude": {
                    "input_tokens": 500,
                    "output_tokens": 9,
                    "cache_creation_input_tokens": 100,
                }
            },
            "0.54.0",
            LlmCall("claude", 500, 9, 0, 100),
        ),
        # OpenAI Responses API: input_tokens counts input_tokens_details.cached_tokens
        (
            {
                "gpt-5": {
                    "input_tokens": 900,
                    "output_tokens": 10,
                    "cache_read_input_tokens": 800,
                    "input_tokens_details": {"cached_tokens": 800},
                }
            },
            "0.51.0",
            LlmCall("gpt-5", 900, 10, 800),
        ),
        # usage without token counts (a Gemini call without usage metadata): unknown, not zero
        ({"gemini-2.5-pro": {"requests": 1}}, "0.54.0", LlmCall("gemini-2.5-pro", None, None)),
    ],
)
def test_tokens_count_cached_input_once_whatever_client_wrote_them(
    tmp_path: Path, usage: dict[str, Any], version: str, expected: LlmCall
) -> None:
    assert _read_one(tmp_path, _call(usage, version)).llm_calls == [expected]


def test_unknown_tokens_leave_the_cost_empty_and_are_counted(tmp_path: Path) -> None:
    task = _read_one(tmp_path, _call({"gemini-2.5-pro": {"requests": 1}}))
    result = ImportResult()
    assert [call_cost(call, PRICES, result) for call in task.llm_calls] == [None]
    assert result.unknown_tokens == {"gemini-2.5-pro": 1}


def test_weave_costs_are_the_task_cost_old_and_new_names_and_never_partial(
    tmp_path: Path,
) -> None:
    usage = {"gpt-4o": {"prompt_tokens": 1000, "completion_tokens": 200}}
    new = {"gpt-4o": {"prompt_tokens_total_cost": 0.0025, "completion_tokens_total_cost": 0.002,
                      "prompt_token_cost": 2.5e-06, "requests": 1, "provider_id": "openai"}}  # fmt: skip
    old = {"gpt-4o": {"prompt_tokens_cost": 0.0025, "completion_tokens_cost": 0.002}}
    for costs in (new, old):
        task = _read_one(tmp_path, _call(usage, weave={"costs": costs}))
        assert task.cost_usd == pytest.approx(0.0045)
    two_models = {**usage, "claude": {"input_tokens": 5, "output_tokens": 5}}
    assert _read_one(tmp_path, _call(two_models, weave={"costs": new})).cost_usd is None


def test_flattened_columns_split_model_names_that_have_dots(tmp_path: Path) -> None:
    """A CSV whose usage columns carry dotted model names (`gpt-4.1`, Bedrock's
    `anthropic.claude-...-v1:0`), status and latency in columns, feedback as a column."""
    path = tmp_path / "calls.csv"
    bedrock = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    row = {
        "id": "c1", "trace_id": "t1", "op_name": "weave:///a/p/op/triage_agent:v1",
        "started_at": "2026-11-20T10:00:00Z",
        "summary.weave.latency_ms": "2500", "summary.weave.status": "success",
        "summary.usage.gpt-4.1.prompt_tokens": "1200.0",
        "summary.usage.gpt-4.1.completion_tokens": "150.0",
        "summary.usage.gpt-4.1.prompt_tokens_details.cached_tokens": "1000.0",
        f"summary.usage.{bedrock}.prompt_tokens": "300",
        f"summary.usage.{bedrock}.completion_tokens": "20",
        "attributes.env": "prod", "attributes.weave.client_version": "0.52.0",
        "feedback.[wandb.annotation.quality].payload.value": "0.5",
    }  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)

    (task,), _ = weave.read([path], SourceSettings())

    assert (task.agent_name, (task.end - task.start).total_seconds()) == ("triage_agent", 2.5)
    assert task.llm_calls == [LlmCall("gpt-4.1", 1200, 150, 1000), LlmCall(bedrock, 300, 20)]
    assert task.attributes == {"env": "prod"}
    assert task.feedback == {"quality": 0.5}
    assert detect_format(path) == "weave"


def test_feedback_on_a_child_call_counts_for_its_task_and_notes_give_no_key(
    tmp_path: Path,
) -> None:
    root = _call({})
    child = {**_call({}), "id": "c2", "parent_id": "c1", "op_name": "weave:///a/p/op/draft:v2"}
    feedback = [
        {"weave_ref": "weave:///a/p/call/c2", "feedback_type": "wandb.reaction.1",
         "payload": {"emoji": "👍🏽", "detoned": "👍"}},
        {"weave_ref": "weave:///a/p/call/c1", "feedback_type": "wandb.reaction.1",
         "payload": {"emoji": "👎"}},
        {"weave_ref": "weave:///a/p/call/c1", "feedback_type": "wandb.note.1",
         "payload": {"note": "slow"}},
        {"weave_ref": "weave:///a/p/call/c1", "feedback_type": "correctness",
         "payload": {"value": "yes"}},
        {"weave_ref": "weave:///a/p/call/gone", "feedback_type": "wandb.reaction.1",
         "payload": {"emoji": "👍"}},
    ]  # fmt: skip
    calls, extra = tmp_path / "calls.jsonl", tmp_path / "feedback.json"
    calls.write_text("\n".join(json.dumps(call) for call in (root, child)) + "\n")
    extra.write_text(json.dumps(feedback, indent=2, ensure_ascii=False))

    (task,), _ = weave.read([calls, extra], SourceSettings())

    assert task.feedback == {"reaction": 0.5, "correctness": True}


def test_a_parquet_export_reads_as_the_json_lines_do(tmp_path: Path) -> None:
    parquet = tmp_path / "calls.parquet"
    duckdb.execute(
        f"COPY (SELECT * FROM read_json_auto('{FIXTURES / 'calls.jsonl'}')) "
        f"TO '{parquet}' (FORMAT parquet)"
    )
    from_parquet = weave.read([parquet], SourceSettings())[0]
    from_lines = weave.read([FIXTURES / "calls.jsonl"], SourceSettings())[0]
    assert from_parquet == from_lines
    assert detect_format(parquet) == "weave"
