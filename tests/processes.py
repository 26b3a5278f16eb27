"""What is running, read from /proc (Linux): for tests that stop govkit and look for leftovers."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path


def processes_mentioning(text: str) -> set[int]:
    """Pids of running processes whose command line contains `text` (zombies have none)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended while we looked
            continue
        if text in command:
            found.add(int(entry.name))
    return found


def running_in_group(group: int) -> set[int]:
    """Pids of the process group `group` that are still running (not zombies)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state not in "ZX":
            found.add(int(entry.name))
    return found


def wait_for(condition: Callable[[], object], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def port_is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port` (a socket lingering in TIME_WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
