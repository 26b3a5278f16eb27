"""Policies kept current with their files: a file deleted and created again (git checkout, some
editors) between two looks keeps its version in service, even when it comes back half-written;
a file gone at two looks in a row is no longer served."""

from __future__ import annotations

from playbook.policy.live import LivePolicies

POLICY = "policies/support-agent.yaml"


def test_a_file_deleted_and_recreated_half_written_keeps_its_version(workspace):
    reports: list[str] = []
    live = LivePolicies(workspace.governance, report=reports.append)
    live.refresh()
    path = workspace.governance / POLICY
    good = path.read_bytes()
    served = live.get("support-agent").policy

    path.unlink()
    live.refresh()  # gone at one look: still served
    assert live.get("support-agent").policy is served and reports == []

    path.write_bytes(good[: len(good) // 3])  # back, but cut short
    live.refresh()
    entry = live.get("support-agent")
    assert entry.policy is served and entry.error is not None
    assert reports[-1].startswith("policy support-agent: invalid, still serving the version")

    path.write_bytes(good)
    live.refresh()
    assert live.get("support-agent").error is None and live.get("support-agent").policy


def test_a_file_gone_at_two_looks_is_no_longer_served(workspace):
    reports: list[str] = []
    live = LivePolicies(workspace.governance, report=reports.append)
    live.refresh()
    (workspace.governance / POLICY).unlink()
    live.refresh()
    assert live.ids() == ["support-agent"]
    live.refresh()
    assert live.ids() == [] and live.get("support-agent") is None
    assert reports == [
        "policy support-agent: governance/policies/support-agent.yaml is gone; no longer served"
    ]
