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
from playbook.core.costs import BUCKETS, Month
from playbook.core.model import OperatingModel, Role, Tier
from playbook.handbook.pages import (
    METRICS,
    OPERATING_MODELS,
    ROLES,
    agent_page,
    policy_page,
    tier_page,
)
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
        cost_table=_cost_table,
        percent=lambda value: "-" if value is None else f"{value:+.1%}",
        figure=lambda value: "-" if value is None else f"{value:.4g}",
    )
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


def _status_badge(status: str) -> markdown.Markup:
    label = STATUS_LABELS.get(status, status)
    strong = status in {"stop_condition", "guardrail_breach", "drift"}
    return markdown.Markup(f"**{markdown.escape(label)}**" if strong else markdown.escape(label))


def _cost_table(months: list[Month]) -> markdown.Markup:
    """Month by month: tasks, successes, cost per success by bucket, total, budget variance."""
    lines = [
        "| Month | Tasks | Successes | Inference / success | Tooling / success | "
        "Human / success | Total / success | Spend | Budget variance |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for month in months:
        cells = [month.month, f"{month.tasks:,}", f"{month.successes:,}"]
        cells += [_usd(month.per_success(bucket)) for bucket in (*BUCKETS, None)]
        cells.append(_usd(month.total))
        variance = month.variance
        cells.append("no budget" if variance is None else f"{variance:+,.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return markdown.Markup("\n".join(lines))


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _number(value: float) -> str:
    return f"{value:g}"


def owners_of(charter: Charter) -> list[tuple[str, Any]]:
    """(charter field, person) for each owner a charter names, in role order."""
    owners = charter.owners
    named = [("agent_owner", owners.agent_owner), ("model_steward", owners.model_steward)]
    if owners.reviewer is not None:
        named.append(("reviewer", owners.reviewer))
    return named
