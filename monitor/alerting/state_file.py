"""The monitor's state file on disk: is this file a govkit state, and what went wrong with it.

`check_state_file` runs before anything is created next to a `--state PATH` (no lock file, no
journal): a path naming a file that is not a govkit state is refused (exit 2) and left alone.
`state_failure` turns what SQLite or the operating system said (a read-only file system, a full
disk) into one located message; the state is SQLite, so a failed write leaves the previous one.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from playbook.core.errors import UsageError, display_path

SQLITE_HEADER = b"SQLite format 3\x00"
STATE_TABLES = {"meta", "runs", "alerts", "outbox"}


def _not_a_state(path: Path, what: str) -> UsageError:
    return UsageError(
        f"{display_path(path)}: expected a govkit monitor state (the SQLite file `govkit monitor "
        f"run` writes) but {what}; it was left as it is and nothing was created next to it. "
        "Give --state a new path or the state file of an earlier run."
    )


def check_state_file(path: Path) -> None:
    """Refuse a path that names anything but a govkit state, a new path or an empty file."""
    if not path.exists():
        return
    if not path.is_file():
        raise _not_a_state(path, "this is a directory")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise UsageError(f"{display_path(path)}: cannot read the state: {exc.strerror}") from None
    if not header:
        return  # an empty file: a state not yet written
    if header != SQLITE_HEADER:
        raise _not_a_state(path, "the file holds something else")
    try:  # immutable: no journal or lock is touched, so this also works on a read-only disk
        with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            version = (
                db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if "meta" in tables
                else None
            )
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise _not_a_state(path, f"SQLite cannot read it ({exc})") from None
        return  # another trouble (a lock, the disk): opening the state will say what it is
    if tables and (version is None or not tables >= STATE_TABLES):
        raise _not_a_state(path, "it is another SQLite database")


def state_failure(path: Path, doing: str, exc: BaseException) -> UsageError:
    """`PATH: cannot <doing>: <what the OS or SQLite said>; the previous state is unchanged`."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.Error) and "not a database" in reason:
        return _not_a_state(path, f"SQLite cannot read it ({reason})")
    return UsageError(
        f"{display_path(path)}: cannot {doing}: {reason}; the previous state and snapshot are "
        "unchanged"
    )


def remove_new_files(paths: list[Path], existed: set[Path]) -> None:
    """Remove what a failed first run created (an empty state, its journal, its lock)."""
    for path in paths:
        if path not in existed:
            with contextlib.suppress(OSError):  # a read-only disk keeps what it never had
                path.unlink(missing_ok=True)
