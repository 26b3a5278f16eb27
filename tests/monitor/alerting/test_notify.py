"""Webhook notifications: at least once, never lost, never silently altered.

Driven end to end through `govkit monitor run` where the CLI matters, and through
`deliver_outbox` on a seeded outbox where only delivery does; every receiver is a real HTTP
server on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.alerting.notify import (
    AFTER_POST,
    IDEMPOTENCY_FIELD,
    IDEMPOTENCY_HEADER,
    deliver_outbox,
)
from monitor.alerting.state import FAILPOINT, StateStore
from monitor.schedule import MonitorScheduler, parse_trigger
from playbook.core.settings import check_http_url
from tests.conftest import EXAMPLE_GOVERNANCE, REPO
from tests.monitor.conftest import write_events

NOW = "2026-11-24T12:00:00Z"
NO_SLEEP = {"sleep": lambda seconds: None}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


Respond = Callable[[BaseHTTPRequestHandler], None]


def accept(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def redirect(status: int, location: str) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


def trickle(data: bytes, *, every: float = 1.0) -> Respond:
    """Send `data` one byte per `every` seconds, as a receiver stuck behind a slow link."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        for byte in data:
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:  # the sender gave up and shut its socket
                return
            time.sleep(every)
        handler.close_connection = True

    return respond


class Hook:
    """A receiver on 127.0.0.1 that records every request and answers as `routes` says (by
    path; `accept` otherwise)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.routes: dict[str, Respond] = {}
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.handle(self, "POST")

            def do_GET(self) -> None:
                hook.handle(self, "GET")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        self.requests.append(Request(method, handler.path, dict(handler.headers), body))
        self.routes.get(handler.path, accept)(handler)

    def posts(self, path: str = "/hook") -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("events")
    return {
        "breach": write_events(folder / "breach.parquet", rollback_rate=0.08),
        "healthy": write_events(folder / "healthy.parquet"),
    }


def monitor_run(govkit, events: Path, state: Path, *extra: str, governance: Path | None = None):
    """`govkit monitor run --format json`; the report, or None when the run did not finish."""
    result = govkit(
        "monitor", "run", "--governance", str(governance or EXAMPLE_GOVERNANCE), "--events",
        str(events), "--state", str(state), "--now", NOW, "--format", "json", *extra,
    )  # fmt: skip
    return result, (json.loads(result.stdout) if result.exit_code in (0, 1) else None)


def seed_outbox(state: Path, url: str, *, payload: str = '{"version": "4"}') -> None:
    """One pending notification for `url`, as a run would have written it."""
    with StateStore(state) as store, store.transaction() as db:
        db.execute(
            "INSERT INTO outbox (receiver, url, fingerprint, status, transition_at, payload, "
            "created_at) VALUES ('pager', ?, 'fp1', 'firing', ?, ?, ?)",
            [url, NOW, payload, NOW],
        )


def pending(state: Path) -> int:
    with StateStore(state) as store:
        return len(store.pending_outbox())


def deliver(state: Path, **options) -> object:
    with StateStore(state) as store:
        return deliver_outbox(store, **{**NO_SLEEP, **options})


def corrupt_first_outbox_url(state: Path, url: str) -> None:
    with sqlite3.connect(state) as db:
        db.execute("UPDATE outbox SET url = ? WHERE id = (SELECT min(id) FROM outbox)", [url])


# --- item 5 -----------------------------------------------------------------------------------

BAD_URLS = [
    "file:///etc/passwd",
    "ftp://alerts.example.com/hook",
    "javascript:alert(1)",
    "alerts.example.com/hook",  # no scheme
    "http:///hook",  # no host
    "http://alerts.example.com/on call",
    "http://alerts.example.com/\x07hook",
    "http://alerts.example.com:http/hook",
    "http://alerts.example.com:70000/hook",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_one_function_checks_every_webhook_url(url):
    with pytest.raises(ValueError, match=r"^expected an http\(s\) URL but received "):
        check_http_url(url)
    for good in ("https://alerts.example.com/hook?team=a", "http://[::1]:9093/hook"):
        assert check_http_url(good) == good


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("source", ["--webhook", "monitor.yaml"])
def test_item_05_webhook_urls_validated_by_one_function(govkit, workspace, events, source, url):
    state = workspace.root / "state" / "monitor.db"
    extra: tuple[str, ...] = ()
    if source == "--webhook":
        extra = ("--webhook", "https://fine.example.com/hook", "--webhook", url)
    else:
        entry = f"receivers:\n  - {{name: pager, url: {json.dumps(url)}}}"
        workspace.edit("monitor.yaml", "receivers: []", entry)

    result, _ = monitor_run(
        govkit, events["breach"], state, *extra, governance=workspace.governance
    )

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    expected = f"expected an http(s) URL but received {url!r}"
    if source == "--webhook":
        assert f"Invalid value for '--webhook': {expected}" in result.stderr
    else:
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in url):  # refused where YAML is read
            expected = f"expected text without control characters but received {url!r}"
        assert f"receivers[0].url: {expected}" in result.stderr
        assert "governance/monitor.yaml:" in result.stderr
    assert not state.parent.exists()  # the run changed nothing, not even the state's folder


def test_a_bad_webhook_leaves_an_existing_state_unchanged(govkit, tmp_path, events, hook):
    state = tmp_path / "monitor.db"
    monitor_run(govkit, events["healthy"], state, "--webhook", hook.url)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    result, _ = monitor_run(govkit, events["breach"], state, "--webhook", "file:///etc/passwd")

    assert result.exit_code == 2
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_item_05_an_outbox_url_that_became_invalid_is_dead_lettered(govkit, tmp_path, events, hook):
    state = tmp_path / "monitor.db"
    hook.routes["/hook"] = lambda handler: handler.send_error(503)
    _, first = monitor_run(govkit, events["breach"], state, "--webhook", hook.url)
    assert first["delivery"]["failed"] == 2
    corrupt_first_outbox_url(state, "file:///etc/passwd")  # e.g. an older version or a hand edit
    del hook.routes["/hook"]
    hook.requests.clear()

    _, second = monitor_run(govkit, events["breach"], state, "--webhook", hook.url)

    delivery = second["delivery"]
    assert (delivery["sent"], delivery["failed"], delivery["dead_lettered"]) == (1, 0, 1)
    (problem,) = delivery["errors"]
    assert problem["dead_lettered"] is True
    assert problem["url"] == "file:///etc/passwd"
    assert "expected an http(s) URL but received 'file:///etc/passwd'" in problem["error"]
    assert len(hook.posts()) == 1
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT url, dead_reason FROM outbox WHERE dead_at IS NOT NULL")
        ((url, reason),) = rows.fetchall()
    assert url == "file:///etc/passwd"
    assert "expected an http(s) URL" in reason

    result = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events",
        str(events["breach"]), "--state", str(state), "--now", NOW,
    )  # fmt: skip
    assert result.exit_code == 0
    assert "Notifications" not in result.stdout  # clean: the dead letter is not retried
    assert len(hook.posts()) == 1


def test_item_05_the_scheduler_dead_letters_without_a_traceback(tmp_path, events, caplog):
    state = tmp_path / "monitor.db"
    seed_outbox(state, "javascript:alert(1)")
    scheduler = MonitorScheduler(
        governance_dir=EXAMPLE_GOVERNANCE, events=str(events["healthy"]), state=state,
        trigger=parse_trigger(every="1h", cron=None),
    )  # fmt: skip
    caplog.set_level(logging.INFO, logger="govkit.monitor")

    scheduler.monitor_once()

    assert "0 delivered, 0 kept in the outbox for the next run, 1 dead-lettered" in caplog.text
    assert (
        "notification not delivered: dead-lettered, never retried: pager (javascript:alert(1)) "
        "alert fp1: cannot be delivered: expected an http(s) URL but received "
        "'javascript:alert(1)'"
    ) in caplog.text
    caplog.clear()
    scheduler.monitor_once()
    assert "notification" not in caplog.text
    assert pending(state) == 0


def test_text_report_names_dead_letters(govkit, tmp_path, events):
    state = tmp_path / "monitor.db"
    seed_outbox(state, "http://alerts.example.com:http/hook")
    result = govkit(
        "monitor", "run", "--governance", str(EXAMPLE_GOVERNANCE), "--events",
        str(events["healthy"]), "--state", str(state), "--now", NOW,
    )  # fmt: skip
    assert result.exit_code == 0
    assert (
        "Notifications: 0 delivered, 0 kept in the outbox for the next run, 1 dead-lettered "
        "(can never be delivered; not retried)"
    ) in result.stdout
    assert "  dead-lettered, never retried: pager (http://alerts.example.com:http/hook)" in (
        result.stdout
    )


def test_an_unreadable_stored_payload_is_dead_lettered(tmp_path, hook):
    state = tmp_path / "monitor.db"
    seed_outbox(state, hook.url, payload="{not json")
    delivery = deliver(state)
    assert (delivery.sent, delivery.dead_lettered) == (0, 1)
    assert "the stored payload is not a JSON object" in delivery.errors[0].error
    assert hook.requests == []
    assert pending(state) == 0


def test_a_version_1_state_gains_the_dead_letter_columns(tmp_path, hook):
    state = tmp_path / "monitor.db"
    seed_outbox(state, "ftp://old.example.com/hook")
    with sqlite3.connect(state) as db:  # as version 1 wrote it
        db.execute("ALTER TABLE outbox DROP COLUMN dead_at")
        db.execute("ALTER TABLE outbox DROP COLUMN dead_reason")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")

    delivery = deliver(state)

    assert delivery.dead_lettered == 1
    with sqlite3.connect(state) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert {"dead_at", "dead_reason"} <= columns
    assert version == ("2",)
    assert pending(state) == 0


# --- item 9 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
def test_item_09_a_307_or_308_is_posted_again_to_the_new_location(tmp_path, hook, status):
    state = tmp_path / "monitor.db"
    seed_outbox(state, hook.url)
    hook.routes["/hook"] = redirect(status, "/moved" if status == 307 else f"{hook.base}/moved")

    delivery = deliver(state)

    assert (delivery.sent, delivery.failed) == (1, 0)
    (first,) = hook.posts("/hook")
    (second,) = hook.posts("/moved")
    assert second.body == first.body
    assert second.headers[IDEMPOTENCY_HEADER] == first.headers[IDEMPOTENCY_HEADER]
    assert [r.method for r in hook.requests] == ["POST", "POST"]


@pytest.mark.parametrize("status", [301, 302, 303])
def test_item_09_redirects_are_not_followed_as_get(govkit, tmp_path, events, hook, status):
    state = tmp_path / "monitor.db"
    hook.routes["/hook"] = redirect(status, "/moved")

    result, report = monitor_run(govkit, events["breach"], state, "--webhook", hook.url)

    assert result.exit_code == 0
    assert [r.method for r in hook.requests] == ["POST"]  # no GET, no POST to /moved
    delivery = report["delivery"]
    assert (delivery["sent"], delivery["failed"], delivery["dead_lettered"]) == (0, 2, 0)
    (problem,) = delivery["errors"]
    assert f"answered {status} " in problem["error"]
    assert "to Location '/moved'; a POST is not re-sent as a GET" in problem["error"]
    assert pending(state) == 2

    del hook.routes["/hook"]
    _, report = monitor_run(govkit, events["breach"], state, "--webhook", hook.url)
    assert report["delivery"]["sent"] == 2  # kept, and delivered once the receiver is fixed


@pytest.mark.parametrize(
    "location, why",
    [
        ("/again", "a second redirect is not followed"),
        ("file:///etc/passwd", "not followed: expected an http(s) URL"),
    ],
)
def test_item_09_a_second_or_non_http_redirect_is_not_followed(tmp_path, hook, location, why):
    state = tmp_path / "monitor.db"
    seed_outbox(state, hook.url)
    hook.routes["/hook"] = redirect(307, location)
    hook.routes["/again"] = redirect(307, "/hook")

    delivery = deliver(state)

    assert (delivery.sent, delivery.failed) == (0, 1)
    assert why in delivery.errors[0].error
    assert len(hook.requests) == (2 if location == "/again" else 1)
    assert pending(state) == 1


# --- item 10 ----------------------------------------------------------------------------------


def test_item_10_trickling_receiver_hits_one_deadline(govkit, tmp_path, events, hook):
    state = tmp_path / "monitor.db"
    seed_outbox(state, hook.url)
    hook.routes["/hook"] = trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    started = time.monotonic()
    delivery = deliver(state, timeout=1.5)
    elapsed = time.monotonic() - started

    assert 1.4 < elapsed < 2.5  # one deadline for the whole request, not one per byte
    assert (delivery.sent, delivery.failed) == (0, 1)
    assert delivery.errors[0].error == "no answer within the 1.5s deadline"
    assert len(hook.posts()) == 1  # not tried again in this run
    assert pending(state) == 1

    started = time.monotonic()
    _, report = monitor_run(
        govkit, events["healthy"], state, "--webhook", hook.url, "--notify-timeout", "1"
    )
    assert time.monotonic() - started < 5
    assert report["delivery"]["errors"][0]["error"] == "no answer within the 1s deadline"
    with StateStore(state, lock_timeout=0.1):  # the run released its lock
        pass

    del hook.routes["/hook"]
    _, report = monitor_run(govkit, events["healthy"], state, "--webhook", hook.url)
    assert report["delivery"]["sent"] == 1
    assert pending(state) == 0


def test_a_receiver_that_accepts_then_trickles_its_body_has_the_notification(tmp_path, hook):
    state = tmp_path / "monitor.db"
    seed_outbox(state, hook.url)
    hook.routes["/hook"] = _accept_then_trickle

    started = time.monotonic()
    delivery = deliver(state, timeout=1.5)

    assert time.monotonic() - started < 1.0  # its 200 is the answer; the body is not awaited
    assert delivery.sent == 1


def _accept_then_trickle(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    handler.wfile.flush()
    trickle(b"slow.")(handler)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_notify_timeout_must_be_a_positive_number(govkit, tmp_path, events, value):
    state = tmp_path / "monitor.db"
    result, _ = monitor_run(govkit, events["healthy"], state, "--notify-timeout", value)
    assert result.exit_code == 2
    assert "--notify-timeout" in result.stderr
    assert not state.exists()


# --- item 11 ----------------------------------------------------------------------------------


def test_item_11_idempotency_key_survives_kill_during_post(govkit, tmp_path, events, hook):
    state = tmp_path / "monitor.db"
    killed = subprocess.run(
        [sys.executable, "-m", "playbook", "monitor", "run", "--governance",
         str(EXAMPLE_GOVERNANCE), "--events", str(events["breach"]), "--state", str(state),
         "--now", NOW, "--webhook", hook.url],
        cwd=REPO, env=dict(os.environ, **{FAILPOINT: AFTER_POST}), capture_output=True,
        text=True,
    )  # fmt: skip
    assert killed.returncode == 99, killed.stderr
    (accepted,) = hook.posts()  # the receiver has it; the outbox does not know
    key = accepted.headers[IDEMPOTENCY_HEADER]
    assert accepted.body[IDEMPOTENCY_FIELD] == key

    _, report = monitor_run(govkit, events["breach"], state, "--webhook", hook.url)

    assert report["delivery"]["sent"] == 2
    again, other = hook.posts()[1:]
    assert again.headers[IDEMPOTENCY_HEADER] == again.body[IDEMPOTENCY_FIELD] == key
    assert again.body == accepted.body  # the same notification, byte for byte as JSON
    assert other.headers[IDEMPOTENCY_HEADER] == other.body[IDEMPOTENCY_FIELD] != key
    monitor_run(govkit, events["breach"], state, "--webhook", hook.url)
    assert len(hook.posts()) == 3  # delivered rows are marked: no more repeats


def test_the_key_is_the_same_in_every_retry(tmp_path, hook):
    state = tmp_path / "monitor.db"
    seed_outbox(state, hook.url)
    answers = iter([503, 429, 200])
    hook.routes["/hook"] = lambda handler: (
        handler.send_response(next(answers)),
        handler.send_header("Content-Length", "0"),
        handler.end_headers(),
    )

    delivery = deliver(state)

    assert delivery.sent == 1
    keys = {request.headers[IDEMPOTENCY_HEADER] for request in hook.posts()}
    assert len(hook.posts()) == 3
    assert len(keys) == 1


def test_a_400_is_dead_lettered_and_a_404_is_kept(tmp_path, hook):
    state = tmp_path / "monitor.db"
    seed_outbox(state, hook.url)
    seed_outbox(state, f"{hook.base}/gone")
    hook.routes["/hook"] = lambda handler: handler.send_error(400)
    hook.routes["/gone"] = lambda handler: handler.send_error(404)

    delivery = deliver(state)

    assert (delivery.sent, delivery.failed, delivery.dead_lettered) == (0, 1, 1)
    assert len(hook.requests) == 2  # neither is retried within the run
    assert pending(state) == 1
