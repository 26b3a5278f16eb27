"""The framework crosswalk: for each item of a framework catalogue, what maps to it and, agent by
agent, the evidence that it holds.

Tier controls, policies and metrics name the items they serve (`maps_to`). An item's agents are
those its mappings apply to: a tier control applies to every agent of that tier and above, a
policy to the agents whose charter lists it, a metric to the agents whose charter watches it. The
evidence for one agent is read from what govkit already holds:

- a control: the charter fields the control names as its `evidence` (`approvals`,
  `owners.reviewer`);
- a policy: its test results (`Governance.policy_results`);
- a metric: the last monitor run's drift tests and threshold checks of that agent and metric, and
  whether an alert on them is firing;
- the incident register: the agent's incidents whose corrective actions are verified on one of the
  item's metrics, with how far their verification got.

Each piece is `held`, `attention` (there, but showing a problem: a firing alert, an open incident)
or `missing`. Gaps are items with nothing mapped (neither they nor an item under them) and agents
lacking evidence. Pure: the page and `govkit crosswalk` render the same `Crosswalk`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from playbook import results
from playbook.core.charter import Charter
from playbook.core.framework import Framework, FrameworkItem
from playbook.core.governance import Governance
from playbook.handbook.pages import METRICS, policy_page, tier_page

HELD, ATTENTION, MISSING = "held", "attention", "missing"
STATUS_ORDER = (MISSING, ATTENTION, HELD)  # worst first
MAPPED, VIA_CHILDREN, GAP = "mapped", "via_children", "gap"
CONTROL, POLICY, METRIC = "control", "policy", "metric"
CHARTER, POLICY_TESTS, MONITOR, INCIDENT = "charter", "policy_tests", "monitor", "incident"
LISTED = 3  # a charter list of up to this many ids is named as evidence, a longer one counted


@dataclass(frozen=True)
class Mapping:
    """A control, policy or metric that names an item in its `maps_to`."""

    kind: str  # CONTROL, POLICY or METRIC
    id: str  # tier-3/two-person-approval, support-agent, task_success_rate
    name: str
    agents: tuple[str, ...]  # the agents it applies to
    page: str  # the handbook page that defines it


@dataclass(frozen=True)
class Evidence:
    mapping: str  # "control tier-3/two-person-approval"
    kind: str  # CHARTER, POLICY_TESTS, MONITOR or INCIDENT
    status: str  # HELD, ATTENTION or MISSING
    detail: str


@dataclass
class AgentEvidence:
    agent: str
    name: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = [piece.status for piece in self.evidence] or [MISSING]
        return min(statuses, key=STATUS_ORDER.index)


@dataclass
class ItemRow:
    item: FrameworkItem
    ref: str
    depth: int
    coverage: str  # MAPPED, VIA_CHILDREN or GAP
    mappings: list[Mapping]
    agents: list[AgentEvidence]

    @property
    def anchor(self) -> str:
        """The item's id as a page anchor (`A.6.2.6` -> `A-6-2-6`)."""
        return re.sub(r"[^A-Za-z0-9_-]", "-", self.item.id)


@dataclass
class Crosswalk:
    framework: Framework
    rows: list[ItemRow]
    monitor_run: str | None  # the monitor run's `now` the evidence was read from

    @property
    def unmapped(self) -> list[ItemRow]:
        return [row for row in self.rows if row.coverage == GAP]

    @property
    def lacking(self) -> list[tuple[ItemRow, AgentEvidence, Evidence]]:
        """(item, agent, evidence) for every piece of evidence that is missing."""
        return [
            (row, agent, piece)
            for row in self.rows
            for agent in row.agents
            for piece in agent.evidence
            if piece.status == MISSING
        ]

    @property
    def lacking_count(self) -> int:
        """How many (item, agent) pairs lack a piece of evidence."""
        return len({(row.ref, agent.agent) for row, agent, _ in self.lacking})


def crosswalk(governance: Governance, framework: Framework, monitor: Any = None) -> Crosswalk:
    """The crosswalk of one framework; `monitor` is the last run (`MonitorView`) or None."""
    mappings = _mappings(governance, framework)
    charters = {agent.id: agent for agent in governance.agents if _active(agent)}
    direct = {item.id for item in framework.items if mappings.get(item.id)}
    rows = []
    for item in framework.items:
        mapped = mappings.get(item.id, [])
        coverage = MAPPED if mapped else (
            VIA_CHILDREN if _descendants(framework, item.id) & direct else GAP
        )  # fmt: skip
        agent_ids = list(dict.fromkeys(a for m in mapped for a in m.agents if a in charters))
        agents = [
            AgentEvidence(
                agent_id,
                charters[agent_id].name,
                _evidence(governance, charters[agent_id], mapped, monitor),
            )
            for agent_id in agent_ids
        ]
        rows.append(
            ItemRow(item, framework.ref(item.id), framework.depth(item), coverage, mapped, agents)
        )
    return Crosswalk(framework, rows, monitor.now if monitor is not None else None)


def _active(charter: Charter) -> bool:
    return getattr(charter, "retired", None) is None  # retired charters are not evidence


def _descendants(framework: Framework, item_id: str) -> set[str]:
    found: set[str] = set()
    frontier = [item_id]
    while frontier:
        children = [c.id for p in frontier for c in framework.children(p) if c.id not in found]
        found.update(children)
        frontier = children
    return found


# --- what maps to each item -----------------------------------------------------------------------


def _mappings(governance: Governance, framework: Framework) -> dict[str, list[Mapping]]:
    """Item id -> the controls, policies and metrics that map to it, in catalogue order."""
    prefix = f"{framework.id}:"
    found: dict[str, list[Mapping]] = {}

    def add(refs: list[str], mapping: Mapping) -> None:
        for ref in refs:
            if ref.startswith(prefix):
                found.setdefault(ref[len(prefix) :], []).append(mapping)

    agents = [agent for agent in governance.agents if _active(agent)]
    for tier in governance.tiers:
        tier_agents = tuple(agent.id for agent in agents if agent.tier >= tier.id)
        for control in tier.controls:
            mapping = Mapping(
                CONTROL, f"{tier.slug}/{control.id}", control.name, tier_agents, tier_page(tier.id)
            )
            add(control.maps_to, mapping)
    for policy_id, policy in sorted(governance.policies.items()):
        users = tuple(agent.id for agent in agents if policy_id in agent.policies)
        mapping = Mapping(POLICY, policy_id, policy_id, users, policy_page(policy_id))
        add(list(getattr(policy.rules, "maps_to", [])), mapping)
    for metric in governance.metrics:
        watching = tuple(agent.id for agent in agents if metric.id in watched_metrics(agent))
        page = f"{METRICS}#{metric.id}"
        add(metric.maps_to, Mapping(METRIC, metric.id, metric.name, watching, page))
    return found


def watched_metrics(charter: Charter) -> list[str]:
    """The metrics a charter names: north star, guardrails, stop conditions, monitored metrics."""
    names = [charter.north_star.metric]
    names += [guardrail.metric for guardrail in charter.guardrails]
    names += [stop.metric for stop in charter.stop_conditions]
    names += charter.monitor.metrics if charter.monitor else []
    return list(dict.fromkeys(names))


# --- evidence, per agent --------------------------------------------------------------------------


def _evidence(
    governance: Governance, charter: Charter, mapped: list[Mapping], monitor: Any
) -> list[Evidence]:
    pieces: list[Evidence] = []
    metrics: list[str] = []
    for mapping in mapped:
        if charter.id not in mapping.agents:
            continue
        label = f"{mapping.kind} {mapping.id}"
        if mapping.kind == CONTROL:
            pieces += _charter_evidence(governance, charter, mapping, label)
        elif mapping.kind == POLICY:
            pieces.append(_policy_evidence(governance, mapping.id, label))
        else:
            pieces.append(_monitor_evidence(charter.id, mapping.id, label, monitor))
            metrics.append(mapping.id)
    pieces += _incident_evidence(governance, charter.id, metrics, monitor)
    return pieces


def _charter_evidence(
    governance: Governance, charter: Charter, mapping: Mapping, label: str
) -> list[Evidence]:
    tier_slug, _, control_id = mapping.id.partition("/")
    tier = next(t for t in governance.tiers if t.slug == tier_slug)
    control = next(c for c in tier.controls if c.id == control_id)
    if not control.evidence:
        detail = "the control names no charter evidence (evidence: in tiers.yaml)"
        return [Evidence(label, CHARTER, MISSING, detail)]
    pieces = []
    for path in control.evidence:
        value = charter_value(charter, path)
        if _present(value):
            pieces.append(Evidence(label, CHARTER, HELD, f"{path}: {describe_value(value)}"))
        else:
            pieces.append(Evidence(label, CHARTER, MISSING, f"{path}: not in the charter"))
    return pieces


def charter_value(charter: Charter, path: str) -> Any:
    """The value at a dotted path of charter fields (`owners.reviewer`), None when unset."""
    value: Any = charter
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, "from_" if part == "from" else part, None)  # baseline.from
    return value


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != {} and value != ""


def describe_value(value: Any) -> str:
    """A charter value in a few words: a person's name, a count, a number."""
    if isinstance(value, list):
        if all(isinstance(entry, str) for entry in value) and len(value) <= LISTED:
            return ", ".join(value)
        return f"{len(value)} listed"
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    if hasattr(value, "model_dump"):
        fields = value.model_dump(exclude_none=True, by_alias=True)
        shown = [f"{key} {val}" for key, val in fields.items() if not isinstance(val, (dict, list))]
        return ", ".join(shown) if shown else "set"
    return str(value)


def _policy_evidence(governance: Governance, policy_id: str, label: str) -> Evidence:
    cases = governance.policy_results.get(policy_id, [])
    failed = [case.name for case in cases if not case.passed]
    if not cases:
        return Evidence(label, POLICY_TESTS, MISSING, "no test cases")
    if failed:
        detail = f"{len(failed)} of {len(cases)} test cases fail (first: {failed[0]})"
        return Evidence(label, POLICY_TESTS, MISSING, detail)
    return Evidence(label, POLICY_TESTS, HELD, f"{len(cases)} test cases pass")


def _monitor_evidence(agent_id: str, metric_id: str, label: str, monitor: Any) -> Evidence:
    if monitor is None:
        return Evidence(label, MONITOR, MISSING, "no monitor results")
    result = monitor.agents.get(agent_id)
    if result is None:
        return Evidence(label, MONITOR, MISSING, "agent not in the last monitor run")
    firing = [
        alert
        for alert in result.firing_alerts
        if alert.labels.get("metric") == metric_id and alert.status == results.FIRING
    ]
    findings = [f for f in result.findings if f.metric == metric_id]
    checks = [c for c in result.checks if c.metric == metric_id]
    if firing:
        names = ", ".join(sorted({alert.labels.get("alertname", "alert") for alert in firing}))
        return Evidence(label, MONITOR, ATTENTION, f"{names} firing")
    verdicts = [f"drift test {f.verdict}" for f in findings]
    verdicts += [f"{c.check} {c.bound} {c.threshold:g} {c.status}" for c in checks]
    if not verdicts:
        return Evidence(label, MONITOR, MISSING, "not tested in the last monitor run")
    states = {f.verdict for f in findings} | {c.status for c in checks}
    if states <= {results.INSUFFICIENT}:
        return Evidence(label, MONITOR, MISSING, "insufficient data in the last monitor run")
    return Evidence(label, MONITOR, HELD, "; ".join(dict.fromkeys(verdicts)))


def _incident_evidence(
    governance: Governance, agent_id: str, metrics: list[str], monitor: Any
) -> list[Evidence]:
    """The agent's incidents with a corrective action verified on one of the item's metrics."""
    records = list(getattr(monitor, "actions", []) or []) if monitor is not None else []
    pieces = []
    for incident in getattr(governance, "incidents", []) or []:
        actions = [
            action
            for action in getattr(incident, "actions", [])
            if getattr(getattr(action, "verify", None), "metric", None) in metrics
        ]
        if agent_id not in getattr(incident, "agents", []) or not actions:
            continue
        statuses = [_action_status(records, incident.id, action.id, agent_id) for action in actions]
        verified = statuses.count(results.VERIFIED)
        closed = getattr(incident, "closed", None) is not None
        serious = ", serious (Art. 73)" if getattr(incident, "serious", False) else ""
        detail = (
            f"{incident.severity}{serious}, "
            f"{'closed' if closed else 'open'}: {verified} of {len(actions)} corrective "
            f"action(s) verified"
        )
        status = HELD if closed and verified == len(actions) else ATTENTION
        pieces.append(Evidence(f"incident {incident.id}", INCIDENT, status, detail))
    return pieces


def _action_status(records: list[Any], incident: str, action: str, agent: str) -> str | None:
    for record in records:
        if (record.incident, record.action, record.agent) == (incident, action, agent):
            return str(record.status)
    return None
