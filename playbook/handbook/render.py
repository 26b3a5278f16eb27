"""Render the governance model into Markdown pages with the Jinja2 templates in `templates/`.

Rendering is pure: it returns `{page path: markdown}` and the site navigation; writing pages into a
staging directory and running the site builder is `playbook.handbook.site`'s job.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbook.core import readiness
from playbook.core.charter import Charter
from playbook.core.governance import Governance
from playbook.core.rollout_status import PhaseStatus, current_phase, rollout_status
from playbook.core.validate import REVIEWER_FROM_TIER
from playbook.handbook.alert_notes import INCIDENT_PAGE, AlertNotes
from playbook.handbook.crosswalk_pages import framework_nav, framework_plan
from playbook.handbook.incidents_page import incident_context
from playbook.handbook.monitoring_plan import has_plan
from playbook.handbook.page_helpers import make_environment, owners_of
from playbook.handbook.pages import (
    AGENTS,
    ALERTS,
    CHANGELOG,
    COSTS,
    FRAMEWORKS,
    HOME,
    INCIDENTS,
    METRICS,
    MONITOR,
    OPERATING_MODELS,
    READINESS,
    REVIEWS,
    ROLES,
    ROLLOUT,
    TIERS,
    agent_page,
    framework_page,
    monitoring_plan_page,
    policy_page,
    tier_page,
)
from playbook.handbook.status import build_moment, freshness, status_strip
from playbook.handbook.view import MonitorView, monitor_context
from playbook.handbook.workforce import workforce_context

if TYPE_CHECKING:
    from playbook.handbook.changes import History

__all__ = ["PhaseStatus", "Renderer", "owners_of", "rollout_status"]


class Renderer:
    """Renders every page of the handbook for one governance model and one `today`."""

    def __init__(
        self,
        governance: Governance,
        *,
        template_dir: Path,
        today: date,
        monitor: MonitorView | None = None,
        charts: dict[tuple[str, str], str] | None = None,
        hand_written: list[str] | None = None,
        history: History | None = None,
    ) -> None:
        self.governance = governance
        # The governance's change history from git (read here when not given: outside git the
        # pages say so); `changes.not_under_git(governance)` for pages independent of git.
        if history is None:  # git is read only when pages are rendered, not when imported
            from playbook.handbook.changes import read_changes

            history = read_changes(governance)
        self.history = history
        self.today = today
        self.monitor = monitor
        self.charts = charts or {}
        self.hand_written = hand_written or []  # the docs/ pages the site will have beside these
        self.environment = make_environment(template_dir)
        self.phases = rollout_status(governance.rollout, today)
        self._shared = self._shared_context()

    def pages(self, skip: Collection[str] = ()) -> dict[str, str]:
        """`{page path: markdown}` for every generated page but those in `skip` (`govkit serve`
        leaves the pages of unchanged charters alone)."""
        plan: list[tuple[str, str, dict[str, Any]]] = [
            (HOME, "home.md.j2", {}),
            (OPERATING_MODELS, "operating-models.md.j2", {}),
            (TIERS, "tiers.md.j2", {}),
            (ROLES, "roles.md.j2", {}),
            (ROLLOUT, "rollout.md.j2", {}),
            (METRICS, "metrics.md.j2", {}),
            (AGENTS, "agents.md.j2", {}),
            (READINESS, "readiness.md.j2", {}),
            (MONITOR, "monitor.md.j2", {}),
            (ALERTS, "alerts.md.j2", {}),
            (COSTS, "costs.md.j2", {}),
            (REVIEWS, "reviews.md.j2", {}),
            (INCIDENTS, "incidents.md.j2", {}),
            (
                CHANGELOG,
                "changelog.md.j2",
                {"agents_by_id": {a.id for a in self.governance.agents}},
            ),
        ]
        plan += [(tier_page(t.id), "tier.md.j2", {"tier": t}) for t in self.governance.tiers]
        plan += [(agent_page(a.id), "agent.md.j2", {"agent": a}) for a in self.governance.agents]
        # Retired agents keep their page (out of the navigation; the registry links them).
        plan += [(agent_page(a.id), "agent.md.j2", {"agent": a}) for a in self.governance.retired]
        plan += [
            (
                policy_page(policy_id),
                "policy.md.j2",
                {"policy": policy, "using": self._using(policy_id)},
            )
            for policy_id, policy in sorted(self.governance.policies.items())
        ]
        plan += framework_plan(self.governance, self.monitor)
        return {
            path: self._render(path, template, extra)
            for path, template, extra in plan
            if path not in skip
        }

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
                "Monitor": [
                    {"Dashboard": MONITOR},
                    {"Alerts": ALERTS},
                    {"Costs": COSTS},
                    {"Reviews": REVIEWS},
                ]
            },
            {"Incidents": INCIDENTS},
            {
                "Agents": [{"Registry": AGENTS}]
                + [{_nav_title(a.name): agent_page(a.id)} for a in governance.agents]
            },
        ]
        if governance.policies:
            nav.append(
                {"Policies": [{_nav_title(p): policy_page(p)} for p in sorted(governance.policies)]}
            )
        nav += framework_nav(governance, _nav_title)
        nav.append({"Changelog": CHANGELOG})
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
        monitor = self.monitor
        return {
            "g": governance,
            "org": governance.organisation,
            "today": self.today,
            "phases": self.phases,
            "current_phase": current_phase(self.phases),
            "strip": status_strip(governance, monitor, self.phases, self.today),
            "fresh": (
                freshness(monitor, governance.monitor, build_moment(monitor, self.today))
                if monitor
                else None
            ),
            "alert_notes": AlertNotes(
                governance,
                monitor.agents if monitor else {},
                incident_page=INCIDENT_PAGE in self.hand_written,
            ),
            "MONITOR": MONITOR,
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
            "ALERTS": ALERTS,
            "COSTS": COSTS,
            **monitor_context(governance, self.monitor, self.charts),
            **workforce_context(governance, self.monitor, self.today),
            "ROLLOUT": ROLLOUT,
            "OPERATING_MODELS": OPERATING_MODELS,
            "history": self.history,
            "CHANGELOG": CHANGELOG,
            "has_monitoring_plan": has_plan,
            "monitoring_plan_page": monitoring_plan_page,
            "framework_page": framework_page,
            "FRAMEWORKS": FRAMEWORKS,
            **incident_context(governance, monitor.actions if monitor else None, self.today),
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
