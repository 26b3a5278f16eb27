"""The in-process API: `load_policy(...).decide(facts)` answers as `govkit policy decide` does,
reads the policy's revision once, and is safe to call from many threads."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import playbook.policy.rules
from playbook.core import jsonout
from playbook.policy import Decision, DecisionLog, Revision, load_policy
from playbook.policy.syntax import ConditionError, MissingFact
from tests.history.conftest import Repo
from tests.policy.conftest import seed_cases

POLICY = Path("governance/policies/support-agent.yaml")


def _cli_json(govkit, facts: dict) -> str:
    result = govkit("policy", "decide", "support-agent", "--case", json.dumps(facts),
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout


def test_api_and_cli_give_identical_json_on_every_seed_case(workspace, govkit):
    policy = load_policy(POLICY)
    cases = seed_cases(POLICY)

    assert len(cases) >= 13
    for case in cases:
        decision = policy.decide(case.facts)
        assert decision.decision == case.expect, case.name
        assert _cli_json(govkit, case.facts) == jsonout.dumps(decision.to_json(), indent=2) + "\n"


def test_the_decision_names_the_policy_revision_from_git(workspace, govkit):
    repo = Repo(workspace)
    repo.git("init", "-q", "-b", "main")
    sha = repo.commit("The example organisation", when="2026-10-02T09:00:00Z")
    blob = repo.git("rev-parse", f"HEAD:{POLICY}")

    decision = load_policy(str(POLICY)).decide(seed_cases(POLICY)[0].facts)

    assert decision.policy_revision == sha
    assert decision.policy_source == {"blob": blob, "committed_at": "2026-10-02T09:00:00Z"}
    assert _cli_json(govkit, seed_cases(POLICY)[0].facts) == (
        jsonout.dumps(decision.to_json(), indent=2) + "\n"
    )


def test_the_revision_is_read_once_at_load(workspace, monkeypatch):
    calls: list[Path] = []

    def counted(path: Path) -> Revision:
        calls.append(path)
        return Revision("b" * 40, None, None)

    monkeypatch.setattr(playbook.policy.rules, "revision_of", counted)
    policy = load_policy(POLICY)
    for case in seed_cases(POLICY):
        assert policy.decide(case.facts).policy_source == {"blob": "b" * 40, "committed_at": None}

    assert calls == [POLICY]


def _variants() -> list[dict]:
    """Many distinct cases around every threshold of the seed policy."""
    base = seed_cases(POLICY)[0].facts
    grid = itertools.product(
        [0, 150, 200, 200.5, 900], [1, 3, 12], [0.1, 0.7], [100, 500],
        ["neutral", "angry"], ["billing", "legal"], ["refund", "reply"],
    )  # fmt: skip
    keys = ["amount_usd", "customer_tenure_months", "fraud_risk_score", "lifetime_refunds_usd",
            "sentiment", "topic", "action"]  # fmt: skip
    return [{**base, **dict(zip(keys, values, strict=True))} for values in grid]


def test_decide_from_many_threads_equals_deciding_in_sequence(workspace, tmp_path):
    cases = _variants() * 3
    with DecisionLog(tmp_path / "decisions.jsonl") as log:
        policy = load_policy(POLICY, decision_log=log)
        expected = [policy.decide(case) for case in cases]
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = list(pool.map(policy.decide, cases, chunksize=7))

    assert found == expected
    assert {decision.decision for decision in found} == {
        "auto_approve",
        "require_human",
        "escalate",
    }
    records = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert sum(r["represents"] for r in records) == 2 * len(cases)


def test_a_missing_fact_is_named(workspace):
    facts = dict(seed_cases(POLICY)[0].facts)
    del facts["fraud_risk_score"]

    with pytest.raises(MissingFact) as raised:
        load_policy(POLICY).decide(facts)

    assert raised.value.fact == "fraud_risk_score"
    assert str(raised.value).startswith(
        "missing fact 'fraud_risk_score', needed by refunds.require_human_if[1] "
        "(fraud_risk_score >= 0.7)."
    )


@pytest.mark.parametrize(
    "facts, received",
    [(["amount_usd", 5], "a list"), ("amount_usd=5", "'amount_usd=5' (text)"), (None, "nothing")],
)
def test_facts_that_are_not_an_object_are_a_type_error(workspace, facts, received):
    with pytest.raises(TypeError) as raised:
        load_policy(POLICY).decide(facts)

    assert str(raised.value).startswith(
        "expected the facts as a JSON object (a mapping of fact names to values) but received "
        + received
    )


def test_decision_keeps_the_cli_keys_in_order(workspace):
    decision = load_policy(POLICY).decide(seed_cases(POLICY)[2].facts)

    assert isinstance(decision, Decision)
    assert list(decision.to_json()) == [
        "decision", "reasons", "redact_pii", "log_sample_rate", "policy_revision", "policy_source",
    ]  # fmt: skip
    assert (decision.redact_pii, decision.log_sample_rate) == (True, 0.15)
    assert decision.reasons == ["amount_usd 250 > auto_approve_max_usd 200"]


@pytest.mark.parametrize(
    ("fact", "message"),
    [
        ("amount_usd", "refunds.auto_approve_max_usd (action == 'refund' and amount_usd > "
         "auto_approve_max_usd): cannot compare amount_usd nan (a number) with 200 (a number) "
         "using '>': expected a number, not NaN (not a number)"),
        ("fraud_risk_score", "refunds.require_human_if[1] (fraud_risk_score >= 0.7): cannot "
         "compare fraud_risk_score nan (a number) with 0.7 (a number) using '>=': expected a "
         "number, not NaN (not a number)"),
    ],
)  # fmt: skip
def test_a_nan_fact_is_refused_not_silently_auto_approved(fact, message):
    """NaN compares false with everything: `amount_usd > 200` would let a refund of NaN (a
    pandas missing value) through the limit. The API refuses it as the JSON parsers do."""
    facts = {**seed_cases(POLICY)[0].facts, fact: float("nan")}
    with pytest.raises(ConditionError) as caught:
        load_policy(POLICY).decide(facts)
    assert str(caught.value) == message
