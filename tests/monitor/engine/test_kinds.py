"""The engine bins values exactly as `bin_codes` does, so tests on histograms from SQL mean what
the simulations (which bin in numpy) showed."""

from __future__ import annotations

import ibis
import numpy as np

from monitor.engine.kinds import bin_expression
from monitor.engine.summary import BINS_PER_DECADE, Histogram, bin_codes, bin_floor


def _values() -> np.ndarray:
    rng = np.random.default_rng(12)
    edges = 10.0 ** (np.arange(-6 * BINS_PER_DECADE, 12 * BINS_PER_DECADE, 37) / BINS_PER_DECADE)
    return np.concatenate([
        rng.lognormal(1.0, 2.0, 5_000),
        -rng.lognormal(0.0, 1.0, 500),
        rng.integers(0, 6, 500).astype(float),  # 1-5 scores and zeros: whole numbers
        [0.0, -0.0, 1e-9, -1e-9, 1e-6, 1e11, 9.99e11, 1.0, 10.0, 100.0, 0.1, 0.01],
        edges, -edges,
    ])  # fmt: skip


def test_the_sql_bins_are_the_numpy_bins():
    values = _values()
    table = ibis.memtable({"value": values})
    binned = table.select(code=bin_expression(table.value)).to_pyarrow()
    assert binned.column("code").to_pylist() == bin_codes(values).tolist()


def test_bins_keep_the_order_of_values_and_a_bin_is_2_3_percent_wide():
    values = np.sort(_values())
    codes = bin_codes(values)
    assert (np.diff(codes) >= 0).all()
    assert bin_codes(np.array([0.0]))[0] == 0
    positive = [c for c in np.unique(codes) if c > 1]
    widths = [bin_floor(c + 1) / bin_floor(c) for c in positive[:50]]
    assert np.allclose(widths, 10 ** (1 / BINS_PER_DECADE))  # 1.0233: 2.3% per bin
    for value in (0.004, 1.0, 3.7, 250.0):
        assert bin_floor(int(bin_codes(np.array([value]))[0])) <= value


def test_a_histogram_counts_every_value_once():
    values = _values()
    histogram = Histogram.of(values)
    assert histogram.total == len(values)
    assert list(histogram.codes) == sorted(set(bin_codes(values).tolist()))


def test_a_metric_computed_like_a_base_figure_is_one_aggregate():
    """The pass groups 10M rows by ~40 aggregates; those written alike are computed once."""
    from monitor.engine.kinds import KINDS, Columns, part
    from monitor.engine.summaries import _distinct, base_aggregates
    from playbook.policy import load_governance
    from tests.conftest import EXAMPLE_GOVERNANCE

    governance = load_governance(EXAMPLE_GOVERNANCE)
    table = ibis.table({"agent": "string", "outcome": "string", "reworked": "boolean",
                        "policy_hit": "boolean", "rolled_back": "boolean",
                        "customer_feedback": "float64", "reviewer_minutes": "float64",
                        "cost_usd": "float64", "tooling_cost_usd": "float64",
                        "human_cost_usd": "float64"}, name="events")  # fmt: skip
    columns = Columns(table, set(table.columns))
    aggregates = base_aggregates(table)
    for metric_id in ("task_success_rate", "rework_rate", "rollback_rate", "latency_s"):
        metric = governance.metric(metric_id)
        aggregates |= KINDS[metric.kind].aggregates(metric, columns)
    computed, copies = _distinct(aggregates)

    success, rework = governance.metric("task_success_rate"), governance.metric("rework_rate")
    rollback = governance.metric("rollback_rate")
    assert copies[part(success, "k")] == "successes"
    assert copies[part(rework, "n")] == "rework_known"
    assert copies[part(rework, "k")] == "reworked"
    assert copies[part(rollback, "k")] == "rolled_back"
    assert set(computed) | set(copies) == set(aggregates)
    assert not set(computed) & set(copies)


def test_an_aggregate_is_named_by_what_it_computes_however_often_governance_is_loaded():
    """Names are remembered per metric object (a run asks ~10,000 times): a scheduler loading the
    governance again for every run must get the same names, and never another metric's."""
    from monitor.engine import kinds
    from playbook.policy import load_governance
    from tests.conftest import EXAMPLE_GOVERNANCE

    first = load_governance(EXAMPLE_GOVERNANCE)
    names = {metric.id: kinds.part(metric, "n") for metric in first.metrics}
    for _ in range(3):
        again = load_governance(EXAMPLE_GOVERNANCE)
        assert {m.id: kinds.part(m, "n") for m in again.metrics} == names
    edited = first.metric("rework_rate").model_copy(update={"compute": None})
    assert kinds.part(edited, "n") != names["rework_rate"]
    kinds._COMPUTATIONS.clear()
    assert {metric.id: kinds.part(metric, "n") for metric in first.metrics} == names
