"""A snapshot: the governance at one commit (`snapshot`) or in the work tree (`worktree`), every
file's blob id, with charters parsed on demand. The blobs of the work tree are computed from its
bytes, so that both sides of a change compare the same way.

Which files charters refer to (prompts, eval results) is read from every charter's text with a
quick scan of its `prompt`, `path` and `results` lines; a charter the scan cannot read for sure
(flow style, aliases, folded values) is parsed in full.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from playbook.core.git import blob_id
from playbook.history.documents import (
    Blobs,
    FileKind,
    Labels,
    Parsed,
    References,
    SuiteRef,
    charter_paths,
    kind_of,
    labels_for,
    literal_folder,
    references,
)

WORKTREE = "work tree"  # the name of the uncommitted side of a change
_KEY_LINE = re.compile(
    rb"^[ \t-]*[\"']?(prompt|path|results|evals)[\"']?[ \t]*:(.*)$", re.MULTILINE
)


_PLAIN = re.compile(r"[A-Za-z0-9_./*?-]+\Z")  # a path or glob needing no YAML to read
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar(value: bytes) -> Any:
    """One value written after a key on its line (quoted or not); ValueError when unsure."""
    text = value.decode("utf-8").split(" #", 1)[0].strip()
    if not text or text[0] in "&*|>!%@`":
        raise ValueError(text)
    if _PLAIN.match(text) and text[0] not in "*?":
        return text
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


def quick_data(raw: bytes) -> dict[str, Any]:
    """The `prompt` and `evals` of a charter's text, from its lines alone; ValueError when the
    text writes them in a way only a full parse can read."""
    found: dict[str, Any] = {}
    suites: list[dict[str, Any]] = []
    pending_prompt = False
    for match in _KEY_LINE.finditer(raw):
        key, value = match.group(1).decode(), match.group(2)
        if key == "prompt":
            found["prompt"] = _scalar(value) if value.strip() else {}
            pending_prompt = not value.strip()
        elif key == "path" and pending_prompt:
            found["prompt"] = {"path": _scalar(value)}
            pending_prompt = False
        elif key == "results":
            suites.append({"results": _scalar(value)})
        elif key == "evals" and value.split(b"#", 1)[0].strip() not in (b"", b"[]"):
            raise ValueError("evals written in flow style")
    if suites:
        found["evals"] = suites
    return found


@dataclass
class Snapshot:
    """The governance files at one commit (or in the work tree), charters parsed on demand."""

    blobs: Blobs
    sha: str  # the commit, or WORKTREE
    prefix: str
    files: dict[str, str]  # repository path -> blob id
    mtimes: dict[str, datetime] = field(default_factory=dict)  # work tree files only

    @cached_property
    def charter_files(self) -> dict[str, str]:
        return charter_paths(self.files, self.prefix)

    def charter(self, agent: str) -> Any:
        """The agent's charter data (valid or not; None when absent or unreadable)."""
        path = self.charter_files.get(agent)
        parsed = self.blobs.parsed(path, self.files[path]) if path else None
        return parsed.data if parsed is not None else None

    def parsed(self, path: str) -> Parsed | None:
        return self.blobs.parsed(path, self.files.get(path))

    @cached_property
    def charters(self) -> dict[str, Any]:
        self.blobs.fetch({self.files[path] for path in self.charter_files.values()})
        return {agent: self.charter(agent) for agent in self.charter_files}

    def refs(self, agent: str) -> References:
        return references(self.charter(agent), self.prefix)

    @cached_property
    def _folders(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for path in self.files:
            found.setdefault(posixpath.dirname(path), []).append(path)
        return found

    def matching(self, suite: SuiteRef) -> list[str]:
        """The files of the snapshot a suite's results glob matches, sorted."""
        folder = literal_folder(suite.pattern)
        if suite.shallow:
            candidates = self._folders.get(folder, [])
        else:
            below = folder + "/" if folder else ""
            candidates = [p for p in self.files if p.startswith(below)]
        return sorted(path for path in candidates if suite.matches(path))

    @cached_property
    def labels(self) -> Labels:
        """Whose prompt or eval results each referred file is; each charter read by its lines
        (`quick_data`), or parsed in full when they are not plain enough."""
        self.blobs.fetch({self.files[path] for path in self.charter_files.values()})
        found: dict[str, Any] = {}
        for agent, path in self.charter_files.items():
            try:
                found[agent] = quick_data(self.blobs.raw(self.files[path]) or b"")
            except (ValueError, UnicodeDecodeError, yaml.YAMLError):
                found[agent] = self.charter(agent)
        return labels_for(found, self.prefix)

    def kind(self, path: str) -> FileKind | None:
        """The kind of a file, naming prompts and eval results only when needed (parsing every
        charter once)."""
        kind = kind_of(path, self.prefix)
        if kind is None or kind.role != "file":
            return kind
        return self.labels.get(path) or kind


def snapshot(blobs: Blobs, sha: str, prefix: str) -> Snapshot:
    """The governance files at commit `sha` (and prompt files kept outside the directory are
    added by `with_outside`)."""
    return Snapshot(blobs, sha, prefix, blobs.repo.tree(sha, prefix))


def _walk(top: Path) -> list[Path]:
    found = []
    for directory, folders, names in os.walk(top):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found += [Path(directory) / name for name in sorted(names) if not name.startswith(".")]
    return found


def worktree(blobs: Blobs, prefix: str, folders: list[str] | None = None) -> Snapshot:
    """The governance files as they are on disk (committed or not), with their blob ids;
    `folders` (repository paths): only the files in or below these (eval results)."""
    top = blobs.repo.top
    found: dict[str, str] = {}
    mtimes: dict[str, datetime] = {}
    walked = [top / prefix if prefix else top] if folders is None else [top / f for f in folders]
    for path in (p for folder in walked if folder.is_dir() for p in _walk(folder)):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        oid = blob_id(data)
        relative = path.relative_to(blobs.repo.top).as_posix()
        found[relative] = oid
        mtimes[relative] = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        blobs.put(oid, data)
    return Snapshot(blobs, WORKTREE, prefix, found, mtimes)


def outside_files(snap: Snapshot) -> list[str]:
    """Prompt files the charters keep outside the governance directory (beside the code). Only
    a charter whose text has `..` can name one: the others are not parsed for this."""
    inside = f"{snap.prefix}/" if snap.prefix else ""
    if not inside:
        return []
    paths = snap.charter_files
    snap.blobs.fetch({snap.files[path] for path in paths.values()})
    found = {
        snap.refs(agent).prompt
        for agent, path in paths.items()
        if b".." in (snap.blobs.raw(snap.files[path]) or b"")
    }
    return sorted(p for p in found if p and not p.startswith(inside) and p not in snap.files)


def add_outside(snap: Snapshot, paths: list[str]) -> None:
    """Add files kept outside the governance directory to a snapshot (from git, or the disk)."""
    for path in paths:
        if snap.sha != WORKTREE:
            snap.files.update(snap.blobs.repo.tree(snap.sha, path))
            continue
        where = snap.blobs.repo.top / path
        if where.is_file() and not where.is_symlink():
            data = where.read_bytes()
            snap.files[path] = blob_id(data)
            snap.mtimes[path] = datetime.fromtimestamp(where.stat().st_mtime, UTC)
            snap.blobs.put(snap.files[path], data)
