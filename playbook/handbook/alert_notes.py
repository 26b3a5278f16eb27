"""A firing alert as a Material admonition: bad news first, in words, with whom to call.

`!!! danger` for a critical alert, `!!! warning` otherwise. The title is the alert's summary and
the body its description, both as the monitor wrote them (escaped); then the action, the people
to call (from the charter, with their roles), since when, and a runbook: the charter's `runbook:`
URL, else the handbook's incident page when the site has one, else the alerts page. The test
behind it (name, p, q, effect, sample sizes) sits in a collapsed `??? info "Statistics"` block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playbook.core import markdown
from playbook.core.charter import Charter
from playbook.handbook import figures
from playbook.handbook.pages import ALERTS, ROLES
from playbook.results import AgentResults, AlertRecord, CheckRecord, Finding

INCIDENT_PAGE = "guide/incident-questions.md"  # the hand-written page govkit's docs/ ship
INDENT = "    "


def admonition_title(text: object) -> str:
    """Text for `!!! kind "title"`: escaped, and no double quote to end the title early."""
    return markdown.escape(text).replace('"', "&quot;")


def _indent(lines: list[str]) -> list[str]:
    """Each line (a line holding several is split) one level deeper; blank lines stay blank."""
    split = [part for line in lines for part in line.split("\n")]
    return [(INDENT + line) if line else "" for line in split]


class AlertNotes:
    """Renders alerts for one build: knows the charters, the latest results and the pages."""

    def __init__(
        self,
        governance: Any,
        agents: dict[str, AgentResults],
        *,
        incident_page: bool,
    ) -> None:
        self.governance = governance
        self.agents = agents
        self.incident_page = incident_page
        self.roles = {role.charter_field: role for role in governance.roles}
        self.charters = {charter.id: charter for charter in governance.agents}

    def admonition(self, alert: AlertRecord, relative: Callable[[str], str]) -> markdown.Markup:
        """The whole block, ready to place at the start of a line; `relative` makes a page's
        path relative to the page being rendered."""
        kind = "danger" if alert.labels.get("severity") == "critical" else "warning"
        notes = alert.annotations
        title = notes.get("summary") or alert.labels.get("alertname", "Alert")
        body = [markdown.escape(notes.get("description", ""))] if notes.get("description") else []
        body += ["", self._facts(alert, relative)]
        statistics = self.statistics(alert)
        if statistics:
            body += ["", '??? info "Statistics"', *_indent(statistics)]
        lines = [f'!!! {kind} "{admonition_title(title)}"', *_indent(body)]
        return markdown.Markup("\n".join(lines) + "\n")

    def _facts(self, alert: AlertRecord, relative: Callable[[str], str]) -> str:
        notes = alert.annotations
        facts = []
        if notes.get("action"):
            facts.append(f"**Action:** {markdown.escape(notes['action'])}")
        call = self.call(alert, relative)
        if call:
            facts.append(f"**Call:** {call}")
        facts.append(f"**Since:** {markdown.escape(figures.moment_text(alert.starts_at))}")
        facts.append(f"**Runbook:** {self.runbook(alert, relative)}")
        return "<br>\n".join(facts)

    def call(self, alert: AlertRecord, relative: Callable[[str], str]) -> str:
        """The agent's owner and steward, with their roles and how to reach them."""
        charter = self.charters.get(alert.agent or "")
        if charter is None or "incident" in alert.labels:  # a corrective action: its owner
            owner = alert.annotations.get("owner")
            email = alert.annotations.get("owner_email")
            if not owner:
                return ""
            return markdown.escape(owner) + (f" ({markdown.mailto(email)})" if email else "")
        people = [
            (self.roles.get("agent_owner"), charter.owners.agent_owner),
            (self.roles.get("model_steward"), charter.owners.model_steward),
        ]
        return "; ".join(
            f"{markdown.escape(person.name)} ("
            + (f"{markdown.link(role.name, f'{relative(ROLES)}#{role.id}')}, " if role else "")
            + f"{markdown.mailto(person.email)})"
            for role, person in people
        )

    def runbook(self, alert: AlertRecord, relative: Callable[[str], str]) -> str:
        charter: Charter | None = self.charters.get(alert.agent or "")
        if charter is not None and charter.runbook:
            return markdown.external_link("runbook", charter.runbook)
        if self.incident_page:
            return f"[answering incident questions]({relative(INCIDENT_PAGE)})"
        return f"[alerts]({relative(ALERTS)})"

    def statistics(self, alert: AlertRecord) -> list[str]:
        """The numbers behind the alert, as Markdown list lines (empty when there are none)."""
        result = self.agents.get(alert.agent or "")
        metric_id = alert.labels.get("metric")
        lines = [f"- Alert {markdown.code(alert.labels.get('alertname', ''))}, "
                 f"fingerprint {markdown.code(alert.fingerprint)}"]  # fmt: skip
        if result is None or metric_id is None or metric_id not in self.governance.metric_ids:
            return lines
        metric = self.governance.metric(metric_id)
        if alert.labels.get("alertname") == "MetricDrift":
            lines += [_finding_line(f, metric) for f in result.findings if f.metric == metric_id]
        else:
            lines += [_check_line(c, metric) for c in result.checks if c.metric == metric_id]
        return lines


def _finding_line(finding: Finding, metric: Any) -> str:
    aspect = "" if finding.aspect == "center" else f" ({markdown.escape(finding.aspect)})"
    if finding.aspect == "center":
        effect = figures.change_text(
            finding.baseline,
            finding.recent,
            metric,
            n_baseline=finding.n_baseline,
            n_recent=finding.n_recent,
        )
    else:
        effect = figures.points_text(finding.effect) + " of tasks"
    test = markdown.code(finding.test or "none")
    return (
        f"- {markdown.escape(metric.name)}{aspect}: test {test}, "
        f"p = {figures.statistic_text(finding.p_value)}, "
        f"q = {figures.statistic_text(finding.q_value)}, effect {markdown.escape(effect)}; "
        f"n = {finding.n_baseline:,} baseline, {finding.n_recent:,} recent; "
        f"verdict {markdown.escape(finding.verdict)}"
    )


def _check_line(check: CheckRecord, metric: Any) -> str:
    value = figures.value_text(check.value, metric, check.n)
    threshold = figures.value_text(check.threshold, metric)
    return (
        f"- {markdown.escape(check.check.replace('_', ' '))} on {markdown.escape(metric.name)}: "
        f"{markdown.escape(value)} over {markdown.escape(check.window)} (n = {check.n:,}), "
        f"limit {markdown.escape(check.bound)} {markdown.escape(threshold)}: "
        f"{markdown.escape(check.status)}"
    )
