"""`govkit crosswalk FRAMEWORK --format json|csv`: exports for auditors, and its errors."""

from __future__ import annotations

import csv
import io
import json

from playbook.handbook.crosswalk_export import CSV_COLUMNS


def test_json_export_has_stable_keys(workspace, govkit):
    result = govkit("crosswalk", "iso42001-2023", "--state", "none")
    assert result.exit_code == 0, result.output
    export = json.loads(result.stdout)
    assert list(export) == ["schema", "framework", "monitor_run", "summary", "items", "gaps"]
    assert export["schema"] == "govkit.crosswalk/1"
    assert export["framework"]["id"] == "iso42001-2023"
    assert list(export["summary"]) == [
        "items", "mapped", "via_children", "unmapped", "agents_lacking_evidence"
    ]  # fmt: skip
    item = next(i for i in export["items"] if i["id"] == "A.6.2.6")
    assert list(item) == [
        "id", "ref", "title", "parent", "source", "coverage", "mapped", "agents"
    ]  # fmt: skip
    assert item["ref"] == "iso42001-2023:A.6.2.6"
    assert ("metric", "task_success_rate") in [(m["kind"], m["id"]) for m in item["mapped"]]
    assert "iso42001-2023:A.5.2" in export["gaps"]["unmapped_items"]
    lacking = export["gaps"]["agents_lacking_evidence"][0]
    assert list(lacking) == ["item", "agent", "mapping", "kind", "detail"]


def test_csv_export_has_one_row_per_piece_of_evidence(workspace, govkit):
    result = govkit("crosswalk", "eu-ai-act", "--format", "csv", "--state", "none")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {
        "framework": "eu-ai-act", "item": "Art-27", "coverage": "gap", "mapping_kind": "",
        "agent": "",
    }.items() <= next(r for r in rows if r["item"] == "Art-27").items()  # fmt: skip
    approvals = [
        r for r in rows
        if r["item"] == "Art-14" and r["mapping_id"] == "tier-3/two-person-approval"
    ]  # fmt: skip
    assert [(r["agent"], r["evidence_kind"], r["status"], r["detail"]) for r in approvals] == [
        ("refunds", "charter", "held", "approvals: required 2")
    ]


def test_an_unknown_framework_exits_2_with_did_you_mean(workspace, govkit):
    result = govkit("crosswalk", "nist", "--state", "none")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "governance/frameworks: unknown framework 'nist'. Did you mean 'nist-ai-rmf-1.0'? "
        "Expected one of 'eu-ai-act', 'iso42001-2023' or 'nist-ai-rmf-1.0'."
    )


def test_invalid_governance_exits_2_with_the_located_problem(workspace, govkit):
    workspace.edit("tiers.yaml", "          - eu-ai-act:Art-9\n", "          - eu-ai-act:Art-99\n")
    result = govkit("crosswalk", "eu-ai-act", "--format", "csv", "--state", "none")
    assert result.exit_code == 2
    assert "governance/tiers.yaml:" in result.stderr
    assert "unknown item 'Art-99' of framework 'eu-ai-act'. Did you mean 'Art-9'" in result.stderr


def test_the_monitor_state_is_read_when_given(workspace, govkit):
    result = govkit("crosswalk", "eu-ai-act", "--state", "missing.db")
    assert result.exit_code == 2
    assert "no monitor state at missing.db" in result.stderr


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(workspace, govkit):
    catalogue = workspace.governance / "frameworks/eu-ai-act.yaml"
    text = catalogue.read_text(encoding="utf-8")
    text = text.replace("title: AI literacy", 'title: "=HYPERLINK(\\"http://x.invalid\\",\\"a\\")"')
    text = text.replace("title: General provisions", 'title: "@SUM(1+1)"')
    text = text.replace("title: Risk management system", 'title: "-2+3"')
    catalogue.write_text(text, encoding="utf-8")

    result = govkit("crosswalk", "eu-ai-act", "--format", "csv", "--state", "none")

    assert result.exit_code == 0, result.output
    titles = {r["item"]: r["title"] for r in csv.DictReader(io.StringIO(result.stdout))}
    assert titles["Art-4"] == '\'=HYPERLINK("http://x.invalid","a")'
    assert titles["Chapter-I"] == "'@SUM(1+1)"
    assert titles["Art-9"] == "'-2+3"
    assert titles["Art-10"] == "Data and data governance"
    exported = json.loads(govkit("crosswalk", "eu-ai-act", "--state", "none").stdout)
    item = next(i for i in exported["items"] if i["id"] == "Art-4")
    assert item["title"] == '=HYPERLINK("http://x.invalid","a")'  # JSON keeps it as written
