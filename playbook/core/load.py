"""Read `governance/`, validate every file against its schema, and collect every problem.

Problems are gathered across all files (parse errors, schema errors, cross-references) and
reported together, once, as `ValidationFailed`: one `file:line: field: message` line each.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from playbook.core import model
from playbook.core.change_control import evals_warnings
from playbook.core.charter import Charter
from playbook.core.errors import Problem, ValidationFailed, display_path
from playbook.core.framework import framework_context, read_frameworks
from playbook.core.governance import (
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
from playbook.core.incident import incident_rules, read_incidents, unjudged_actions
from playbook.core.liveness import owner_warnings
from playbook.core.people import read_people
from playbook.core.problems import SchemaT, read_document, validate_document
from playbook.core.readiness import PolicyStatus, assess_organisation
from playbook.core.retirement import retirement_rules, split_retired
from playbook.core.settings import MonitorSettings, Pricing, SourceSettings
from playbook.core.validate import charter_rules, file_rules
from playbook.core.yamlsrc import YamlDocument

# In dependency order: each file's references are checked against the catalogs loaded before it.
_FILE_SCHEMAS: dict[str, type[BaseModel]] = {
    ORGANISATION_FILE: model.Organisation,
    OPERATING_MODELS_FILE: model.OperatingModelsFile,
    METRICS_FILE: model.MetricsFile,
    ROLES_FILE: model.RolesFile,
    TIERS_FILE: model.TiersFile,
    ROLLOUT_FILE: model.Rollout,
}


PLACEHOLDER = "TODO"


PolicyCheck = Callable[[Governance], list[Problem]]


def read_governance(
    root: Path,
    *,
    today: date | None = None,
    check_policies: PolicyCheck = lambda governance: [],
    only: Collection[str] | None = None,
) -> Governance:
    """Load and validate the governance files under `root`, or raise ValidationFailed.

    Policies are executable and live one floor up (`playbook.policy.load_governance` passes
    `check_policies`, which loads them and runs their tests): their problems are collected with
    the others, and the tier readiness rules see their results. `only`: read only these
    charters (by file name), for a question about one agent (`govkit whois`)."""
    if not root.is_dir():
        problem = Problem(display_path(root), 1, "", "governance directory not found")
        raise ValidationFailed([problem])
    problems: list[Problem] = []
    documents: dict[str, YamlDocument] = {}
    parsed: dict[str, Any] = {}

    frameworks, framework_documents = read_frameworks(root, problems)
    context: dict[str, dict[Any, bool]] = framework_context(frameworks)
    for name, schema in _FILE_SCHEMAS.items():
        document = read_document(root / name, problems)
        if document is not None:
            documents[name] = document
            parsed[name] = validate_document(document, schema, problems, context=context)
            if parsed[name] is not None:
                problems += file_rules(document, parsed[name])
                context |= _catalog_context(parsed[name])

    agents: list[Charter] = []
    agent_documents: list[YamlDocument] = []
    agent_dir = root / AGENTS_DIR
    agent_paths = sorted(agent_dir.glob("*.yaml")) + sorted(agent_dir.glob("*.yml"))
    if only is not None:
        agent_paths = [path for path in agent_paths if path.stem in only]
    if not agent_paths:
        problems.append(
            Problem(display_path(agent_dir), 1, "", "no charters found; expected agents/<id>.yaml")
        )
    warnings: list[Problem] = []
    drafts: list[YamlDocument] = []
    for path in agent_paths:
        document = read_document(path, problems)
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
            document, Charter, charter_problems, context=context, placeholders=placeholders
        )
        problems += charter_problems
        if charter is not None:
            agents.append(charter)
            agent_documents.append(document)
        elif not charter_problems:  # invalid only where placeholders stand: a draft
            drafts.append(document)

    # Retired charters are kept for the audit, apart: nothing monitors or counts them as active.
    (agents, agent_documents), (retired, retired_documents) = split_retired(agents, agent_documents)
    incidents, incident_documents = read_incidents(root, context, agents, problems, warnings)

    people = read_people(root, problems)  # optional: owner liveness
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
        retired=retired,
        retired_documents=retired_documents,
        incidents=incidents,
        incident_documents=incident_documents,
        frameworks=frameworks,
        framework_documents=framework_documents,
        people_file=people.source if people is not None else None,
    )
    problems += charter_rules(governance, today=today)
    problems += retirement_rules(governance, today=today)
    problems += incident_rules(
        incidents, incident_documents, {a.id: a for a in agents}, today=today
    )
    problems += check_policies(governance)
    problems += assess_organisation(governance, _policy_statuses(governance))
    if problems:
        raise ValidationFailed(problems)
    governance.warnings = sorted(warnings + _cross_file_warnings(governance, people))
    return governance


def _cross_file_warnings(governance: Governance, people: Any) -> list[Problem]:
    """What is valid but will not work as meant: owners who left, evals never run, open
    actions no one judges."""
    agents, documents = governance.agents, governance.agent_documents
    retired = {charter.id for charter in governance.retired}
    return (
        owner_warnings(people, agents, documents)
        + evals_warnings(agents, documents)
        + unjudged_actions(governance.incidents, governance.incident_documents, retired)
    )


def read_catalogs(root: Path) -> dict[str, dict[Any, bool]]:
    """The ids of each catalog under `root` (`{catalog: {id: computable}}`, what references are
    checked against), or ValidationFailed when a catalog file is invalid."""
    problems: list[Problem] = []
    catalogs: dict[str, dict[Any, bool]] = framework_context(read_frameworks(root, problems)[0])
    for name, schema in _FILE_SCHEMAS.items():
        if name in (ORGANISATION_FILE, ROLLOUT_FILE):
            continue  # not catalogs
        document = read_document(root / name, problems)
        if document is None:
            continue
        parsed = validate_document(document, schema, problems, context=catalogs)
        if parsed is not None:
            problems += file_rules(document, parsed)
            catalogs |= _catalog_context(parsed)
    if problems:
        raise ValidationFailed(problems)
    return catalogs


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
    document = read_document(root / name, problems)
    if document is None:
        return None
    documents[name] = document
    return validate_document(document, schema, problems)


def _policy_statuses(governance: Governance) -> dict[str, PolicyStatus]:
    statuses = {}
    for policy_id in governance.policies:
        results = governance.policy_results.get(policy_id, [])
        passed = sum(1 for result in results if result.passed)
        statuses[policy_id] = PolicyStatus(True, passed, len(results) - passed)
    return statuses


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
