"""`govkit whois AGENT`: who owned it, what was it allowed to do, why did it pass the gates.

The monitor's results are read through `playbook.results` (the state's `runs` and `alerts`
tables), never through the monitor's code. `--at DATE|COMMIT` answers from the governance as git
held it then (`playbook.history.at`), with the alerts that were firing at that moment.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from playbook import results
from playbook.core.charter import Charter
from playbook.core.clock import iso, parse_instant
from playbook.core.errors import UsageError
from playbook.core.git import Repo
from playbook.core.governance import AGENTS_DIR, Governance
from playbook.policy import load_governance


def _unknown(agent_id: str, known: list[str]) -> UsageError:
    close = difflib.get_close_matches(agent_id, known, n=3, cutoff=0.4)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return UsageError(f"unknown agent {agent_id!r}.{hint} Known agents: {', '.join(sorted(known))}")


def find_charter(governance: Governance, agent_id: str) -> Charter:
    """The agent's charter, active or retired (the audit question outlives the agent)."""
    charter = governance.charter(agent_id)
    if charter is not None:
        return charter
    raise _unknown(agent_id, [agent.id for agent in [*governance.agents, *governance.retired]])


def load_for(governance_dir: Path, agent_id: str, today: date) -> tuple[Governance, Charter]:
    """The organisation with only the one charter asked about (its catalogs and policies
    validated as always): what `govkit whois` needs, without reading a thousand charters."""
    folder = governance_dir / AGENTS_DIR
    known = sorted({p.stem for p in [*folder.glob("*.yaml"), *folder.glob("*.yml")]})
    if agent_id not in known:
        if not known:  # no charters at all: the loader says so, located
            load_governance(governance_dir, today=today)
        raise _unknown(agent_id, known)
    governance = load_governance(governance_dir, today=today, agents={agent_id})
    return governance, find_charter(governance, agent_id)


def _firing_at(alert: results.AlertRecord, moment: datetime | None) -> bool:
    if moment is None:
        return alert.status == results.FIRING
    started = alert.starts_at is not None and parse_instant(alert.starts_at) <= moment
    return started and (alert.ends_at is None or parse_instant(alert.ends_at) > moment)


def monitor_summary(
    state: Path | None, agent_id: str, moment: datetime | None = None
) -> dict[str, Any] | None:
    """`{last_run, firing_alerts}` from the monitor's state (or the one beside the snapshot
    `state` names), or None when there is none or none was asked for (`state` None). At a
    `moment` of the past (`--at`): the alerts firing then, and the last run if it was before."""
    if state is None:
        return None
    state = results.state_path(results.snapshot_path(state))
    run = results.latest_run(state)
    if not state.is_file():
        return None
    if run is not None and moment is not None and parse_instant(run.now) > moment:
        run = None
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
        if alert.agent == agent_id and _firing_at(alert, moment)
    ]
    last_run = {"now": run.now, "finished_at": run.finished_at} if run else None
    return {"last_run": last_run, "firing_alerts": alerts}


def _person(person: Any) -> dict[str, str] | None:
    return None if person is None else {"name": person.name, "email": person.email}


def whois(governance: Governance, charter: Charter, state: Path | None) -> dict[str, Any]:
    """The audit answer for one agent, as the JSON `--format json` prints."""
    tier = governance.tier(charter.tier)
    results = governance.policy_results
    return {
        "id": charter.id,
        "name": charter.name,
        "status": charter.status,
        "retired": (
            {"date": str(charter.retired.date), "reason": charter.retired.reason}
            if charter.retired
            else None
        ),
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
        "incidents": incidents_of(governance, charter.id),
        "monitor": monitor_summary(state, charter.id),
    }


def incidents_of(governance: Governance, agent_id: str) -> list[dict[str, Any]]:
    """The incidents that name the agent, newest first: what went wrong before, and what was
    promised about it (actions not done yet)."""
    named = [i for i in governance.incidents if agent_id in i.agents]
    return [
        {
            "id": incident.id,
            "title": incident.title,
            "date": str(incident.date),
            "severity": incident.severity,
            "serious": incident.serious,
            "closed": str(incident.closed) if incident.closed else None,
            "actions_open": [a.id for a in incident.actions if a.done is None],
        }
        for incident in sorted(named, key=lambda i: (i.date, i.id), reverse=True)
    ]


def whois_at(governance_dir: Path, agent_id: str, state: Path | None, at: str) -> dict[str, Any]:
    """The audit answer as of `at` (a date, an instant or a commit), from git: the charter, its
    tier and policies as they were then, the alerts firing then, and the commit in force with
    the last change of the charter and who approved it (the `at` key)."""
    from playbook.history.at import (  # git's history: read for --at only
        at_commit,
        change_in_force,
        charter_ids,
        evals_at,
        governance_at,
        resolve_at,
    )

    repo = Repo.around(governance_dir)
    moment = resolve_at(repo, at)
    sha = moment.commit.sha
    snap = at_commit(repo, repo.relative(governance_dir), sha)
    known = charter_ids(snap)
    if agent_id not in known:
        raise _unknown(agent_id, known)
    with governance_at(snap, {agent_id}) as governance:
        answer = whois(governance, find_charter(governance, agent_id), None)
    answer["monitor"] = monitor_summary(state, agent_id, moment.moment)
    answer["incidents"] = None  # --at stages one charter of then, not the incident register
    change = change_in_force(snap, agent_id)
    answer["at"] = {
        "asked": at,
        "moment": iso(moment.moment),
        "commit": sha,
        "committed_at": iso(moment.commit.committed_at),
        "subject": moment.commit.subject,
        "change": change.to_json() if change else None,
        "evals": evals_at(snap, agent_id),
    }
    return answer


def _format_at(at: dict[str, Any]) -> list[str]:
    return [
        f"As of {at['moment']} (--at {at['asked']}): commit {at['commit'][:7]} of "
        f"{at['committed_at']}, {at['subject']}",
        "",
    ]


def _format_change(at: dict[str, Any]) -> list[str]:
    """The change in force then, its approvals and the eval results of that moment."""
    change = at["change"]
    lines = ["", "The change in force"]
    if change is None:
        lines.append("  no change to the agent found in the history")
    else:
        author = change["author"]
        lines.append(
            f"  {change['commit'][:7]} ({change['date']}) by {author['name']} "
            f"<{author['email']}>: {change['message']}"
        )
        lines += [f"    {c['text']} [{c['risk']}]" for c in change["changes"]]
        approved = ", ".join(_approver(a) for a in change["approvals"]) or "nobody"
        lines.append(f"  Approved by: {approved}")
    for suite in at["evals"]:
        latest = suite["latest"]
        if latest is None or latest.get("pass_rate") is None:
            lines.append(f"  Eval suite {suite['suite']}: {suite['problem']}")
            continue
        verdict = "passing" if suite["passed"] else "FAILING"
        lines.append(
            f"  Eval suite {suite['suite']}: {verdict}, {latest['pass_rate']:.1%} of "
            f"{latest['tests'] - latest['skipped']} (min {suite['min_pass_rate']:g}), produced "
            f"{latest['produced_at']}"
        )
    return lines


def _approver(approval: dict[str, Any]) -> str:
    role = {"agent_owner": "Agent Owner", "model_steward": "Model Steward",
            "reviewer": "reviewer"}.get(approval["role"] or "")  # fmt: skip
    who = f"{approval['name']} <{approval['email']}>"
    return f"{who} ({role})" if role else who


def _retired_lines(retired: dict[str, str] | None) -> list[str]:
    """`RETIRED on DATE: reason` at the top of the answer; nothing for an active agent."""
    if not retired:
        return []
    reason = " ".join(retired["reason"].split())
    return [f"RETIRED on {retired['date']}: {reason}", "(no longer monitored)", ""]


def _format_incidents(incidents: list[dict[str, Any]] | None) -> list[str]:
    lines = ["", "Incidents"]
    if incidents is None:
        return [*lines, "  not shown with --at: govkit whois AGENT lists the register of today"]
    if not incidents:
        return [*lines, "  none recorded"]
    for incident in incidents:
        state = f"closed {incident['closed']}" if incident["closed"] else "open"
        serious = ", serious (Art. 73)" if incident["serious"] else ""
        lines.append(
            f"  {incident['date']} {incident['severity']}{serious}: {incident['title']} "
            f"[{incident['id']}; {state}]"
        )
        if incident["actions_open"]:
            lines.append("    actions not done: " + ", ".join(incident["actions_open"]))
    return lines


def format_text(answer: dict[str, Any]) -> str:
    owners = answer["owners"]
    at = answer.get("at")
    lines = [f"{answer['name']} ({answer['id']})", "", *_retired_lines(answer.get("retired"))]
    lines += _format_at(at) if at else []
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
    lines += _format_change(at) if at else []
    lines += _format_incidents(answer["incidents"])
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
                f"  FIRING {alert['alertname']} ({alert['severity']}) "
                f"{alert['metric'] + ' ' if alert['metric'] else ''}since "
                f"{alert['startsAt']}; action: {alert['action']}"
            )
    return "\n".join(lines)
