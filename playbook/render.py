"""Render the governance model into Markdown pages with the Jinja2 templates in `templates/`.

Rendering is pure: it returns `{page path: markdown}` and the site navigation; writing pages into a
staging directory and running the site builder is `playbook.site`'s job.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jinja2

from playbook import markdown, readiness
from playbook.governance import Governance
from playbook.model import Charter, OperatingModel, Person, Phase, Role, Rollout, Tier
from playbook.validate import REVIEWER_FROM_TIER

HOME = "index.md"
OPERATING_MODELS = "operating-models.md"
TIERS = "tiers/index.md"
ROLES = "roles.md"
ROLLOUT = "rollout.md"
METRICS = "metrics.md"
AGENTS = "agents/index.md"
READINESS = "readiness.md"


def tier_page(tier_id: int) -> str:
    return f"tiers/tier-{tier_id}.md"


def agent_page(agent_id: str) -> str:
    return f"agents/{agent_id}.md"


def policy_page(policy_id: str) -> str:
    return f"policies/{policy_id}.md"


@dataclass(frozen=True)
class PhaseStatus:
    phase: Phase
    start: date
    end: date
    state: str  # "done", "current" or "upcoming"
    delivered: int

    @property
    def total(self) -> int:
        return len(self.phase.deliverables)


def rollout_status(rollout: Rollout, today: date) -> list[PhaseStatus]:
    """Each phase with its calendar dates and where it stands relative to `today`."""
    rows = []
    for phase in rollout.phases:
        start, end = phase.dates(rollout.start_date)
        state = "done" if today > end else "current" if today >= start else "upcoming"
        delivered = sum(1 for item in phase.deliverables if item.done)
        rows.append(PhaseStatus(phase, start, end, state, delivered))
    return rows


def make_environment(template_dir: Path) -> jinja2.Environment:
    """A Jinja2 environment where every printed value is escaped for Markdown and HTML."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        finalize=markdown.escape,
        autoescape=False,  # escaping is `finalize`: Markdown needs more than HTML escaping
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


def _number(value: float) -> str:
    return f"{value:g}"


class Renderer:
    """Renders every page of the handbook for one governance model and one `today`."""

    def __init__(self, governance: Governance, *, template_dir: Path, today: date) -> None:
        self.governance = governance
        self.today = today
        self.environment = make_environment(template_dir)
        self.phases = rollout_status(governance.rollout, today)
        self._shared = self._shared_context()

    def pages(self) -> dict[str, str]:
        """`{page path: markdown}` for every generated page."""
        plan: list[tuple[str, str, dict[str, Any]]] = [
            (HOME, "home.md.j2", {}),
            (OPERATING_MODELS, "operating-models.md.j2", {}),
            (TIERS, "tiers.md.j2", {}),
            (ROLES, "roles.md.j2", {}),
            (ROLLOUT, "rollout.md.j2", {}),
            (METRICS, "metrics.md.j2", {}),
            (AGENTS, "agents.md.j2", {}),
            (READINESS, "readiness.md.j2", {}),
        ]
        plan += [(tier_page(t.id), "tier.md.j2", {"tier": t}) for t in self.governance.tiers]
        plan += [(agent_page(a.id), "agent.md.j2", {"agent": a}) for a in self.governance.agents]
        plan += [
            (
                policy_page(policy_id),
                "policy.md.j2",
                {"policy": policy, "using": self._using(policy_id)},
            )
            for policy_id, policy in sorted(self.governance.policies.items())
        ]
        return {path: self._render(path, template, extra) for path, template, extra in plan}

    def nav(self, extra_pages: list[str]) -> list[Any]:
        """MkDocs navigation: the generated pages, then hand-written pages in `extra_pages`."""
        governance = self.governance
        nav: list[Any] = [
            {"Home": HOME},
            {"Operating models": OPERATING_MODELS},
            {
                "Risk tiers": [{"Overview": TIERS}]
                + [
                    {_nav_title(f"Tier {t.id}: {t.name}"): tier_page(t.id)}
                    for t in governance.tiers
                ]
            },
            {"Roles": ROLES},
            {"Rollout plan": ROLLOUT},
            {"Metric catalog": METRICS},
            {"Tier readiness": READINESS},
            {
                "Agents": [{"Registry": AGENTS}]
                + [{_nav_title(a.name): agent_page(a.id)} for a in governance.agents]
            },
        ]
        if governance.policies:
            nav.append(
                {"Policies": [{_nav_title(p): policy_page(p)} for p in sorted(governance.policies)]}
            )
        if extra_pages:
            nav.append({"Guides": extra_pages})
        return nav

    def _render(self, path: str, template: str, extra: dict[str, Any]) -> str:
        context = self._context(path) | extra
        return self.environment.get_template(f"pages/{template}").render(context)

    def _context(self, path: str) -> dict[str, Any]:
        return {"page_path": path, **self._shared}

    def _shared_context(self) -> dict[str, Any]:
        """What every page sees; computed once per build, not once per page."""
        governance = self.governance
        current = next((row for row in self.phases if row.state == "current"), None)
        return {
            "g": governance,
            "org": governance.organisation,
            "today": self.today,
            "phases": self.phases,
            "current_phase": current,
            "role_for": self._role_for,
            "reviewer_from_tier": REVIEWER_FROM_TIER,
            "describe_compute": self._describe_compute,
            "agents_by_tier": {t.id: governance.agents_in_tier(t.id) for t in governance.tiers},
            "agents_by_model": {
                m.id: governance.agents_with_model(m.id) for m in governance.operating_models
            },
            "day_after": lambda day: day + timedelta(days=1),
            "ROLES": ROLES,
            "TIERS": TIERS,
            "METRICS": METRICS,
            "AGENTS": AGENTS,
            "rules": readiness.RULES,
            "readiness_rows": self._readiness_rows(),
            "drafts": governance.drafts,
            "ROLLOUT": ROLLOUT,
            "OPERATING_MODELS": OPERATING_MODELS,
        }

    def _readiness_rows(self) -> list[dict[str, Any]]:
        governance = self.governance
        rows = []
        charters = {agent.id: agent for agent in governance.agents}
        for stem, items in sorted(governance.readiness.items()):
            charter = charters.get(stem)
            document = next((d for d in governance.drafts if d.path.stem == stem), None)
            name = (
                charter.name
                if charter
                else str((document.data if document else {}).get("name", stem))
            )
            tier = charter.tier if charter else (document.data if document else {}).get("tier")
            rows.append(
                {"id": stem, "charter": charter, "name": name, "tier": tier, "checks": items}
            )
        return rows

    def _using(self, policy_id: str) -> list[Charter]:
        return [agent for agent in self.governance.agents if policy_id in agent.policies]

    def _role_for(self, charter_field: str) -> Any:
        return next(r for r in self.governance.roles if r.charter_field == charter_field)

    def _describe_compute(self, metric_id: str) -> str:
        metric = self.governance.metric(metric_id)
        if not metric.from_events:
            return f"reported manually: {metric.how_reported}"
        compute = metric.compute
        assert compute is not None
        where = " and ".join(f"{k} = {_yaml_value(v)}" for k, v in (compute.where or {}).items())
        summed = " + ".join(compute.sum or [])
        describe: dict[str, Callable[[], str]] = {
            "proportion": lambda: f"share of tasks where {where}",
            "continuous": lambda: f"per task: {summed}",
            "ratio": lambda: f"({summed}) summed over tasks / number of tasks where {where}",
            "count": lambda: f"tasks per day where {where}",
        }
        return describe[metric.kind]()


def _nav_title(title: str) -> str:
    # Themes print nav titles as HTML; YAML-sourced ones must arrive escaped.
    return html.escape(" ".join(title.split()), quote=False)


def _yaml_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def owners_of(charter: Charter) -> list[tuple[str, Any]]:
    """(charter field, person) for each owner a charter names, in role order."""
    owners = charter.owners
    named = [("agent_owner", owners.agent_owner), ("model_steward", owners.model_steward)]
    if owners.reviewer is not None:
        named.append(("reviewer", owners.reviewer))
    return named
