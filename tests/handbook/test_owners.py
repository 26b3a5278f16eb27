"""Owners' surfaces: charter scaffolds, tier readiness in `check`, and `whois`."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TODAY

OWNER = "Ada Lovelace <ada@northwind.example>"
STEWARD = "Grace Hopper <grace@northwind.example>"
REVIEWER = "Alan Turing <alan@northwind.example>"
MODELS = ["human-in-the-loop", "human-on-the-loop", "autonomous-with-guardrails", "agent-swarm",
          "internal-platform"]  # fmt: skip

# What an owner writes in place of each TODO, in file order.
FILLED = {
    "name: TODO": "name: Claims helper",
    "description: TODO": "description: Drafts claim letters.",
    "target: TODO": "target: 0.9",
    "metric: TODO\n    max: TODO": "metric: escalation_rate\n    max: 0.2",
    "metric: TODO\n    above: TODO": "metric: rollback_rate\n    above: 0.05",
    "- TODO": "- Draft claim letters",
    "inference: TODO": "inference: 100",
    "tooling: TODO": "tooling: 50",
    "human: TODO": "human: 300",
    "retention_days: TODO": "retention_days: 365",
    "procedure: TODO": "procedure: Page the security on-call, who grants a 1h credential.",
}


def new_charter(govkit, agent_id: str, tier: int, *extra: str):
    return govkit(
        "charter", "new", agent_id, "--tier", str(tier), "--operating-model", MODELS[tier],
        "--owner", OWNER, "--steward", STEWARD, *extra, "--today", TODAY,
    )  # fmt: skip


def fill_in(path, tier: int) -> None:
    text = path.read_text()
    text = text.replace("  reviewer:                      # required", "  reviewer:  # required")
    text = text.replace(
        "    name: TODO\n    email: TODO",
        '    name: "Alan Turing"\n    email: "alan@northwind.example"',
    )
    for placeholder, value in FILLED.items():
        text = text.replace(placeholder, value, 2 if "max: TODO" in placeholder else -1)
    text = text.replace("- Draft claim letters\npolicies", "policies")
    text = text.replace("policies:                        # tier 2 and up: ids of governance/policies/<id>.yaml whose tests pass\n  - Draft claim letters", "policies:\n  - support-agent")  # fmt: skip
    assert "TODO" not in text.split("\n", 3)[3], text
    path.write_text(text)
    people = path.parent.parent / "people.yaml"  # the directory knows the new owners
    known = [person.rstrip(">").split(" <") for person in (OWNER, STEWARD, REVIEWER)]
    added = "".join(f"  - {{name: {name}, email: {email}}}\n" for name, email in known)
    people.write_text(people.read_text() + added)
    if tier >= 2:  # its eval suite's results, as the eval runner writes them
        results = path.parent.parent / "evals/claims-helper/run.xml"
        results.parent.mkdir(parents=True)
        results.write_text('<testsuite name="claims" tests="20" failures="0"/>\n')


@pytest.mark.parametrize("tier", [0, 1, 2, 3, 4])
def test_scaffold_of_any_tier_checks_with_warnings_and_fails_only_strict(workspace, govkit, tier):
    result = new_charter(govkit, "claims-helper", tier)
    assert result.exit_code == 0, result.stderr
    path = workspace.governance / "agents/claims-helper.yaml"
    lines = path.read_text().splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../schemas/charter.schema.json"

    checked = govkit("check", "--today", TODAY)
    assert checked.exit_code == 0, checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if "warning: TODO" in line]
    assert warnings and all(w.startswith("governance/agents/claims-helper.yaml:") for w in warnings)
    assert govkit("check", "--strict", "--today", TODAY).exit_code == 1


@pytest.mark.parametrize("tier", [0, 1, 2, 3, 4])
def test_filled_scaffold_passes_strict_and_is_published(workspace, govkit, tier, tmp_path):
    assert new_charter(govkit, "claims-helper", tier).exit_code == 0
    fill_in(workspace.governance / "agents/claims-helper.yaml", tier)

    checked = govkit("check", "--strict", "--today", TODAY)
    assert checked.exit_code == 0, checked.stderr

    from datetime import date

    from playbook.core import resources
    from playbook.handbook.render import Renderer
    from playbook.policy import load_governance

    governance = load_governance(workspace.governance, today=date.fromisoformat(TODAY))
    pages = Renderer(governance, template_dir=resources.template_dir(), today=date.fromisoformat(TODAY)).pages()  # fmt: skip
    assert "Ada Lovelace" in pages["agents/claims-helper.md"]
    assert "[Claims helper](agents/claims-helper.md)" in pages["readiness.md"]


def test_scaffold_never_overwrites(workspace, govkit):
    before = (workspace.governance / "agents/refunds.yaml").read_text()
    result = new_charter(govkit, "refunds", 3)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "governance/agents/refunds.yaml: a charter for 'refunds' already exists; nothing was written"
    )
    assert (workspace.governance / "agents/refunds.yaml").read_text() == before


def test_scaffold_options_are_checked(workspace, govkit):
    result = govkit("charter", "new", "x-agent", "--tier", "1", "--operating-model", "human-in-loop",
                    "--owner", OWNER, "--steward", STEWARD)  # fmt: skip
    assert result.exit_code == 2
    assert (
        "--operating-model: unknown operating model 'human-in-loop'. Did you mean 'human-in-the-loop'"
        in result.stderr
    )
    result = govkit("charter", "new", "x-agent", "--tier", "1", "--operating-model", "agent-swarm",
                    "--owner", "Ada", "--steward", STEWARD)  # fmt: skip
    assert result.exit_code == 2
    assert "--owner: expected \"Name <name@example.org>\" but received 'Ada'" in result.stderr
    result = govkit("charter", "new", "x-agent", "--owner", OWNER)
    assert result.exit_code == 2
    assert "missing option --tier" in result.stderr
    assert not (workspace.governance / "agents/x-agent.yaml").exists()


@pytest.mark.parametrize(
    "charter, old, new, expected",
    [
        ("ticket-triage.yaml", "stop_conditions:\n  - metric: rework_rate\n    above: 0.2\n    window: 7d\n    action: escalate\n", "", "stop_conditions: tier 1 needs: at least one stop condition (rule of tier 1 and up); no stop condition declared"),
        ("refunds.yaml", "approvals:\n  required: 2\n", "", "approvals: tier 3 needs: two-person approval"),
        ("refunds.yaml", "audit:\n  retention_days: 365\n", "", "audit: tier 3 needs: audit retention declared"),
        ("support-replies.yaml", "policies:\n  - support-agent\n", "", "policies: tier 2 needs: a policy whose tests pass"),
        ("support-replies.yaml", "  - support-agent\n", "  - no-such-policy\n", "policies: tier 2 needs: a policy whose tests pass (rule of tier 2 and up); no such policy: no-such-policy"),
        ("docs-qa.yaml", "tier: 0", "tier: 4", "break_glass: tier 4 needs: break-glass procedure"),
    ],
)  # fmt: skip
def test_missing_tier_item_is_a_located_error(workspace, govkit, charter, old, new, expected):
    workspace.edit(f"agents/{charter}", old, new)
    result = govkit("check", "--today", TODAY)
    assert result.exit_code == 2
    assert f"governance/agents/{charter}:" in result.stderr
    assert expected in result.stderr


def test_whois_answers_for_every_example_agent(workspace, govkit):
    import yaml

    for path in sorted((workspace.governance / "agents").glob("*.yaml")):
        charter = yaml.safe_load(path.read_text())
        result = govkit("whois", charter["id"], "--today", TODAY)
        assert result.exit_code == 0, result.stderr
        assert charter["owners"]["agent_owner"]["name"] in result.stdout
        assert "Why it passed the gates" in result.stdout


def test_whois_json_has_the_documented_keys(workspace, govkit):
    result = govkit("whois", "support-replies", "--format", "json", "--today", TODAY)
    answer = json.loads(result.stdout)
    assert list(answer) == ["id", "name", "status", "retired", "tier", "operating_model", "owners",
                            "work", "policies", "north_star", "guardrails", "stop_conditions",
                            "review", "incidents", "monitor"]  # fmt: skip
    assert answer["owners"]["reviewer"] == {
        "name": "Fiona MacLeod",
        "email": "fiona.macleod@northwind.example",
    }
    assert answer["policies"][0]["id"] == "support-agent"
    assert answer["policies"][0]["tests_failed"] == 0
    assert answer["monitor"] is None


def test_whois_lists_the_agents_incidents_with_actions_not_done(workspace, govkit):
    answer = json.loads(govkit("whois", "refunds", "--format", "json", "--today", TODAY).stdout)
    assert answer["incidents"] == [
        {
            "id": "2026-11-18-refunds-rollbacks",
            "title": "Refunds prepared for partial shipments were rolled back",
            "date": "2026-11-18",
            "severity": "sev2",
            "serious": False,
            "closed": None,
            "actions_open": ["partial-shipment-evals"],
        }
    ]
    text = govkit("whois", "refunds", "--today", TODAY).stdout
    assert (
        "Incidents\n  2026-11-18 sev2: Refunds prepared for partial shipments were rolled back "
        "[2026-11-18-refunds-rollbacks; open]\n    actions not done: partial-shipment-evals\n"
    ) in text
    closed = govkit("whois", "support-replies", "--today", TODAY).stdout
    assert "[2026-08-25-support-replies-chargebacks; closed " in closed
    assert "ticket-triage" not in closed
    none = govkit("whois", "ticket-triage", "--today", TODAY).stdout
    assert "Incidents\n  none recorded\n" in none


def test_whois_shows_the_monitor_state(workspace, govkit, tmp_path):
    from tests.monitor.conftest import write_events

    events = write_events(tmp_path / "events.parquet", rollback_rate=0.08)
    state = tmp_path / "state.db"
    run = govkit("monitor", "run", "--events", str(events), "--state", str(state),
                 "--now", "2026-11-24T12:00:00Z")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    result = govkit("whois", "refunds", "--state", str(state), "--format", "json", "--today", TODAY)
    monitor = json.loads(result.stdout)["monitor"]
    assert monitor["last_run"]["now"] == "2026-11-24T12:00:00Z"
    assert {a["alertname"] for a in monitor["firing_alerts"]} == {"StopCondition", "MetricDrift"}
    text = govkit("whois", "refunds", "--state", str(state), "--today", TODAY).stdout
    assert (
        "FIRING StopCondition (critical) rollback_rate since 2026-11-24T12:00:00Z; action: escalate"
        in text
    )


def test_whois_unknown_agent_suggests_the_closest(workspace, govkit):
    result = govkit("whois", "refund", "--today", TODAY)
    assert result.exit_code == 2
    assert result.stderr.startswith("unknown agent 'refund'. Did you mean 'refunds'?")
