"""`govkit export AGENT`: an A2A Agent Card carrying the governance extension, or the whole
charter as JSON with its status; unknown agents and formats are exit 2."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from monitor.alerting.state import StateStore
from playbook.handbook.export import GOVERNANCE_EXTENSION

AGENT = "refunds"

# The A2A protocol's AgentCard (specification/a2a.proto, lf.a2a.v1), in its JSON names: the
# fields marked REQUIRED there, and those of its AgentInterface, AgentSkill and AgentExtension.
CARD_REQUIRED = {
    "name", "description", "supportedInterfaces", "version", "capabilities",
    "defaultInputModes", "defaultOutputModes", "skills",
}  # fmt: skip
INTERFACE_REQUIRED = {"url", "protocolBinding", "protocolVersion"}
SKILL_REQUIRED = {"id", "name", "description", "tags"}
EXTENSION_FIELDS = {"uri", "description", "required", "params"}


def export(govkit, *args: str) -> dict:
    result = govkit("export", *args, "--state", "none")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a2a_card_carries_the_governance_extension(workspace, govkit):
    card = export(govkit, AGENT, "--format", "a2a", "--url", "https://agents.example.org/refunds")

    assert set(card) >= CARD_REQUIRED
    assert card["name"] == "Refunds"
    (interface,) = card["supportedInterfaces"]
    assert set(interface) == INTERFACE_REQUIRED
    assert interface == {
        "url": "https://agents.example.org/refunds",
        "protocolBinding": "JSONRPC",
        "protocolVersion": "1.0",
    }
    assert all(set(skill) >= SKILL_REQUIRED for skill in card["skills"])
    assert card["defaultInputModes"] == card["defaultOutputModes"] == ["text/plain"]
    (extension,) = card["capabilities"]["extensions"]
    assert set(extension) == EXTENSION_FIELDS
    assert extension["uri"] == GOVERNANCE_EXTENSION == "https://govkit.dev/a2a/governance/v1"
    assert extension["required"] is False

    params = extension["params"]
    assert params["status"] == "active"
    assert params["owners"]["agent_owner"] == {
        "name": "Oliver Brandt",
        "email": "oliver.brandt@northwind.example",
    }
    assert params["owners"]["reviewer"]["name"] == "Kwame Asante"
    assert params["tier"]["id"] == 3 and params["tier"]["name"] == "Financial/production"
    assert params["operating_model"] == {"id": "human-in-the-loop", "name": "Human in the loop"}
    assert "Releasing any payment without two human approvals" in params["work"]["forbidden"]
    assert params["work"]["tools"][1] == "shipment-lookup (read-only)"
    assert params["budget"]["monthly_usd"]["total"] == 6000.0
    escalation = params["escalation"]
    assert escalation["contact"]["name"] == "Oliver Brandt"
    assert {s["metric"] for s in escalation["stop_conditions"]} >= {"rollback_rate"}
    assert all("action" in s and "window" in s for s in escalation["stop_conditions"])
    assert params["policies"][0]["id"] == "support-agent"
    assert params["handbook_url"] is None  # monitor.yaml names no handbook URL


def test_a2a_card_links_the_handbook_page_when_its_url_is_known(workspace, govkit):
    workspace.write("monitor.yaml", "handbook_url: https://handbook.example.org/gov\n")

    card = export(govkit, AGENT, "--format", "a2a")

    page = "https://handbook.example.org/gov/agents/refunds/"
    assert card["documentationUrl"] == page
    assert card["capabilities"]["extensions"][0]["params"]["handbook_url"] == page
    url = card["supportedInterfaces"][0]["url"]
    assert url == "https://agents.example.invalid/refunds"  # no --url: a placeholder


def test_json_export_is_the_whole_charter_with_its_status(workspace, govkit):
    document = export(govkit, AGENT, "--format", "json")

    assert document["agent"] == AGENT
    assert document["status"] == "active" and document["retired"] is None
    charter = document["charter"]
    assert charter["owners"]["model_steward"]["name"] == "Henrik Lund"
    assert charter["monitor"]["baseline"]["from"]  # by alias, as written in YAML
    assert charter["status"] == "active"
    assert document["monitor"] is None  # --state none
    assert [i["id"] for i in document["open_incidents"]] == ["2026-11-18-refunds-rollbacks"]


def test_json_export_of_a_retired_agent(govkit, workspace):
    document = export(govkit, "legacy-faq", "--format", "json")

    assert document["status"] == "retired"
    assert document["retired"]["date"] == "2026-10-30"
    assert document["retired"]["reason"].startswith("Replaced by support-replies")
    assert document["charter"]["retired"] == document["retired"]
    card = export(govkit, "legacy-faq", "--format", "a2a")
    params = card["capabilities"]["extensions"][0]["params"]
    assert params["status"] == "retired" and params["retired"]["date"] == "2026-10-30"


def test_json_export_lists_the_alerts_firing_in_the_state(workspace, govkit, tmp_path: Path):
    state = tmp_path / "monitor.db"
    with StateStore(state):
        pass
    with sqlite3.connect(state) as db:
        db.executemany(
            "INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?)",
            [
                ("a1", json.dumps({"alertname": "StopCondition", "agent": AGENT}), "{}",
                 "firing", "2026-11-24T12:00:00Z", None, None, 1),
                ("a2", json.dumps({"alertname": "MetricDrift", "agent": AGENT}), "{}",
                 "resolved", "2026-11-20T12:00:00Z", "2026-11-21T12:00:00Z", None, 1),
                ("a3", json.dumps({"alertname": "MetricDrift", "agent": "docs-qa"}), "{}",
                 "firing", "2026-11-24T12:00:00Z", None, None, 1),
            ],
        )  # fmt: skip

    result = govkit("export", AGENT, "--format", "json", "--state", str(state))

    assert result.exit_code == 0, result.output
    firing = json.loads(result.stdout)["monitor"]["firing_alerts"]
    assert [alert["fingerprint"] for alert in firing] == ["a1"]


def test_export_writes_the_file_named(workspace, govkit):
    result = govkit("export", AGENT, "--format", "a2a", "--state", "none", "-o", "card.json")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Wrote card.json (a2a export of refunds)" in result.stderr
    assert json.loads(Path("card.json").read_text())["name"] == "Refunds"


def test_output_dash_is_standard_output_not_a_file_named_dash(workspace, govkit):
    result = govkit("export", AGENT, "--format", "a2a", "--state", "none", "-o", "-")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "Refunds"
    assert result.stderr == ""
    assert not Path("-").exists()


def test_unknown_agent_is_exit_2_with_the_closest_ids(workspace, govkit):
    result = govkit("export", "refund", "--format", "a2a")

    assert result.exit_code == 2
    assert "unknown agent 'refund'. Did you mean 'refunds'?" in result.stderr


def test_unknown_format_and_bad_url_are_exit_2(workspace, govkit):
    result = govkit("export", AGENT, "--format", "xml")
    assert result.exit_code == 2
    assert "'xml' is not one of 'a2a', 'json'" in result.output

    result = govkit("export", AGENT, "--format", "a2a", "--url", "ftp://agents.example.org")
    assert result.exit_code == 2
    assert "expected an http(s) URL" in result.output
