"""`govkit charter new`: write a charter scaffold for an agent, with what its tier demands.

The scaffold comes from `templates/charter/charter.yaml.j2`: every field the tier needs is present,
commented, and `TODO` stands where only the owner can answer. It must load (as a draft, with
warnings) before it is kept: a scaffold that would not is refused and nothing is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2

from playbook.core import resources
from playbook.core.errors import UsageError, ValidationFailed, display_path, unknown_choice
from playbook.core.governance import AGENTS_DIR, Governance
from playbook.core.types import AGENT_ID_PATTERN, EMAIL_PATTERN
from playbook.core.validate import REVIEWER_FROM_TIER
from playbook.policy import load_governance

_CONTACT = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>]+)>\s*$")
_CADENCE_BY_TIER = {0: "quarterly", 1: "monthly", 2: "monthly", 3: "weekly", 4: "weekly"}


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


def parse_contact(text: str, option: str) -> Contact:
    """`Name <email>` as an owner, steward or reviewer."""
    match = _CONTACT.match(text)
    if not match or not EMAIL_PATTERN.match(match.group("email")):
        raise UsageError(f'{option}: expected "Name <name@example.org>" but received {text!r}')
    return Contact(match.group("name"), match.group("email"))


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.template_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML, not HTML: user text goes through the `yaml` filter
    )
    environment.filters["yaml"] = lambda value: json.dumps(str(value))  # a JSON string is YAML
    environment.filters["oneline"] = lambda value: " ".join(str(value).split())
    return environment


def render_charter(
    governance: Governance,
    *,
    agent_id: str,
    tier: int,
    operating_model: str,
    owner: Contact,
    steward: Contact,
    reviewer: Contact | None,
) -> str:
    tier_spec = governance.tier(tier)
    computable = [m for m in tier_spec.minimum_metrics if governance.metric(m).from_events]
    north_star = (
        "task_success_rate" if "task_success_rate" in governance.metric_ids else computable[0]
    )
    return (
        _environment()
        .get_template("charter/charter.yaml.j2")
        .render(
            id=agent_id,
            tier=tier_spec,
            model=governance.operating_model(operating_model),
            owner=owner,
            steward=steward,
            reviewer=reviewer,
            reviewer_from_tier=REVIEWER_FROM_TIER,
            north_star_metric=north_star,
            monitor_metrics=computable or [north_star],
            cadence=_CADENCE_BY_TIER.get(tier, "monthly"),
        )
    )


def new_charter(
    governance_dir: Path,
    *,
    agent_id: str,
    tier: int,
    operating_model: str,
    owner: Contact,
    steward: Contact,
    reviewer: Contact | None,
    today: date,
) -> Path:
    """Write `agents/<id>.yaml` and check that the organisation still loads; return its path."""
    if not AGENT_ID_PATTERN.match(agent_id):
        raise UsageError(
            f"ID: expected lowercase letters, digits and '-', starting with a letter or digit, "
            f"but received {agent_id!r}"
        )
    governance = load_governance(governance_dir, today=today)
    known_tiers = [t.id for t in governance.tiers]
    if tier not in known_tiers:
        raise UsageError(f"--tier: expected one of {known_tiers} but received {tier}")
    models = [m.id for m in governance.operating_models]
    if operating_model not in models:
        message = unknown_choice("operating model", operating_model, models)
        raise UsageError(f"--operating-model: {message}")
    target = governance_dir / AGENTS_DIR / f"{agent_id}.yaml"
    if target.exists():
        raise UsageError(
            f"{display_path(target)}: a charter for {agent_id!r} already exists; "
            "nothing was written"
        )
    text = render_charter(
        governance,
        agent_id=agent_id,
        tier=tier,
        operating_model=operating_model,
        owner=owner,
        steward=steward,
        reviewer=reviewer,
    )
    try:
        with target.open("x", encoding="utf-8") as out:  # never replaces an existing charter
            out.write(text)
    except FileExistsError:
        raise UsageError(f"{display_path(target)}: already exists; nothing was written") from None
    try:
        load_governance(governance_dir, today=today)
    except ValidationFailed:
        target.unlink()
        raise
    return target
