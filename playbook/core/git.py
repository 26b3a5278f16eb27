"""git, read-only: the audit trail the governance files live in.

govkit never writes to a repository. It runs the `git` command (no library binding) with a fixed
environment, so that a user's configuration (pagers, colours, rename detection, `log.showSignature`)
cannot change what it parses, and every failure (no git, not a repository, an unknown revision, a
shallow clone) is a UsageError saying what to do, never a traceback. Commits are read with one
`git log` per question and blobs with one `git cat-file --batch` for all of them.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from playbook.core.errors import UsageError, display_path

GIT_TIMEOUT_S = 120
MAX_BLOB_BYTES = 5_000_000  # far above any governance file; a bigger blob is not parsed
# Environment for every git call: plain output, no prompts, no optional locks, no user pager.
_ENV = {
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_PAGER": "cat",
    "GIT_CONFIG_PARAMETERS": "",
}
_CONFIG = ("-c", "core.quotepath=off", "-c", "log.showSignature=false", "-c", "diff.renames=false")
_IDENTITY = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+@[^<>\s]+)>\s*$")
_RECORD, _FIELD, _VALUES = "\x1e", "\x1f", "\x1d"
# One commit: sha, parents, author, author email, author time, commit time, subject, trailers.
_LOG_FORMAT = "%x1e" + "%x1f".join(
    [
        "%H",
        "%P",
        "%an",
        "%ae",
        "%at",
        "%ct",
        "%s",
        "%(trailers:key=Approved-by,valueonly,separator=%x1d)",
        "%(trailers:key=Co-authored-by,valueonly,separator=%x1d)",
    ]
)
_ZERO = re.compile(r"^0+$")


@dataclass(frozen=True, order=True)
class Identity:
    """A person as git and code hosts name them: `Name <email>`, or a code host login."""

    name: str
    email: str = ""
    login: str = ""

    def __str__(self) -> str:
        if self.email:
            return f"{self.name} <{self.email}>" if self.name else f"<{self.email}>"
        return f"{self.name} (@{self.login})" if self.name != self.login else f"@{self.login}"

    @property
    def keys(self) -> set[str]:
        """What this person may be matched by: the email, and `@login` on the code host."""
        found = {self.email.lower()} if self.email else set()
        return found | ({f"@{self.login.lower()}"} if self.login else set())


def parse_identity(text: str) -> Identity | None:
    """`Ada Lovelace <ada@example.org>` as an Identity; None when it is not of that shape."""
    match = _IDENTITY.match(text)
    if match is None:
        return None
    return Identity(match.group("name"), match.group("email"))


@dataclass(frozen=True)
class FileChange:
    """A file a commit changed: its repository path and blob ids (None: absent on that side);
    `old_path` the path it had before when git saw a rename (log with `renames=True`)."""

    path: str
    old: str | None
    new: str | None
    old_path: str | None = None

    @property
    def status(self) -> str:
        if self.old_path is not None and self.old_path != self.path:
            return "renamed"
        if self.old is None:
            return "added"
        return "deleted" if self.new is None else "modified"


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: Identity
    authored_at: datetime
    committed_at: datetime
    subject: str
    approvals: tuple[Identity, ...] = ()  # `Approved-by:` trailers
    co_authors: tuple[Identity, ...] = ()  # `Co-authored-by:` trailers
    changes: tuple[FileChange, ...] = field(default=(), compare=False)

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def authors(self) -> tuple[Identity, ...]:
        return (self.author, *self.co_authors)


def blob_id(data: bytes, *, length: int = 40) -> str:
    """git's object id of a file's bytes (SHA-1, or SHA-256 for a 64-digit repository)."""
    digest = hashlib.sha256 if length == 64 else hashlib.sha1
    return digest(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _moment(epoch: str) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def _identities(text: str) -> tuple[Identity, ...]:
    found = (parse_identity(part) for part in text.split(_VALUES) if part.strip())
    return tuple(identity for identity in found if identity is not None)


def _changes(raw: str) -> tuple[FileChange, ...]:
    """`:100644 100644 OLD NEW M\\0path\\0...` (git log --raw -z --no-abbrev) as FileChanges; a
    rename or copy (`R086`, `C100`) is followed by two paths, the old and the new."""
    tokens = raw.lstrip("\n").split("\0")
    changes = []
    index = 0
    while index + 1 < len(tokens):
        meta, index = tokens[index].strip(), index + 1
        parts = meta.split()
        if len(parts) < 5 or not meta.startswith(":"):
            continue
        old, new = (None if _ZERO.match(oid) else oid for oid in parts[2:4])
        if parts[4][:1] in ("R", "C") and index + 1 < len(tokens):
            source, path, index = tokens[index], tokens[index + 1], index + 2
            if parts[4][:1] == "C":  # a copy leaves its source alone: the new file is added
                changes.append(FileChange(path, None, new))
            else:
                changes.append(FileChange(path, old, new, source))
            continue
        path, index = tokens[index], index + 1
        changes.append(FileChange(path, old, new))
    return tuple(changes)


def parse_log(output: str) -> list[Commit]:
    """The commits of `git log -z --raw --format=<_LOG_FORMAT>`, newest first."""
    commits = []
    for record in output.split(_RECORD)[1:]:
        header, _, raw = record.partition("\0")
        fields = header.rstrip("\n").split(_FIELD)
        if len(fields) != 9:
            continue
        sha, parents, name, email, authored, committed, subject, approved, co = fields
        commits.append(
            Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author=Identity(name, email),
                authored_at=_moment(authored),
                committed_at=_moment(committed),
                subject=subject,
                approvals=_identities(approved),
                co_authors=_identities(co),
                changes=_changes(raw),
            )
        )
    return commits


class Repo:
    """A git repository, read-only, with the directory govkit was pointed at inside it."""

    def __init__(self, top: Path) -> None:
        self.top = top

    @classmethod
    def around(cls, where: Path) -> Repo:
        """The repository holding `where` (or its closest existing parent directory)."""
        start = where if where.is_dir() else next((p for p in where.parents if p.is_dir()), None)
        output = _run(["rev-parse", "--show-toplevel"], cwd=start or Path.cwd(), where=where)
        return cls(Path(output.decode("utf-8", "replace").strip()))

    def relative(self, path: Path) -> str:
        """`path` (in the work tree) as a repository path (`governance/agents/refunds.yaml`)."""
        absolute = Path(os.path.abspath(path))
        try:
            relative = absolute.relative_to(self.top.resolve())
        except ValueError:
            try:
                relative = absolute.resolve().relative_to(self.top.resolve())
            except ValueError:
                raise UsageError(
                    f"{display_path(path)} lies outside the git repository {self.top}"
                ) from None
        return relative.as_posix() if str(relative) != "." else ""

    def git(self, *args: str, input: bytes | None = None) -> bytes:
        return _run(list(args), cwd=self.top, input=input)

    def text(self, *args: str) -> str:
        return self.git(*args).decode("utf-8", "replace")

    def resolve(self, revision: str, *, what: str = "revision") -> str:
        """The commit `revision` names (a sha, branch, tag, `HEAD~2`); UsageError when none."""
        if not revision or revision.startswith("-") or any(c in revision for c in "\0\n"):
            raise UsageError(
                f"expected a {what} (a commit, branch or tag) but received {revision!r}"
            )
        try:
            return self.text("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip()
        except UsageError:
            hint = " (the clone is shallow: fetch the whole history)" if self.shallow else ""
            raise UsageError(
                f"unknown {what} {revision!r}: no such commit, branch or tag in {self.top}{hint}"
            ) from None

    @property
    def shallow(self) -> bool:
        return self.text("rev-parse", "--is-shallow-repository").strip() == "true"

    def commit_before(self, moment: datetime, tip: str = "HEAD") -> str | None:
        """The last commit of `tip`'s first-parent line committed at or before `moment`."""
        epoch = int(moment.timestamp())
        found = self.text("rev-list", "-1", "--first-parent", f"--before=@{epoch}", tip).strip()
        return found or None

    def merge_base(self, one: str, other: str) -> str:
        try:
            return self.text("merge-base", one, other).strip()
        except UsageError:
            hint = " fetch the whole history (a shallow clone)" if self.shallow else ""
            raise UsageError(
                f"{one[:12]} and {other[:12]} share no history;{hint or ' give BASE..HEAD'}"
            ) from None

    def log(
        self,
        revisions: Sequence[str],
        paths: Sequence[str],
        *,
        options: Sequence[str] = (),
        renames: bool = False,
    ) -> list[Commit]:
        """Commits of `revisions` touching `paths` (every commit when `paths` is empty), newest
        first, each with its file changes (none for a merge); `options` such as `--no-merges`;
        `renames`: a renamed file is one change with its old path (git's rename detection)."""
        detect = "--find-renames" if renames else "--no-renames"
        args = ["log", "-z", "--raw", detect, "--no-abbrev", "--no-color"]
        output = self.text(*args, *options, f"--format={_LOG_FORMAT}", *revisions, "--", *paths)
        return parse_log(output)

    def merges(self, tip: str) -> list[Commit]:
        """The merge commits of `tip`'s first-parent line, newest first (no file changes)."""
        output = self.text(
            "log", "-z", "--first-parent", "--merges", f"--format={_LOG_FORMAT}", tip
        )
        return parse_log(output)

    def parents(self, tip: str) -> dict[str, tuple[str, ...]]:
        """Every commit reachable from `tip` with its parents."""
        found = {}
        for line in self.text("rev-list", "--parents", tip).splitlines():
            sha, *parents = line.split()
            found[sha] = tuple(parents)
        return found

    def commit(self, sha: str) -> Commit:
        output = self.text("log", "-1", "-z", f"--format={_LOG_FORMAT}", sha, "--")
        return parse_log(output)[0]

    def tree(self, sha: str, prefix: str) -> dict[str, str]:
        """Repository path -> blob id of every file under `prefix` at commit `sha`."""
        output = self.text("ls-tree", "-r", "-z", "--full-tree", sha, "--", prefix or ".")
        found = {}
        for entry in output.split("\0"):
            meta, _, path = entry.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob":
                found[path] = parts[2]
        return found

    def blobs(self, ids: Iterable[str]) -> dict[str, bytes | None]:
        """The bytes of each blob, read in one batch; None for one too big to parse."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        sizes: dict[str, int] = {}
        checked = self.git("cat-file", "--batch-check", input="\n".join(wanted).encode() + b"\n")
        for line in checked.decode("utf-8", "replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob":
                sizes[parts[0]] = int(parts[2])
        small = [oid for oid in wanted if sizes.get(oid, MAX_BLOB_BYTES + 1) <= MAX_BLOB_BYTES]
        found: dict[str, bytes | None] = dict.fromkeys(wanted)
        output = self.git("cat-file", "--batch", input="\n".join(small).encode() + b"\n")
        position = 0
        for oid in small:
            header_end = output.index(b"\n", position)
            size = int(output[position:header_end].split()[2])
            found[oid] = output[header_end + 1 : header_end + 1 + size]
            position = header_end + 1 + size + 1
        return found

    def default_branch(self) -> str | None:
        """The commit of the default branch: origin/HEAD, else main, master, origin/main or
        origin/master; None when there is none of these."""
        candidates = ["origin/HEAD", "main", "master", "origin/main", "origin/master"]
        for name in candidates:
            try:
                return self.text("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").strip()
            except UsageError:
                continue
        return None

    def identity(self) -> Identity | None:
        """Who would author a commit here (`git var GIT_AUTHOR_IDENT`); None when unset."""
        try:
            ident = self.text("var", "GIT_AUTHOR_IDENT").strip()
        except UsageError:
            return None
        return parse_identity(ident.rsplit(">", 1)[0] + ">") if ">" in ident else None

    def added_at(self, sha: str, paths: Sequence[str]) -> dict[str, datetime]:
        """When each of `paths` was last added in the history of `sha` (its commit time)."""
        if not paths:
            return {}
        output = self.text(
            "log", "-z", "--no-renames", "--diff-filter=A", "--name-only", "--format=%x1e%ct",
            sha, "--", *paths,
        )  # fmt: skip
        found: dict[str, datetime] = {}
        for record in output.split(_RECORD)[1:]:  # `CT\0\nPATH\0PATH\0`
            stamp, _, names = record.partition("\0")
            for name in names.split("\0"):
                name = name.strip("\n")
                if name and name not in found and stamp.strip().isdigit():
                    found[name] = _moment(stamp.strip())
        return found

    def changed(self, one: str, other: str, paths: Sequence[str]) -> list[str]:
        """Repository paths among `paths` that differ between two commits."""
        output = self.text("diff", "--name-only", "-z", "--no-renames", one, other, "--", *paths)
        return [path for path in output.split("\0") if path]


def _run(
    args: list[str], *, cwd: Path, input: bytes | None = None, where: Path | None = None
) -> bytes:
    """One git call; UsageError with git's own first line of complaint when it fails."""
    try:
        process = subprocess.run(
            ["git", *_CONFIG, *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env={**os.environ, **_ENV},
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("git not found: govkit reads the governance history with git") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {args[0]} took more than {GIT_TIMEOUT_S} s; stopped") from None
    if process.returncode != 0:
        complaint = process.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = complaint[0] if complaint else f"exit {process.returncode}"
        if "not a git repository" in reason:
            place = display_path(where or cwd)
            raise UsageError(
                f"{place} is not inside a git repository; govkit reads the history of the "
                "governance files from git"
            )
        raise UsageError(f"git {args[0]} failed: {reason.removeprefix('fatal: ')}")
    return process.stdout
