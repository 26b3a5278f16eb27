"""Framework catalogues (`governance/frameworks/*.yaml`) and `maps_to` references to them."""

from __future__ import annotations

import re
import shutil
from datetime import date

import pytest

from playbook.core.errors import ValidationFailed
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

TODAY = date(2026, 11, 24)
EU = "frameworks/eu-ai-act.yaml"


def problems_of(workspace) -> list[str]:
    with pytest.raises(ValidationFailed) as failed:
        load_governance(workspace.governance, today=TODAY)
    return [str(problem) for problem in failed.value.problems]


def line_of(workspace, relative: str, text: str) -> int:
    lines = (workspace.governance / relative).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_the_example_ships_three_catalogues_with_cited_items():
    governance = load_governance(EXAMPLE_GOVERNANCE, today=TODAY)
    ids = [framework.id for framework in governance.frameworks]
    assert ids == ["eu-ai-act", "iso42001-2023", "nist-ai-rmf-1.0"]
    eu = governance.frameworks[0]
    articles = {item.id for item in eu.items}
    for number in (9, 10, 11, 12, 13, 14, 15, 17, 26, 27, 72, 73):
        assert f"Art-{number}" in articles
    assert eu.item("Art-72").title.startswith("Post-market monitoring by providers")
    iso = governance.frameworks[1]
    assert iso.item("A.6.2.6").title == "AI system operation and monitoring"
    assert iso.item("A.6.2.8").title == "AI system recording of event logs"
    nist = governance.frameworks[2]
    assert {"GOVERN", "MAP", "MEASURE", "MANAGE"} <= {item.id for item in nist.items}
    assert nist.item("MEASURE-2.4").parent == "MEASURE-2"
    assert nist.depth(nist.item("MEASURE-2.4")) == 2
    for framework in governance.frameworks:
        assert all(item.source.strip() for item in framework.items)


def test_controls_policies_and_metrics_map_to_items():
    governance = load_governance(EXAMPLE_GOVERNANCE, today=TODAY)
    assert "iso42001-2023:A.6.2.6" in governance.metric("task_success_rate").maps_to
    control = next(c for c in governance.tier(3).controls if c.id == "two-person-approval")
    assert control.evidence == ["approvals"]
    assert "eu-ai-act:Art-14" in control.maps_to
    assert "iso42001-2023:A.2.2" in governance.policies["support-agent"].rules.maps_to


def test_an_unknown_item_is_located_with_did_you_mean(workspace):
    workspace.edit("metrics.yaml", "    name: Rework rate\n    maps_to:\n      - nist-ai-rmf-1.0:MEASURE-2.5\n",
                   "    name: Rework rate\n    maps_to:\n      - nist-ai-rmf-1.0:MEASURE 2.5\n")  # fmt: skip
    line = line_of(workspace, "metrics.yaml", "MEASURE 2.5")
    assert problems_of(workspace) == [
        f"governance/metrics.yaml:{line}: metrics[2].maps_to[0]: unknown item 'MEASURE 2.5' of "
        "framework 'nist-ai-rmf-1.0'. Did you mean 'MEASURE-2.5'? Expected an item id as its "
        "catalogue under governance/frameworks/ writes it, such as 'MANAGE-4.3'."
    ]


def test_an_unknown_framework_is_located_with_did_you_mean(workspace):
    workspace.edit("tiers.yaml", "          - eu-ai-act:Art-9\n", "          - eu-ai:Art-9\n")
    line = line_of(workspace, "tiers.yaml", "eu-ai:Art-9")
    assert problems_of(workspace) == [
        f"governance/tiers.yaml:{line}: tiers[2].controls[0].maps_to[2]: unknown framework "
        "'eu-ai'. Did you mean 'eu-ai-act'? Expected one of 'eu-ai-act', 'iso42001-2023' or "
        "'nist-ai-rmf-1.0'."
    ]


def test_a_policy_reference_is_checked_too(workspace):
    workspace.edit("policies/support-agent.yaml", "  - iso42001-2023:A.2.2\n",
                   "  - iso42001-2023:A.2.22\n")  # fmt: skip
    line = line_of(workspace, "policies/support-agent.yaml", "A.2.22")
    assert any(
        problem.startswith(
            f"governance/policies/support-agent.yaml:{line}: maps_to[2]: unknown item 'A.2.22' "
            "of framework 'iso42001-2023'. Did you mean 'A.2.2'"
        )
        for problem in problems_of(workspace)
    )


def test_without_catalogues_a_reference_says_where_they_belong(workspace):
    shutil.rmtree(workspace.governance / "frameworks")
    problems = problems_of(workspace)
    assert problems, "references to frameworks without catalogues must fail"
    assert all("no framework catalogue under governance/frameworks/" in p for p in problems)


def test_without_catalogues_or_references_everything_loads(workspace):
    shutil.rmtree(workspace.governance / "frameworks")
    for relative in ("metrics.yaml", "tiers.yaml", "policies/support-agent.yaml"):
        path = workspace.governance / relative
        path.write_text(re.sub(r"^ *maps_to:\n( *- .*\n)+", "", path.read_text(), flags=re.M))
    governance = load_governance(workspace.governance, today=TODAY)
    assert governance.frameworks == []
    assert governance.metric("task_success_rate").maps_to == []


def test_a_bad_item_id_is_located(workspace):
    workspace.edit(EU, "  - id: Art-4\n", "  - id: Art 4\n")
    line = line_of(workspace, EU, "id: Art 4")
    assert (
        f"governance/{EU}:{line}: items[1].id: expected an item id of letters, digits, '.' and "
        "'-' without spaces (e.g. MEASURE-2.4, A.6.2.6, Art-72) but received 'Art 4'"
    ) in problems_of(workspace)


def test_duplicate_item_ids_are_located(workspace):
    workspace.edit(EU, "  - id: Art-10\n", "  - id: Art-9\n")
    line = line_of(workspace, EU, "id: Art-9") + 0
    lines = [n for n, text in enumerate(
        (workspace.governance / EU).read_text().splitlines(), 1) if "id: Art-9" in text]  # fmt: skip
    assert line == lines[0]
    assert (
        f"governance/{EU}:{lines[1]}: items[4].id: duplicate id 'Art-9'; each must be unique"
    ) in problems_of(workspace)


def test_an_unknown_parent_is_located(workspace):
    workspace.edit(EU, "    parent: Chapter-I\n", "    parent: Chapter-1\n")
    line = line_of(workspace, EU, "parent: Chapter-1")
    assert (
        f"governance/{EU}:{line}: items[1].parent: parent 'Chapter-1' is not an item of this "
        "catalogue. Did you mean 'Chapter-I'?"
    ) in problems_of(workspace)


def test_two_catalogues_with_one_id_are_an_error(workspace):
    text = (workspace.governance / EU).read_text()
    workspace.write("frameworks/eu-ai-act-copy.yaml", text)
    assert any(
        "frameworks/eu-ai-act.yaml:" in p and "duplicate framework id 'eu-ai-act'" in p
        for p in problems_of(workspace)
    )


def test_control_evidence_must_name_a_charter_field(workspace):
    workspace.edit("tiers.yaml", "        evidence: [approvals]\n",
                   "        evidence: [aprovals]\n")  # fmt: skip
    line = line_of(workspace, "tiers.yaml", "evidence: [aprovals]")
    problems = problems_of(workspace)
    assert problems[0].startswith(
        f"governance/tiers.yaml:{line}: tiers[3].controls[0].evidence[0]: expected a field of a "
        "charter but received 'aprovals'. Did you mean 'approvals'"
    )


def test_frameworks_that_is_a_file_is_located(workspace):
    shutil.rmtree(workspace.governance / "frameworks")
    (workspace.governance / "frameworks").write_text("", encoding="utf-8")

    problems = problems_of(workspace)

    assert problems[0] == (
        "governance/frameworks:1: expected a directory of framework catalogues "
        "(frameworks/<name>.yaml) but found a file"
    )


def test_an_item_mapped_twice_is_located(workspace):
    workspace.edit("metrics.yaml", "    name: Rework rate\n    maps_to:\n      - nist-ai-rmf-1.0:MEASURE-2.5\n",
                   "    name: Rework rate\n    maps_to:\n      - nist-ai-rmf-1.0:MEASURE-2.5\n"
                   "      - nist-ai-rmf-1.0:MEASURE-2.5\n")  # fmt: skip
    line = line_of(workspace, "metrics.yaml", "    name: Rework rate") + 1
    assert problems_of(workspace) == [
        f"governance/metrics.yaml:{line}: metrics[2].maps_to: expected each framework item once "
        "but 'nist-ai-rmf-1.0:MEASURE-2.5' is listed twice"
    ]
