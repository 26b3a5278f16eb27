"""`govkit whois AGENT`: who owned it, what was it allowed to do, why did it pass the gates.

The monitor's results are read through `playbook.results` (the state's `runs` and `alerts`
tables), never through the monitor's code.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from playbook import results
from playbook.core.charter import Charter
from playbook.core.errors import UsageError
from playbook.core.governance import Governance


def find_charter(governance: Governance, agent_id: str) -> Charter:
    known = [agent.id for agent in governance.agents]
    if agent_id in known:
        return governance.agent(agent_id)
    close = difflib.get_close_matches(agent_id, known, n=3, cutoff=0.4)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UsageError(f"unknown agent {agent_id!r}.{hint} Known agents: {', '.join(sorted(known))}")


def monitor_summary(state: Path, agent_id: str) -> dict[str, Any] | None:
    """`{last_run, firing_alerts}` from the monitor's state, or None when there is none."""
    run = results.latest_run(state)
    if not state.is_file():
        return None
    alerts = [
        {
            "alertname": alert.labels.get("alertname"),
            "metric": alert.labels.get("metric"),
            "severity": alert.labels.get("severity"),
            "action": alert.annotations.get("action"),
            "summary": alert.annotations.get("summary"),
            "startsAt": alert.starts_at,
        }
        for alert in results.read_state_alerts(state)
        if alert.status == results.FIRING and alert.agent == agent_id
    ]
    last_run = {"now": run.now, "finished_at": run.finished_at} if run else None
    return {"last_run": last_run, "firing_alerts": alerts}


def _person(person: Any) -> dict[str, str] | None:
    return None if person is None else {"name": person.name, "email": person.email}


def whois(governance: Governance, charter: Charter, state: Path) -> dict[str, Any]:
    """The audit answer for one agent, as the JSON `--format json` prints."""
    tier = governance.tier(charter.tier)
    results = governance.policy_results
    return {
        "id": charter.id,
        "name": charter.name,
        "tier": {
            "id": tier.id,
            "name": tier.name,
            "controls": [{"id": c.id, "name": c.name} for c in tier.controls],
        },
        "operating_model": {
            "id": charter.operating_model,
            "name": governance.operating_model(charter.operating_model).name,
        },
        "owners": {
            "agent_owner": _person(charter.owners.agent_owner),
            "model_steward": _person(charter.owners.model_steward),
            "reviewer": _person(charter.owners.reviewer),
        },
        "work": charter.work.model_dump(),
        "policies": [
            {
                "id": policy_id,
                "tests_passed": sum(1 for r in results.get(policy_id, []) if r.passed),
                "tests_failed": sum(1 for r in results.get(policy_id, []) if not r.passed),
            }
            for policy_id in charter.policies
        ],
        "north_star": charter.north_star.model_dump(),
        "guardrails": [g.model_dump(exclude_none=True) for g in charter.guardrails],
        "stop_conditions": [s.model_dump(exclude_none=True) for s in charter.stop_conditions],
        "review": charter.review.model_dump(),
        "monitor": monitor_summary(state, charter.id),
    }


def format_text(answer: dict[str, Any]) -> str:
    owners = answer["owners"]
    lines = [f"{answer['name']} ({answer['id']})", ""]
    lines.append("Who owned it")
    for role, label in [("agent_owner", "Agent Owner"), ("model_steward", "Model Steward"),
                        ("reviewer", "Last-mile reviewer")]:  # fmt: skip
        person = owners[role]
        lines.append(f"  {label:<20}{person['name']} <{person['email']}>" if person else
                     f"  {label:<20}none named")  # fmt: skip
    tier, model = answer["tier"], answer["operating_model"]
    lines += ["", "What it was allowed to do"]
    lines.append(f"  Tier {tier['id']}: {tier['name']}; operating model: {model['name']}")
    for key, label in [("allowed", "Allowed"), ("forbidden", "Forbidden"), ("tools", "Tools")]:
        lines.append(f"  {label}: " + ("; ".join(answer["work"][key]) or "not written down"))
    lines += ["", "Why it passed the gates"]
    lines.append("  Tier controls: " + "; ".join(c["name"] for c in tier["controls"]))
    for policy in answer["policies"]:
        state = "passing" if policy["tests_failed"] == 0 and policy["tests_passed"] else "FAILING"
        lines.append(
            f"  Policy {policy['id']}: tests {state} ({policy['tests_passed']} passed, "
            f"{policy['tests_failed']} failed)"
        )
    north = answer["north_star"]
    lines.append(f"  North star: {north['metric']} target {north['target']:g}")
    for guardrail in answer["guardrails"]:
        bound = "max" if "max" in guardrail else "min"
        lines.append(f"  Guardrail: {guardrail['metric']} {bound} {guardrail[bound]:g}")
    for stop in answer["stop_conditions"]:
        bound = "above" if "above" in stop else "below"
        lines.append(
            f"  Stop condition: {stop['metric']} {bound} {stop[bound]:g} over {stop['window']}"
            f" -> {stop['action']}"
        )
    lines.append(f"  Review cadence: {answer['review']['cadence']}")
    monitor = answer["monitor"]
    lines += ["", "Monitor"]
    if monitor is None:
        lines.append("  no monitor state found")
    else:
        run = monitor["last_run"]
        lines.append(f"  last run: {run['now'] if run else 'none yet'}")
        if not monitor["firing_alerts"]:
            lines.append("  no alert firing")
        for alert in monitor["firing_alerts"]:
            lines.append(
                f"  FIRING {alert['alertname']} ({alert['severity']}) {alert['metric']} since "
                f"{alert['startsAt']}; action: {alert['action']}"
            )
    return "\n".join(lines)
