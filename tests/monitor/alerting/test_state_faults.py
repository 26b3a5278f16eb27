"""The state and its snapshot under faults (issue 10, items 4 and 12): a file that is no state,
a read-only directory, a full disk while opening, committing or writing the snapshot. Always:
exit 2 naming the path and the reason, the old state and snapshot intact and matching, no
temporary file left behind."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.alerting.state import FAILPOINT
from tests.conftest import EXAMPLE_GOVERNANCE, REPO
from tests.filesystems import small_disk
from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"
LATER = "2026-11-24T14:00:00Z"


def monitor_run(events: Path, state: Path, *, now: str = NOW, failpoint: str | None = None):
    """`govkit monitor run` in its own process (a fault must not take the test with it)."""
    environment = dict(os.environ)
    environment.pop(FAILPOINT, None)
    if failpoint:
        environment[FAILPOINT] = failpoint
    return subprocess.run(
        [sys.executable, "-m", "playbook", "monitor", "run", "--governance",
         str(EXAMPLE_GOVERNANCE), "--events", str(events), "--state", str(state), "--now", now,
         "--format", "json"],
        cwd=REPO, capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip


def runs_in(state: Path) -> list[int]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT id FROM runs ORDER BY id")]


def snapshot_run(state: Path) -> int:
    return json.loads(state.with_suffix(".json").read_text())["run_id"]


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> Path:
    return write_events(tmp_path_factory.mktemp("events") / "breach.parquet", rollback_rate=0.08)


@pytest.mark.parametrize(
    ("contents", "what"),
    [(b"timestamp,agent\n", "the file holds something else"),
     (b"SQLite format 3\x00" + b"\x00" * 100, "SQLite cannot read it"),
     (None, "it is another SQLite database"),
     ("directory", "is a directory")],
)  # fmt: skip
def test_item_04_a_state_path_that_is_not_a_govkit_state_is_refused(
    tmp_path, events, contents, what
):
    state = tmp_path / "precious.db"
    if contents == "directory":
        state.mkdir()
    elif contents is None:
        with sqlite3.connect(state) as db:
            db.execute("CREATE TABLE accounts (id INTEGER, balance REAL)")
    else:
        state.write_bytes(contents)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}

    result = monitor_run(events, state)

    assert result.returncode == 2, result.stderr
    if contents != "directory":  # click itself says so for a directory
        assert result.stderr.startswith(f"{state}: expected a govkit monitor state")
    assert what in result.stderr and "Traceback" not in result.stderr
    after = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    assert after == before  # no precious.db.lock, no journal, nothing changed


def test_item_12_read_only_state_directory(tmp_path, events):
    with small_disk(tmp_path / "disk") as disk:
        state = disk.root / "monitor.db"
        assert monitor_run(events, state).returncode == 0
        files = disk.files()
        before = {name: (disk.root / name).read_bytes() for name in files}
        disk.read_only()
        try:
            result = monitor_run(events, state, now=LATER)
        finally:
            disk.read_only(False)

        assert result.returncode == 2, result.stderr
        assert str(state) in result.stderr and "Read-only file system" in result.stderr
        assert "Traceback" not in result.stderr
        assert {name: (disk.root / name).read_bytes() for name in disk.files()} == before


def test_item_12_disk_full_while_opening_a_new_state(tmp_path, events):
    with small_disk(tmp_path / "disk", size="64k") as disk:
        disk.fill()
        state = disk.root / "new" / "monitor.db"

        result = monitor_run(events, state)

        assert result.returncode == 2, result.stderr
        assert str(state) in result.stderr
        assert "full" in result.stderr or "No space left" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert disk.files() == set()  # the state it could not write is not left half made


def test_item_12_disk_full_while_writing_the_snapshot(tmp_path, events):
    with small_disk(tmp_path / "disk") as disk:
        state = disk.root / "monitor.db"
        assert monitor_run(events, state).returncode == 0
        before = {name: (disk.root / name).read_bytes() for name in disk.files()}
        # Room to open the state (its 32 KiB shared-memory index), not for a new snapshot.
        disk.fill(leave=32 * 1024 + len(before["monitor.json"]) // 2)
        try:
            result = monitor_run(events, state, now=LATER)
        finally:
            disk.free()

        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().endswith(
            "monitor.json: cannot write: No space left on device; the previous file is unchanged"
        ), result.stderr
        assert disk.files() == set(before)  # no temporary file left
        assert runs_in(state) == [1] and snapshot_run(state) == 1
        assert state.with_suffix(".json").read_bytes() == before["monitor.json"]


def test_item_12_database_full_while_committing_keeps_state_and_snapshot_together(tmp_path, events):
    state = tmp_path / "monitor.db"
    assert monitor_run(events, state).returncode == 0
    snapshot = state.with_suffix(".json").read_bytes()

    result = monitor_run(events, state, now=LATER, failpoint="database-full")

    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().endswith(
        "cannot write the monitor state: database or disk is full; the previous state and "
        "snapshot are unchanged"
    )
    assert runs_in(state) == [1] and snapshot_run(state) == 1
    assert state.with_suffix(".json").read_bytes() == snapshot
    left = {path.name for path in tmp_path.iterdir()} - {"monitor.db-wal", "monitor.db-shm"}
    assert left == {"monitor.db", "monitor.db.lock", "monitor.json"}  # SQLite's journal may stay


def test_item_12_killed_while_staging_the_snapshot_leaves_the_pair_intact(tmp_path, events):
    state = tmp_path / "monitor.db"
    assert monitor_run(events, state).returncode == 0

    killed = monitor_run(events, state, now=LATER, failpoint="snapshot-write")

    assert killed.returncode == 99
    assert runs_in(state) == [1] and snapshot_run(state) == 1
    assert monitor_run(events, state, now=LATER).returncode == 0
    assert runs_in(state) == [1, 2] and snapshot_run(state) == 2
