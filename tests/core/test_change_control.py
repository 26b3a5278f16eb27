"""The charter's change-control fields (`model`, `prompt`, `evals`, `approvals.approvers`) and the
warnings `govkit check` gives: an agent of tier 2 or above without an eval suite, a suite whose
results are nowhere."""

from __future__ import annotations

import pytest

from playbook.core.change_control import model_name, prompt_path
from tests.conftest import TODAY

EVALS = (
    "evals:\n  - suite: support-replies-regression\n    results: evals/support-replies/*.xml\n"
    "    min_pass_rate: 0.95\n"
)


def test_a_tier_2_agent_without_evals_is_a_warning_and_fails_strict(workspace, govkit):
    workspace.edit("agents/support-replies.yaml", EVALS, "")

    result = govkit("check", "--today", TODAY)
    strict = govkit("check", "--strict", "--today", TODAY)

    assert result.exit_code == 0
    assert (
        "governance/agents/support-replies.yaml:3: warning: tier 2 agent without an eval suite: a "
        "change to its model, prompt, tools or policies cannot be gated on eval results (govkit "
        "diff); expected evals: [{suite: NAME, results: evals/NAME/*.xml, min_pass_rate: 0.95}]"
    ) in result.stderr
    assert strict.exit_code == 1


def test_an_empty_list_of_suites_is_warned_about_at_its_line(workspace, govkit):
    workspace.edit("agents/support-replies.yaml", EVALS, "evals: []\n")

    result = govkit("check", "--today", TODAY)

    assert "support-replies.yaml:71: evals: warning: tier 2 agent without an eval suite" in (
        result.stderr
    )


def test_a_suite_whose_results_are_nowhere_is_a_warning(workspace, govkit):
    workspace.edit("agents/refunds.yaml", "evals/refunds/*.xml", "evals/refunds/*.junit.xml")

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 0
    assert (
        "governance/agents/refunds.yaml:82: evals[0].results: warning: no results file matches "
        "evals/refunds/*.junit.xml (relative to the governance directory)"
    ) in result.stderr


def test_below_tier_2_no_evals_is_fine(workspace, govkit):
    result = govkit("check", "--strict", "--today", TODAY)

    assert result.exit_code == 0, result.stderr  # docs-qa, tier 0, declares none


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("prompt: prompts/support-replies.md", "prompt: /etc/prompt.md",
         "support-replies.yaml:70: prompt: expected a path relative to the governance directory"),
        ("prompt: prompts/support-replies.md", "prompt: {}",
         "support-replies.yaml:70: prompt: expected path (a file in the repository) or version, or both"),
        ("prompt: prompts/support-replies.md", "prompt: {path: /etc/prompt.md}",
         "support-replies.yaml:70: prompt.path: expected a path relative to the governance directory, with '/' between folders (e.g. prompts/refunds.md), but received '/etc/prompt.md'"),
        ("    min_pass_rate: 0.95", "    min_pass_rate: 1.5",
         "support-replies.yaml:74: evals[0].min_pass_rate: expected a number <= 1.0 but received 1.5 (a number)"),
        ("    min_pass_rate: 0.95\n", "",
         "support-replies.yaml:72: evals[0].min_pass_rate: field required"),
        ("    min_pass_rate: 0.95\n",
         "    min_pass_rate: 0.95\n  - suite: support-replies-regression\n    results: x/*.xml\n    min_pass_rate: 0.9\n",
         "support-replies.yaml:71: evals: expected each suite once but 'support-replies-regression' repeats"),
        ("approvals:\n  required: 2", "approvals:\n  required: 2\n  approvers: [bob]",
         "refunds.yaml:55: approvals.approvers[0]: expected a role (agent_owner, model_steward, reviewer), an email address or a code host login such as @octocat but received 'bob'"),
        ("  provider: anthropic\n", "", "refunds.yaml:74: model.provider: field required"),
    ],
)  # fmt: skip
def test_change_control_fields_are_checked_at_file_line(workspace, govkit, old, new, expected):
    file = (
        "agents/refunds.yaml" if expected.startswith("refunds") else "agents/support-replies.yaml"
    )
    workspace.edit(file, old, new)

    result = govkit("check", "--today", TODAY)

    assert result.exit_code == 2
    assert f"governance/agents/{expected}" in result.stderr


def test_approvers_may_be_roles_emails_and_logins(workspace, govkit):
    workspace.edit("agents/refunds.yaml", "approvals:\n  required: 2",
                   "approvals:\n  required: 2\n  approvers: [model_steward, ada@x.example, '@octo-cat']")  # fmt: skip

    assert govkit("check", "--strict", "--today", TODAY).exit_code == 0


@pytest.mark.parametrize(
    "written, path",
    [
        ("prompts/refunds.md", "prompts/refunds.md"),
        ("refunds.txt", "refunds.txt"),
        ("v12", None),
        ("2025-04-14.3", None),
        ({"path": "p/x.md", "version": "v1"}, "p/x.md"),
        ({"version": "v1"}, None),
    ],
)
def test_a_prompt_is_a_path_or_a_version(written, path):
    assert prompt_path(written) == path


def test_a_model_is_a_name_or_a_mapping():
    assert model_name("gpt-4.1-mini") == "gpt-4.1-mini"
    assert model_name({"provider": "a", "name": "m", "version": "1"}) == "m 1"
    assert model_name(None) is None
