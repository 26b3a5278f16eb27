"""The builder never outlives govkit; stage directories never outlive their run (item 13)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from playbook.handbook.lifecycle import (
    OWNER_FILE,
    builder_process,
    remove_stale_stage_directories,
    stage_directory,
)
from tests.processes import running_in_group, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A builder that starts a helper of its own, says so, and then waits for ever.
PARENT_AND_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
print(child.pid, flush=True)
time.sleep(300)
"""


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_builder_and_what_it_started_end_with_the_block(tmp_path: Path):
    command = [sys.executable, "-c", PARENT_AND_CHILD]
    spawn = builder_process(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    with pytest.raises(RuntimeError), spawn as builder:
        helper = int(builder.stdout.readline())
        assert os.getpgid(builder.pid) == builder.pid != os.getpgid(0)
        assert os.getpgid(helper) == builder.pid
        raise RuntimeError("the build went wrong")
    assert builder.returncode is not None
    assert wait_for(lambda: not running_in_group(builder.pid), timeout=10)


# In a process of its own: were the handlers missing, the signal would end the test run.
RAISE_STOPPED = """
import os, signal, sys
from playbook.core.errors import Stopped
from playbook.handbook.lifecycle import stop_on_signals
stop = getattr(signal, sys.argv[1])
before = signal.getsignal(stop)
try:
    with stop_on_signals():
        os.kill(os.getpid(), stop)
except Stopped as stopped:
    print(stopped.exit_code, stopped.format_message(), signal.getsignal(stop) == before)
"""


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_raise_stopped_and_handlers_are_restored(stop: str):
    result = subprocess.run(
        [sys.executable, "-c", RAISE_STOPPED, stop], capture_output=True, text=True, timeout=60
    )
    number = getattr(signal, stop)
    assert result.stdout.split() == [str(128 + number), "stopped", "by", stop, "True"]


def test_stage_directory_records_its_owner_and_goes_away(tmp_path: Path):
    with stage_directory(tmp_path, ".govkit-stage-") as stage:
        owner = (stage / OWNER_FILE).read_text().split()
        assert int(owner[0]) == os.getpid()
        assert remove_stale_stage_directories(tmp_path, ".govkit-stage-") == []  # alive: kept
    assert not stage.exists()


def test_stale_stage_directories_of_dead_owners_are_removed(tmp_path: Path):
    def stage(name: str, owner: str | None) -> Path:
        path = tmp_path / name
        (path / "docs").mkdir(parents=True)
        if owner is not None:
            (path / OWNER_FILE).write_text(owner)
        return path

    dead = stage(".govkit-stage-dead", str(_dead_pid()))
    reused = stage(".govkit-stage-reused", f"{os.getpid()} 1")  # same pid, other start time
    alive = stage(".govkit-stage-alive", str(os.getpid()))
    unknown = stage(".govkit-stage-unknown", None)  # being created, or not govkit's
    other = stage("govkit-serve-dead", str(_dead_pid()))  # another prefix

    removed = remove_stale_stage_directories(tmp_path, ".govkit-stage-")

    assert sorted(removed) == sorted([dead, reused])
    assert not dead.exists() and not reused.exists()
    assert alive.is_dir() and unknown.is_dir() and other.is_dir()
