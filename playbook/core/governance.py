"""A loaded, validated organisation: every governance file as typed objects, with look-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playbook.core.charter import Charter
from playbook.core.errors import Problem
from playbook.core.model import Metric, OperatingModel, Organisation, Role, Rollout, Tier
from playbook.core.settings import MonitorSettings, Pricing, SourceSettings
from playbook.core.yamlsrc import YamlDocument

# The governance files every organisation has, and the key each keeps its list under.
ORGANISATION_FILE = "organisation.yaml"
OPERATING_MODELS_FILE = "operating-models.yaml"
TIERS_FILE = "tiers.yaml"
ROLES_FILE = "roles.yaml"
METRICS_FILE = "metrics.yaml"
ROLLOUT_FILE = "rollout.yaml"
MONITOR_FILE = "monitor.yaml"
SOURCES_FILE = "sources.yaml"
PRICING_FILE = "pricing.yaml"
AGENTS_DIR = "agents"


@dataclass
class Governance:
    """Everything under `governance/`, validated. Lists keep the order of their files."""

    root: Path
    organisation: Organisation
    operating_models: list[OperatingModel]
    tiers: list[Tier]
    roles: list[Role]
    metrics: list[Metric]
    rollout: Rollout
    agents: list[Charter]
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    sources: SourceSettings = field(default_factory=SourceSettings)
    pricing: Pricing = field(default_factory=Pricing)
    documents: dict[str, YamlDocument] = field(default_factory=dict, repr=False)
    agent_documents: list[YamlDocument] = field(default_factory=list, repr=False)
    # Charters still holding TODO placeholders where the schema needs a real value: listed, not
    # published, until their owner fills them in.
    drafts: list[YamlDocument] = field(default_factory=list, repr=False)
    # Charters with `status: retired`, in file order: kept for the registry, the agent's page,
    # whois and export; never in `agents`, so nothing monitors, budgets or counts them as active.
    retired: list[Charter] = field(default_factory=list)
    retired_documents: list[YamlDocument] = field(default_factory=list, repr=False)
    warnings: list[Problem] = field(default_factory=list, repr=False)
    readiness: dict[str, list[Any]] = field(default_factory=dict, repr=False)  # by file stem
    # playbook.policy.Policy by id
    policies: dict[str, Any] = field(default_factory=dict, repr=False)
    policy_results: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    # governance/incidents/<id>.yaml (playbook.core.incident.Incident), in file order
    incidents: list[Any] = field(default_factory=list)
    incident_documents: list[YamlDocument] = field(default_factory=list, repr=False)
    # governance/frameworks/*.yaml (playbook.core.framework.Framework), in file order
    frameworks: list[Any] = field(default_factory=list, repr=False)
    framework_documents: list[YamlDocument] = field(default_factory=list, repr=False)
    # people.yaml or people.csv when the organisation keeps a people directory (owner liveness)
    people_file: str | None = None

    def tier(self, tier_id: int) -> Tier:
        return next(tier for tier in self.tiers if tier.id == tier_id)

    def operating_model(self, model_id: str) -> OperatingModel:
        return next(model for model in self.operating_models if model.id == model_id)

    def metric(self, metric_id: str) -> Metric:
        return next(metric for metric in self.metrics if metric.id == metric_id)

    def role(self, role_id: str) -> Role:
        return next(role for role in self.roles if role.id == role_id)

    def agent(self, agent_id: str) -> Charter:
        return next(agent for agent in self.agents if agent.id == agent_id)

    @property
    def retired_ids(self) -> set[str]:
        """The ids of retired agents: their events are neither monitored nor uncharted."""
        return {charter.id for charter in self.retired}

    def charter(self, agent_id: str) -> Charter | None:
        """The charter of an agent, active or retired; None when no charter names it."""
        return next((a for a in [*self.agents, *self.retired] if a.id == agent_id), None)

    def agents_in_tier(self, tier_id: int) -> list[Charter]:
        return [agent for agent in self.agents if agent.tier == tier_id]

    def agents_with_model(self, model_id: str) -> list[Charter]:
        return [agent for agent in self.agents if agent.operating_model == model_id]

    @property
    def metric_ids(self) -> set[str]:
        return {metric.id for metric in self.metrics}

    def effect_floor(self, charter: Charter, metric_id: str) -> float:
        """The charter's floor for the metric, else the catalog's, else the kind's default."""
        own = self.own_effect_floor(charter, metric_id)
        if own is not None:
            return own
        return getattr(self.monitor.effect_floors, self.metric(metric_id).kind)

    def own_effect_floor(self, charter: Charter, metric_id: str) -> float | None:
        """A floor set for this metric by the charter, else by the catalog; None: the kind's
        default applies (and, for a rare rate, the rare-rate rule may lower it)."""
        if charter.monitor is not None and metric_id in charter.monitor.effect_floors:
            return charter.monitor.effect_floors[metric_id]
        return self.metric(metric_id).effect_floor
