"""`govkit whois AGENT --at DATE|COMMIT` answers for a moment of the past, from git; `govkit policy
decide` says which revision of the policy decided."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.history.conftest import ADA, GRACE, HENRIK, junit

OWNER = "  agent_owner:\n    name: Oliver Brandt\n    email: oliver.brandt@northwind.example"
NEW_OWNER = "  agent_owner:\n    name: Grace Hopper\n    email: grace@northwind.example"


@pytest.fixture
def handed_over(repo):
    """refunds passes from Oliver to Grace on 2026-10-15, approved by Henrik."""
    repo.edit("agents/refunds.yaml", OWNER, NEW_OWNER)
    repo.commit("Grace owns refunds", author=ADA, when="2026-10-15T10:00:00Z", approved=(HENRIK,))
    return repo


def owner(govkit, *args: str) -> str:
    result = govkit("whois", "refunds", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["owners"]["agent_owner"]["name"]


def test_at_a_date_answers_with_the_governance_of_that_day(handed_over, govkit):
    assert owner(govkit, "--at", "2026-10-14") == "Oliver Brandt"
    assert owner(govkit, "--at", "2026-10-15") == "Grace Hopper"  # the end of that day
    assert owner(govkit, "--at", "2026-10-15T09:59:59Z") == "Oliver Brandt"
    assert owner(govkit, "--at", "HEAD~1") == "Oliver Brandt"
    assert owner(govkit) == "Grace Hopper"


def test_at_says_which_commit_and_change_were_in_force_with_approvals_and_evals(
    handed_over, govkit
):
    head = handed_over.git("rev-parse", "HEAD")

    answer = json.loads(govkit("whois", "refunds", "--at", head, "--format", "json").stdout)

    at = answer["at"]
    assert {k: at[k] for k in ("asked", "moment", "commit", "committed_at", "subject")} == {
        "asked": head,
        "moment": "2026-10-15T10:00:00Z",
        "commit": head,
        "committed_at": "2026-10-15T10:00:00Z",
        "subject": "Grace owns refunds",
    }
    change = at["change"]
    assert (change["commit"], change["message"], change["file"], change["risk"]) == (
        head,
        "Grace owns refunds",
        "governance/agents/refunds.yaml",
        "neutral",
    )
    assert change["changes"][0]["field"] == "owners.agent_owner"
    assert change["approvals"] == [
        {"name": "Henrik Lund", "email": "henrik.lund@northwind.example", "role": "model_steward",
         "source": f"Approved-by in {head[:7]}"}
    ]  # fmt: skip
    [suite] = at["evals"]
    assert (suite["suite"], suite["passed"], suite["latest"]["pass_rate"]) == (
        "refunds-regression",
        True,
        0.98,
    )
    text = govkit("whois", "refunds", "--at", "2026-11-01").stdout
    assert (f"As of 2026-11-01T23:59:59Z (--at 2026-11-01): commit {head[:7]} of "
            "2026-10-15T10:00:00Z, Grace owns refunds") in text  # fmt: skip
    assert f"  {head[:7]} (2026-10-15T10:00:00Z) by {ADA}: Grace owns refunds" in text
    assert f"  Approved by: {HENRIK} (Model Steward)" in text
    assert ("  Eval suite refunds-regression: passing, 98.0% of 50 (min 0.98), produced "
            "2026-10-06T07:40:00Z") in text  # fmt: skip


def test_at_a_moment_before_new_results_the_old_ones_answer(handed_over, govkit):
    handed_over.write(
        "evals/refunds/2026-10-20.xml", junit(40, 10, timestamp="2026-10-20T08:00:00Z")
    )
    handed_over.commit("Evals of the 20th", when="2026-10-20T09:00:00Z")

    def suite(at: str) -> dict:
        answer = json.loads(govkit("whois", "refunds", "--at", at, "--format", "json").stdout)
        return answer["at"]["evals"][0]

    assert suite("2026-10-19")["latest"]["file"] == "governance/evals/refunds/2026-10-06.xml"
    later = suite("2026-10-21")
    assert later["latest"]["file"] == "governance/evals/refunds/2026-10-20.xml"
    assert later["problem"] == (
        "governance/evals/refunds/2026-10-20.xml: pass rate 80.0% (40 of 50) is below "
        "min_pass_rate 0.98"
    )


@pytest.mark.parametrize(
    "at, message",
    [
        ("2020-01-01", "--at 2020-01-01: no commit of the current branch is that old"),
        (
            "2026-02-30",
            "--at: expected a date (YYYY-MM-DD), an ISO 8601 time or a commit but received '2026-02-30'",
        ),
        ("no-such-tag", "unknown revision 'no-such-tag': no such commit, branch or tag"),
    ],
)
def test_bad_at_is_exit_2(handed_over, govkit, at, message):
    result = govkit("whois", "refunds", "--at", at)

    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_an_agent_that_did_not_exist_then_is_exit_2(handed_over, govkit):
    source = (handed_over.workspace.governance / "agents/docs-qa.yaml").read_text()
    handed_over.write("agents/docs-qb.yaml", source.replace("id: docs-qa", "id: docs-qb"))
    handed_over.commit("docs-qb", when="2026-10-20T10:00:00Z")

    result = govkit("whois", "docs-qb", "--at", "2026-10-16")

    assert result.exit_code == 2
    assert result.stderr.startswith("unknown agent 'docs-qb'. Did you mean 'docs-qa'?")


def test_governance_that_did_not_load_then_is_located_at_its_commit(handed_over, govkit):
    handed_over.edit("agents/refunds.yaml", "tier: 3", "tier: three")
    broken = handed_over.commit("Oops", when="2026-10-20T10:00:00Z")

    result = govkit("whois", "refunds", "--at", "2026-10-21")

    assert result.exit_code == 2
    assert (
        f"{broken[:7]}:governance/agents/refunds.yaml:9: tier: expected a whole number"
        in result.stderr
    )


def test_at_a_moment_the_alerts_are_those_firing_then(handed_over, govkit, tmp_path):
    from tests.monitor.conftest import write_events

    events = write_events(tmp_path / "events.parquet", rollback_rate=0.08)
    state = tmp_path / "state.db"
    run = govkit("monitor", "run", "--events", str(events), "--state", str(state),
                 "--now", "2026-11-24T12:00:00Z")  # fmt: skip
    assert run.exit_code in (0, 1), run.stderr

    def monitor(at: str) -> dict:
        result = govkit("whois", "refunds", "--at", at, "--state", str(state), "--format", "json")
        return json.loads(result.stdout)["monitor"]

    assert monitor("2026-11-23") == {"last_run": None, "firing_alerts": []}
    later = monitor("2026-11-25")
    assert later["last_run"]["now"] == "2026-11-24T12:00:00Z"
    assert {a["alertname"] for a in later["firing_alerts"]} == {"StopCondition", "MetricDrift"}


# --- the policy revision of a decision -----------------------------------------------------

CASE = '{"action": "refund", "amount_usd": 50, "customer_tenure_months": 12, "fraud_risk_score": 0.1, "lifetime_refunds_usd": 0, "sentiment": "neutral", "topic": "billing"}'


def _decision(govkit) -> dict:
    result = govkit("policy", "decide", "support-agent", "--case", CASE, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_decision_names_the_commit_of_its_policy(repo, govkit):
    repo.edit(
        "policies/support-agent.yaml", "auto_approve_max_usd: 200", "auto_approve_max_usd: 300"
    )
    sha = repo.commit("Raise the limit", author=GRACE, when="2026-10-02T09:00:00Z")

    decision = _decision(govkit)

    assert decision["policy_revision"] == sha
    blob = repo.git("rev-parse", "HEAD:governance/policies/support-agent.yaml")
    assert decision["policy_source"] == {"blob": blob, "committed_at": "2026-10-02T09:00:00Z"}
    text = govkit("policy", "decide", "support-agent", "--case", CASE).stdout
    assert text.splitlines()[-1] == (
        f"Revision:  blob {blob[:7]}, last changed in {sha[:7]} (2026-10-02T09:00:00Z)"
    )


def test_a_policy_changed_since_its_commit_has_no_commit(repo, govkit):
    repo.edit(
        "policies/support-agent.yaml", "auto_approve_max_usd: 200", "auto_approve_max_usd: 250"
    )

    decision = _decision(govkit)

    hashed = subprocess.run(["git", "hash-object", "governance/policies/support-agent.yaml"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert decision["policy_revision"] is None
    assert decision["policy_source"] == {"blob": hashed, "committed_at": None}
