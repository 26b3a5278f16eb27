"""What every import shares, whatever the source: a first look without charters, `--unmapped
keep`, `--from auto`, cached tokens priced apart and unknown tokens left unpriced, the records
of JSON documents, API wrappers and CSV, and the summary of an import that found no task."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("opentelemetry.sdk.trace", reason="the traces-test extra is not installed")

from monitor.sources.common import ImportResult, LlmCall, Seen, Skipped, call_cost
from monitor.sources.importer import detect_format
from monitor.sources.records import read_records
from monitor.sources.summary import format_summary
from playbook.core.settings import ModelPrice, Pricing
from tests.conftest import Workspace
from tests.monitor.sources.test_traces_otel import Traces

PRICES = Pricing(
    models={
        "claude": ModelPrice(
            input_per_million=3.0, output_per_million=15.0,
            cache_read_per_million=0.3, cache_write_per_million=3.75,
        ),
        "gpt-4o": ModelPrice(input_per_million=2.5, output_per_million=10.0),
    }
)  # fmt: skip


def _agents(path: Path) -> list[tuple[str, int]]:
    query = "SELECT agent, count(*) FROM read_parquet(?) GROUP BY agent ORDER BY agent"
    return duckdb.execute(query, [str(path)]).fetchall()


def _export(tmp_path: Path) -> Path:
    traces = Traces()
    traces.task("docs-bot", tokens=(1200, 300))
    traces.task("docs-bot")
    traces.task("billing-helper")
    return traces.json_lines(tmp_path / "traces.jsonl")


def test_a_first_look_without_governance_keeps_every_traced_agent(
    govkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _export(tmp_path)
    monkeypatch.chdir(tmp_path)  # no ./governance here
    result = govkit("events", "import", str(export), "--out", "events.parquet")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("reading traces.jsonl as OpenTelemetry")
    assert "(otel)\n" in result.output
    assert "3 tasks from 1 otel file(s) (no governance directory" in result.output
    assert "  billing-helper: 1\n  docs-bot: 2" in result.output
    assert _agents(tmp_path / "events.parquet") == [("billing-helper", 1), ("docs-bot", 2)]


def test_with_governance_unmapped_agents_are_left_out_unless_kept(
    govkit, workspace: Workspace, tmp_path: Path
) -> None:
    workspace.write("sources.yaml", "agents:\n  docs-bot: docs-qa\n")
    export = _export(tmp_path)
    dropped = govkit("events", "import", str(export), "--out", "dropped.parquet")
    assert dropped.exit_code == 0, dropped.output
    assert "tasks of agents without a charter, left out" in dropped.output
    assert "  billing-helper: 1" in dropped.output
    assert _agents(workspace.root / "dropped.parquet") == [("docs-qa", 2)]

    kept = govkit("events", "import", str(export), "--unmapped", "keep", "--out", "kept.parquet")
    assert kept.exit_code == 0, kept.output
    assert _agents(workspace.root / "kept.parquet") == [("billing-helper", 1), ("docs-qa", 2)]


def test_auto_refuses_an_events_file_and_names_the_formats_it_looked_for(
    govkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.csv").write_text("timestamp,agent,outcome\n2026-01-01,a,success\n")
    (tmp_path / "notes.json").write_text('{"hello": "world"}\n')
    already = govkit("events", "import", "events.csv", "--out", "out.parquet")
    assert already.exit_code == 2
    assert "events.csv: already an events file (it has an `outcome` column)" in already.output
    unknown = govkit("events", "import", "notes.json", "--out", "out.parquet")
    assert unknown.exit_code == 2
    assert "notes.json: cannot tell the format from its content" in unknown.output
    assert "Traceback" not in unknown.output


def test_cached_tokens_are_priced_at_their_own_rates() -> None:
    result = ImportResult()
    # 1M input tokens of which 900k cache reads and 50k cache writes; 10k output
    call = LlmCall(
        "claude", 1_000_000, 10_000, cache_read_tokens=900_000, cache_write_tokens=50_000
    )
    assert call_cost(call, PRICES, result) == pytest.approx(
        0.05 * 3.0 + 0.9 * 0.3 + 0.05 * 3.75 + 0.01 * 15.0
    )
    assert not result.cache_priced_as_input
    as_input = LlmCall("gpt-4o", 1_000_000, 0, cache_read_tokens=900_000)
    assert call_cost(as_input, PRICES, result) == pytest.approx(2.5)
    assert result.cache_priced_as_input == {"gpt-4o"}
    assert "priced at the input rate" in format_summary(result, "otel", 1)


def test_unknown_tokens_and_unpriced_models_leave_the_cost_empty_and_are_counted() -> None:
    result = ImportResult()
    assert call_cost(LlmCall("gpt-4o", None, None), PRICES, result) is None
    assert call_cost(LlmCall("gpt-4o", 10, None), PRICES, result) is None
    assert call_cost(LlmCall("mystery", 10, 10), PRICES, result) is None
    assert result.unknown_tokens == {"gpt-4o": 2}
    assert result.unpriced_models == {"mystery": 1}
    summary = format_summary(result, "langsmith", 1)
    assert "3 LLM call(s) could not be priced (their tasks' cost_usd left empty):" in summary


def test_nothing_found_says_what_was_read_and_which_setting_makes_tasks() -> None:
    skipped = Skipped(seen=Seen(records=12, traces=3))
    skipped.seen.kinds.update({"CHAIN": 3, "LLM": 9})
    summary = format_summary(ImportResult(skipped=skipped), "openinference", 1)
    assert "read 12 record(s) in 3 trace(s), none of them a task" in summary
    assert "kinds of record seen: LLM (9), CHAIN (3)" in summary
    assert "`tasks: {openinference: {span_kind: [AGENT, CHAIN]}}`" in summary


RUN = {"id": "r1", "run_type": "chain", "trace_id": "r1", "dotted_order": "x"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (json.dumps([RUN, RUN], indent=2), 2),  # a pretty-printed array
        (json.dumps({"runs": [RUN, RUN, RUN], "cursors": {"next": None}}, indent=2), 3),
        (json.dumps({"post": [RUN], "patch": [{"id": "r1", "end_time": "x"}]}), 2),
        (json.dumps({"data": [RUN], "meta": {"page": 1}}, indent=1), 1),
        (
            json.dumps(RUN, indent=4) + "\n" + json.dumps(RUN, indent=4) + "\n",
            2,
        ),  # one after another
        (json.dumps(RUN, indent=2), 1),  # one pretty object
    ],
)
def test_json_documents_and_api_wrappers_give_their_records(
    tmp_path: Path, text: str, expected: int
) -> None:
    path = tmp_path / "export.json"
    path.write_text(text)
    skipped = Skipped()
    records = list(read_records(path, skipped))
    assert len(records) == expected
    assert not skipped.by_reason
    assert records[0][1]["id"] == "r1"
    assert detect_format(path) == "langsmith"


def test_a_pretty_document_that_is_broken_is_one_bad_json_not_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([RUN, RUN], indent=2)[:-5])
    skipped = Skipped()
    assert list(read_records(path, skipped)) == []
    assert skipped.by_reason == {"bad_json": 1}


def test_csv_records_keep_dotted_headers_drop_empty_cells_and_name_their_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spans.csv"
    path.write_text(
        "context.span_id,name,attributes.llm.token_count.prompt\n"
        's1,"a name\nover two lines",12.0\n'
        "s2,plain,\n"
    )
    skipped = Skipped()
    records = list(read_records(path, skipped))
    assert records == [
        (f"{path}:2", {"context.span_id": "s1", "name": "a name\nover two lines",
                       "attributes.llm.token_count.prompt": "12.0"}),
        (f"{path}:4", {"context.span_id": "s2", "name": "plain"}),
    ]  # fmt: skip
    header_only = tmp_path / "empty.csv"
    header_only.write_text("a,b\n")
    list(read_records(header_only, skipped))
    assert skipped.by_reason == {"empty_file": 1}


def test_a_saved_dataset_directory_imports_its_files(
    govkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = Path(__file__).parent / "fixtures" / "phoenix" / "trace_dataset"
    monkeypatch.chdir(tmp_path)
    result = govkit("events", "import", str(dataset), "--out", "events.parquet")
    assert result.exit_code == 0, result.output
    assert "6 tasks from 2 openinference file(s)" in result.output
    (tmp_path / "empty").mkdir()
    empty = govkit("events", "import", "empty", "--out", "events.parquet")
    assert empty.exit_code == 2
    assert "empty: a directory without trace files (expected .json, .jsonl" in empty.output


def test_nothing_found_in_a_source_without_task_rules_asks_for_the_roots() -> None:
    skipped = Skipped(seen=Seen(records=6, traces=2))
    skipped.seen.kinds.update({"feedback": 6})
    summary = format_summary(ImportResult(skipped=skipped), "langsmith", 1)
    assert "a langsmith task is a root record (one without a parent)" in summary
    assert "tasks: {" not in summary
