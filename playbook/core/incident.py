"""An incident (`governance/incidents/<id>.yaml`): what went wrong with which agents, how bad, and
the corrective actions that must prove they worked.

Each action names the condition the monitor must see before it counts as done (`verify: {metric,
below|above, for}`): every UTC day with tasks in the `for` window that starts the day after the
action's `done` date must meet it (`monitor.alerting.actions`). A serious incident (EU AI Act
Art. 73) is reported within `report_days` of the day the organisation became aware of it: 15 by
default, 10 after a death (Art. 73(4)), 2 for a widespread infringement or a serious disruption of
critical infrastructure (Art. 73(3)).
"""

from __future__ import annotations

import difflib
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, model_validator

from playbook.core.charter import Charter
from playbook.core.errors import Problem, did_you_mean, display_path, one_of
from playbook.core.governance import AGENTS_DIR
from playbook.core.problems import read_document, validate_document
from playbook.core.types import (
    EventMetricRef,
    LaxDate,
    Number,
    Reference,
    Schema,
    Slug,
    Text,
    Window,
    exactly_one_of,
)
from playbook.core.yamlsrc import YamlDocument

INCIDENTS_DIR = "incidents"
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
Severity = Literal["sev1", "sev2", "sev3", "sev4"]
# The charter's owners an action's owner may name instead of a person.
OWNER_ROLES = ("agent_owner", "model_steward", "reviewer")
DEFAULT_REPORT_DAYS = 15  # Art. 73(2); 10 after a death (73(4)), 2 in the cases of 73(3)
FINGERPRINT_PATTERN = re.compile(r"^[0-9a-f]{16}$")
_ROLE_LIKE = re.compile(r"^[a-z]+_[a-z_]+$")  # `model_stewrd`: a misspelt role, not a person


def _fingerprint(value: str) -> str:
    if not FINGERPRINT_PATTERN.match(value):
        raise ValueError(
            f"expected an alert fingerprint of 16 hexadecimal digits but received {value!r}"
        )
    return value


Fingerprint = Annotated[
    str,
    AfterValidator(_fingerprint),
    WithJsonSchema({"type": "string", "pattern": FINGERPRINT_PATTERN.pattern}),
]
AgentRef = Annotated[str, Reference("agent", "agents")]


class Verify(Schema):
    """The condition that proves an action worked: `metric` below or above a value, every day of
    the window `for` after the action was done."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of(["below"], ["above"]))

    metric: EventMetricRef
    below: Number | None = None
    above: Number | None = None
    for_: Window = Field(alias="for")

    @model_validator(mode="after")
    def _one_bound(self) -> Verify:
        if (self.below is None) == (self.above is None):
            raise ValueError("expected exactly one of below or above")
        return self

    @property
    def bound(self) -> tuple[str, float]:
        if self.below is not None:
            return "below", self.below
        return "above", self.above  # type: ignore[return-value]

    def holds(self, value: float) -> bool:
        kind, limit = self.bound
        return value < limit if kind == "below" else value > limit


class Action(Schema):
    id: Slug
    description: Text
    owner: Text  # agent_owner, model_steward, reviewer (of the agent's charter), or a person
    due: LaxDate
    done: LaxDate | None = None
    verify: Verify


class Incident(Schema):
    id: Slug
    title: Text
    date: LaxDate
    agents: list[AgentRef] = Field(min_length=1)
    severity: Severity
    alerts: list[Fingerprint] = Field(default_factory=list)
    summary: Text
    impact: Text
    serious: bool  # an EU AI Act Art. 73 serious incident: reported within report_days
    aware: LaxDate | None = None  # when the organisation became aware of it; default `date`
    report_days: Annotated[int, Field(ge=1, le=DEFAULT_REPORT_DAYS)] = DEFAULT_REPORT_DAYS
    reported: LaxDate | None = None  # when it was reported to the market surveillance authority
    closed: LaxDate | None = None
    actions: list[Action] = Field(default_factory=list)

    @property
    def aware_on(self) -> date:
        return self.aware or self.date

    @property
    def report_by(self) -> date | None:
        """The last day of the Art. 73 report (None unless serious)."""
        return self.aware_on + timedelta(days=self.report_days) if self.serious else None


def owner_person(charter: Charter, owner: str) -> tuple[str, str]:
    """(name, email) of an action's owner for one agent: the charter's person for a role, else
    the owner as written (an email address as both)."""
    if owner in OWNER_ROLES:
        person = getattr(charter.owners, owner)
        if person is not None:
            return person.name, person.email
    return owner, owner if "@" in owner else ""


def incident_rules(
    incidents: list[Incident],
    documents: list[YamlDocument],
    charters: dict[str, Charter],
    *,
    today: date | None,
) -> list[Problem]:
    """Rules across files: the file name, unique ids, dates in order, owners and verify metrics
    the agents' charters have. Agents without a loaded charter (drafts) are left to their file."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for incident, document in zip(incidents, documents, strict=True):
        if incident.id in seen:
            problems.append(document.problem(("id",), f"duplicate incident id {incident.id!r}"))
        seen.add(incident.id)
        problems += _incident(incident, document, charters, today)
    return problems


def _incident(
    incident: Incident, document: YamlDocument, charters: dict[str, Charter], today: date | None
) -> list[Problem]:
    problems = []
    if incident.id != document.path.stem:
        problems.append(
            document.problem(
                ("id",),
                f"expected the file name's stem {document.path.stem!r} but received "
                f"{incident.id!r}",
            )
        )
    problems += _dates(document, incident, (), today)
    problems += _repeats(document, incident)
    action_ids: set[str] = set()
    for index, action in enumerate(incident.actions):
        where = ("actions", index)
        if action.id in action_ids:
            problems.append(document.problem((*where, "id"), f"duplicate action id {action.id!r}"))
        action_ids.add(action.id)
        problems += _dates(document, action, where, today)
        problems += _after_incident(document, action, where, incident)
        problems += _owner(document, action, where, incident, charters)
        problems += _verify_metric(document, action, where, incident, charters)
        if incident.closed is not None and action.done is None:
            problems.append(
                document.problem(
                    (*where, "done"),
                    f"expected a done date: the incident is closed ({incident.closed}) but "
                    f"action {action.id!r} is not done",
                )
            )
    return problems


def unjudged_actions(
    incidents: list[Incident], documents: list[YamlDocument], retired: set[str]
) -> list[Problem]:
    """Warnings for open actions of open incidents whose agents are all retired: the monitor
    judges an action on its agents' events, and watches no retired agent."""
    warnings = []
    for incident, document in zip(incidents, documents, strict=True):
        if incident.closed is not None or not set(incident.agents) <= retired:
            continue
        for index, action in enumerate(incident.actions):
            if action.done is None:
                message = (
                    f"action {action.id!r} is open but every agent of the incident is retired, "
                    "so the monitor no longer judges it; give it a done date or close the incident"
                )
                warnings.append(document.problem(("actions", index), message, severity="warning"))
    return warnings


def _repeats(document: YamlDocument, incident: Incident) -> list[Problem]:
    """An agent or alert listed twice (the monitor would judge each action twice)."""
    problems = []
    for key, noun in (("agents", "agent"), ("alerts", "alert")):
        listed: set[str] = set()
        for index, value in enumerate(getattr(incident, key)):
            if value in listed:
                problems.append(
                    document.problem(
                        (key, index), f"{noun} {value!r} is listed twice; list it once"
                    )
                )
            listed.add(value)
    return problems


def _dates(
    document: YamlDocument, item: Incident | Action, where: tuple, today: date | None
) -> list[Problem]:
    """Dates that cannot be in the future, and no date before the incident's."""
    problems = []
    for key in ("date", "aware", "reported", "closed", "done"):
        value = getattr(item, key, None)
        if value is not None and today is not None and value > today:
            problems.append(
                document.problem(
                    (*where, key), f"expected a date on or before today ({today}) but received "
                    f"{value}",
                )
            )  # fmt: skip
    if isinstance(item, Incident):
        for key in ("aware", "reported", "closed"):
            value = getattr(item, key)
            if value is not None and value < item.date:
                problems.append(
                    document.problem(
                        (key,), f"expected a date on or after the incident's date ({item.date}) "
                        f"but received {value}",
                    )
                )  # fmt: skip
    return problems


def _after_incident(
    document: YamlDocument, action: Action, where: tuple, incident: Incident
) -> list[Problem]:
    """An action is due and done on or after its incident's date (a typo in the year, else)."""
    return [
        document.problem(
            (*where, key),
            f"expected a date on or after the incident's date ({incident.date}) but received "
            f"{value}",
        )
        for key, value in (("due", action.due), ("done", action.done))
        if value is not None and value < incident.date
    ]


def _owner(
    document: YamlDocument,
    action: Action,
    where: tuple,
    incident: Incident,
    charters: dict[str, Charter],
) -> list[Problem]:
    owner = action.owner.strip()
    if owner in OWNER_ROLES:
        lacking = [
            a for a in incident.agents if a in charters and not _has_role(charters[a], owner)
        ]
        if lacking:
            return [
                document.problem(
                    (*where, "owner"),
                    f"the charter of {one_of(lacking)} names no {owner}; expected "
                    f"{one_of(r for r in OWNER_ROLES if r != owner)} or a person",
                )
            ]
        return []
    if _ROLE_LIKE.match(owner) or difflib.get_close_matches(owner, OWNER_ROLES, cutoff=0.8):
        return [
            document.problem(
                (*where, "owner"),
                f"unknown role {owner!r}.{did_you_mean(owner, OWNER_ROLES)} Expected one of "
                f"{one_of(OWNER_ROLES)}, or a person's name or email",
            )
        ]
    return []


def _has_role(charter: Charter, role: str) -> bool:
    return getattr(charter.owners, role) is not None


def watched_metrics(charter: Charter) -> list[str]:
    """The metrics the monitor computes for a charter: its monitor section's, its guardrails',
    its stop conditions' and its north star."""
    ids = list(charter.monitor.metrics) if charter.monitor else []
    ids += [g.metric for g in charter.guardrails]
    ids += [s.metric for s in charter.stop_conditions]
    ids.append(charter.north_star.metric)
    return list(dict.fromkeys(ids))


def _verify_metric(
    document: YamlDocument,
    action: Action,
    where: tuple,
    incident: Incident,
    charters: dict[str, Charter],
) -> list[Problem]:
    metric = action.verify.metric
    for agent in incident.agents:
        if agent not in charters:
            continue
        watched = watched_metrics(charters[agent])
        if metric not in watched:
            return [
                document.problem(
                    (*where, "verify", "metric"),
                    f"metric {metric!r} is not watched for agent {agent!r}."
                    f"{did_you_mean(metric, watched)} Expected one of its charter's metrics: "
                    f"{one_of(watched)}",
                )
            ]
    return []


def read_incidents(
    root: Path,
    context: dict[str, dict[Any, bool]],
    agents: list[Charter],
    problems: list[Problem],
    warnings: list[Problem],
) -> tuple[list[Incident], list[YamlDocument]]:
    """Every `incidents/*.yaml` under `root`, validated against the catalogs in `context` and
    the agents (`agents`, and every charter file: a draft, a retired agent, one left out of a
    `only` load) (problems added); none when the directory is absent. A file invalid only
    where it still says TODO (a scaffold) is a draft: warned about, not loaded."""
    agent_ids = {path.stem for path in (root / AGENTS_DIR).glob("*.y*ml")}
    agent_ids |= {charter.id for charter in agents}
    folder = root / INCIDENTS_DIR
    if folder.exists() and not folder.is_dir():
        message = f"expected a directory of incidents ({INCIDENTS_DIR}/<id>.yaml) but found a file"
        problems.append(Problem(display_path(folder), 1, "", message))
    paths = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    incidents: list[Incident] = []
    documents: list[YamlDocument] = []
    known = context | {"agents": dict.fromkeys(sorted(agent_ids), True)}
    for path in paths:
        document = read_document(path, problems)
        if document is None:
            continue
        placeholders = _placeholders(document.data)
        warnings += [
            document.problem(loc, "TODO placeholder: fill in the incident", severity="warning")
            for loc in placeholders
        ]
        incident = validate_document(
            document, Incident, problems, context=known, placeholders=placeholders
        )
        if incident is not None:
            incidents.append(incident)
            documents.append(document)
    return incidents, documents


def _placeholders(data: Any, loc: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where a file still says TODO: text values starting with it, at any depth."""
    if isinstance(data, str):
        return [loc] if data.strip().upper().startswith("TODO") else []
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else []
    )
    return [found for key, value in items for found in _placeholders(value, (*loc, key))]
