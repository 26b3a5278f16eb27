"""Where the framework pages go: a crosswalk page per framework catalogue, an overview, and an
EU AI Act Art. 72 post-market monitoring plan for each agent of tier 3 and above."""

from __future__ import annotations

from typing import Any

from playbook.core.governance import Governance
from playbook.handbook.crosswalk import crosswalk
from playbook.handbook.monitoring_plan import has_plan, plan_context
from playbook.handbook.pages import FRAMEWORKS, framework_page, monitoring_plan_page

Plan = list[tuple[str, str, dict[str, Any]]]


def framework_plan(governance: Governance, monitor: Any) -> Plan:
    """(page, template, extra context) of every framework page and monitoring plan."""
    plan: Plan = []
    if governance.frameworks:
        walks = [crosswalk(governance, framework, monitor) for framework in governance.frameworks]
        plan.append((FRAMEWORKS, "frameworks.md.j2", {"walks": walks}))
        plan += [(framework_page(w.framework.id), "crosswalk.md.j2", {"walk": w}) for w in walks]
    plan += [
        (
            monitoring_plan_page(agent.id),
            "monitoring-plan.md.j2",
            {"agent": agent, **plan_context(governance, agent)},
        )
        for agent in governance.agents
        if has_plan(agent)
    ]
    return plan


def framework_nav(governance: Governance, title: Any) -> list[Any]:
    """The navigation entries: frameworks, then the monitoring plans. `title` escapes a title."""
    nav: list[Any] = []
    if governance.frameworks:
        nav.append(
            {
                "Frameworks": [{"Overview": FRAMEWORKS}]
                + [{title(f.name): framework_page(f.id)} for f in governance.frameworks]
            }
        )
    plans = [agent for agent in governance.agents if has_plan(agent)]
    if plans:
        nav.append(
            {
                "Monitoring plans": [
                    {title(agent.name): monitoring_plan_page(agent.id)} for agent in plans
                ]
            }
        )
    return nav
