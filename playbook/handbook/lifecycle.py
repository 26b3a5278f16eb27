"""The site builder as a child that never outlives govkit, and stage directories that never outlive
their run.

The builder runs in its own process group, so that stopping it stops everything it started, and
on Linux the kernel is asked to end it when govkit dies (`PR_SET_PDEATHSIG`), so that even a
SIGKILL of govkit leaves no builder serving a port. SIGTERM and SIGHUP (a service manager stopping
govkit, a closed terminal) unwind like Ctrl-C: every `finally` runs, teardown in reverse order of
set-up. A stage directory records its owner; one whose owner died without removing it (SIGKILL, a
power cut) is removed by the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from playbook.core.errors import Stopped

GRACE_SECONDS = 5.0  # how long the builder gets for each polite request to stop
OWNER_FILE = ".govkit-owner"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
HELD_SIGNALS = (signal.SIGINT, *STOP_SIGNALS)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP raise `Stopped`, as Ctrl-C raises KeyboardInterrupt.

    Once one of them (or Ctrl-C) arrived, further ones are ignored until the block ends: teardown
    has begun and a second signal must not cut it short. Outside the main thread (signals can
    only be handled there) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {each: signal.getsignal(each) for each in HELD_SIGNALS}

    def stop(signum: int, frame: object) -> None:
        for each in HELD_SIGNALS:
            signal.signal(each, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signum)

    for each in STOP_SIGNALS:
        signal.signal(each, stop)
    if previous[signal.SIGINT] is signal.default_int_handler:  # not when started with it ignored
        signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        for each, handler in previous.items():
            if handler is not None:  # None: set outside Python, nothing to restore
                signal.signal(each, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Defer SIGINT, SIGTERM and SIGHUP until the block is done: for steps that must not be left
    half-done (swapping the site in, creating or removing a stage directory)."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: nothing to hold
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def builder_process(command: list[str], *, cwd: Path, **popen: Any) -> Iterator[subprocess.Popen]:
    """Run the site builder; on the way out (done, failed, interrupted, stopped) stop it and its
    process group. `popen` is passed on (stdout, stderr, text, env)."""
    process: subprocess.Popen | None = None
    posix = os.name == "posix"
    held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS) if posix else None
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            start_new_session=posix,
            preexec_fn=_child_setup(held) if held is not None else None,
            **popen,
        )
        if held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a pending stop is raised here
            held = None
        yield process
    finally:
        if held is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if process is not None:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop the builder and its group: SIGINT (its own clean shutdown: MkDocs removes its temp
    site), then SIGTERM, then SIGKILL, each after `GRACE_SECONDS`."""
    if process.returncode is not None:
        return  # reaped already: its group id may no longer be ours to signal
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()  # a builder blocked writing to a full pipe must not hang the stop
    if os.name != "posix":
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=GRACE_SECONDS)
        process.kill()
        process.wait()
        return
    for polite in (signal.SIGINT, signal.SIGTERM):
        _signal_group(process.pid, polite)
        if _exited(process, GRACE_SECONDS):
            break
    if process.returncode is None:  # unreaped, so its group id cannot have been reused yet
        _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _exited(process: subprocess.Popen, timeout: float) -> bool:
    """Whether the builder exited within `timeout`, left unreaped (a zombie) where waitid can."""
    if not hasattr(os, "waitid"):
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        except ChildProcessError:  # reaped already
            return True
        if status is not None or time.monotonic() > deadline:
            return status is not None
        time.sleep(0.05)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _child_setup(parent_mask: set[signal.Signals]) -> Callable[[], None]:
    """What the builder does between fork and exec (POSIX): take govkit's signal mask from before
    the spawn, take Ctrl-C's default action (an ignored SIGINT would be inherited), and on Linux
    die with govkit."""
    parent = os.getpid()
    prctl = _prctl()

    def setup() -> None:
        with contextlib.suppress(ValueError):  # not the main thread: keep what is inherited
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, parent_mask)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # govkit died before the request took effect
                os._exit(1)

    return setup


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, loaded before the fork; None where there is none (macOS, BSD)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def stage_directory(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh directory `parent/prefix*` recording its owner; removed on the way out."""
    with signals_held():
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            (path / OWNER_FILE).write_text(_owner(os.getpid()), encoding="utf-8")
        except OSError:  # a full disk: not even the owner's pid fits
            shutil.rmtree(path, ignore_errors=True)
            raise
    try:
        yield path
    finally:
        with signals_held():
            shutil.rmtree(path, ignore_errors=True)


def remove_stale_stage_directories(parent: Path, prefix: str) -> list[Path]:
    """Remove this user's `parent/prefix*` stage directories whose owner is no longer running."""
    removed = []
    for candidate in sorted(parent.glob(f"{prefix}*")):
        try:
            if hasattr(os, "getuid") and candidate.stat().st_uid != os.getuid():
                continue
            owner = (candidate / OWNER_FILE).read_text(encoding="utf-8")
        except OSError:  # not a stage directory, or one being created right now
            continue
        if not _owner_alive(owner):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _owner(pid: int) -> str:
    """`pid` and, where known, the process's start time: a reused pid is not the owner."""
    started = _start_time(pid)
    return f"{pid} {started}" if started else str(pid)


def _owner_alive(owner: str) -> bool:
    fields = owner.split()
    if not fields or not fields[0].isdigit():
        return False
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return True
    pid = int(fields[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        pass
    return len(fields) < 2 or _start_time(pid) in (None, fields[1])


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot); None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]
