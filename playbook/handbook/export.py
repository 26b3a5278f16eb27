"""`govkit export AGENT`: the charter, for other systems to carry with the agent.

`--format a2a` writes an A2A Agent Card (the A2A protocol's `AgentCard`, version 1.0: name,
description, supportedInterfaces, version, capabilities, defaultInputModes, defaultOutputModes,
skills) whose `capabilities.extensions` holds one `AgentExtension` with the govkit governance
extension's URI, `GOVERNANCE_EXTENSION`, and the agent's governance as its `params`: owners, tier,
operating model, allowed and forbidden work, tools, budget, escalation (stop conditions, the
owner to escalate to, runbook, break-glass), policies, and the handbook page when
`monitor.yaml` names the handbook's URL. The extension is data only (`required: false`): a client
that does not know it can still talk to the agent.

`--format json` writes the whole charter as validated (by alias, JSON types) with its current
status: active or retired (with date and reason), the alerts firing for it in the monitor's state
when there is one, and the open incidents that name it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playbook import results
from playbook.core.change_control import Model, Prompt
from playbook.core.charter import Charter, Person
from playbook.core.governance import Governance
from playbook.handbook.pages import agent_page

GOVERNANCE_EXTENSION = "https://govkit.dev/a2a/governance/v1"
A2A_PROTOCOL_VERSION = "1.0"
PROTOCOL_BINDINGS = ("JSONRPC", "GRPC", "HTTP+JSON")  # the A2A 1.0 core bindings
TEXT_MODE = "text/plain"


def handbook_page(governance: Governance, charter: Charter) -> str | None:
    """The agent's handbook page as an absolute URL (as the monitor's alerts link it), None when
    `monitor.yaml` names no handbook URL."""
    base = governance.monitor.handbook_url
    if not base:
        return None
    return f"{base.rstrip('/')}/{agent_page(charter.id).removesuffix('.md')}/"


def _person(person: Person | None) -> dict[str, str] | None:
    return None if person is None else {"name": person.name, "email": person.email}


def _retired(charter: Charter) -> dict[str, str] | None:
    retired = charter.retired
    return None if retired is None else {"date": str(retired.date), "reason": retired.reason}


def governance_params(governance: Governance, charter: Charter) -> dict[str, Any]:
    """The governance extension's `params`: what the organisation decided about the agent."""
    tier = governance.tier(charter.tier)
    model = governance.operating_model(charter.operating_model)
    owners = charter.owners
    budget = charter.budget.monthly_usd if charter.budget else None
    return {
        "agent": charter.id,
        "organisation": governance.organisation.name,
        "status": charter.status,
        "retired": _retired(charter),
        "owners": {
            "agent_owner": _person(owners.agent_owner),
            "model_steward": _person(owners.model_steward),
            "reviewer": _person(owners.reviewer),
        },
        "tier": {
            "id": tier.id,
            "name": tier.name,
            "controls": [{"id": c.id, "name": c.name} for c in tier.controls],
        },
        "operating_model": {"id": model.id, "name": model.name},
        "work": charter.work.model_dump(mode="json"),
        "budget": (
            None
            if budget is None
            else {"monthly_usd": budget.model_dump(mode="json") | {"total": budget.total}}
        ),
        "north_star": charter.north_star.model_dump(mode="json"),
        "guardrails": [g.model_dump(mode="json", exclude_none=True) for g in charter.guardrails],
        "escalation": {
            "contact": _person(owners.agent_owner),
            "stop_conditions": [
                s.model_dump(mode="json", exclude_none=True) for s in charter.stop_conditions
            ],
            "runbook": charter.runbook,
            "break_glass": (
                charter.break_glass.model_dump(mode="json") if charter.break_glass else None
            ),
        },
        "approvals": charter.approvals.model_dump(mode="json") if charter.approvals else None,
        "policies": [_policy(governance, policy_id) for policy_id in charter.policies],
        "review": charter.review.model_dump(mode="json", exclude_none=True),
        "handbook_url": handbook_page(governance, charter),
        "generator": "govkit",
    }


def _policy(governance: Governance, policy_id: str) -> dict[str, Any]:
    found = governance.policy_results.get(policy_id, [])
    return {
        "id": policy_id,
        "tests_passed": sum(1 for result in found if result.passed),
        "tests_failed": sum(1 for result in found if not result.passed),
    }


def agent_version(charter: Charter) -> str:
    """The agent's version as its charter knows it: the prompt's, else the model's."""
    if isinstance(charter.prompt, Prompt) and charter.prompt.version:
        return charter.prompt.version
    if isinstance(charter.model, Model) and charter.model.version:
        return charter.model.version
    return "unversioned"


def agent_card(
    governance: Governance, charter: Charter, *, url: str, binding: str = "JSONRPC"
) -> dict[str, Any]:
    """A minimal A2A 1.0 Agent Card for the agent, carrying the governance extension."""
    tier = governance.tier(charter.tier)
    description = " ".join((charter.description or charter.name).split())
    card: dict[str, Any] = {
        "name": charter.name,
        "description": description,
        "supportedInterfaces": [
            {"url": url, "protocolBinding": binding, "protocolVersion": A2A_PROTOCOL_VERSION}
        ],
        "version": agent_version(charter),
        "capabilities": {
            "extensions": [
                {
                    "uri": GOVERNANCE_EXTENSION,
                    "description": (
                        f"Governance of this agent as {governance.organisation.name} records it "
                        "in its govkit charter: owners, risk tier, allowed and forbidden work, "
                        "tools, budget and escalation rules."
                    ),
                    "required": False,
                    "params": governance_params(governance, charter),
                }
            ]
        },
        "defaultInputModes": [TEXT_MODE],
        "defaultOutputModes": [TEXT_MODE],
        "skills": [
            {
                "id": charter.id,
                "name": charter.name,
                "description": description,
                "tags": ["govkit", f"tier-{tier.id}", charter.operating_model, charter.status],
                "examples": list(charter.work.allowed),
            }
        ],
    }
    page = handbook_page(governance, charter)
    if page:
        card["documentationUrl"] = page
    return card


def charter_export(governance: Governance, charter: Charter, state: Path | None) -> dict[str, Any]:
    """The whole charter with its current status (`--format json`)."""
    return {
        "agent": charter.id,
        "status": charter.status,
        "retired": _retired(charter),
        "charter": charter.model_dump(mode="json", by_alias=True),
        "handbook_url": handbook_page(governance, charter),
        "monitor": _monitor(state, charter.id),
        "open_incidents": _open_incidents(governance, charter.id),
        "generator": "govkit",
    }


def _monitor(state: Path | None, agent_id: str) -> dict[str, Any] | None:
    """The last run and the alerts firing for the agent, None without a monitor state."""
    if state is None:
        return None
    database = results.state_path(results.snapshot_path(state))
    if not database.is_file():
        return None
    run = results.latest_run(database)
    firing = [
        alert.to_json()
        for alert in results.read_state_alerts(database)
        if alert.agent == agent_id and alert.status == results.FIRING
    ]
    return {"last_run": run.to_json() if run else None, "firing_alerts": firing}


def _open_incidents(governance: Governance, agent_id: str) -> list[dict[str, Any]]:
    """The incidents not closed yet that name the agent (none when incidents are not kept)."""
    found = []
    for incident in getattr(governance, "incidents", []):
        if (
            agent_id in getattr(incident, "agents", [])
            and getattr(incident, "closed", None) is None
        ):
            found.append(incident.model_dump(mode="json", by_alias=True, exclude_none=True))
    return found
