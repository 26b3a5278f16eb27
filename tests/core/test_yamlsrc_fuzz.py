"""Fuzz: the YAML loader and the governance validation behind it end in a result or a located
error, never another exception, whatever the text."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from playbook.core.errors import ValidationFailed
from playbook.core.yamlsrc import YamlReadError, parse_yaml
from playbook.policy import load_governance
from tests.conftest import EXAMPLE_GOVERNANCE

FILE = Path("governance/agents/fuzzed.yaml")

# Pieces of YAML that have broken loaders before: tags, anchors and aliases, dates that do not
# exist, special floats, deep flow collections, odd keys, control characters.
FRAGMENTS = [
    "a: 1\n", "- x\n", "? [1, 2]\n: v\n", "k: &a [1, 2]\n", "j: *a\n", "t: !!python/name:os.system\n",
    "d: 2026-02-30\n", "d: 0000-01-01\n", "d: 2026-13-01\n", "f: .nan\n", "f: -.inf\n", "n: ~\n",
    "s: !!binary aGk=\n", "m: !!set {a, b}\n", "<<: {a: 1}\n", "x: [[[[[[[[]]]]]]]]\n",
    "'q': \"\\u0000\"\n", "b: 0x1F\n", "i: 99999999999999999999999999\n", "e: 1e400\n",
    "%YAML 1.1\n---\n", "--- \n...\n", "k: |\n  text\n", "\t\n", "\ufeffa: 1\n", "{", "]",
    "x: &r [*r]\n", "2026-01-01: key\n", "null: v\n", "[1]: v\n", "true: v\n",
]  # fmt: skip


def _check(text: str) -> None:
    try:
        document = parse_yaml(text, FILE)
    except YamlReadError as exc:
        assert exc.problem.file.endswith("fuzzed.yaml")
        assert exc.problem.line >= 1
        return
    assert document.path == FILE


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join))
def test_fragments_load_or_give_a_located_error(text: str) -> None:
    _check(text)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_text_loads_or_gives_a_located_error(text: str) -> None:
    _check(text)


def _yaml_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.dates(),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        ),
        max_leaves=12,
    )


CHARTER = yaml.safe_load((EXAMPLE_GOVERNANCE / "agents" / "refunds.yaml").read_text())
PATHS = [
    ("tier",),
    ("owners",),
    ("owners", "agent_owner", "email"),
    ("guardrails",),
    ("guardrails", 0, "max"),
    ("stop_conditions", 0, "window"),
    ("stop_conditions", 0, "above"),
    ("monitor", "baseline"),
    ("monitor", "baseline", "from"),
    ("monitor", "recent"),
    ("monitor", "metrics"),
    ("monitor", "effect_floors"),
    ("budget", "monthly_usd"),
    ("north_star", "target"),
    ("review", "cadence"),
    ("work",),
    ("unexpected",),
]


def _set(data: dict, path: tuple, value: object) -> None:
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


@given(st.sampled_from(PATHS), _yaml_values())
def test_mutated_charter_validates_or_gives_located_problems(
    tmp_path_factory, path: tuple, value: object
) -> None:
    root = tmp_path_factory.mktemp("gov") / "governance"
    shutil.copytree(EXAMPLE_GOVERNANCE, root)
    charter = yaml.safe_load(yaml.safe_dump(CHARTER))
    _set(charter, path, value)
    (root / "agents" / "refunds.yaml").write_text(yaml.safe_dump(charter), encoding="utf-8")
    try:
        load_governance(root)
    except ValidationFailed as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file.endswith(".yaml") and problem.line >= 1, problem
            assert "Traceback" not in problem.message
