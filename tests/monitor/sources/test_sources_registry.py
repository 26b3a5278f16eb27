"""The trace sources' one interface and one registry: the names sources.yaml may use, the readers
that serve them, format detection and the command line's choices all agree."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.sources.base import SOURCES, TraceSource, get_source
from monitor.sources.importer import detect_format
from playbook.core.errors import UsageError
from playbook.core.settings import TRACE_SOURCES, SourceSettings
from tests.conftest import REPO

# The smallest first record that each source's export starts with.
SAMPLES = {
    "otel": {"resourceSpans": []},
    "openinference": {"name": "agent", "span_kind": "AGENT", "context": {"span_id": "ab"}},
    "langsmith": {"id": "1", "name": "agent", "run_type": "chain", "parent_run_id": None},
    "weave": {"id": "1", "op_name": "agent", "trace_id": "t", "started_at": "2026-11-20"},
    "langfuse": {"id": "o1", "traceId": "t1", "type": "SPAN", "startTime": "2026-11-20T10:00:00Z"},
    "decisions": {"time": "2026-11-20T10:00:00Z", "decision_id": "d1", "decision": "escalate",
                  "represents": 1},
}  # fmt: skip


def test_the_registry_serves_exactly_the_sources_sources_yaml_may_name() -> None:
    assert tuple(SOURCES) == TRACE_SOURCES
    for name in TRACE_SOURCES:
        assert SourceSettings.model_validate({"agent_attribute": {name: "agent.name"}})
    with pytest.raises(ValueError, match="otel"):
        SourceSettings.model_validate({"agent_attribute": {"otell": "agent.name"}})


def test_the_registry_refuses_to_load_when_the_names_disagree() -> None:
    script = (
        "import playbook.core.settings as settings\n"
        "settings.TRACE_SOURCES = ('otel', 'openinference', 'langsmith')\n"
        "import monitor.sources.base\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert run.returncode != 0
    assert "AssertionError" in run.stderr and "TRACE_SOURCES" in run.stderr


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_satisfies_the_interface(name: str) -> None:
    source = SOURCES[name]
    assert isinstance(source, TraceSource)
    assert source.name == name
    assert source.description and "\n" not in source.description
    assert source.detected_by
    for method in ("read", "detect"):
        wanted = inspect.signature(getattr(TraceSource, method)).parameters
        found = inspect.signature(getattr(source, method)).parameters
        assert list(found) == [parameter for parameter in wanted if parameter != "self"]
    assert source.detect(set()) is False
    assert get_source(name) is source


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_source_claims_only_its_own_export(name: str, tmp_path: Path) -> None:
    assert set(SAMPLES) == set(SOURCES), "a new source needs a sample here"
    path = tmp_path / f"{name}.jsonl"
    path.write_text(json.dumps(SAMPLES[name]) + "\n", encoding="utf-8")
    assert detect_format(path) == name
    record = SAMPLES[name]
    columns = set(record) | {
        f"{key}.{inner}"
        for key, value in record.items()
        if isinstance(value, dict)
        for inner in value
    }  # as detect_format sees them: nested names also as `a.b`
    assert [found for found, source in SOURCES.items() if source.detect(columns)] == [name]


def test_an_otlp_document_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "traces.json"
    path.write_text(json.dumps({"resourceSpans": []}, indent=2), encoding="utf-8")
    assert detect_format(path) == "otel"


def test_an_unrecognised_file_names_every_source(tmp_path: Path) -> None:
    path = tmp_path / "unknown.jsonl"
    path.write_text('{"hello": 1}\n', encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        detect_format(path)
    for source in SOURCES.values():
        assert source.detected_by in str(raised.value)


def test_get_source_names_the_closest() -> None:
    with pytest.raises(UsageError, match=r"unknown trace source 'otell'\. Did you mean 'otel'\?"):
        get_source("otell")


@pytest.mark.parametrize(
    "args",
    [
        ("events", "import", "--from", "langsmit", "traces.jsonl", "--out", "events.csv"),
        ("monitor", "run", "--events", "traces.jsonl", "--events-format", "langsmit"),
    ],
)
def test_an_unknown_source_on_the_command_line_is_exit_2(govkit, args: tuple[str, ...]) -> None:
    result = govkit(*args)
    assert result.exit_code == 2
    assert (
        "unknown trace source 'langsmit'. Did you mean 'langsmith' or 'langfuse'?" in result.output
    )
    assert "Traceback" not in result.output


def test_the_from_help_lists_every_source(govkit) -> None:
    result = govkit("events", "import", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert f"--from [{'|'.join(('auto', *SOURCES))}]" in text
    for source in SOURCES.values():
        assert source.description in text
