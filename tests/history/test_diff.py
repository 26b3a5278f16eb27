"""`govkit diff`: every change between two revisions needs the approvals of the roles its risk
calls for, two distinct approvers where the charter asks, and eval results produced after it."""

from __future__ import annotations

import json

import pytest

from tests.history.conftest import ADA, GRACE, HENRIK, OLIVER, junit

TOMASZ = "Tomasz Nowak <tomasz.nowak@northwind.example>"  # ticket-triage's model steward
DANIEL = "Daniel Whitfield <daniel.whitfield@northwind.example>"  # its agent owner
TOOLS = "    - team-directory (read-only)\n"
NEW_TOOL = TOOLS + "    - crm (read-only)\n"
GUARDRAIL = "  - metric: reviewer_minutes_per_task\n    max: 4.0"
MODEL = "  name: claude-sonnet-4-5"
TRIAGE = "governance/agents/ticket-triage.yaml"
REFUNDS = "governance/agents/refunds.yaml"
STEWARD_MISSING = (
    f"{TRIAGE}:42: agent ticket-triage: work.tools: added 'crm (read-only)' (widens): missing the "
    f"Model Steward named in the charter before the change, {TOMASZ}: no Approved-by: trailer or "
    "review from tomasz.nowak@northwind.example"
)


@pytest.fixture
def change(repo):
    """The repository on a branch `change` made from main, where the tests commit."""
    repo.git("checkout", "-q", "-b", "change")
    return repo


def findings(govkit, *args: str) -> list[str]:
    result = govkit("diff", *args, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert result.exit_code == (1 if report["findings"] else 0)
    return [finding["message"] for finding in report["findings"]]


# --- roles ---------------------------------------------------------------------------------


def test_nothing_changed_in_the_governance_is_exit_0(change, govkit):
    (change.root / "README.md").write_text("hello\n")
    change.commit("Readme", when="2026-10-02T09:00:00Z")

    result = govkit("diff")

    assert result.exit_code == 0
    assert result.stdout.strip().endswith(
        "1 commit(s) and the work tree, no change to the governance: nothing to check."
    )


def test_a_new_tool_needs_the_model_steward(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.commit("CRM lookups", author=ADA, when="2026-10-02T09:00:00Z")

    result = govkit("diff")

    assert result.exit_code == 1
    assert f"  FAIL  {STEWARD_MISSING}" in result.stdout.splitlines()
    assert result.stdout.strip().endswith("1 finding(s): the change lacks what it needs.")
    assert "note: agent ticket-triage: its behaviour changed and it declares no eval suite" in (
        result.stdout
    )


def test_the_stewards_trailer_on_any_commit_of_the_range_approves(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.commit("CRM lookups", author=ADA, when="2026-10-02T09:00:00Z")
    later = change.commit("Approval", author=ADA, when="2026-10-03T09:00:00Z", approved=(TOMASZ,))

    result = govkit("diff")

    assert result.exit_code == 0, result.stdout
    assert (
        f"  PASS  {TRIAGE}:42: agent ticket-triage: work.tools: added 'crm (read-only)' (widens): "
        f"has the Model Steward named in the charter before the change, {TOMASZ}: approved by "
        f"{TOMASZ} (Approved-by in {later[:7]})"
    ) in result.stdout
    assert result.stdout.strip().endswith("All 1 check(s) passed.")


def test_an_approval_counts_by_email_not_by_name(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    impostor = "Tomasz Nowak <tomasz@gmail.example>"
    change.commit("CRM lookups", author=ADA, when="2026-10-02T09:00:00Z", approved=(impostor,))

    assert findings(govkit) == [STEWARD_MISSING]


def test_the_steward_is_the_one_named_before_the_change(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.edit("agents/ticket-triage.yaml", "    name: Tomasz Nowak\n    email: tomasz.nowak@",
                "    name: Ada Lovelace\n    email: ada@")  # fmt: skip
    change.commit("CRM lookups, and I steward it now", author=ADA, when="2026-10-02T09:00:00Z",
                  approved=(ADA,))  # fmt: skip

    assert findings(govkit) == [STEWARD_MISSING]


def test_narrowing_needs_nobody(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, "")
    change.commit("No directory", when="2026-10-02T09:00:00Z")

    assert findings(govkit) == []


def test_loosening_a_guardrail_needs_the_owner_and_the_steward(change, govkit):
    change.edit("agents/refunds.yaml", GUARDRAIL, GUARDRAIL.replace("4.0", "5.0"))
    change.commit("More reviewer time", author=ADA, when="2026-10-02T09:00:00Z",
                  approved=(HENRIK,))  # fmt: skip

    where = (
        f"{REFUNDS}:28: agent refunds: guardrails[reviewer_minutes_per_task].max: 4 -> 5 (widens)"
    )
    assert findings(govkit) == [
        f"{where}: missing the Agent Owner named in the charter before the change, {OLIVER}: no "
        "Approved-by: trailer or review from oliver.brandt@northwind.example",
        f"{REFUNDS}:28: agent refunds: 1 change(s) (widens): missing 2 distinct approvers, none an "
        f"author (approvals.required: 2): 1 counted: {HENRIK}",
    ]
    change.commit("Owner approves", author=GRACE, when="2026-10-03T09:00:00Z", approved=(OLIVER,))
    assert findings(govkit) == []


def test_dropping_a_monitored_metric_and_a_stop_condition(change, govkit):
    change.edit("agents/ticket-triage.yaml", "    - rework_rate\n", "")
    change.commit("Stop watching rework", author=ADA, when="2026-10-02T09:00:00Z",
                  approved=(TOMASZ,))  # fmt: skip

    [finding] = findings(govkit)

    assert finding.startswith(f"{TRIAGE}:")
    assert "agent ticket-triage: monitor.metrics: removed 'rework_rate' (widens): missing the " in (
        finding
    )
    assert f"Agent Owner named in the charter before the change, {DANIEL}" in finding


# --- two-person approval ----------------------------------------------------------------------


def test_a_two_person_charter_needs_two_approvers_none_the_author(change, govkit):
    change.edit("agents/refunds.yaml", "  cadence: weekly", "  cadence: biweekly")
    change.commit("Biweekly reviews", author=HENRIK, when="2026-10-02T09:00:00Z",
                  approved=(HENRIK, OLIVER))  # fmt: skip

    [finding] = findings(govkit)

    assert finding == (
        f"{REFUNDS}:58: agent refunds: 1 change(s) (widens): missing 2 distinct approvers, none "
        f"an author (approvals.required: 2): 1 counted: {OLIVER}; {HENRIK} is an author of the "
        "change"
    )
    change.commit("Second approval", author=HENRIK, when="2026-10-03T09:00:00Z", approved=(GRACE,))
    assert findings(govkit) == []


def test_a_change_cannot_lower_its_own_bar(change, govkit):
    change.edit("agents/refunds.yaml", "approvals:\n  required: 2", "approvals:\n  required: 1")
    change.commit("One will do", author=ADA, when="2026-10-02T09:00:00Z", approved=(OLIVER,))

    [finding] = findings(govkit)

    assert "missing 2 distinct approvers, none an author (approvals.required: 2): 1 counted" in (
        finding
    )


# --- eval evidence ---------------------------------------------------------------------------

RESULTS = "evals/refunds/run.xml"


def bigger_model(repo, *, when: str = "2026-10-10T09:00:00Z") -> str:
    repo.edit("agents/refunds.yaml", MODEL, "  name: claude-opus-4-1")
    return repo.commit("Bigger model", author=ADA, when=when, approved=(HENRIK, OLIVER))


def test_a_model_change_needs_results_produced_after_it(change, govkit):
    bigger_model(change)

    [finding] = findings(govkit)

    assert finding == (
        f"{REFUNDS}:81: agent refunds: model.name: 'claude-sonnet-4-5' -> 'claude-opus-4-1' "
        "(neutral): missing eval suite refunds-regression passing after the change: "
        "governance/evals/refunds/2026-10-06.xml: produced 2026-10-06T07:40:00Z (timestamp), "
        f"before the change in {change.git('rev-parse', '--short=7', 'HEAD')} "
        "(2026-10-10T09:00:00Z, Bigger model): run the suite again"
    )


def test_results_older_than_the_change_fail_and_newer_pass(change, govkit):
    change.write(RESULTS, junit(50, timestamp="2026-10-09T08:00:00Z"))
    change.commit("Evals on Friday", when="2026-10-09T09:00:00Z")
    bigger_model(change)
    assert (
        "produced 2026-10-09T08:00:00Z (timestamp), before the change in" in (findings(govkit)[0])
    )

    change.write(RESULTS, junit(50, timestamp="2026-10-11T08:00:00Z"))
    change.commit("Evals after the new model", when="2026-10-11T09:00:00Z")

    assert findings(govkit) == []


def test_results_committed_with_the_change_count_when_run_while_it_was_prepared(change, govkit):
    change.edit("agents/refunds.yaml", MODEL, "  name: claude-opus-4-1")
    change.write(RESULTS, junit(50, timestamp="2026-10-10T08:30:00Z"))  # run before the commit
    change.commit("Bigger model, evals run", when="2026-10-10T09:00:00Z", approved=(HENRIK, OLIVER))

    assert findings(govkit) == []


def test_results_without_a_timestamp_are_dated_by_the_commit_that_added_them(change, govkit):
    bigger_model(change)
    change.write(RESULTS, junit(50))
    added = change.commit("Evals", when="2026-10-12T09:00:00Z")

    report = json.loads(govkit("diff", "--format", "json").stdout)

    [check] = [c for c in report["checks"] if c["rule"] == "evals"]
    assert check["passed"]
    assert check["evidence"].startswith(
        "governance/evals/refunds/run.xml: 100.0% passed, produced 2026-10-12T09:00:00Z (the "
        "commit that added it), after the change in"
    )
    assert added


def test_results_below_the_minimum_pass_rate_fail(change, govkit):
    bigger_model(change)
    change.write(RESULTS, junit(45, 5, timestamp="2026-10-11T08:00:00Z"))
    change.commit("Evals", when="2026-10-11T09:00:00Z")

    [finding] = findings(govkit)

    assert finding.endswith(
        "missing eval suite refunds-regression passing after the change: "
        "governance/evals/refunds/run.xml: pass rate 90.0% (45 of 50) is below min_pass_rate 0.98"
    )


def test_a_prompt_or_policy_change_needs_the_steward_and_fresh_evals(change, govkit):
    change.edit("policies/support-agent.yaml", "auto_approve_max_usd: 200",
                "auto_approve_max_usd: 250")  # fmt: skip
    change.commit("Higher limit", author=ADA, when="2026-10-10T09:00:00Z", approved=(HENRIK,))

    found = findings(govkit)

    assert any(
        "policy support-agent: refunds.auto_approve_max_usd: 200 -> 250 (agent support-replies) "
        "(widens): missing the Model Steward named in the charter before the change, Aisha Bello"
        in f
        for f in found
    )
    suites = sorted(f.split("missing eval suite ")[1].split(" ")[0] for f in found if
                    "missing eval suite" in f)  # fmt: skip
    assert suites == ["refunds-regression", "support-replies-regression"]


def test_uncommitted_changes_are_in_the_work_tree_compared(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)  # not committed

    result = govkit("diff")

    assert result.exit_code == 1
    assert result.stdout.startswith(f"{change.git('rev-parse', '--short=7', 'main')}..work tree: ")
    assert f"  FAIL  {STEWARD_MISSING}" in result.stdout
    committed = govkit("diff", "main", "HEAD")
    assert committed.exit_code == 0  # the commits alone change nothing


def test_base_and_head_are_revisions_when_given(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    first = change.commit("CRM lookups", when="2026-10-02T09:00:00Z")
    change.commit("Approval", when="2026-10-03T09:00:00Z", approved=(TOMASZ,))

    assert findings(govkit, "main", first) == [STEWARD_MISSING]
    assert findings(govkit, "main", "HEAD") == []
    assert findings(govkit, "main..HEAD") == []


# --- renames and deletions -------------------------------------------------------------------


def test_a_renamed_charter_is_judged_against_its_old_self(change, govkit):
    change.git("mv", "governance/agents/ticket-triage.yaml", "governance/agents/triage.yaml")
    change.edit("agents/triage.yaml", "id: ticket-triage", "id: triage")
    change.edit("agents/triage.yaml", TOOLS, NEW_TOOL)
    change.commit("Rename and a tool", when="2026-10-02T09:00:00Z", approved=(TOMASZ,))

    result = govkit("diff", "--format", "json")
    report = json.loads(result.stdout)

    assert result.exit_code == 0, report["findings"]
    assert report["renamed"] == [{"from": TRIAGE, "to": "governance/agents/triage.yaml"}]
    assert [c["text"] for c in report["changes"]] == [
        "agent triage: id: 'ticket-triage' -> 'triage'",
        "agent triage: work.tools: added 'crm (read-only)'",
    ]


def test_a_deleted_charter_needs_its_owner_and_steward(change, govkit):
    change.git("rm", "-q", "governance/agents/ticket-triage.yaml")
    change.commit("Retire triage", when="2026-10-02T09:00:00Z", approved=(TOMASZ,))

    [finding] = findings(govkit)

    assert finding.startswith(
        f"{TRIAGE}:3: agent ticket-triage removed (tier 1, agent owner {DANIEL}) (widens): "
        f"missing the Agent Owner named in the charter before the change, {DANIEL}"
    )


# --- the code host's review records ----------------------------------------------------------


def _approvals(tmp_path, document: object) -> str:
    path = tmp_path / "approvals.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_github_graphql_reviews_approve_by_email(change, govkit, tmp_path):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    head = change.commit("CRM lookups", when="2026-10-02T09:00:00Z")
    reviews = {"data": {"repository": {"pullRequest": {"reviews": {"nodes": [
        {"state": "APPROVED", "commit": {"oid": head},
         "author": {"login": "tnowak", "name": "Tomasz Nowak",
                    "email": "tomasz.nowak@northwind.example"}},
    ]}}}}}  # fmt: skip

    assert findings(govkit, "--approvals", _approvals(tmp_path, reviews)) == []
    assert findings(govkit, "--reviews", _approvals(tmp_path, reviews)) == []  # the old name


def test_a_later_request_for_changes_takes_an_approval_back(change, govkit, tmp_path):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.commit("CRM lookups", when="2026-10-02T09:00:00Z")
    author = {"login": "tnowak", "email": "tomasz.nowak@northwind.example"}
    reviews = [
        {"user": author, "state": "APPROVED"},
        {"user": author, "state": "COMMENTED"},
        {"user": author, "state": "CHANGES_REQUESTED"},
    ]

    assert findings(govkit, "--approvals", _approvals(tmp_path, reviews)) == [STEWARD_MISSING]


@pytest.mark.parametrize(
    "approvals",
    [
        {"approved": True, "approved_by": [
            {"user": {"username": "tnowak", "name": "Tomasz Nowak",
                      "public_email": "tomasz.nowak@northwind.example"}}]},
        {"data": {"project": {"mergeRequest": {"approvedBy": {"nodes": [
            {"username": "tnowak", "name": "Tomasz Nowak",
             "publicEmail": "tomasz.nowak@northwind.example"}]}}}}},
        [{"name": "Tomasz Nowak", "email": "Tomasz.Nowak@northwind.example"}],
    ],
    ids=["gitlab-rest", "gitlab-graphql", "plain"],
)  # fmt: skip
def test_gitlab_and_plain_approvals_count_by_email(change, govkit, tmp_path, approvals):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.commit("CRM lookups", when="2026-10-02T09:00:00Z")

    assert findings(govkit, "--approvals", _approvals(tmp_path, approvals)) == []


def test_a_login_without_an_email_cannot_stand_for_a_role(change, govkit, tmp_path):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.commit("CRM lookups", when="2026-10-02T09:00:00Z")
    reviews = {"reviews": [{"author": {"login": "tnowak"}, "state": "APPROVED"}]}  # gh pr view

    assert findings(govkit, "--approvals", _approvals(tmp_path, reviews)) == [STEWARD_MISSING]


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "expected the code host's review records"),
        ('{"something": 1, "else": 2}', "expected the code host's review records"),
        ('[{"state": "APPROVED"}]', "record 0: expected a reviewer with a login or an email"),
    ],
)
def test_review_records_that_are_not_are_exit_2(change, govkit, tmp_path, content, message):
    path = tmp_path / "approvals.json"
    path.write_text(content)

    result = govkit("diff", "--approvals", str(path))

    assert result.exit_code == 2
    assert message in result.stderr


# --- bad input and outputs for CI ------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (("no-such-branch",), "unknown base 'no-such-branch': no such commit, branch or tag"),
        (("main", "nope"), "unknown revision 'nope'"),
        (("--format", "html"), "Invalid value for '--format'"),
        (("--approvals", "missing.json"), "Invalid value for '--approvals'"),
    ],
)
def test_bad_input_is_exit_2(change, govkit, args, message):
    result = govkit("diff", *args)

    assert result.exit_code == 2
    assert message in result.stderr


def test_without_a_default_branch_base_must_be_given(change, govkit):
    change.git("branch", "-m", "main", "trunk")

    result = govkit("diff")

    assert result.exit_code == 2
    assert result.stderr.startswith("no default branch to compare with (origin/HEAD, main, ")


def test_junit_and_sarif_carry_each_finding_at_its_file_and_line(change, govkit, tmp_path):
    import xml.etree.ElementTree as ElementTree

    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.edit("agents/ticket-triage.yaml", "cadence: biweekly", "cadence: weekly")
    change.commit("CRM lookups", when="2026-10-02T09:00:00Z")

    junit_run = govkit("diff", "--format", "junit")
    sarif_run = govkit("diff", "--format", "sarif", "--output", str(tmp_path / "d.sarif"))

    assert junit_run.exit_code == sarif_run.exit_code == 1
    root = ElementTree.fromstring(junit_run.stdout.encode())
    suite = root.find("testsuite")
    assert (root.get("tests"), root.get("failures")) == ("1", "1")
    [case] = suite.findall("testcase")
    assert (case.get("file"), case.get("line")) == (TRIAGE, "42")
    assert case.find("failure").get("message") == STEWARD_MISSING
    sarif = json.loads((tmp_path / "d.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "missing-approval"
    assert result["message"]["text"] == STEWARD_MISSING
    location = result["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": TRIAGE, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 42}}  # fmt: skip
    assert "FAIL  " + STEWARD_MISSING in sarif_run.stdout  # the text report beside the file


def test_json_has_the_documented_keys(change, govkit):
    change.edit("agents/ticket-triage.yaml", TOOLS, NEW_TOOL)
    change.commit("CRM lookups", when="2026-10-02T09:00:00Z")

    report = json.loads(govkit("diff", "--format", "json").stdout)

    assert list(report) == ["governance", "base", "head", "work_tree", "commits", "renamed",
                            "changes", "findings", "checks", "notes", "passed"]  # fmt: skip
    assert list(report["findings"][0]) == ["rule", "file", "line", "agent", "change", "risk",
                                           "needs", "role", "suite", "passed", "evidence",
                                           "message"]  # fmt: skip
    assert report["findings"][0]["role"] == "model_steward"
