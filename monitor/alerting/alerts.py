"""Alerts as Prometheus Alertmanager has them: a label set identifies one, annotations explain it.

`MetricDrift` (warning) comes from a drift verdict, `GuardrailBreach` (warning) and `StopCondition`
(critical, with the charter's action) from threshold checks, `BudgetOverrun` from a month's spend
(`monitor.alerting.budget`), `UnknownAgents` (warning, no agent label) from events that mostly
belong to agents without a charter (`UnchartedAgent`, one per such agent however few its tasks,
and `ReviewOverdue` are `monitor.alerting.workforce`'s). The fingerprint is a stable hash of the
labels, so the same condition on the next run is the same alert.

Annotations speak plainly first: `summary` is one sentence a person acts on ("Rollback rate 10.5%
over the last 7 days, above the stop limit of 2% — escalate to the agent owner"), with values in
the metric's unit and the relative change beside them; `description` gives the figures;
`statistics` holds the test, p, q and sample sizes, for a details block.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.alerting.rules import BREACHED, GUARDRAIL, STOP_CONDITION, Check
from playbook.core.charter import DEFAULT_RECENT, Charter
from playbook.core.clock import iso
from playbook.core.costs import window_words
from playbook.core.errors import close_matches
from playbook.core.governance import Governance
from playbook.core.model import Metric
from playbook.results import DRIFT, AlertRecord

METRIC_DRIFT = "MetricDrift"
GUARDRAIL_BREACH = "GuardrailBreach"
STOP = "StopCondition"
UNKNOWN_AGENTS = "UnknownAgents"
# More than this share of the well-formed rows belonging to agents without a charter means the
# monitor is looking at the wrong data (or the charters are missing): it must not look healthy.
AGENT_ID_CUTOFF = 0.8  # `support-bot` is not `support-replies` (0.69)
UNKNOWN_AGENTS_SHARE = 0.5
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "not set" for endsAt


def fingerprint(labels: dict[str, str]) -> str:
    encoded = json.dumps(labels, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:16]


@dataclass(frozen=True)
class Condition:
    """One alertable condition evaluated by a run: active (should fire) or cleared."""

    labels: dict[str, str]
    annotations: dict[str, str]
    active: bool

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)


@dataclass
class Alert:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    status: str
    starts_at: datetime
    ends_at: datetime | None = None

    def record(self) -> AlertRecord:
        """The alert as published (report, snapshot, state: one JSON shape)."""
        return AlertRecord(
            fingerprint=self.fingerprint,
            status=self.status,
            labels=self.labels,
            annotations=self.annotations,
            startsAt=iso(self.starts_at),
            endsAt=iso(self.ends_at),
        )

    def to_json(self) -> dict[str, Any]:
        return self.record().to_json()


CENTER = "center"
ASPECT_REGIONS = {
    "tail": "beyond the baseline's 5% {side} values",
    "spread": "outside the baseline's central 80%",
}
MINUS = "\u2212"  # a real minus sign in the texts people read
STOP_ACTIONS = {
    "pause": "pause the agent",
    "rollback": "roll back the agent's changes",
    "escalate": "escalate to the agent owner, {owner}",
}
BOUND_WORDS = {
    "max": "above the guardrail maximum of",
    "min": "below the guardrail minimum of",
    "above": "above the stop limit of",
    "below": "below the stop limit of",
}


def _labels(alertname: str, charter: Charter, metric: str, severity: str) -> dict[str, str]:
    return {
        "alertname": alertname,
        "agent": charter.id,
        "metric": metric,
        "severity": severity,
        "tier": str(charter.tier),
    }


def agent_annotations(
    governance: Governance,
    charter: Charter,
    summary: str,
    description: str,
    action: str,
    statistics: str = "",
) -> dict[str, str]:
    """An agent's alert annotations: `summary` (plain words first), `description` (the figures),
    `statistics` (the test or count behind it, for a details block), owners, action, page."""
    owners = charter.owners
    base = governance.monitor.handbook_url
    page = f"agents/{charter.id}/"
    return {
        "summary": summary,
        "description": description,
        "statistics": statistics,
        "owner": owners.agent_owner.name,
        "owner_email": owners.agent_owner.email,
        "steward": owners.model_steward.name,
        "steward_email": owners.model_steward.email,
        "action": action,
        "handbook_url": f"{base.rstrip('/')}/{page}" if base else page,
    }


# --- figures in words --------------------------------------------------------------------------


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def signed(text: str, value: float) -> str:
    """`text` (a magnitude) with the sign of `value`: `+2.1 s`, `\u22120.5`."""
    return f"{MINUS if value < 0 else '+'}{text}"


def _is_share(metric: Metric) -> bool:
    return metric.kind == "proportion" or metric.unit.startswith("share")


def significant(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant digits, never in exponent form, trailing zeros dropped:
    `4.56`, `0.0456`, `12,345`, `2`."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    places = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def in_unit(metric: Metric, value: float | None, *, change: bool = False) -> str:
    """A value (or, `change`, a difference, to two significant digits) in the metric's unit:
    `10.5%` (`+10 points`), `$1.27`, `2.4 s`, `4.4` for a score, `3 attempts per day`."""
    if value is None or not math.isfinite(value):
        return "n/a"
    digits = 2 if change else 3
    size = abs(value) if change else value
    if _is_share(metric):
        text = f"{significant(size * 100, digits)}{' points' if change else '%'}"
    elif metric.unit == "USD":
        text = f"${size:,.2f}" if abs(size) >= 1 else f"${significant(size, digits)}"
    elif metric.unit in {"seconds", "minutes"}:
        text = f"{significant(size, digits)} {'s' if metric.unit == 'seconds' else 'min'}"
    elif metric.unit.startswith("score"):
        text = significant(size, digits)
    else:
        text = f"{significant(size, digits)} {metric.unit}"
    return signed(text, value) if change else text


def relative(now: float | None, before: float | None) -> str | None:
    """The relative change `+12%` / `\u221211%` (one decimal under 10%), None without a base."""
    if now is None or before is None or before == 0:
        return None
    share = (now - before) / abs(before)
    digits = 1 if abs(share) < 0.1 else 0
    return signed(f"{abs(share) * 100:,.{digits}f}%", share)


def _change_words(metric: Metric, now: float | None, before: float | None) -> str:
    """`+10 points, +3,400%`: the difference in the unit, the relative change beside it."""
    if now is None or before is None:
        return ""
    parts = [in_unit(metric, now - before, change=True)]
    if (share := relative(now, before)) is not None:
        parts.append(share)
    return ", ".join(parts)


def _change(metric: Metric, now: float | None, before: float | None) -> str:
    words = _change_words(metric, now, before)
    return f" ({words})" if words else ""


def _beyond(metric: Metric, value: float | None, limit: float) -> str:
    """` by 8.5 points (+425%)`: how far past a limit, in the unit and relative to it."""
    if value is None:
        return ""
    by = in_unit(metric, abs(value - limit), change=True).removeprefix("+")
    share = relative(value, limit)
    return f" by {by}" + (f" ({share})" if share else "")


# --- MetricDrift -------------------------------------------------------------------------------


def drift_condition(
    governance: Governance, charter: Charter, findings: list[dict[str, Any]], *, active: bool
) -> Condition:
    """One alert per (agent, metric), whichever aspects of it drifted: the labels (and so the
    fingerprint) are the metric's; the description says which aspects moved and how."""
    metric = governance.metric(findings[0]["metric"])
    drifted = [f for f in findings if f["verdict"] == DRIFT]
    center = next((f for f in findings if f.get("aspect", CENTER) == CENTER), findings[0])
    others = [f for f in drifted if f.get("aspect", CENTER) != CENTER]
    lead = center if center in drifted or not others else others[0]
    window = window_words(charter.monitor.recent if charter.monitor else DEFAULT_RECENT)
    if lead is center:
        summary = f"{_moved(metric, center)} over the last {window}"
    else:
        summary = f"{metric.name} drifted in its {lead['aspect']} over the last {window}: " + (
            _aspect_shift(metric, lead)
        )
    parts = [_center_sentence(charter, metric, center, window)]
    parts += [f"Its {f['aspect']}: {_aspect_shift(metric, f)}." for f in others]
    statistics = "; ".join(_test(f) for f in [center, *others] if f.get("test"))
    return Condition(
        _labels(METRIC_DRIFT, charter, metric.id, "warning"),
        agent_annotations(governance, charter, summary, " ".join(parts), "investigate", statistics),
        active,
    )


def _moved(metric: Metric, finding: dict[str, Any]) -> str:
    """`Customer feedback fell from 4.4 to 3.9 (\u22120.5, \u221211%)`."""
    before, now = finding["baseline"], finding["recent"]
    if before is None or now is None:
        return f"{metric.name} drifted"
    verb = "rose" if now > before else "fell" if now < before else "stayed at"
    if verb == "stayed at":
        return f"{metric.name} stayed at {in_unit(metric, now)}"
    return (
        f"{metric.name} {verb} from {in_unit(metric, before)} to {in_unit(metric, now)}"
        f"{_change(metric, now, before)}"
    )


def _test(finding: dict[str, Any]) -> str:
    aspect = finding.get("aspect", CENTER)
    return (
        f"{aspect}: {finding['test']} p={_figure(finding['p_value'])}, "
        f"q={_figure(finding['q_value'])}, n={finding['n_baseline']:,} baseline / "
        f"{finding['n_recent']:,} recent"
    )


def _center_sentence(charter: Charter, metric: Metric, finding: dict[str, Any], window: str) -> str:
    return (
        f"{charter.name}: {metric.name} was {in_unit(metric, finding['recent'])} over the last "
        f"{window} ({finding['n_recent']:,} tasks) against {in_unit(metric, finding['baseline'])} "
        f"in its baseline ({finding['n_baseline']:,} tasks){_difference(metric, finding)}. "
        f"Worse when {metric.worse}."
    )


def _difference(metric: Metric, finding: dict[str, Any]) -> str:
    """`: +3.7 points, +423%` (nothing when either value is missing)."""
    words = _change_words(metric, finding["recent"], finding["baseline"])
    return f": {words}" if words else ""


def _aspect_shift(metric: Metric, finding: dict[str, Any]) -> str:
    side = "lowest" if metric.worse == "lower" else "highest"
    region = ASPECT_REGIONS[finding["aspect"]].format(side=side)
    effect = finding["effect"]
    shift = (
        "n/a" if effect is None else signed(f"{significant(abs(effect) * 100, 2)} points", effect)
    )
    return f"the share of tasks {region} changed by {shift}"


# --- GuardrailBreach and StopCondition ---------------------------------------------------------


def check_condition(governance: Governance, charter: Charter, check: Check) -> Condition | None:
    """`Rollback rate 10.5% over the last 7 days, above the stop limit of 2% \u2014 escalate to
    the agent owner`: the value in the metric's unit, the limit, what to do."""
    if check.check not in {GUARDRAIL, STOP_CONDITION}:
        return None
    metric = governance.metric(check.metric)
    if check.check == GUARDRAIL:
        alertname, severity, action = GUARDRAIL_BREACH, "warning", "investigate"
        todo = "investigate"
    else:
        alertname, severity, action = STOP, "critical", check.action or "pause"
        todo = STOP_ACTIONS.get(action, action).format(owner=charter.owners.agent_owner.name)
    limit = f"{BOUND_WORDS[check.bound]} {in_unit(metric, check.threshold)}"
    value = in_unit(metric, check.value)
    window = window_words(check.window)
    summary = f"{metric.name} {value} over the last {window}, {limit} \u2014 {todo}"
    description = (
        f"{charter.name}: {metric.name} was {value} over the last {window} ({check.n:,} tasks), "
        f"{limit}{_beyond(metric, check.value, check.threshold)}."
    )
    statistics = f"n={check.n:,} tasks over {check.window}; value {_figure(check.value)}"
    return Condition(
        _labels(alertname, charter, metric.id, severity),
        agent_annotations(governance, charter, summary, description, action, statistics),
        check.status == BREACHED,
    )


def likely_meant(agent: str, governance: Governance) -> list[str]:
    """Charter ids an unknown agent id most likely means: `Refunds`, `refunds-v2` for `refunds`
    (closer than `did_you_mean`'s rule: a new agent's id often shares a word with another's)."""
    return close_matches(agent, [charter.id for charter in governance.agents], AGENT_ID_CUTOFF)


def _meant(names: dict[str, int], governance: Governance) -> str:
    """` Close to a charter's id: 'Refunds' (did you mean 'refunds'?).` or nothing."""
    hints = [
        f"{name!r} (did you mean {' or '.join(repr(i) for i in close)}?)"
        for name in names
        if (close := likely_meant(name, governance))
    ]
    return f" Close to a charter's id: {', '.join(hints)}." if hints else ""


def unknown_agents_condition(
    governance: Governance, *, share: float, rows: int, names: dict[str, int]
) -> Condition:
    """Active when more than UNKNOWN_AGENTS_SHARE of the well-formed rows have no charter."""
    listed = ", ".join(f"{name} ({count:,})" for name, count in names.items()) or "none"
    base = governance.monitor.handbook_url
    return Condition(
        {"alertname": UNKNOWN_AGENTS, "severity": "warning"},
        {
            "summary": f"{share:.0%} of the events belong to agents without a charter",
            "description": (
                f"{rows:,} well-formed rows name an agent no charter has (most frequent: "
                f"{listed}); the monitor cannot watch them.{_meant(names, governance)} Map traced "
                "names to charter ids in sources.yaml, fix the events' agent column, or write "
                "their charters."
            ),
            "action": "investigate",
            "handbook_url": f"{base.rstrip('/')}/monitor/" if base else "monitor/",
        },
        share > UNKNOWN_AGENTS_SHARE,
    )
