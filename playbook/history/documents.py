"""Governance files as git holds them: what each file is (a charter, a policy, a catalog), its blob
parsed once with `playbook.core.yamlsrc` (safe, every field located at `file:line`), and what a
charter refers to (its policies, its prompt file, its eval suites' result files).

The governance at one commit or in the work tree is a `playbook.history.snapshot.Snapshot`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from playbook.core import governance as files
from playbook.core.change_control import prompt_path
from playbook.core.errors import Problem
from playbook.core.git import MAX_BLOB_BYTES, Repo
from playbook.core.yamlsrc import YamlDocument, YamlReadError, parse_yaml
from playbook.policy.rules import POLICIES_DIR, TESTS_SUFFIX

YAML_SUFFIXES = (".yaml", ".yml", ".json")
SCHEMAS_DIR = "schemas"  # generated (govkit schema): not governance anyone decides on
# Catalog files: the key holding their items, and what one item is called.
CATALOGS = {
    files.TIERS_FILE: ("tiers", "tier"),
    files.METRICS_FILE: ("metrics", "metric"),
    files.OPERATING_MODELS_FILE: ("operating_models", "operating model"),
    files.ROLES_FILE: ("roles", "role"),
    files.ROLLOUT_FILE: ("phases", "rollout phase"),
}
SINGLETONS = {
    files.ORGANISATION_FILE: "organisation",
    files.TIERS_FILE: "tiers",
    files.METRICS_FILE: "metric catalog",
    files.OPERATING_MODELS_FILE: "operating models",
    files.ROLES_FILE: "roles",
    files.ROLLOUT_FILE: "rollout",
    files.MONITOR_FILE: "monitor settings",
    files.SOURCES_FILE: "trace sources",
    files.PRICING_FILE: "pricing",
}


@dataclass(frozen=True)
class FileKind:
    """What a file is: `subject` names it in a change (`agent refunds`, `policy support-agent`);
    a catalog names each of its items (`tier 3`) by `item_noun` and its id."""

    role: str  # agent, policy, policy-tests, catalog, settings, prompt, evals, file
    subject: str
    name: str = ""  # the agent's or the policy's id
    list_key: str | None = None
    item_noun: str | None = None


class Parsed:
    """One version of a file: its YAML document, or its text (a prompt), or why it is neither;
    parsed when first asked (`head` reads only what an added or deleted file's summary needs)."""

    def __init__(self, path: str, raw: bytes | None) -> None:
        self.path, self.raw_or_none = path, raw
        self._done = False
        self._document: YamlDocument | None = None
        self._text: str | None = None
        self._problem: Problem | None = None
        self._head: tuple[int, Any] | bool | None = None  # False: not plain YAML

    @property
    def raw(self) -> bytes:
        return self.raw_or_none or b""

    def _parse(self) -> None:
        if not self._done:
            self._done = True
            self._document, self._text, self._problem = _parse(self.path, self.raw_or_none)

    @property
    def document(self) -> YamlDocument | None:
        self._parse()
        return self._document

    @property
    def text(self) -> str | None:
        self._parse()
        return self._text

    @property
    def problem(self) -> Problem | None:
        self._parse()
        return self._problem

    @property
    def data(self) -> Any:
        document = self.document
        return document.data if document is not None else None

    def head(self) -> tuple[int, Any] | None:
        """The line of the first value and the top-level mapping of a YAML file (its scalars as
        written: enough for a summary), read without building the whole document; None when
        it is not plain YAML (then ask `problem`)."""
        if self._done or not self.path.endswith(YAML_SUFFIXES) or self.raw_or_none is None:
            return None
        if self._head is None:
            try:
                node = yaml.compose(self.raw_or_none.decode("utf-8"), Loader=_COMPOSER)
            except (UnicodeDecodeError, yaml.YAMLError, RecursionError):
                node = None
            ok = isinstance(node, yaml.MappingNode)
            self._head = (node.start_mark.line + 1, _shallow(node)) if ok else False  # type: ignore[union-attr]
        return self._head or None


_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _shallow(node: yaml.MappingNode, depth: int = 0) -> dict[str, Any]:
    """A mapping node's scalar values and (two levels deep) mappings, strings as written."""
    found: dict[str, Any] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if isinstance(value, yaml.ScalarNode):
            found[key.value] = int(value.value) if value.value.isdigit() else value.value
        elif isinstance(value, yaml.MappingNode) and depth < 2:
            found[key.value] = _shallow(value, depth + 1)
    return found


@lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A repository-path glob as a regex: `*` and `?` within a folder, `**/` any folders."""
    out, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out, index = out + "(?:[^/]+/)*", index + 3
            continue
        if char == "[" and "]" in pattern[index + 2 :]:
            end = pattern.index("]", index + 2)
            body = pattern[index + 1 : end].replace("\\", "\\\\")
            out, index = (
                out + "[" + ("^" + body[1:] if body.startswith("!") else body) + "]",
                end + 1,
            )
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        index += 1
    return re.compile(out + r"\Z")


_WILD = re.compile(r"[*?\[]")


def literal_folder(pattern: str) -> str:
    """The folder a glob's files all lie in or below: `gov/evals/r` for `gov/evals/r/*.xml`."""
    wild = _WILD.search(pattern)
    return posixpath.dirname(pattern[: wild.start()] if wild else pattern)


@lru_cache(maxsize=4096)
def _one_star(pattern: str) -> tuple[str, str, str] | None:
    """`(folder/, before, after)` of a glob whose only wildcard is one `*` in its file name."""
    folder, _, name = pattern.rpartition("/")
    if name.count("*") != 1 or any(c in pattern for c in "?[") or "*" in folder:
        return None
    before, _, after = name.partition("*")
    return (folder + "/" if folder else ""), before, after


@dataclass(frozen=True)
class SuiteRef:
    """One eval suite of a charter, its results glob as a repository path."""

    suite: str
    pattern: str
    min_pass_rate: float | None
    index: int  # its place in the charter's `evals` list (for its line)

    def matches(self, path: str) -> bool:
        simple = _one_star(self.pattern)
        if simple is not None:  # `folder/prefix*suffix`: no regex to compile per charter
            folder, before, after = simple
            if not path.startswith(folder):
                return False
            name = path[len(folder) :]
            fits = len(name) >= len(before) + len(after)
            return "/" not in name and fits and name.startswith(before) and name.endswith(after)
        return glob_regex(self.pattern).match(path) is not None

    @property
    def shallow(self) -> bool:
        """Whether its files all lie in its literal folder itself (no wildcard folder)."""
        return "/" not in self.pattern[len(literal_folder(self.pattern)) + 1 :]


@dataclass(frozen=True)
class References:
    """What one charter refers to, as repository paths (None: not declared, or not a path)."""

    policies: frozenset[str] = frozenset()
    prompt: str | None = None
    suites: tuple[SuiteRef, ...] = ()


def in_repository(prefix: str, relative: Any) -> str | None:
    """A path written relative to the governance directory, as a repository path; None when it
    is not text or leaves the repository."""
    if not isinstance(relative, str) or not relative.strip() or relative.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(prefix, relative) if prefix else relative)
    return None if joined == ".." or joined.startswith("../") else joined


def _suites(data: Any, prefix: str) -> tuple[SuiteRef, ...]:
    evals = data.get("evals") if isinstance(data, dict) else None
    found = []
    for index, entry in enumerate(evals if isinstance(evals, list) else []):
        if not isinstance(entry, dict):
            continue
        pattern = in_repository(prefix, entry.get("results"))
        rate = entry.get("min_pass_rate")
        number = isinstance(rate, int | float) and not isinstance(rate, bool)
        name = entry.get("suite")
        if pattern is not None:
            label = name if isinstance(name, str) else f"evals[{index}]"
            found.append(SuiteRef(label, pattern, float(rate) if number else None, index))
    return tuple(found)


def references(data: Any, prefix: str) -> References:
    """The policies, prompt file and eval suites a charter's data (valid or not) names."""
    policies = data.get("policies") if isinstance(data, dict) else None
    names = (
        frozenset(p for p in policies if isinstance(p, str)) if isinstance(policies, list) else ()
    )
    prompt = prompt_path(data.get("prompt")) if isinstance(data, dict) else None
    return References(frozenset(names), in_repository(prefix, prompt), _suites(data, prefix))


@dataclass
class Labels:
    """The files charters refer to, named after their agent: `prompt of agent refunds`. Result
    globs are kept by their literal folder, so that a path is tried against the few globs of
    its own folders, not against every charter's."""

    exact: dict[str, FileKind] = field(default_factory=dict)
    by_folder: dict[str, list[tuple[SuiteRef, FileKind]]] = field(default_factory=dict)

    def add_pattern(self, suite: SuiteRef, kind: FileKind) -> None:
        self.by_folder.setdefault(literal_folder(suite.pattern), []).append((suite, kind))

    def get(self, path: str) -> FileKind | None:
        if path in self.exact:
            return self.exact[path]
        folder = posixpath.dirname(path)
        while True:
            for suite, kind in self.by_folder.get(folder, ()):
                if suite.matches(path):
                    return kind
            if not folder:
                return None
            folder = posixpath.dirname(folder)


def labels_for(charters: dict[str, Any], prefix: str) -> Labels:
    labels = Labels()
    for agent, data in sorted(charters.items()):
        refs = references(data, prefix)
        if refs.prompt:
            kind = FileKind("prompt", f"prompt of agent {agent}", agent)
            labels.exact.setdefault(refs.prompt, kind)
        for suite in refs.suites:
            kind = FileKind("evals", f"eval results of agent {agent}", agent)
            labels.add_pattern(suite, kind)
    return labels


def _relative(path: str, prefix: str) -> str:
    """A repository path relative to the governance directory (`..` first when outside it)."""
    if not prefix:
        return path
    if path.startswith(prefix + "/"):
        return path[len(prefix) + 1 :]
    return posixpath.relpath(path, prefix)


def kind_of(path: str, prefix: str, labels: Labels | None = None) -> FileKind | None:
    """The kind of the repository file `path`; None for a file that is no governance (a
    generated schema). `labels`: files charters refer to (prompts, eval results)."""
    label = labels.get(path) if labels is not None else None
    if label is not None:
        return label
    relative = _relative(path, prefix)
    parts = relative.split("/") if relative else []
    if not parts or parts[0] in (SCHEMAS_DIR, "..") or parts[0].startswith("."):
        return None
    name = parts[-1]
    if len(parts) == 2 and parts[0] == files.AGENTS_DIR and name.endswith((".yaml", ".yml")):
        stem = name.rsplit(".", 1)[0]
        return FileKind("agent", f"agent {stem}", stem)
    if len(parts) == 2 and parts[0] == POLICIES_DIR and name.endswith(TESTS_SUFFIX):
        stem = name.removesuffix(TESTS_SUFFIX)
        return FileKind("policy-tests", f"policy {stem} tests", stem)
    if len(parts) == 2 and parts[0] == POLICIES_DIR and name.endswith(".yaml"):
        stem = name.removesuffix(".yaml")
        return FileKind("policy", f"policy {stem}", stem)
    if len(parts) == 1 and name in CATALOGS:
        list_key, noun = CATALOGS[name]
        return FileKind("catalog", SINGLETONS[name], "", list_key, noun)
    if len(parts) == 1 and name in SINGLETONS:
        return FileKind("settings", SINGLETONS[name])
    return FileKind("file", relative)


def _parse(path: str, data: bytes | None) -> tuple[YamlDocument | None, str | None, Problem | None]:
    if data is None:
        return (
            None,
            None,
            Problem(path, 1, "", f"too large to read (over {MAX_BLOB_BYTES:,} bytes)"),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, None, Problem(path, line, "", "expected UTF-8 text")
    if not path.endswith(YAML_SUFFIXES):
        return None, text, None
    try:
        return parse_yaml(text, Path(path)), None, None
    except YamlReadError as exc:
        return None, None, exc.problem


def parse_blob(path: str, data: bytes | None) -> Parsed:
    """One blob as a document (YAML and JSON, safely) or as text; a problem when it is neither
    (parsed when first asked)."""
    return Parsed(path, data)


@dataclass
class Blobs:
    """Blobs of one repository, each read and parsed once however many commits share it."""

    repo: Repo
    _parsed: dict[tuple[str, str], Parsed] = field(default_factory=dict)
    _raw: dict[str, bytes | None] = field(default_factory=dict)

    def fetch(self, ids: set[str | None]) -> None:
        wanted = {oid for oid in ids if oid is not None and oid not in self._raw}
        self._raw.update(self.repo.blobs(wanted))

    def put(self, oid: str, data: bytes) -> None:
        self._raw[oid] = data

    def raw(self, oid: str) -> bytes | None:
        if oid not in self._raw:
            self.fetch({oid})
        return self._raw.get(oid)

    def parsed(self, path: str, oid: str | None) -> Parsed | None:
        if oid is None:
            return None
        key = (path, oid)
        if key not in self._parsed:
            self._parsed[key] = parse_blob(path, self.raw(oid))
        return self._parsed[key]


def charter_paths(tree: dict[str, str], prefix: str) -> dict[str, str]:
    """Agent id -> repository path of each charter in a tree."""
    found = {}
    for path in tree:
        kind = kind_of(path, prefix)
        if kind is not None and kind.role == "agent":
            found[kind.name] = path
    return found


def policy_path(prefix: str, policy_id: str) -> str:
    return posixpath.join(prefix, POLICIES_DIR, f"{policy_id}.yaml")


def tests_of(policy: str) -> str:
    return policy.removesuffix(".yaml") + TESTS_SUFFIX
