"""Read `governance/`, validate every file against its schema, and collect every problem.

Problems are gathered across all files (parse errors, schema errors, cross-references) and
reported together, once, as `ValidationFailed`: one `file:line: field: message` line each.
"""

from __future__ import annotations

import difflib
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from playbook import model
from playbook.errors import Problem, ValidationFailed, did_you_mean, display_path, one_of
from playbook.governance import (
    AGENTS_DIR,
    METRICS_FILE,
    MONITOR_FILE,
    OPERATING_MODELS_FILE,
    ORGANISATION_FILE,
    PRICING_FILE,
    ROLES_FILE,
    ROLLOUT_FILE,
    SOURCES_FILE,
    TIERS_FILE,
    Governance,
)
from playbook.readiness import PolicyStatus, assess_organisation
from playbook.settings import MonitorSettings, Pricing, SourceSettings
from playbook.validate import charter_rules, file_rules
from playbook.yamlsrc import YamlDocument, YamlReadError, read_yaml

SchemaT = TypeVar("SchemaT", bound=BaseModel)

# In dependency order: each file's references are checked against the catalogs loaded before it.
_FILE_SCHEMAS: dict[str, type[BaseModel]] = {
    ORGANISATION_FILE: model.Organisation,
    OPERATING_MODELS_FILE: model.OperatingModelsFile,
    METRICS_FILE: model.MetricsFile,
    ROLES_FILE: model.RolesFile,
    TIERS_FILE: model.TiersFile,
    ROLLOUT_FILE: model.Rollout,
}

_TYPE_NOUNS = {
    "string_type": "text",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "finite_number": "a finite number (not .nan or .inf)",
}


PLACEHOLDER = "TODO"

_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}


def load_governance(root: Path, *, today: date | None = None) -> Governance:
    """Load and validate the organisation under `root`, or raise ValidationFailed."""
    today = today or date.today()
    if not root.is_dir():
        problem = Problem(display_path(root), 1, "", "governance directory not found")
        raise ValidationFailed([problem])
    problems: list[Problem] = []
    documents: dict[str, YamlDocument] = {}
    parsed: dict[str, Any] = {}

    context: dict[str, dict[Any, bool]] = {}
    for name, schema in _FILE_SCHEMAS.items():
        document = _read(root / name, problems)
        if document is not None:
            documents[name] = document
            parsed[name] = validate_document(document, schema, problems, context=context)
            if parsed[name] is not None:
                problems += file_rules(document, parsed[name])
                context |= _catalog_context(parsed[name])

    agents: list[model.Charter] = []
    agent_documents: list[YamlDocument] = []
    agent_dir = root / AGENTS_DIR
    agent_paths = sorted(agent_dir.glob("*.yaml")) + sorted(agent_dir.glob("*.yml"))
    if not agent_paths:
        problems.append(
            Problem(display_path(agent_dir), 1, "", "no charters found; expected agents/<id>.yaml")
        )
    warnings: list[Problem] = []
    drafts: list[YamlDocument] = []
    for path in agent_paths:
        document = _read(path, problems)
        if document is None:
            continue
        placeholders = find_placeholders(document.data)
        warnings += [
            document.problem(loc, "TODO placeholder: only the owner can fill this in",
                             severity="warning")
            for loc in placeholders
        ]  # fmt: skip
        charter_problems: list[Problem] = []
        charter = validate_document(
            document, model.Charter, charter_problems, context=context, placeholders=placeholders
        )
        problems += charter_problems
        if charter is not None:
            agents.append(charter)
            agent_documents.append(document)
        elif not charter_problems:  # invalid only where placeholders stand: a draft
            drafts.append(document)

    monitor_settings = _optional(root, MONITOR_FILE, MonitorSettings, documents, problems)
    sources = _optional(root, SOURCES_FILE, SourceSettings, documents, problems)
    pricing = _optional(root, PRICING_FILE, Pricing, documents, problems)

    files_ok = all(parsed.get(name) is not None for name in _FILE_SCHEMAS)
    if not files_ok or None in (monitor_settings, sources, pricing):
        raise ValidationFailed(problems)
    governance = Governance(
        root=root,
        organisation=parsed[ORGANISATION_FILE],
        operating_models=parsed[OPERATING_MODELS_FILE].operating_models,
        tiers=parsed[TIERS_FILE].tiers,
        roles=parsed[ROLES_FILE].roles,
        metrics=parsed[METRICS_FILE].metrics,
        rollout=parsed[ROLLOUT_FILE],
        agents=agents,
        monitor=monitor_settings,
        sources=sources,
        pricing=pricing,
        documents=documents,
        agent_documents=agent_documents,
        drafts=drafts,
    )
    problems += charter_rules(governance, today=today)
    problems += _load_policies(governance)
    problems += assess_organisation(governance, _policy_statuses(governance))
    if problems:
        raise ValidationFailed(problems)
    governance.warnings = sorted(warnings)
    return governance


def _optional(
    root: Path,
    name: str,
    schema: type[SchemaT],
    documents: dict[str, YamlDocument],
    problems: list[Problem],
) -> SchemaT | None:
    """An optional settings file: its defaults when absent, None (with problems) when invalid."""
    if not (root / name).is_file():
        return schema()
    document = _read(root / name, problems)
    if document is None:
        return None
    documents[name] = document
    return validate_document(document, schema, problems)


def _load_policies(governance: Governance) -> list[Problem]:
    """Load `policies/*.yaml` and run each policy's own test cases (`<id>.tests.yaml`)."""
    from playbook import policy

    try:
        governance.policies = policy.load_policies(governance.root)
        for policy_id, loaded in governance.policies.items():
            cases_file = policy.tests_path(loaded.path)
            if cases_file.is_file():
                cases = policy.load_cases(cases_file)
                governance.policy_results[policy_id] = policy.run_tests(loaded, cases)
    except ValidationFailed as exc:
        return list(exc.problems)
    return []


def _policy_statuses(governance: Governance) -> dict[str, PolicyStatus]:
    statuses = {}
    for policy_id in governance.policies:
        results = governance.policy_results.get(policy_id, [])
        passed = sum(1 for result in results if result.passed)
        statuses[policy_id] = PolicyStatus(True, passed, len(results) - passed)
    return statuses


def _read(path: Path, problems: list[Problem]) -> YamlDocument | None:
    if not path.is_file():
        problems.append(Problem(display_path(path), 1, "", "file is missing"))
        return None
    try:
        document = read_yaml(path)
    except YamlReadError as exc:
        problems.append(exc.problem)
        return None
    if not isinstance(document.data, dict):
        problems.append(
            document.problem(
                (), f"expected a mapping at the top level but received {describe(document.data)}"
            )
        )
        return None
    return document


def _catalog_context(parsed: BaseModel | None) -> dict[str, dict[Any, bool]]:
    """What later files may reference in a loaded catalog: `{catalog: {id: computable}}`."""
    if isinstance(parsed, model.MetricsFile):
        return {"metrics": {metric.id: metric.from_events for metric in parsed.metrics}}
    if isinstance(parsed, model.OperatingModelsFile):
        return {"operating_models": {m.id: True for m in parsed.operating_models}}
    if isinstance(parsed, model.RolesFile):
        return {"roles": {role.id: True for role in parsed.roles}}
    if isinstance(parsed, model.TiersFile):
        return {"tiers": {tier.id: True for tier in parsed.tiers}}
    return {}


def find_placeholders(data: Any, loc: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where a charter still says TODO: text values starting with it, at any depth."""
    if isinstance(data, str):
        return [loc] if data.strip().upper().startswith(PLACEHOLDER) else []
    if isinstance(data, dict):
        return [
            found for key, value in data.items() for found in find_placeholders(value, (*loc, key))
        ]
    if isinstance(data, list):
        return [
            found for i, value in enumerate(data) for found in find_placeholders(value, (*loc, i))
        ]
    return []


def validate_document(
    document: YamlDocument,
    schema: type[SchemaT],
    problems: list[Problem],
    *,
    context: dict[str, Any] | None = None,
    placeholders: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
) -> SchemaT | None:
    """Validate one document against its schema; translate every error into a located problem.

    `context` holds the catalogs loaded so far, against which references are checked. An error
    about a value that is a TODO placeholder is not a problem: the warning already says it.
    """
    try:
        return schema.model_validate(document.data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        waiting = set(placeholders)
        for error in errors:
            loc = tuple(part for part in error["loc"] if not _is_internal(part))
            if loc in waiting or _explained_by_typo(error, errors, schema):
                continue
            problems.append(translate_error(document, schema, error))
        return None


def _explained_by_typo(error: Any, errors: list[Any], schema: type[BaseModel]) -> bool:
    """A missing field next to a misspelt key for it is one mistake: report only the typo."""
    if error["type"] != "missing":
        return False
    parent, name = tuple(error["loc"][:-1]), error["loc"][-1]
    for other in errors:
        other_loc = tuple(other["loc"])
        if other["type"] == "extra_forbidden" and other_loc[:-1] == parent:
            allowed = _fields_at(schema, parent)
            if difflib.get_close_matches(str(other_loc[-1]), allowed, n=1, cutoff=0.6) == [name]:
                return True
    return False


def translate_error(document: YamlDocument, schema: type[BaseModel], error: Any) -> Problem:
    """One pydantic error as `file:line: field: expected ... but received ...`."""
    loc = tuple(part for part in error["loc"] if not _is_internal(part))
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        message = "field required"
    elif kind == "extra_forbidden":
        allowed = _fields_at(schema, loc[:-1])
        hint = did_you_mean(loc[-1] if loc else "", allowed)
        message = f"unknown field.{hint} Expected one of {one_of(allowed)}."
    elif kind == "literal_error":
        expected = error["ctx"]["expected"]
        message = f"expected one of {expected} but received {value!r}."
        message += did_you_mean(value, _literal_choices(expected))
    elif kind in _TYPE_NOUNS:
        message = f"expected {_TYPE_NOUNS[kind]} but received {describe(value)}"
    elif kind in _BOUNDS:
        limit = next(iter(error["ctx"].values()))
        message = f"expected a number {_BOUNDS[kind]} {limit} but received {describe(value)}"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
    else:
        message = f"{_lower_first(error['msg'])} (received {describe(value)})"
    return document.problem(loc, message)


def describe(value: object) -> str:
    """A YAML-minded description of a received value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _is_internal(part: object) -> bool:
    # pydantic adds validator names (e.g. "function-after[...]") to locations of some errors.
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"})


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _literal_choices(expected: str) -> list[str]:
    return [part.strip(" '") for part in expected.replace(" or ", ", ").split(",")]


def _fields_at(schema: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed in the mapping at `loc` of `schema`."""
    current: type[BaseModel] | None = schema
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        current = _model_in(fields[part].annotation) if part in fields else None
    if current is None:
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
