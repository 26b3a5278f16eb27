"""The Jinja2 environment of the handbook pages and the helpers its templates call.

Every `{{ value }}` passes through `markdown.escape` (the environment's `finalize`); helpers that
build links or tables return `Markup`, already escaped where their text comes from YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from playbook.core import markdown, readiness
from playbook.core.charter import Charter, Person
from playbook.core.model import OperatingModel, Role, Tier
from playbook.handbook import changes_page, costs_page, figures
from playbook.handbook.alert_notes import admonition_title
from playbook.handbook.pages import (
    METRICS,
    OPERATING_MODELS,
    ROLES,
    agent_page,
    policy_page,
    tier_page,
)
from playbook.handbook.sparkline import sparkline_svg
from playbook.handbook.view import STATUS_LABELS


def make_environment(template_dir: Path) -> jinja2.Environment:
    """A Jinja2 environment where every printed value is escaped for Markdown and HTML."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        finalize=markdown.escape,
        autoescape=False,  # noqa: S701 - escaping is `finalize`: Markdown needs more than HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        mailto=markdown.mailto,
        external_link=markdown.external_link,
        mermaid=markdown.mermaid_text,
        anchor=markdown.anchor,
        title=markdown.front_matter_title,
        code=markdown.code,
        money=lambda value: f"${value:,.2f}",
        admonition_title=lambda value: markdown.Markup(admonition_title(value)),
        moment=figures.moment_text,
        number=_number,
    )
    environment.globals.update(
        url=_url,
        link=_link,
        tier_page=tier_page,
        agent_page=agent_page,
        policy_page=policy_page,
        owners_of=owners_of,
        tier_link=_tier_link,
        model_link=_model_link,
        metric_link=_metric_link,
        role_link=_role_link,
        agent_link=_agent_link,
        agent_links=_agent_links,
        person_with_contact=_person,
        bound=_bound,
        readiness_cell=_readiness_cell,
        status_badge=_status_badge,
        severity_badge=_severity_badge,
        phase_badge=_phase_badge,
        check_badge=_outcome_badge(_CHECK_TONES),
        verdict_badge=_outcome_badge(_VERDICT_TONES),
        badge=badge,
        value_in=_value_in,
        change_in=_change_in,
        points=figures.points_text,
        statistic=figures.statistic_text,
        sparkline=_sparkline,
        alert_block=_alert_block,
        percent=lambda value: "-" if value is None else f"{value:+.1%}",
        figure=lambda value: "-" if value is None else f"{value:.4g}",
    )
    environment.globals.update(costs_page.GLOBALS)  # cost_table, budget_overview, ...
    environment.globals.update(changes_page.GLOBALS)  # risk_badge, change_cell, ...
    return environment


@jinja2.pass_context
def _url(context: jinja2.runtime.Context, target: str) -> str:
    return markdown.relative(context["page_path"], target)


@jinja2.pass_context
def _link(context: jinja2.runtime.Context, text: object, target: str) -> markdown.Markup:
    return markdown.link(text, markdown.relative(context["page_path"], target))


@jinja2.pass_context
def _tier_link(context: jinja2.runtime.Context, tier: Tier) -> markdown.Markup:
    return _link(context, f"Tier {tier.id}: {tier.name}", tier_page(tier.id))


@jinja2.pass_context
def _model_link(context: jinja2.runtime.Context, model: OperatingModel) -> markdown.Markup:
    return _link(context, model.name, f"{OPERATING_MODELS}#{model.id}")


@jinja2.pass_context
def _metric_link(context: jinja2.runtime.Context, metric_id: str) -> markdown.Markup:
    return _link(context, context["g"].metric(metric_id).name, f"{METRICS}#{metric_id}")


@jinja2.pass_context
def _role_link(context: jinja2.runtime.Context, role: Role) -> markdown.Markup:
    return _link(context, role.name, f"{ROLES}#{role.id}")


@jinja2.pass_context
def _agent_link(context: jinja2.runtime.Context, agent: Charter) -> markdown.Markup:
    return _link(context, agent.name, agent_page(agent.id))


@jinja2.pass_context
def _agent_links(
    context: jinja2.runtime.Context, agents: list[Charter], empty: str = "none yet"
) -> markdown.Markup:
    if not agents:
        return markdown.Markup(markdown.escape(empty))
    return markdown.Markup(", ".join(_agent_link(context, agent) for agent in agents))


def _person(person: Person) -> markdown.Markup:
    return markdown.Markup(f"{markdown.escape(person.name)} ({markdown.mailto(person.email)})")


@jinja2.pass_context
def _bound(context: jinja2.runtime.Context, kind: str, value: float, metric_id: str) -> str:
    return f"{kind} {_number(value)} {context['g'].metric(metric_id).unit}"


_READINESS_WORDS = {
    readiness.MET: "met",
    readiness.MISSING: "**missing**",
    readiness.TODO: "to do",
    readiness.NOT_APPLICABLE: "n/a",
}


@jinja2.pass_context
def _readiness_cell(context: jinja2.runtime.Context, row: dict[str, Any], item: Any) -> Any:
    """A readiness cell: the status, linked to where its evidence is; the detail as a tooltip."""
    word = _READINESS_WORDS[item.status]
    if item.status == readiness.NOT_APPLICABLE:
        return markdown.Markup(word)
    if item.rule == "minimum-metrics":
        target = METRICS
    elif item.rule == "policy" and item.status == readiness.MET and row["charter"] is not None:
        target = policy_page(row["charter"].policies[0])
    elif row["charter"] is not None:
        target = f"{agent_page(row['id'])}#{_EVIDENCE_ANCHORS.get(item.rule, 'owners')}"
    else:
        return markdown.Markup(f'<span title="{markdown.attribute(item.detail)}">{word}</span>')
    href = markdown.relative(context["page_path"], target)
    return markdown.Markup(f'[{word}]({href} "{markdown.attribute(item.detail)}")')


_EVIDENCE_ANCHORS = {
    "stop-condition": "stop-conditions",
    "reviewer": "owners",
    "policy": "policies-and-approvals",
    "two-person-approval": "policies-and-approvals",
    "audit-trail": "policies-and-approvals",
    "break-glass": "policies-and-approvals",
}


# Badge tones (extra.css colours each with AA contrast in light and dark schemes).
_STATUS_TONES = {
    "stop_condition": "critical",
    "guardrail_breach": "warning",
    "drift": "warning",
    "insufficient_data": "info",
    "ok": "ok",
}
_SEVERITY_TONES = {"critical": "critical", "warning": "warning"}
_PHASE_TONES = {"done": "ok", "late": "critical", "active": "info", "planned": "neutral"}
_CHECK_TONES = {"breached": "critical", "missed": "warning", "ok": "ok", "met": "ok"}
_VERDICT_TONES = {"drift": "warning", "ok": "ok", "improved": "ok"}
_TONES = {"critical", "warning", "info", "ok", "neutral"}


def badge(text: object, tone: str = "neutral") -> markdown.Markup:
    """A coloured label: `<span class="govkit-badge govkit-badge--TONE">text</span>`."""
    tone = tone if tone in _TONES else "neutral"
    return markdown.Markup(
        f'<span class="govkit-badge govkit-badge--{tone}">{markdown.escape(text)}</span>'
    )


def _counted(text: str, tone: str, count: int | None) -> markdown.Markup:
    """A badge, with a count before its text when given (a count of 0 is never coloured)."""
    if count is None:
        return badge(text, tone)
    return badge(f"{count} {text}", tone if count else "neutral")


def _status_badge(status: str, count: int | None = None) -> markdown.Markup:
    label = STATUS_LABELS.get(status, status)
    return _counted(label, _STATUS_TONES.get(status, "neutral"), count)


def _severity_badge(severity: str, count: int | None = None) -> markdown.Markup:
    return _counted(severity, _SEVERITY_TONES.get(severity, "neutral"), count)


def _phase_badge(state: str) -> markdown.Markup:
    return badge(state, _PHASE_TONES.get(state, "neutral"))


def _outcome_badge(tones: dict[str, str]) -> Any:
    """A badge for a check status or a verdict; insufficient data is information, not colour."""

    def outcome(value: str) -> markdown.Markup:
        return badge(value.replace("_", " "), tones.get(value, "info"))

    return outcome


@jinja2.pass_context
def _value_in(
    context: jinja2.runtime.Context, value: float | None, metric_id: str, n: int | None = None
) -> str:
    """A value in its metric's unit, or "no data" when its window had no task."""
    return figures.value_text(value, context["g"].metric(metric_id), n)


@jinja2.pass_context
def _change_in(context: jinja2.runtime.Context, finding: Any) -> str:
    """A finding's change from baseline to recent in the metric's unit, relative beside it; for
    a tail or spread test, the change of the share of tasks in percentage points."""
    if finding.aspect != "center":
        return figures.points_text(finding.effect)
    return figures.change_text(
        finding.baseline,
        finding.recent,
        context["g"].metric(finding.metric),
        n_baseline=finding.n_baseline,
        n_recent=finding.n_recent,
    )


@jinja2.pass_context
def _sparkline(
    context: jinja2.runtime.Context, agent: Charter, metric_id: str, tone: str = ""
) -> markdown.Markup:
    """The dashboard's sparkline of an agent's metric, from the last run's daily series."""
    monitor = context["monitor"]
    result = monitor.agents.get(agent.id) if monitor else None
    points = [point.to_json() for point in result.series.get(metric_id, [])] if result else []
    metric = context["g"].metric(metric_id)
    known = [p for p in points if p.get("value") is not None and p.get("n", 1) != 0]
    last = (
        f"last {figures.value_text(known[-1]['value'], metric)} on {known[-1]['day']}"
        if known
        else "no data"
    )
    title = f"{agent.name}: {metric.name}, daily; {last}"
    return sparkline_svg(points, title, tone if tone in _TONES else "")


@jinja2.pass_context
def _alert_block(context: jinja2.runtime.Context, alert: Any) -> markdown.Markup:
    """A firing alert as an admonition (see `playbook.handbook.alert_notes`)."""
    page = context["page_path"]
    return context["alert_notes"].admonition(alert, lambda target: markdown.relative(page, target))


def _number(value: float) -> str:
    return f"{value:g}"


def owners_of(charter: Charter) -> list[tuple[str, Any]]:
    """(charter field, person) for each owner a charter names, in role order."""
    owners = charter.owners
    named = [("agent_owner", owners.agent_owner), ("model_steward", owners.model_steward)]
    if owners.reviewer is not None:
        named.append(("reviewer", owners.reviewer))
    return named
