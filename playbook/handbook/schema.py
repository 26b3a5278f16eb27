"""JSON Schema (draft 2020-12) for each governance file, made from the model.

The schemas come from the same pydantic classes the loader validates with; nothing is written twice:
each value type says its own JSON Schema where it is defined (`playbook.core.types`), each model
with a rule across its keys says it in `json_schema_extra`. References to catalogs are marked there
(`x-govkit-catalog`) and become enums of the organisation's own ids here, so the schemas in
`governance/schemas/` are that organisation's: regenerate them after editing a catalog. Rules across
files (tier controls, dates against today, ...) stay with `govkit check`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from playbook.core import governance
from playbook.core.charter import Charter
from playbook.core.framework import FRAMEWORKS_DIR, Framework
from playbook.core.incident import INCIDENTS_DIR, Incident
from playbook.core.load import read_catalogs
from playbook.core.model import (
    MetricsFile,
    OperatingModelsFile,
    Organisation,
    RolesFile,
    Rollout,
    TiersFile,
)
from playbook.core.people import PEOPLE_FILE, PeopleFile
from playbook.core.settings import MonitorSettings, Pricing, SourceSettings
from playbook.core.types import CATALOG_KEYWORD
from playbook.policy.cases import CaseSpec
from playbook.policy.rules import PolicyFile

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = "schemas"
Catalogs = dict[str, dict[Any, bool]]

# Schema file name: (the type of the file's top level, the governance file it describes).
SCHEMAS: dict[str, tuple[Any, str]] = {
    "charter.schema.json": (Charter, f"{governance.AGENTS_DIR}/<id>.yaml"),
    **{
        f"{Path(name).stem}.schema.json": (schema, name)
        for name, schema in (
            (governance.ORGANISATION_FILE, Organisation),
            (governance.OPERATING_MODELS_FILE, OperatingModelsFile),
            (governance.TIERS_FILE, TiersFile),
            (governance.ROLES_FILE, RolesFile),
            (governance.METRICS_FILE, MetricsFile),
            (governance.ROLLOUT_FILE, Rollout),
            (governance.MONITOR_FILE, MonitorSettings),
            (governance.SOURCES_FILE, SourceSettings),
            (governance.PRICING_FILE, Pricing),
        )
    },
    "policy.schema.json": (PolicyFile, "policies/<id>.yaml"),
    "framework.schema.json": (Framework, f"{FRAMEWORKS_DIR}/<name>.yaml"),
    "incident.schema.json": (Incident, f"{INCIDENTS_DIR}/<id>.yaml"),
    "policy-tests.schema.json": (list[CaseSpec], "policies/<id>.tests.yaml"),
    "people.schema.json": (PeopleFile, PEOPLE_FILE),
}


def json_schema(top_level: Any, catalogs: Catalogs) -> dict[str, Any]:
    """The JSON Schema of one file's top-level type, references limited to `catalogs`."""
    options: dict[str, Any] = {
        "by_alias": True,
        "mode": "validation",
        "schema_generator": _UntitledFields,
    }
    if isinstance(top_level, type) and issubclass(top_level, BaseModel):
        body = top_level.model_json_schema(**options)
    else:
        body = TypeAdapter(top_level).json_schema(**options)
    return _resolve_references(body, catalogs)


class _UntitledFields(GenerateJsonSchema):
    """pydantic titles every field after its own name, which tells an editor nothing."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def dict_schema(self, schema: Any) -> JsonSchemaValue:
        json_schema = super().dict_schema(schema)
        if "patternProperties" in json_schema:  # keys with a pattern: no other keys
            json_schema.setdefault("additionalProperties", False)
        return json_schema


def _resolve_references(node: Any, catalogs: Catalogs) -> Any:
    """`x-govkit-catalog` markers become the enum of that catalog's ids (or nothing without one)."""
    if isinstance(node, list):
        return [_resolve_references(item, catalogs) for item in node]
    if not isinstance(node, dict):
        return node
    resolved = {
        key: _resolve_references(value, catalogs)
        for key, value in node.items()
        if key != CATALOG_KEYWORD
    }
    marker = node.get(CATALOG_KEYWORD)
    known = catalogs.get(marker["catalog"]) if marker else None
    if known is not None:
        ids = [key for key, computable in known.items() if computable or not marker["events_only"]]
        resolved["enum"] = ids
    return resolved


def generate_schemas(catalogs: Catalogs | None = None) -> dict[str, str]:
    """Every schema file's text, by file name: sorted keys, two-space indent, final newline."""
    catalogs = catalogs or {}
    texts: dict[str, str] = {}
    for file_name, (top_level, governance_file) in SCHEMAS.items():
        document = {
            **json_schema(top_level, catalogs),
            "$schema": DRAFT,
            "$id": file_name,
            "title": f"govkit {governance_file}",
            "description": _description(governance_file, bool(catalogs)),
        }
        texts[file_name] = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return texts


def _description(governance_file: str, organisation: bool) -> str:
    scope = (
        "Ids that refer to tiers, operating models, roles or metrics are limited to this "
        "organisation's catalogs; regenerate after editing one."
        if organisation
        else "References to catalogs are not checked: no governance directory was loaded."
    )
    return (
        f"The schema of governance/{governance_file}, generated by `govkit schema` from the "
        f"model govkit validates with; do not edit. {scope} A placeholder such as TODO fails "
        "where a number, an id, an email or a choice is expected. `govkit check` also checks rules "
        "across files."
    )


def load_catalogs(root: Path) -> Catalogs:
    """The ids of each catalog under `root`, as the loader passes them; ValidationFailed."""
    return read_catalogs(root)
