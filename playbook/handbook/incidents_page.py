"""The incident register and each agent's incidents: what the pages show of `governance/incidents/`.

An incident is shown `closed` only when it has a `closed` date and the monitor's last run verified
every one of its actions (`playbook.results.ActionRecord`); closed in YAML but not verified, it
stays among the open ones as `awaiting verification`, and `reopened` when an action did not work.
Without monitor results the register says so and shows the `closed` dates as written. A serious
incident (EU AI Act Art. 73) shows its reporting deadline, as a date and with a countdown that a
small inline script keeps live against the reader's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from playbook import results
from playbook.core import markdown
from playbook.core.charter import Charter
from playbook.core.governance import Governance
from playbook.core.incident import OWNER_ROLES, Action, Incident, owner_person
from playbook.handbook.pages import INCIDENTS
from playbook.results import ActionRecord

OPEN, CLOSED, AWAITING, REOPENED = "open", "closed", "awaiting verification", "reopened"
NOT_JUDGED = "not judged"  # no monitor results, or the last run did not judge the action
_SEVERITY_TONES = {"sev1": "critical", "sev2": "critical", "sev3": "warning", "sev4": "info"}
_STATE_TONES = {OPEN: "warning", REOPENED: "critical", AWAITING: "info", CLOSED: "ok"}
_ACTION_TONES = {
    results.REOPENED: "critical",
    results.OVERDUE: "critical",
    results.NO_DATA: "warning",
    results.VERIFYING: "info",
    results.OPEN: "neutral",
    results.VERIFIED: "ok",
}
_ROLE_WORDS = {"agent_owner": "Agent Owner", "model_steward": "Model Steward",
               "reviewer": "Last-mile reviewer"}  # fmt: skip


@dataclass
class ActionView:
    action: Action
    owner: str  # "Model Steward (Henrik Lund)", or the person as written
    status: str  # the worst of its agents' statuses, or NOT_JUDGED
    records: list[ActionRecord] = field(default_factory=list)

    @property
    def label(self) -> str:
        return results.ACTION_LABELS.get(self.status, self.status)

    @property
    def tone(self) -> str:
        return _ACTION_TONES.get(self.status, "neutral")

    @property
    def breaches(self) -> list[tuple[str, results.Point]]:
        return [(record.agent, point) for record in self.records for point in record.breaches]


@dataclass
class IncidentView:
    incident: Incident
    agents: list[Charter]
    state: str
    age_days: int  # open: since its date; closed: how long it was open
    actions: list[ActionView]

    @property
    def is_open(self) -> bool:
        return self.state != CLOSED

    @property
    def tone(self) -> str:
        return _STATE_TONES.get(self.state, "neutral")

    @property
    def severity_tone(self) -> str:
        return _SEVERITY_TONES.get(self.incident.severity, "neutral")

    @property
    def verified(self) -> int:
        return sum(1 for view in self.actions if view.status == results.VERIFIED)


def incident_views(
    governance: Governance, actions: list[ActionRecord] | None, today: date
) -> list[IncidentView]:
    """Every incident, open ones first (worst severity, then newest), then closed (newest).
    A retired agent's charter still names it and its owners: the audit outlives the agent."""
    charters = {charter.id: charter for charter in [*governance.agents, *governance.retired]}
    views = [_view(incident, charters, actions, today) for incident in governance.incidents]
    return sorted(
        views,
        key=lambda v: (
            not v.is_open,
            v.incident.severity if v.is_open else "",
            -v.incident.date.toordinal(),
            v.incident.id,
        ),
    )


def _view(
    incident: Incident,
    charters: dict[str, Charter],
    actions: list[ActionRecord] | None,
    today: date,
) -> IncidentView:
    agents = [charters[agent] for agent in incident.agents if agent in charters]
    views = []
    for action in incident.actions:
        records = [r for r in actions or [] if r.incident == incident.id and r.action == action.id]
        status = results.action_status(records) or NOT_JUDGED
        views.append(ActionView(action, _owner(action.owner, agents), status, records))
    state = _state(incident, views, judged=actions is not None)
    end = incident.closed if state == CLOSED and incident.closed else today
    return IncidentView(incident, agents, state, max((end - incident.date).days, 0), views)


def _state(incident: Incident, actions: list[ActionView], *, judged: bool) -> str:
    statuses = {view.status for view in actions}
    if results.REOPENED in statuses:
        return REOPENED
    if incident.closed is None:
        return OPEN
    if not judged or statuses <= {results.VERIFIED}:
        return CLOSED
    return AWAITING


def _owner(owner: str, agents: list[Charter]) -> str:
    if owner not in OWNER_ROLES:
        return owner
    names = sorted({owner_person(charter, owner)[0] for charter in agents})
    return f"{_ROLE_WORDS[owner]} ({', '.join(names)})" if names else _ROLE_WORDS[owner]


def report_deadline(incident: Incident) -> markdown.Markup:
    """The Art. 73 deadline: the date as text (readable without JavaScript), in a span the
    register's script counts down to (the end of that day, UTC); escaped."""
    deadline = incident.report_by
    if deadline is None:
        return markdown.Markup("")
    aware = incident.aware_on
    if incident.reported is not None:
        return markdown.Markup(
            f"Reported to the market surveillance authority on {incident.reported} (deadline "
            f"{deadline}, {incident.report_days} days from awareness on {aware})."
        )
    end = (deadline + timedelta(days=1)).isoformat() + "T00:00:00Z"
    return markdown.Markup(
        f"Report to the market surveillance authority by the end of **{deadline}** (UTC), "
        f"{incident.report_days} days from awareness on {aware}: "
        f'<span class="govkit-countdown" data-deadline="{markdown.attribute(end)}">'
        f"due {deadline}</span>."
    )


# Counts each deadline down against the reader's clock, every minute; without JavaScript the
# span keeps its static text. One line: Markdown passes a one-line raw HTML block through.
COUNTDOWN_SCRIPT = markdown.Markup(
    "<script>(function(){function tick(){document.querySelectorAll('.govkit-countdown')"
    ".forEach(function(el){var left=Date.parse(el.dataset.deadline)-Date.now();"
    "var d=Math.floor(Math.abs(left)/86400000),h=Math.floor(Math.abs(left)%86400000/3600000);"
    "var span=d+' day'+(d===1?'':'s')+' '+h+' hour'+(h===1?'':'s');"
    "el.textContent=left>0?span+' left':'overdue by '+span;"
    "el.classList.toggle('govkit-countdown--overdue',left<=0);});}"
    "tick();setInterval(tick,60000);})();</script>"
)


def incident_context(
    governance: Governance, actions: list[ActionRecord] | None, today: date
) -> dict[str, Any]:
    """What the register and the agent pages need: `incidents` (views, open first),
    `incidents_of(agent_id)`, `report_deadline(incident)`, the script, the page's path."""
    views = incident_views(governance, actions, today)

    def incidents_of(agent_id: str) -> list[IncidentView]:
        return [view for view in views if agent_id in view.incident.agents]

    return {
        "incidents": views,
        "incidents_of": incidents_of,
        "report_deadline": report_deadline,
        "countdown_script": COUNTDOWN_SCRIPT,
        "incidents_judged": actions is not None,
        "INCIDENTS": INCIDENTS,
    }
