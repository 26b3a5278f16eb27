"""Deliver alert notifications: Alertmanager webhook (version 4) JSON to each receiver, and
alerts pushed to an Alertmanager's API (`monitor.alerting.alertmanager`: the body is then the
stored array of alerts, the idempotency key travels in the header only).

Notifications are written to the state's outbox in the same transaction as the alert transition
that causes them, then delivered after the commit, at least once: a process killed after a
receiver accepted a notification but before the outbox recorded it sends it again on the next
run. Every payload therefore carries an idempotency key (header `Idempotency-Key`, JSON
`idempotencyKey`), the same for one outbox row across retries and runs, for the receiver to drop
the repeat.

One POST has one deadline for the whole exchange, however slowly a receiver trickles bytes. What
its answer means for the notification:

- 2xx: delivered, marked at once;
- 307 or 308 to an http(s) URL: the same POST once more to that location (never a GET);
- any other redirect, 401, 403, 404 and the like, or the deadline: kept for the next run, no
  more tries at this receiver in this run;
- a connection error, 408, 425, 429 or 5xx: tried again with backoff, then kept for the next run;
- an invalid URL, an unreadable stored payload, or 400, 410, 413, 414, 415, 422 (this request
  will never be accepted): dead-lettered, kept in the state with its reason, never retried.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

from monitor.alerting.alertmanager import PUSH_FIELD, is_push
from monitor.alerting.alerts import ZERO_TIME, Alert
from monitor.alerting.state import OutboxItem, StateStore, failpoint
from playbook.core.clock import iso, utc_now
from playbook.core.settings import DEFAULT_NOTIFY_TIMEOUT, check_http_url

USER_AGENT = "govkit-monitor"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_FIELD = "idempotencyKey"
AFTER_POST = "after-post"  # failpoint: the receiver has the notification, the outbox does not know
RETRY_STATUSES = frozenset({408, 425, 429})  # and every 5xx
PERMANENT_STATUSES = frozenset({400, 410, 413, 414, 415, 422})
_KEY_NAMESPACE = uuid.UUID("2e35681e-e0ef-4f69-a0d2-009878edfce4")


def webhook_payload(alert: Alert, receiver: str, *, external_url: str = "") -> dict[str, Any]:
    """One alert as an Alertmanager webhook notification (its group holds just this alert)."""
    group_labels = {
        k: alert.labels[k] for k in ("alertname", "agent", "metric") if k in alert.labels
    }
    group_key = "{}:{" + ",".join(f'{k}="{v}"' for k, v in group_labels.items()) + "}"
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": alert.status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": alert.labels,
        "commonAnnotations": alert.annotations,
        "externalURL": external_url,
        "alerts": [
            {
                "status": alert.status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": iso(alert.starts_at),
                "endsAt": iso(alert.ends_at) or ZERO_TIME,
                "generatorURL": alert.annotations.get("handbook_url", ""),
                "fingerprint": alert.fingerprint,
            }
        ],
    }


class DeliveryError(Exception):
    """A POST that did not deliver. `retry`: another try in this run may help; `permanent`: no
    run ever will, so the notification is dead-lettered."""

    def __init__(self, message: str, *, retry: bool = False, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.permanent = permanent


@dataclass(frozen=True)
class DeliveryProblem:
    """A notification this run did not deliver: kept for the next run, or dead-lettered."""

    receiver: str
    url: str
    fingerprint: str
    error: str
    dead_lettered: bool = False
    kind: str = "webhook"  # or "alertmanager": a push to Alertmanager's API

    def to_json(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "url": self.url,
            "fingerprint": self.fingerprint,
            "error": self.error,
            "dead_lettered": self.dead_lettered,
            "kind": self.kind,
        }

    def __str__(self) -> str:
        url = self.url if self.url.isprintable() else repr(self.url)
        label = "dead-lettered, never retried: " if self.dead_lettered else ""
        return f"{label}{self.receiver} ({url}) alert {self.fingerprint}: {self.error}"


@dataclass
class Delivery:
    """What one run's delivery did. `failed`: still in the outbox, for the next run."""

    sent: int = 0
    failed: int = 0
    dead_lettered: int = 0
    errors: list[DeliveryProblem] = field(default_factory=list)
    pushed: int = 0  # of `sent`: alerts pushed to an Alertmanager
    kept_pushes: int = 0  # of `failed`: pushes kept in the outbox for the next run

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead_lettered": self.dead_lettered,
            "errors": [problem.to_json() for problem in self.errors],
            "alertmanager": {"pushed": self.pushed, "kept": self.kept_pushes},
        }

    def push_warnings(self) -> list[str]:
        """One line per Alertmanager that could not be reached, for stderr."""
        return [
            f"Alertmanager push not delivered, kept for the next run: {problem}"
            if not problem.dead_lettered
            else f"Alertmanager push {problem}"
            for problem in self.errors
            if problem.kind == "alertmanager"
        ]


def idempotency_key(item: OutboxItem) -> str:
    """The same for one outbox row in every try and run, derived from the row's unique identity
    (so rows written by an older version have one too)."""
    identity = json.dumps([item.url, item.fingerprint, item.status, item.transition_at])
    return str(uuid.uuid5(_KEY_NAMESPACE, identity))


Post = Callable[..., None]


def deliver_outbox(
    state: StateStore,
    *,
    timeout: float = DEFAULT_NOTIFY_TIMEOUT,
    attempts: int = 3,
    backoff: float = 0.5,
    post: Post | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send every pending notification, oldest first; keep what fails for now for the next run;
    dead-letter what can never be delivered. A receiver's failure never raises."""
    post = post or post_json
    delivery = Delivery()
    down: set[str] = set()
    for item in state.pending_outbox():
        push = is_push(item.payload)
        if item.url in down:  # one dead receiver costs one round of tries per run, not many
            delivery.failed += 1
            delivery.kept_pushes += push
            continue
        try:
            _deliver(item, post, timeout=timeout, attempts=attempts, backoff=backoff, sleep=sleep)
        except DeliveryError as exc:
            problem = DeliveryProblem(
                item.receiver, _without_password(item.url), item.fingerprint, str(exc),
                exc.permanent, "alertmanager" if push else "webhook",
            )  # fmt: skip
            delivery.errors.append(problem)
            if exc.permanent:
                state.mark_dead(item.id, str(exc), utc_now())
                delivery.dead_lettered += 1
            else:
                state.mark_failed(item.id, str(exc))
                delivery.failed += 1
                delivery.kept_pushes += push
                down.add(item.url)
            continue
        failpoint(AFTER_POST)
        state.mark_delivered(item.id, utc_now())
        delivery.sent += 1
        delivery.pushed += push
    return delivery


def _deliver(
    item: OutboxItem,
    post: Post,
    *,
    timeout: float,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> None:
    try:
        check_http_url(item.url)
    except ValueError as exc:
        raise DeliveryError(f"cannot be delivered: {exc}", permanent=True) from None
    if item.payload is None:
        raise DeliveryError(
            "cannot be delivered: the stored payload is not a JSON object", permanent=True
        )
    key = idempotency_key(item)
    # A push's body is Alertmanager's array of alerts; the key then travels in the header only.
    payload = (
        item.payload[PUSH_FIELD]
        if is_push(item.payload)
        else {**item.payload, IDEMPOTENCY_FIELD: key}
    )
    for attempt in range(attempts):
        try:
            post(item.url, payload, key=key, timeout=timeout)
            return
        except DeliveryError as exc:
            if not exc.retry or attempt + 1 == attempts:
                raise
        sleep(backoff * 2**attempt)


def post_json(url: str, payload: dict[str, Any] | list[Any], *, key: str, timeout: float) -> None:
    """POST `payload` as JSON within `timeout` seconds in all, following one 307 or 308 with the
    same request. Raises DeliveryError unless the receiver answered 2xx."""
    body = json.dumps(payload).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: key,
    }
    deadline = time.monotonic() + timeout
    status, reason, location = _post_once(url, body, headers, deadline, timeout)
    if status in (307, 308) and location:
        target = urljoin(url, location)
        try:
            check_http_url(target)
        except ValueError as exc:
            raise DeliveryError(
                f"answered {status} {reason} to Location {location!r}, not followed: {exc}"
            ) from None
        status, reason, location = _post_once(target, body, headers, deadline, timeout)
        _check_answer(status, reason, location, redirected=True)
    else:
        _check_answer(status, reason, location, redirected=False)


def _check_answer(status: int, reason: str, location: str | None, *, redirected: bool) -> None:
    if 200 <= status < 300:
        return
    answer = f"answered {status} {reason}".rstrip()
    if 300 <= status < 400:
        where = f" to Location {location!r}" if location else " without a Location"
        if redirected:
            why = "a second redirect is not followed"
        elif status in (301, 302, 303):
            why = "a POST is not re-sent as a GET"
        else:
            why = "not followed"
        raise DeliveryError(f"{answer}{where}; {why}: point the receiver's URL at the new place")
    if status in PERMANENT_STATUSES:
        raise DeliveryError(f"{answer}: the receiver refuses this notification", permanent=True)
    raise DeliveryError(answer, retry=status in RETRY_STATUSES or status >= 500)


def _post_once(
    url: str, body: bytes, headers: dict[str, str], deadline: float, timeout: float
) -> tuple[int, str, str | None]:
    """One POST; (status, reason, Location). A watchdog shuts the socket down at `deadline`:
    a socket timeout alone bounds each read, not a receiver sending a byte every few seconds."""
    parts = urlsplit(url)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeliveryError(f"no answer within the {timeout:g}s deadline")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "", parts.port, timeout=remaining)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    expired = threading.Event()
    watchdog = threading.Timer(remaining, _cut, [connection, expired])
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        if expired.is_set():  # connected just as the watchdog fired: it found no socket to cut
            raise TimeoutError
        connection.request("POST", target, body=body, headers=headers | _basic_auth(parts))
        response = connection.getresponse()
        return response.status, response.reason, response.getheader("Location")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise DeliveryError(f"no answer within the {timeout:g}s deadline") from None
        raise DeliveryError(f"{type(exc).__name__}: {exc}", retry=True) from None
    finally:
        watchdog.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the raw socket, TLS or not


def _basic_auth(parts: SplitResult) -> dict[str, str]:
    if parts.username is None:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode("ascii")}


def _without_password(url: str) -> str:
    """`url` for messages: a password in it is replaced by `***`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
