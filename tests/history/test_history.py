"""`govkit history`: who changed what, as a semantic diff located at file:line and classed by risk,
with approvals and the roles of their approvers; renames and deletions of charters followed."""

from __future__ import annotations

import json

import pytest

from tests.history.conftest import ADA, GRACE, HENRIK, OLIVER, junit

GUARDRAIL = "  - metric: reviewer_minutes_per_task\n    max: 4.0"
LIMIT = "auto_approve_max_usd: 200"


def history(govkit, *args: str) -> list[dict]:
    result = govkit("history", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_each_commit_lists_its_semantic_changes_at_file_line_with_risk(repo, govkit):
    repo.edit("agents/refunds.yaml", GUARDRAIL, GUARDRAIL.replace("4.0", "5"))
    repo.edit("policies/support-agent.yaml", LIMIT, "auto_approve_max_usd: 500")
    repo.commit("Raise the refund limit", author=OLIVER, when="2026-10-02T09:14:00Z",
                approved=(HENRIK,))  # fmt: skip

    result = govkit("history", "--limit", "1")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"commit {repo.git('rev-parse', '--short=7', 'HEAD')}  2026-10-02 09:14 UTC  {OLIVER}",
        "    Raise the refund limit",
        f"    Approved by {HENRIK} (Model Steward of agent refunds)",
        "  governance/agents/refunds.yaml:28: agent refunds: "
        "guardrails[reviewer_minutes_per_task].max: 4 -> 5 [widens]",
        "  governance/policies/support-agent.yaml:9: policy support-agent: "
        "refunds.auto_approve_max_usd: 200 -> 500 [widens]",
    ]


def test_json_is_one_object_per_change_of_a_file(repo, govkit):
    repo.edit("agents/docs-qa.yaml", "tier: 0", "tier: 1")
    repo.edit("policies/support-agent.yaml", LIMIT, "auto_approve_max_usd: 150")
    sha = repo.commit("Tier and limit", author=GRACE, when="2026-10-02T09:00:00Z",
                      approved=(ADA,))  # fmt: skip

    charter, policy = history(govkit, "--limit", "1")

    assert charter == {
        "commit": sha,
        "date": "2026-10-02T09:00:00Z",
        "author": {"name": "Grace Hopper", "email": "grace@northwind.example"},
        "message": "Tier and limit",
        "file": "governance/agents/docs-qa.yaml",
        "previous_file": None,
        "status": "modified",
        "agent": "docs-qa",
        "subject": "agent docs-qa",
        "risk": "narrows",
        "changes": [
            {
                "field": "tier",
                "before": 0,
                "after": 1,
                "risk": "narrows",
                "change": "changed",
                "line": 9,
                "text": "agent docs-qa: tier: 0 -> 1",
            }
        ],
        "approvals": [
            {"name": "Ada Lovelace", "email": "ada@northwind.example", "role": None,
             "source": f"Approved-by in {sha[:7]}"}
        ],
    }  # fmt: skip
    assert (policy["file"], policy["agent"], policy["risk"]) == (
        "governance/policies/support-agent.yaml",
        None,
        "narrows",
    )
    assert policy["changes"][0]["field"] == "refunds.auto_approve_max_usd"


def test_an_approver_is_named_by_the_role_they_held_before_the_change(repo, govkit):
    repo.edit("agents/refunds.yaml", "    name: Henrik Lund\n    email: henrik.lund@",
              "    name: Grace Hopper\n    email: grace@")  # fmt: skip
    repo.commit("Grace stewards refunds", when="2026-10-02T09:00:00Z", approved=(HENRIK, OLIVER))

    [entry] = history(govkit, "--limit", "1")

    assert [(a["name"], a["role"]) for a in entry["approvals"]] == [
        ("Henrik Lund", "model_steward"),
        ("Oliver Brandt", "agent_owner"),
    ]
    assert entry["changes"][0]["text"] == (
        "agent refunds: owners.model_steward: Henrik Lund <henrik.lund@northwind.example> -> "
        f"{GRACE}"
    )


def test_comments_order_and_quoting_are_no_change(repo, govkit):
    text = (repo.workspace.governance / "agents/docs-qa.yaml").read_text()
    reordered = "# a new comment\n" + text.replace("tier: 0", "tier: 0  # read-only")
    repo.write("agents/docs-qa.yaml", reordered.replace("name: Docs Q&A", 'name: "Docs Q&A"'))
    repo.commit("Comments", when="2026-10-03T09:00:00Z")

    result = govkit("history", "--limit", "1")

    assert "governance/agents/docs-qa.yaml: no change to the governance itself" in result.stdout


def test_a_renamed_charter_is_followed(repo, govkit):
    repo.edit("agents/docs-qa.yaml", "tier: 0", "tier: 1")
    repo.commit("docs-qa writes", when="2026-10-02T09:00:00Z")
    repo.git("mv", "governance/agents/docs-qa.yaml", "governance/agents/docs-answers.yaml")
    repo.edit("agents/docs-answers.yaml", "id: docs-qa", "id: docs-answers")
    renamed = repo.commit("Rename docs-qa", when="2026-10-03T09:00:00Z")

    entries = history(govkit, "docs-answers")

    assert [(e["message"], e["file"], e["status"]) for e in entries] == [
        ("Rename docs-qa", "governance/agents/docs-answers.yaml", "renamed"),
        ("docs-qa writes", "governance/agents/docs-qa.yaml", "modified"),
        ("The example organisation", "governance/agents/docs-qa.yaml", "added"),
    ]
    assert entries[0]["commit"] == renamed
    assert entries[0]["previous_file"] == "governance/agents/docs-qa.yaml"
    assert entries[0]["changes"][0]["text"] == "agent docs-answers: id: 'docs-qa' -> 'docs-answers'"
    text = govkit("history", "docs-answers", "--limit", "1").stdout
    assert "  governance/agents/docs-qa.yaml renamed to governance/agents/docs-answers.yaml" in text


def test_a_deleted_charter_is_found_in_the_past(repo, govkit):
    repo.git("rm", "-q", "governance/agents/incident-summaries.yaml")
    repo.commit("Retire incident summaries", when="2026-10-02T09:00:00Z", approved=(GRACE,))

    entries = history(govkit, "incident-summaries")

    assert [(e["message"], e["status"], e["risk"]) for e in entries] == [
        ("Retire incident summaries", "deleted", "widens"),
        ("The example organisation", "added", "widens"),
    ]
    assert entries[0]["changes"][0]["field"] == "charter"
    assert entries[0]["changes"][0]["text"].startswith(
        "agent incident-summaries removed (tier 0, agent owner Grace Okafor"
    )


def test_an_agent_shows_its_charter_prompt_evals_and_policies(repo, govkit):
    repo.edit("policies/support-agent.yaml", LIMIT, "auto_approve_max_usd: 300")
    repo.commit("Policy", when="2026-10-02T09:00:00Z")
    repo.edit("agents/docs-qa.yaml", "tier: 0", "tier: 1")
    repo.commit("Docs", when="2026-10-03T09:00:00Z")
    repo.edit("prompts/refunds.md", "never release it", "never, ever release it")
    repo.commit("Prompt", when="2026-10-04T09:00:00Z")
    repo.write("evals/refunds/2026-10-05.xml", junit(50, timestamp="2026-10-05T08:00:00Z"))
    repo.commit("Evals", when="2026-10-05T09:00:00Z")

    entries = history(govkit, "refunds")

    assert [e["message"] for e in entries[:3]] == ["Evals", "Prompt", "Policy"]
    assert entries[0]["changes"][0]["text"] == (
        "eval results of agent refunds: results: added: 50 of 50 passed (100.0%), run "
        "2026-10-05T08:00:00Z"
    )
    assert entries[1]["changes"][0]["text"] == (
        "prompt of agent refunds: text: text changed (+1 -1 lines)"
    )


def test_a_policy_id_and_a_path_are_targets_too(repo, govkit):
    repo.edit("policies/support-agent.yaml", LIMIT, "auto_approve_max_usd: 300")
    repo.commit("Policy", when="2026-10-02T09:00:00Z")
    repo.edit("organisation.yaml", "name: Northwind Logistics\n", "name: Northwind Logistics AB\n")
    repo.commit("Rename", when="2026-10-03T09:00:00Z")

    assert history(govkit, "support-agent")[0]["message"] == "Policy"
    assert history(govkit, "governance/organisation.yaml")[0]["message"] == "Rename"


def test_an_unknown_target_is_exit_2_with_the_closest(repo, govkit):
    result = govkit("history", "refund")

    assert result.exit_code == 2
    assert result.stderr.startswith("unknown agent or policy 'refund' at ")
    assert "Did you mean 'refunds'?" in result.stderr


def test_since_until_and_limit_select_commits(repo, govkit):
    for day in ("02", "03", "04"):
        repo.write(f"notes/{day}.yaml", f"day: {day}\n")
        repo.commit(f"Day {day}", when=f"2026-10-{day}T12:00:00Z")

    def messages(*args: str) -> list[str]:
        return list(dict.fromkeys(entry["message"] for entry in history(govkit, *args)))

    assert messages("--since", "2026-10-03") == ["Day 04", "Day 03"]
    assert messages("--until", "2026-10-03") == ["Day 03", "Day 02", "The example organisation"]
    assert messages("--since", "2026-10-03T13:00:00Z") == ["Day 04"]
    assert messages("--limit", "2") == ["Day 04", "Day 03"]
    assert messages("--rev", "HEAD~2..HEAD") == ["Day 04", "Day 03"]


def test_a_merge_commits_approvals_count_for_the_commits_it_brought(repo, govkit):
    repo.git("checkout", "-q", "-b", "feature")
    repo.edit("agents/refunds.yaml", "tier: 3", "tier: 4")
    feature = repo.commit("Tier", author=GRACE, when="2026-10-02T09:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m",
             "Merge branch 'feature'\n\nApproved-by: " + HENRIK, when="2026-10-03T09:00:00Z")  # fmt: skip
    merge = repo.git("rev-parse", "HEAD")

    [entry] = history(govkit, "--limit", "1")

    assert entry["commit"] == feature
    assert entry["approvals"] == [
        {"name": "Henrik Lund", "email": "henrik.lund@northwind.example", "role": "model_steward",
         "source": f"Approved-by in merge {merge[:7]}"}
    ]  # fmt: skip


def test_a_version_that_does_not_parse_is_reported_not_fatal(repo, govkit):
    repo.write("agents/docs-qa.yaml", "id: docs-qa\ntier: [unclosed\n")
    repo.commit("Broken", when="2026-10-02T09:00:00Z")

    result = govkit("history", "--limit", "1")

    assert result.exit_code == 0
    assert (
        "governance/agents/docs-qa.yaml:3: agent docs-qa: cannot be read in this version: YAML "
        "syntax error" in result.stdout
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (("--rev", "no-such-branch"), "unknown revision 'no-such-branch': no such commit"),
        (("--rev", "--all"), "expected a revision (a commit, branch or tag) but received '--all'"),
        (("--since", "2026-02-30"), "Invalid value for '--since'"),
        (("--format", "xml"), "Invalid value for '--format'"),
        (("--governance", "nowhere"), "nowhere: governance directory not found"),
    ],
)
def test_bad_input_is_exit_2_with_a_message(repo, govkit, args, message):
    result = govkit("history", *args)

    assert result.exit_code == 2
    assert message in result.stderr


def test_outside_a_repository_is_exit_2_saying_so(workspace, govkit, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(workspace.root.parent))

    result = govkit("history")

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "governance is not inside a git repository; govkit reads the history of the governance "
        "files from git"
    )
