"""Where each generated page lives in the handbook (paths relative to the docs directory)."""

from __future__ import annotations

HOME = "index.md"
OPERATING_MODELS = "operating-models.md"
TIERS = "tiers/index.md"
ROLES = "roles.md"
ROLLOUT = "rollout.md"
METRICS = "metrics.md"
AGENTS = "agents/index.md"
READINESS = "readiness.md"
MONITOR = "monitor/index.md"
ALERTS = "monitor/alerts.md"
COSTS = "costs.md"
REVIEWS = "reviews/index.md"
CHANGELOG = "changelog.md"
INCIDENTS = "incidents.md"


def tier_page(tier_id: int) -> str:
    return f"tiers/tier-{tier_id}.md"


def agent_page(agent_id: str) -> str:
    return f"agents/{agent_id}.md"


def policy_page(policy_id: str) -> str:
    return f"policies/{policy_id}.md"


FRAMEWORKS = "frameworks/index.md"


def framework_page(framework_id: str) -> str:
    return f"frameworks/{framework_id}.md"


def monitoring_plan_page(agent_id: str) -> str:
    """An agent's EU AI Act Art. 72 post-market monitoring plan (tier 3 and above)."""
    return f"monitoring-plans/{agent_id}.md"
