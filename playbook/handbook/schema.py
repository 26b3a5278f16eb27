"""`govkit schema`: JSON Schema (draft 2020-12) for each governance file, made from the model.

The schemas come from the same pydantic classes the loader validates with; nothing is written twice.
What the model checks in Python is carried over where JSON Schema can say it: the patterns behind
windows, ids, slugs, emails and column names, exactly two guardrails, exactly one of max/min (of
above/below, of from+to/rolling). References are enums of the organisation's own catalogs, so the
schemas in `governance/schemas/` are that organisation's: regenerate them after editing a catalog.
Rules across files (tier controls, dates against today, ...) stay with `govkit check`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from playbook.cli import governance_option
from playbook.core import governance, load, model, settings
from playbook.core.errors import Problem, UsageError, ValidationFailed, display_path
from playbook.core.validate import file_rules

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = "schemas"

# Schema file name: (model, the governance file it describes).
SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "charter.schema.json": (model.Charter, f"{governance.AGENTS_DIR}/<id>.yaml"),
    **{
        f"{Path(name).stem}.schema.json": (schema, name)
        for name, schema in (
            (governance.ORGANISATION_FILE, model.Organisation),
            (governance.OPERATING_MODELS_FILE, model.OperatingModelsFile),
            (governance.TIERS_FILE, model.TiersFile),
            (governance.ROLES_FILE, model.RolesFile),
            (governance.METRICS_FILE, model.MetricsFile),
            (governance.ROLLOUT_FILE, model.Rollout),
            (governance.MONITOR_FILE, settings.MonitorSettings),
        )
    },
}

# The model's AfterValidators as JSON Schema keywords, by the JSON type they constrain.
_HTTP_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]"  # settings._http_url: http(s) with a host
VALIDATOR_KEYWORDS: dict[Callable[..., Any], dict[str, dict[str, Any]]] = {
    model._window: {"string": {"pattern": model.WINDOW_PATTERN.pattern}},
    model._agent_id: {"string": {"pattern": model.AGENT_ID_PATTERN.pattern}},
    model._slug: {"string": {"pattern": model.SLUG_PATTERN.pattern}},
    model._email: {"string": {"pattern": model.EMAIL_PATTERN.pattern}},
    model._column: {"string": {"pattern": model.COLUMN_PATTERN.pattern}},
    model._non_blank: {"string": {"pattern": r"\S"}},
    model._weeks: {
        "string": {"pattern": model.WEEKS_PATTERN.pattern},
        "integer": {"minimum": 1},
    },
    model._two_guardrails: {"array": {"minItems": 2, "maxItems": 2}},
    # model.EARLIEST_DATE to LATEST_DATE: the years 1970 to 2999
    model.check_calendar_date: {"string": {"pattern": r"^(19[7-9][0-9]|2[0-9]{3})-"}},
    settings._http_url: {"string": {"pattern": _HTTP_URL}},
}

# Model validators that want exactly one group of keys set (the other groups' keys unset or null).
EXCLUSIVE_KEYS: dict[Callable[..., Any], tuple[tuple[str, ...], ...]] = {
    model.Guardrail._one_bound: (("max",), ("min",)),
    model.StopCondition._one_threshold: (("above",), ("below",)),
    model.Baseline._one_form: (("from", "to"), ("rolling",)),
}
# Validators left to `govkit check`, by name. Which keys a metric needs depends on its source and
# kind; a schema saying so would be longer than the rule.
LEFT_TO_CHECK = {"Metric._source_matches_compute"}

Catalogs = dict[str, dict[Any, bool]]


def schema_generator(catalogs: Catalogs) -> type[GenerateJsonSchema]:
    """A pydantic schema generator that knows the validators above and the catalogs' ids."""

    class GovkitJsonSchema(GenerateJsonSchema):
        unexpressed: set[str]

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.unexpressed = set()

        def field_title_should_be_set(self, schema: Any) -> bool:
            return False

        def function_after_schema(
            self, schema: core_schema.AfterValidatorFunctionSchema
        ) -> JsonSchemaValue:
            json_schema = dict(self.generate_inner(schema["schema"]))
            function = schema["function"]["function"]
            name = getattr(function, "__qualname__", repr(function))
            if function in EXCLUSIVE_KEYS:
                groups = EXCLUSIVE_KEYS[function]
                json_schema["oneOf"] = [_only(group, groups) for group in groups]
                return json_schema
            if function in VALIDATOR_KEYWORDS:
                keywords = VALIDATOR_KEYWORDS[function]
            elif name == "_reference.<locals>.check":
                keywords = _reference_enum(function, catalogs)
            else:
                if name not in LEFT_TO_CHECK:
                    self.unexpressed.add(name)
                keywords = {}
            for json_type, extra in keywords.items():
                for branch in json_schema.get("anyOf", [json_schema]):
                    if branch.get("type") == json_type:
                        branch.update(extra)
            return json_schema

        def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
            json_schema = super().dict_schema(schema)
            if "patternProperties" in json_schema:  # keys with a pattern: no other keys
                json_schema.setdefault("additionalProperties", False)
            return json_schema

    return GovkitJsonSchema


def _reference_enum(check: Callable[..., Any], catalogs: Catalogs) -> dict[str, dict[str, Any]]:
    """`enum` of the ids a `model._reference` validator accepts, when its catalog is loaded."""
    closure = inspect.getclosurevars(check).nonlocals
    known = catalogs.get(closure["catalog"])
    if known is None:
        return {}
    ids = [key for key, computable in known.items() if computable or not closure["events_only"]]
    return {json_type: {"enum": ids} for json_type in ("string", "integer")}


def _only(group: tuple[str, ...], groups: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """The keys of `group` are set (not null); every key of the other groups is absent or null."""
    others = [key for other in groups if other != group for key in other]
    return {
        "required": list(group),
        "properties": {
            **{key: {"not": {"type": "null"}} for key in group},
            **{key: {"type": "null"} for key in others},
        },
    }


def json_schema(
    schema_model: type[BaseModel], catalogs: Catalogs
) -> tuple[JsonSchemaValue, set[str]]:
    """The JSON Schema of one model, and the validators it could not express (by name)."""
    generator = schema_generator(catalogs)(by_alias=True, ref_template=DEFAULT_REF_TEMPLATE)
    core: CoreSchema = schema_model.__pydantic_core_schema__
    return generator.generate(core, mode="validation"), generator.unexpressed


def generate_schemas(catalogs: Catalogs | None = None) -> dict[str, str]:
    """Every schema file's text, by file name: sorted keys, two-space indent, final newline."""
    catalogs = catalogs or {}
    texts: dict[str, str] = {}
    for file_name, (schema_model, governance_file) in SCHEMAS.items():
        body, _ = json_schema(schema_model, catalogs)
        document = {
            **body,
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
    """The ids of each catalog under `root` (as the loader passes them), or ValidationFailed."""
    problems: list[Problem] = []
    catalogs: Catalogs = {}
    for name, schema in load._FILE_SCHEMAS.items():
        if name in (governance.ORGANISATION_FILE, governance.ROLLOUT_FILE):
            continue  # not catalogs
        document = load._read(root / name, problems)
        if document is None:
            continue
        parsed = load.validate_document(document, schema, problems, context=catalogs)
        if parsed is not None:
            problems += file_rules(document, parsed)
            catalogs |= load._catalog_context(parsed)
    if problems:
        raise ValidationFailed(problems)
    return catalogs


@click.command("schema")
@governance_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory the schema files are written to. Default: <governance>/schemas.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when a schema file is missing or differs from what would be "
    "written (for CI).",
)
def schema_command(governance_dir: Path, out_dir: Path | None, check: bool) -> None:
    """Write a JSON Schema (draft 2020-12) for each governance file, for editors and CI.

    charter.schema.json for agents/<id>.yaml and one per other file, made from the model
    `govkit check` validates with. Tier, operating model, role and metric references are limited
    to the ids in the governance directory's catalogs: the schemas are the organisation's, so
    run this again after editing a catalog. Point editors at them with a first line such as
    `# yaml-language-server: $schema=../schemas/charter.schema.json`.
    """
    if governance_dir.is_dir():
        catalogs = load_catalogs(governance_dir)
    elif out_dir is None:
        raise UsageError(
            f"governance directory {display_path(governance_dir)} not found; give --governance, "
            "or --out for schemas that do not check references"
        )
    else:
        catalogs = {}
    out_dir = out_dir if out_dir is not None else governance_dir / SCHEMAS_DIR
    texts = generate_schemas(catalogs)
    if check:
        _check(out_dir, texts, governance_dir)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, text in texts.items():
        path = out_dir / file_name
        path.write_text(text, encoding="utf-8", newline="\n")
        click.echo(f"wrote {display_path(path)}")
    click.echo(f"{len(texts)} schemas written to {display_path(out_dir)}.")


def _check(out_dir: Path, texts: dict[str, str], governance_dir: Path) -> None:
    stale = []
    for file_name, text in texts.items():
        path = out_dir / file_name
        if not path.is_file():
            stale.append(f"{display_path(path)}: missing")
        elif path.read_text(encoding="utf-8") != text:
            stale.append(f"{display_path(path)}: out of date")
    if not stale:
        click.echo(f"{len(texts)} schemas in {display_path(out_dir)} are up to date.")
        return
    for line in stale:
        click.echo(line, err=True)
    click.echo(
        f"Regenerate them with: govkit schema --governance {display_path(governance_dir)} "
        f"--out {display_path(out_dir)}",
        err=True,
    )
    raise click.exceptions.Exit(1)
