"""`govkit schema`: JSON Schema from the model, kept current in governance/schemas/."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from playbook.core.charter import Charter
from playbook.handbook.schema import SCHEMAS, generate_schemas, load_catalogs
from tests.conftest import EXAMPLE_GOVERNANCE

SCHEMAS_DIR = EXAMPLE_GOVERNANCE / "schemas"
CATALOGS = load_catalogs(EXAMPLE_GOVERNANCE)
CHARTERS = sorted((EXAMPLE_GOVERNANCE / "agents").glob("*.yaml"))


def read_yaml(path: Path) -> Any:
    """A governance file as an editor's YAML 1.2 sees it: unquoted dates are strings."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def validator(schema_file: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / schema_file).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_schemas_are_current():
    fresh = generate_schemas(CATALOGS)
    stale = [
        name
        for name, text in fresh.items()
        if not (SCHEMAS_DIR / name).is_file()
        or (SCHEMAS_DIR / name).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"governance/schemas/ is stale ({', '.join(stale)}); run: govkit schema"


def test_every_constrained_type_says_its_json_schema():
    """A validator JSON Schema cannot see must say its schema where it is defined."""
    import typing

    from pydantic import AfterValidator, WithJsonSchema

    from playbook.core import settings, types

    for name, value in [*vars(types).items(), *vars(settings).items()]:
        if typing.get_origin(value) is not typing.Annotated:
            continue
        metadata = value.__metadata__
        if any(isinstance(item, AfterValidator) for item in metadata):
            assert any(isinstance(item, WithJsonSchema) for item in metadata), name


@pytest.mark.parametrize("path", CHARTERS, ids=lambda path: path.stem)
def test_every_example_charter_validates(path):
    charter = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [error.message for error in validator("charter.schema.json").iter_errors(charter)]
    assert errors == []


EXAMPLE_FILES = {
    "policy.schema.json": "policies/support-agent.yaml",
    "policy-tests.schema.json": "policies/support-agent.tests.yaml",
    "incident.schema.json": "incidents/2026-11-18-refunds-rollbacks.yaml",
    "framework.schema.json": "frameworks/eu-ai-act.yaml",
}
# The example organisation imports no traces: the README's own examples stand in.
INLINE = {
    "sources.schema.json": {
        "agent_attribute": {"openinference": "metadata.assistant"},
        "agents": {"support_agent": "support-replies"},
        "escalation": {"tags": ["needs-human"], "keys": ["escalated"], "tools": ["handoff"]},
        "feedback": {"customer_feedback": ["user_rating"], "reworked": ["reworked"]},
    },
    "pricing.schema.json": {
        "models": {"gpt-4o": {"input_per_million": 2.5, "output_per_million": 10}}
    },
}


@pytest.mark.parametrize("schema_file", sorted(set(SCHEMAS) - {"charter.schema.json"}))
def test_every_other_governance_file_validates(schema_file):
    if schema_file in INLINE:
        document = INLINE[schema_file]
    else:
        relative = EXAMPLE_FILES.get(schema_file, schema_file.replace(".schema.json", ".yaml"))
        document = read_yaml(EXAMPLE_GOVERNANCE / relative)
    assert [error.message for error in validator(schema_file).iter_errors(document)] == []


@pytest.mark.parametrize(
    ("schema_file", "document"),
    [("sources.schema.json", {"agent_attribute": {"jaeger": "x"}}),
     ("pricing.schema.json", {"models": {"gpt-4o": {"input_per_million": -1, "output_per_million": 1}}}),
     ("policy.schema.json", {"refunds": {"auto_approve_max_usd": "200"}}),
     ("policy-tests.schema.json", [{"name": "x", "case": {}, "expect": "approve"}]),
     ("monitor.schema.json", {"receivers": [{"name": "x", "url": "ftp://x"}]})],
)  # fmt: skip
def test_new_schemas_refuse_what_the_loader_refuses(schema_file, document):
    assert not validator(schema_file).is_valid(document)


def _set(path: str, value: Any) -> Callable[[Any], None]:
    """A change to a charter: set (or delete) the value at a dotted path such as `guardrails.0`."""
    keys = [int(part) if part.isdigit() else part for part in path.split(".")]

    def change(charter: Any) -> None:
        for key in keys[:-1]:
            charter = charter[key]
        if value is _DELETE:
            del charter[keys[-1]]
        else:
            charter[keys[-1]] = value

    return change


_DELETE = object()
BROKEN = {
    "missing agent_owner": _set("owners.agent_owner", _DELETE),
    "one guardrail": lambda charter: charter["guardrails"].pop(),
    "tier as text": _set("tier", "two"),
    "tier as a numeric string": _set("tier", "2"),
    "guardrail with max and min": _set("guardrails.0.min", 0.1),
    "guardrail with neither": _set("guardrails.0.max", _DELETE),
    "unknown metric": _set("north_star.metric", "happiness"),
    "manual metric as guardrail": _set("guardrails.0.metric", "audit_findings"),
    "window in words": _set("stop_conditions.0.window", "7 days"),
    "stop condition above and below": _set("stop_conditions.0.below", 0.5),
    "baseline dates and rolling": _set("monitor.baseline.rolling", "28d"),
    "baseline from only": _set("monitor.baseline.to", _DELETE),
    "unknown operating model": _set("operating_model", "human-in-the-lop"),
    "bad email": _set("owners.agent_owner.email", "rosa at northwind"),
    "bad id": _set("id", "Support_Replies"),
    "blank name": _set("name", "  "),
    "unknown field": _set("owner", "Rosa"),
}
FIXED = {
    "guardrail with min": _set("guardrails.0", {"metric": "task_success_rate", "min": 0.8}),
    "rolling baseline": _set("monitor.baseline", {"rolling": "28d"}),
    "explicit nulls": _set("guardrails.0.min", None),
}


def _charter(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    charter = copy.deepcopy(read_yaml(EXAMPLE_GOVERNANCE / "agents" / "support-replies.yaml"))
    change(charter)
    return charter


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_charters_are_rejected_by_schema_and_loader(case):
    charter = _charter(BROKEN[case])
    assert not validator("charter.schema.json").is_valid(charter)
    with pytest.raises(ValidationError):
        Charter.model_validate(charter, context=CATALOGS)


@pytest.mark.parametrize("case", sorted(FIXED))
def test_other_valid_forms_are_accepted_by_schema_and_loader(case):
    charter = _charter(FIXED[case])
    assert validator("charter.schema.json").is_valid(charter)
    Charter.model_validate(charter, context=CATALOGS)


def test_schema_writes_every_file(workspace, govkit):
    result = govkit("schema", "--out", "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (workspace.root / "out").iterdir()) == sorted(SCHEMAS)
    assert len(SCHEMAS) == 15
    assert "charter.schema.json" in result.output
    assert govkit("schema", "--out", "out", "--check").exit_code == 0


def test_check_fails_on_a_stale_schema(workspace, govkit):
    assert govkit("schema", "--check").exit_code == 0  # the copied example is current
    workspace.edit("operating-models.yaml", "id: agent-swarm", "id: swarm")
    result = govkit("schema", "--check")
    assert result.exit_code == 1
    assert "charter.schema.json: out of date" in result.stderr
    assert "operating-models.schema.json" not in result.stderr
    assert "govkit schema" in result.stderr
    assert govkit("schema").exit_code == 0
    assert '"swarm"' in (workspace.governance / "schemas" / "charter.schema.json").read_text()
    assert govkit("schema", "--check").exit_code == 0


def test_check_reports_a_missing_schema(workspace, govkit):
    (workspace.governance / "schemas" / "monitor.schema.json").unlink()
    result = govkit("schema", "--check")
    assert result.exit_code == 1
    assert "monitor.schema.json: missing" in result.stderr


def test_invalid_catalog_is_reported_and_nothing_written(workspace, govkit):
    workspace.edit("tiers.yaml", "id: 0", "id: zero")
    result = govkit("schema", "--out", "out")
    assert result.exit_code == 2
    assert "tiers.yaml:" in result.stderr
    assert not (workspace.root / "out").exists()


def test_without_governance_references_are_unchecked(tmp_path, govkit, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert govkit("schema").exit_code == 2
    assert govkit("schema", "--out", "out").exit_code == 0
    charter = json.loads((tmp_path / "out" / "charter.schema.json").read_text())
    assert "enum" not in charter["properties"]["operating_model"]
    assert charter["properties"]["tier"] == {"maximum": 4, "minimum": 0, "type": "integer"}


def test_every_governance_file_names_its_schema():
    """Editors complete and check a file that names its schema on its first line."""
    expected = {
        **{name.replace(".schema.json", ".yaml"): name for name in SCHEMAS},
        **{relative: name for name, relative in EXAMPLE_FILES.items()},
    }
    for path in sorted(EXAMPLE_GOVERNANCE.rglob("*.yaml")):
        relative = path.relative_to(EXAMPLE_GOVERNANCE).as_posix()
        if relative.startswith("agents/"):
            schema, prefix = "charter.schema.json", "../schemas/"
        elif relative.startswith("incidents/"):
            schema, prefix = "incident.schema.json", "../schemas/"
        elif relative.startswith("frameworks/"):
            schema, prefix = "framework.schema.json", "../schemas/"
        else:
            schema = expected[relative]
            prefix = "../schemas/" if "/" in relative else "schemas/"
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema={prefix}{schema}", relative
