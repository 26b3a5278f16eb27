"""Real file-system faults for tests: a small tmpfs that fills up, remounted read-only at will.

Mounting needs the privilege to mount (root with CAP_SYS_ADMIN, as on the CI machine); where it
is missing, the tests that need it are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    """A tmpfs mounted at `root`: `fill()` leaves no byte free, `read_only()` remounts it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def fill(self, *, leave: int = 0) -> None:
        """Write zeros until the disk refuses even one more byte, then free `leave` bytes."""
        filler = self.root / ".filler"
        with filler.open("ab", buffering=0) as out:
            for size in (1 << 16, 4096, 1):
                with contextlib.suppress(OSError):
                    while True:
                        out.write(b"\0" * size)
        if leave:
            os.truncate(filler, max(filler.stat().st_size - leave, 0))

    def free(self) -> None:
        (self.root / ".filler").unlink(missing_ok=True)

    def read_only(self, on: bool = True) -> None:
        options = "remount,ro" if on else "remount,rw"
        subprocess.run(["mount", "-o", options, str(self.root)], check=True)

    def files(self) -> set[str]:
        return {
            str(path.relative_to(self.root))
            for path in self.root.rglob("*")
            if path.is_file() and path.name != ".filler"
        }


def _can_mount() -> bool:
    return os.geteuid() == 0 and Path("/proc/mounts").is_file()


@contextlib.contextmanager
def small_disk(where: Path, size: str = "4m") -> Iterator[SmallDisk]:
    where.mkdir(parents=True, exist_ok=True)
    if not _can_mount():
        pytest.skip("needs root to mount a small tmpfs for disk-full and read-only faults")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(where)
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
