"""The monitor's state in SQLite: runs, findings, checks, alerts and the notification outbox.

Each run commits in one transaction, so a kill at any point leaves the old state or the new one.
A lock file serialises runs on one state: a second run waits, then gives up with a clear message.
Schema (version 2):

    runs(id, started_at, now, finished_at, source, tasks, bad_rows)
    findings(run_id, agent, metric, kind, test, baseline, recent, n_baseline, n_recent,
             statistic, p_value, q_value, effect, floor, verdict)
    checks(run_id, agent, check_kind, metric, bound, threshold, window, value, n, status, action)
    alerts(fingerprint, labels, annotations, status, starts_at, ends_at, last_notified_at,
           updated_run_id)
    outbox(id, receiver, url, fingerprint, status, transition_at, payload, created_at,
           attempts, last_error, delivered_at, dead_at, dead_reason)

Version 2 added the outbox's dead letters (`dead_at`, `dead_reason`); a version 1 state gains
those columns the first time its outbox is read.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerting.alerts import Alert, Condition
from monitor.alerting.state_file import check_state_file, remove_new_files, state_failure
from playbook.core.clock import iso, parse_instant, utc_now
from playbook.core.errors import UsageError
from playbook.results import FIRING, RESOLVED

SCHEMA_VERSION = 2
FAILPOINT = "GOVKIT_FAILPOINT"  # tests only: crash at a named point to prove atomicity

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, now TEXT NOT NULL, finished_at TEXT,
    source TEXT, tasks INTEGER, bad_rows TEXT);
CREATE TABLE IF NOT EXISTS findings (
    run_id INTEGER NOT NULL REFERENCES runs(id), agent TEXT, metric TEXT, kind TEXT, test TEXT,
    baseline REAL, recent REAL, n_baseline INTEGER, n_recent INTEGER, statistic REAL,
    p_value REAL, q_value REAL, effect REAL, floor REAL, verdict TEXT);
CREATE TABLE IF NOT EXISTS checks (
    run_id INTEGER NOT NULL REFERENCES runs(id), agent TEXT, check_kind TEXT, metric TEXT,
    bound TEXT, threshold REAL, window TEXT, value REAL, n INTEGER, status TEXT, action TEXT);
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint TEXT PRIMARY KEY, labels TEXT NOT NULL, annotations TEXT NOT NULL,
    status TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT, last_notified_at TEXT,
    updated_run_id INTEGER);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, url TEXT NOT NULL, fingerprint TEXT NOT NULL,
    status TEXT NOT NULL, transition_at TEXT NOT NULL, payload TEXT NOT NULL,
    created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    delivered_at TEXT, dead_at TEXT, dead_reason TEXT,
    UNIQUE (url, fingerprint, status, transition_at));
CREATE INDEX IF NOT EXISTS findings_run ON findings(run_id);
CREATE INDEX IF NOT EXISTS checks_run ON checks(run_id);
"""


@dataclass(frozen=True)
class Receiver:
    name: str
    url: str


@dataclass
class OutboxItem:
    """A pending notification. `payload` is None when the stored JSON is unreadable (a hand
    edit): such an item can never be delivered. (url, fingerprint, status, transition_at) is the
    row's unique identity."""

    id: int
    receiver: str
    url: str
    fingerprint: str
    status: str
    transition_at: str
    payload: dict[str, Any] | None
    attempts: int


_OUTBOX_ADDED_COLUMNS = {"dead_at": "TEXT", "dead_reason": "TEXT"}  # schema version 2


def _payload(text: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(text)
    except (TypeError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def _parse(text: str | None) -> datetime | None:
    return parse_instant(text) if text else None


def failpoint(name: str) -> None:
    if os.environ.get(FAILPOINT) == name:
        os._exit(99)


class StateStore:
    """Open with `with StateStore(path) as state:`; connection and lock are released on exit."""

    def __init__(self, path: Path, *, lock_timeout: float = 10.0) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._lock_file: Any = None
        self.db: sqlite3.Connection | None = None

    def __enter__(self) -> StateStore:
        check_state_file(self.path)
        companions = self._companions()
        existed = {path for path in companions if path.exists()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._acquire_lock()
        except OSError as exc:
            remove_new_files(companions, existed)
            raise state_failure(self.path, "create the state's lock file", exc) from None
        try:
            self.db = sqlite3.connect(self.path, timeout=self.lock_timeout, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            self._migrate_outbox()
        except sqlite3.Error as exc:
            self.__exit__(None, None, None)
            remove_new_files(companions, existed)
            raise state_failure(self.path, "open the monitor state", exc) from None
        return self

    def _companions(self) -> list[Path]:
        """The state, its SQLite journal files and its lock file."""
        name = self.path.name
        suffixes = ("", "-wal", "-shm", "-journal", ".lock")
        return [self.path.with_name(name + suffix) for suffix in suffixes]

    def __exit__(self, *exc_info: object) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _acquire_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = lock_path.open("a+")
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise UsageError(
                        f"{self.path}: another monitor run holds the lock ({lock_path}); "
                        f"waited {self.lock_timeout:g}s. Try again when it has finished."
                    ) from None
                time.sleep(0.1)
        self._lock_file = handle

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        assert self.db is not None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (a full disk)
                self.db.execute("ROLLBACK")
            raise

    # --- reading -----------------------------------------------------------------------------

    def alerts(self, *, status: str | None = None) -> list[Alert]:
        assert self.db is not None
        query = "SELECT fingerprint, labels, annotations, status, starts_at, ends_at FROM alerts"
        rows = self.db.execute(
            query + (" WHERE status = ?" if status else "") + " ORDER BY starts_at, fingerprint",
            [status] if status else [],
        ).fetchall()
        return [
            Alert(fp, json.loads(labels), json.loads(notes), st, _parse(starts), _parse(ends))  # type: ignore[arg-type]
            for fp, labels, notes, st, starts, ends in rows
        ]

    def pending_outbox(self) -> list[OutboxItem]:
        """Notifications neither delivered nor dead-lettered, oldest first."""
        assert self.db is not None
        self._migrate_outbox()
        rows = self.db.execute(
            "SELECT id, receiver, url, fingerprint, status, transition_at, payload, attempts "
            "FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL ORDER BY id"
        ).fetchall()
        return [
            OutboxItem(i, receiver, url, fp, status, at, _payload(text), attempts)
            for i, receiver, url, fp, status, at, text, attempts in rows
        ]

    def _migrate_outbox(self) -> None:
        """Add the columns a state written by an older version lacks (idempotent)."""
        assert self.db is not None
        present = {row[1] for row in self.db.execute("PRAGMA table_info(outbox)")}
        missing = {k: v for k, v in _OUTBOX_ADDED_COLUMNS.items() if k not in present}
        if not missing:
            return
        with self.transaction() as db:
            for name, kind in missing.items():
                db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {kind}")
            db.execute(
                "UPDATE meta SET value = '2' WHERE key = 'schema_version' "
                "AND CAST(value AS INTEGER) < 2"
            )

    def mark_delivered(self, item_id: int, at: datetime) -> None:
        assert self.db is not None
        self.db.execute(
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
            [iso(at), item_id],
        )

    def mark_failed(self, item_id: int, error: str) -> None:
        assert self.db is not None
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            [error[:500], item_id],
        )

    def mark_dead(self, item_id: int, reason: str, at: datetime) -> None:
        """Dead-letter a notification that can never be delivered: kept, never retried."""
        assert self.db is not None
        self._migrate_outbox()
        self.db.execute(
            "UPDATE outbox SET dead_at = ?, dead_reason = ?, last_error = ? WHERE id = ?",
            [iso(at), reason[:500], reason[:500], item_id],
        )

    # --- writing one run ---------------------------------------------------------------------

    def record_run(
        self,
        *,
        started_at: datetime,
        now: datetime,
        source: str,
        tasks: int,
        bad_rows: dict[str, Any],
        findings: list[dict[str, Any]],
        checks: list[dict[str, Any]],
        conditions: list[Condition],
        receivers: list[Receiver],
        repeat_interval: timedelta,
        payload_for: Any,
        before_commit: Callable[[int, list[Alert]], None] = lambda run_id, alerts: None,
    ) -> tuple[int, list[Alert]]:
        """Store one run and reconcile alerts, atomically. Returns the run id and the alerts
        that are firing after the run plus those this run resolved.

        `before_commit(run_id, alerts)` runs inside the transaction, last: what it raises rolls
        the run back (the snapshot is staged there, so it never gets ahead of the state). A
        write the disk refuses is a UsageError naming the state; the previous state stays."""
        try:
            with self.transaction() as db:
                if os.environ.get(FAILPOINT) == "database-full":  # tests: SQLITE_FULL, for real
                    db.execute(
                        f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}"
                    )
                run_id = db.execute(
                    "INSERT INTO runs (started_at, now, source, tasks, bad_rows) "
                    "VALUES (?,?,?,?,?)",
                    [iso(started_at), iso(now), source, tasks, json.dumps(bad_rows)],
                ).lastrowid
                db.executemany(
                    "INSERT INTO findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        [run_id, f["agent"], f["metric"], f["kind"], f["test"], f["baseline"],
                         f["recent"], f["n_baseline"], f["n_recent"], f["statistic"], f["p_value"],
                         f["q_value"], f["effect"], f.get("floor"), f["verdict"]]
                        for f in findings
                    ],
                )  # fmt: skip
                db.executemany(
                    "INSERT INTO checks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        [run_id, c["agent"], c["check"], c["metric"], c["bound"], c["threshold"],
                         c["window"], c["value"], c["n"], c["status"], c["action"]]
                        for c in checks
                    ],
                )  # fmt: skip
                failpoint("after-findings")
                reported = self._reconcile(
                    db, run_id, now, conditions, receivers, repeat_interval, payload_for
                )
                failpoint("before-commit")
                db.execute(
                    "UPDATE runs SET finished_at = ? WHERE id = ?",
                    [iso(utc_now()), run_id],
                )
                before_commit(int(run_id), reported)  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            raise state_failure(self.path, "write the monitor state", exc) from None
        return int(run_id), reported  # type: ignore[arg-type]

    def _reconcile(
        self,
        db: sqlite3.Connection,
        run_id: int,
        now: datetime,
        conditions: list[Condition],
        receivers: list[Receiver],
        repeat_interval: timedelta,
        payload_for: Any,
    ) -> list[Alert]:
        existing = {
            row[0]: row
            for row in db.execute(
                "SELECT fingerprint, status, starts_at, last_notified_at FROM alerts"
            ).fetchall()
        }
        reported: list[Alert] = []
        evaluated = {condition.fingerprint: condition for condition in conditions}
        for fp, condition in evaluated.items():
            row = existing.get(fp)
            firing_before = row is not None and row[1] == FIRING
            labels, notes = json.dumps(condition.labels), json.dumps(condition.annotations)
            if condition.active and not firing_before:
                alert = Alert(fp, condition.labels, condition.annotations, FIRING, now)
                db.execute(
                    "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?)",
                    [fp, labels, notes, FIRING, iso(now), None, iso(now), run_id],
                )
                enqueue(db, alert, receivers, now, iso(now), payload_for)
                reported.append(alert)
            elif condition.active:
                starts = _parse(row[2])
                alert = Alert(fp, condition.labels, condition.annotations, FIRING, starts)  # type: ignore[arg-type]
                last = _parse(row[3])
                due = last is None or now - last >= repeat_interval
                db.execute(
                    "UPDATE alerts SET labels = ?, annotations = ?, updated_run_id = ?, "
                    "last_notified_at = ? WHERE fingerprint = ?",
                    [labels, notes, run_id, iso(now) if due else row[3], fp],
                )
                if due:
                    enqueue(db, alert, receivers, now, f"repeat:{iso(now)}", payload_for)
                reported.append(alert)
            elif firing_before:
                starts = _parse(row[2])
                alert = Alert(fp, condition.labels, condition.annotations, RESOLVED, starts, now)  # type: ignore[arg-type]
                db.execute(
                    "UPDATE alerts SET status = ?, ends_at = ?, annotations = ?, "
                    "updated_run_id = ? WHERE fingerprint = ?",
                    [RESOLVED, iso(now), notes, run_id, fp],
                )
                enqueue(db, alert, receivers, now, iso(now), payload_for)
                reported.append(alert)
        # Firing alerts this run could not evaluate (e.g. too little data) stay firing.
        for alert in self.alerts(status=FIRING):
            if alert.fingerprint not in evaluated:
                reported.append(alert)
        return reported


def enqueue(
    db: sqlite3.Connection,
    alert: Alert,
    receivers: list[Receiver],
    now: datetime,
    transition: str,
    payload_for: Any,
) -> int:
    """Queue `alert`'s `transition` for each receiver in the outbox (webhooks and Alertmanager
    pushes alike); a transition already queued for a URL is not queued again. Rows queued."""
    queued = 0
    for receiver in receivers:
        queued += db.execute(
            "INSERT OR IGNORE INTO outbox (receiver, url, fingerprint, status, transition_at, "
            "payload, created_at) VALUES (?,?,?,?,?,?,?)",
            [receiver.name, receiver.url, alert.fingerprint, alert.status, transition,
             json.dumps(payload_for(alert, receiver.name)), iso(now)],
        ).rowcount  # fmt: skip
    return queued
