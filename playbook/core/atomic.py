"""Files that are never half-written: staged beside their target, then renamed into place.

`StagedFile.write` writes and flushes a temporary file in the target's directory; `publish` renames
it over the target (atomic on one file system), `discard` removes it. A reader sees the old file or
the new one, never a mix; a write the disk refuses (full, read-only) is a UsageError naming the
target and the operating system's reason, and leaves no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playbook.core.errors import UsageError, display_path


class StagedFile:
    """The next version of `target`, written but not yet in place."""

    def __init__(self, temporary: Path, target: Path) -> None:
        self.temporary = temporary
        self.target = target

    @classmethod
    def write(cls, target: Path, data: str | bytes, *, mode: int = 0o644) -> StagedFile:
        encoded = data.encode("utf-8") if isinstance(data, str) else data
        temporary: Path | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
            )
            temporary = Path(name)
            with os.fdopen(handle, "wb") as out:
                out.write(encoded)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, mode)  # mkstemp makes it private; a builder may be another user
        except OSError as exc:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
            raise _cannot_write(target, exc) from None
        return cls(temporary, target)

    @classmethod
    def reserve(cls, target: Path) -> StagedFile:
        """An empty temporary file beside `target`, for another writer (a DuckDB COPY) to fill;
        then `publish` it, or `discard` it when the writing failed."""
        return cls.write(target, b"")

    def publish(self) -> None:
        try:
            os.replace(self.temporary, self.target)
        except OSError as exc:
            self.discard()
            raise _cannot_write(self.target, exc) from None

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def write_atomically(target: Path, data: str | bytes) -> None:
    StagedFile.write(target, data).publish()


def _cannot_write(target: Path, exc: OSError) -> UsageError:
    reason = exc.strerror or str(exc)
    return UsageError(
        f"{display_path(target)}: cannot write: {reason}; the previous file is unchanged"
    )
