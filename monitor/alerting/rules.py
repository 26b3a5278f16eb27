"""Thresholds, not tests: guardrails, stop conditions and the north star of each charter.

A guardrail compares the recent window's value with its `max` or `min`; a stop condition compares
the value over its own window, ending at `now`, with `above` or `below`; the north star's recent
value is reported against its target. Each needs `min_samples` tasks, like the drift tests.
"""

from __future__ import annotations

from monitor.engine.summary import WindowSummary
from playbook.core.charter import Charter
from playbook.core.governance import Governance
from playbook.core.windows import DEFAULT_RECENT, RECENT, stop_label
from playbook.results import (
    BREACHED,
    GUARDRAIL,
    INSUFFICIENT,
    MET,
    MISSED,
    NORTH_STAR,
    OK,
    STOP_CONDITION,
    CheckRecord,
)

Check = CheckRecord  # a threshold check is published as it is made: one definition


def _crossed(bound: str, value: float, threshold: float) -> bool:
    if bound in {"max", "above"}:
        return value > threshold
    return value < threshold


def evaluate_checks(
    governance: Governance,
    charter: Charter,
    stats: dict[tuple[str, str, str], WindowSummary],
    *,
    min_samples: int,
) -> list[Check]:
    checks: list[Check] = []
    recent_window = charter.monitor.recent if charter.monitor else DEFAULT_RECENT

    def measured(label: str, metric: str) -> tuple[float | None, int, bool]:
        found = stats.get((charter.id, label, metric))
        if found is None or found.value is None or found.n < min_samples:
            return (found.value if found else None), (found.n if found else 0), False
        return found.value, found.n, True

    for guardrail in charter.guardrails:
        bound, threshold = guardrail.bound
        value, n, enough = measured(RECENT, guardrail.metric)
        status = (
            INSUFFICIENT if not enough else BREACHED if _crossed(bound, value, threshold) else OK
        )  # type: ignore[arg-type]
        checks.append(
            Check(
                agent=charter.id,
                check=GUARDRAIL,
                metric=guardrail.metric,
                bound=bound,
                threshold=threshold,
                window=recent_window,
                value=value,
                n=n,
                status=status,
            )
        )
    for index, stop in enumerate(charter.stop_conditions):
        bound, threshold = stop.threshold
        value, n, enough = measured(stop_label(index), stop.metric)
        status = (
            INSUFFICIENT if not enough else BREACHED if _crossed(bound, value, threshold) else OK
        )  # type: ignore[arg-type]
        checks.append(
            Check(
                agent=charter.id,
                check=STOP_CONDITION,
                metric=stop.metric,
                bound=bound,
                threshold=threshold,
                window=stop.window,
                value=value,
                n=n,
                status=status,
                action=stop.action,
            )
        )
    north = charter.north_star
    value, n, enough = measured(RECENT, north.metric)
    if not enough:
        status = INSUFFICIENT
    else:
        lower_is_worse = governance.metric(north.metric).worse == "lower"
        met = value >= north.target if lower_is_worse else value <= north.target  # type: ignore[operator]
        status = MET if met else MISSED
    checks.append(
        Check(
            agent=charter.id,
            check=NORTH_STAR,
            metric=north.metric,
            bound="target",
            threshold=north.target,
            window=recent_window,
            value=value,
            n=n,
            status=status,
        )
    )
    return checks
