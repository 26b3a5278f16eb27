"""Findings: each monitored (agent, metric, aspect) tested, q-values across the run, a verdict.

A finding is published as it is made (`playbook.results.Finding`): one per aspect a metric's tests
cover (`center`; for a continuous metric also `tail` and `spread` where its bins allow), or one
`center` finding with verdict `insufficient_data` when either window holds too few tasks.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from monitor.engine import stats
from monitor.engine.summary import WindowSummary
from playbook import results
from playbook.core.charter import Charter
from playbook.core.governance import Governance
from playbook.core.windows import BASELINE, RECENT, charter_windows

WEEK = timedelta(days=7)


def _clean(value: float | None) -> float | None:
    """JSON has no infinity or NaN: such figures are reported as null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def drift_findings(
    governance: Governance, window_stats: dict[tuple[str, str, str], WindowSummary]
) -> list[dict[str, Any]]:
    """Test every monitored (agent, metric); BH across the run; verdict with the effect floor."""
    settings = governance.monitor
    findings: list[dict[str, Any]] = []
    tested: list[tuple[dict[str, Any], stats.TestResult]] = []
    for charter in governance.agents:
        if charter.monitor is None:
            continue
        for metric_id in charter.monitor.metrics:
            metric = governance.metric(metric_id)
            base = window_stats[(charter.id, BASELINE, metric_id)]
            recent = window_stats[(charter.id, RECENT, metric_id)]
            common: dict[str, Any] = {
                "agent": charter.id,
                "metric": metric_id,
                "kind": metric.kind,
                "aspect": stats.CENTER,
                "test": None,
                "baseline": _clean(base.value),
                "recent": _clean(recent.value),
                "n_baseline": base.n,
                "n_recent": recent.n,
                "statistic": None,
                "p_value": None,
                "q_value": None,
                "effect": None,
                "floor": governance.effect_floor(charter, metric_id),
                "verdict": results.INSUFFICIENT,
            }
            if not stats.has_enough(base, recent, settings.min_samples):
                findings.append(common)
                continue
            own_floor = governance.own_effect_floor(charter, metric_id)
            for result in stats.drift_tests(base, recent, worse=metric.worse):
                finding = common | {
                    "aspect": result.aspect,
                    "test": result.test,
                    "statistic": _clean(result.statistic),
                    "p_value": result.p_value,
                    "effect": result.effect,
                    "floor": stats.effect_floor(
                        result,
                        floor=common["floor"],
                        floors=settings.effect_floors,
                        rare_rule=own_floor is None,
                    ),
                }
                findings.append(finding)
                tested.append((finding, result))
    p_values = [r.p_value if r.p_value is not None else 1.0 for _, r in tested]
    for (finding, result), q in zip(tested, stats.benjamini_hochberg(p_values), strict=True):
        metric = governance.metric(finding["metric"])
        finding["q_value"] = q
        finding["verdict"] = stats.verdict(
            finding["effect"] if finding["effect"] is not None else 0.0,
            q,
            fdr=settings.fdr,
            floor=finding["floor"],
            worse=metric.worse,
            consistent=result.consistent,
            aspect=result.aspect,
        )
        finding["effect"] = _clean(finding["effect"])
    return findings


def weekday_warnings(charters: list[Charter], now: Any) -> list[str]:
    """A warning per monitored charter whose recent or baseline window is not a whole number of
    weeks: its weekday mix differs from the other window's, and weekly seasonality (quiet
    weekends) can then read as drift or hide one."""
    warnings = []
    for charter in charters:
        if charter.monitor is None:
            continue
        lengths = {w.label: w.end - w.start for w in charter_windows(charter, now)}
        odd = [
            f"{label} window {_days(lengths[label])}"
            for label in (RECENT, BASELINE)
            if label in lengths and lengths[label] % WEEK
        ]
        if odd:
            warnings.append(
                f"{charter.id}: {' and '.join(odd)}, not whole weeks: the windows mix weekdays "
                "differently, so weekly seasonality may bias its drift tests (use 7d, 14d, "
                "28d, ...)"
            )
    return warnings


def _days(length: timedelta) -> str:
    days = length / timedelta(days=1)
    return f"{days:g} days" if days == int(days) else f"{days:.2f} days"
