"""The semantic diff of two versions of a file, and reading git's own output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from playbook.core.git import Identity, blob_id, parse_identity, parse_log
from playbook.history.documents import kind_of, parse_blob
from playbook.history.filediff import diff_file


def texts(path: str, old: str | None, new: str | None, prefix: str = "governance") -> list[str]:
    kind = kind_of(path, prefix)
    assert kind is not None
    before = parse_blob(path, old.encode()) if old is not None else None
    after = parse_blob(path, new.encode()) if new is not None else None
    return [f"{c.line}: {c.text}" for c in diff_file(path, kind, before, after)]


CHARTER = "governance/agents/a.yaml"


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("max: 200\n", "max: 200.0  # same\n", []),
        ("flag: 1\n", "flag: true\n", ["1: agent a: flag: 1 -> true"]),
        ("n: 1\n", "n: '1'\n", ["1: agent a: n: 1 -> '1'"]),
        ("day: 2026-10-01\n", "day: 2026-10-02\n", ["1: agent a: day: 2026-10-01 -> 2026-10-02"]),
        ("tools: [a, b]\n", "tools: [b, a, c]\n", ["1: agent a: tools: added 'c'"]),
        ("g:\n  - {metric: x, max: 1}\n  - {metric: y, max: 2}\n",
         "g:\n  - {metric: y, max: 3}\n  - {metric: x, max: 1}\n", ["2: agent a: g[y].max: 2 -> 3"]),
        ("s:\n  - {metric: x, above: 1}\n  - {metric: x, above: 2}\n",
         "s:\n  - {metric: x, above: 1}\n", ["3: agent a: s[1]: removed {metric: 'x', above: 2}"]),
        ("o: {name: A, email: a@x.io}\n", "o: {name: B, email: b@x.io}\n",
         ["1: agent a: o: A <a@x.io> -> B <b@x.io>"]),
        ("a: 1\nb: 2\n", "b: 2\n", ["1: agent a: a: removed 1"]),
        ("d: " + "x" * 100 + "\n", "d: y\n", [f"1: agent a: d: '{'x' * 76}... -> 'y'"]),
    ],
)  # fmt: skip
def test_values_compare_as_governance_not_as_text(old, new, expected):
    assert texts(CHARTER, old, new) == expected


def test_a_catalog_names_its_items():
    old = "tiers:\n  - {id: 0, name: Read}\n  - {id: 1, name: Write}\n"
    new = "tiers:\n  - {id: 0, name: Read-only}\n  - {id: 2, name: Money}\n"

    assert texts("governance/tiers.yaml", old, new) == [
        "2: tier 0: name: 'Read' -> 'Read-only'",
        "3: tier 2 added (Money)",
        "3: tier 1 removed (Write)",
    ]


def test_files_are_kinds_of_governance():
    def subject(path: str) -> str | None:
        kind = kind_of(path, "gov")
        return kind.subject if kind else None

    assert subject("gov/agents/refunds.yaml") == "agent refunds"
    assert subject("gov/policies/support-agent.yaml") == "policy support-agent"
    assert subject("gov/policies/support-agent.tests.yaml") == "policy support-agent tests"
    assert subject("gov/monitor.yaml") == "monitor settings"
    assert subject("gov/evals/x.xml") == "evals/x.xml"
    assert subject("gov/schemas/charter.schema.json") is None


def test_unreadable_versions_and_text_files():
    assert texts(CHARTER, "a: 1\n", "a: [\n") == [
        "2: agent a: cannot be read in this version: YAML syntax error: did not find expected "
        "node content"
    ]
    assert texts(CHARTER, "a: 1\n", "x: !!python/object/apply:os.system ['ls']\n")[0].startswith(
        "1: agent a: cannot be read in this version: unsupported YAML tag"
    )
    assert texts("governance/prompt.md", "one\ntwo\nthree\n", "one\n2\nthree\nfour\n") == [
        "2: prompt.md: text: text changed (+2 -1 lines)"
    ]


def test_identities_and_blob_ids_are_gits(tmp_path: Path):
    assert parse_identity("Ada Lovelace <ada@x.io>") == Identity("Ada Lovelace", "ada@x.io")
    assert parse_identity("just text") is None
    assert str(Identity("octo", "", "octo")) == "@octo"
    (tmp_path / "f").write_bytes(b"a: 1\n")
    hashed = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
    assert blob_id(b"a: 1\n") == hashed


def test_a_log_record_with_odd_subjects_parses():
    record = "\x1e" + "\x1f".join(["a" * 40, "", "N", "n@x.io", "1", "2", "tab\there", "", ""])
    [commit] = parse_log(record + "\0\n")

    assert commit.subject == "tab\there"
    assert commit.changes == ()
    assert parse_log("garbage") == []
