"""Alertmanager as a receiver: each run hands its alerts to Alertmanager's API v2
(`POST /api/v2/alerts`), which then routes, groups, silences, inhibits and repeats them.

Unlike a webhook, which hears of an alert when it fires, every `repeat_interval` and when it
resolves, an Alertmanager is told about every firing alert on every run: Alertmanager keeps an
alert active until its `endsAt`, so each push sets `endsAt` to the push's moment plus `alive`
(twice the interval the monitor runs at), and an alert govkit stops reporting (a stalled monitor,
a removed charter) resolves by itself soon after. A resolved alert is pushed once, with `endsAt`
its resolution time.

Pushes travel through the state's outbox like webhook notifications: written in the run's
transaction, delivered after the commit, kept for the next run while Alertmanager is down. A
newer push of a firing alert replaces the older one (delivered or not) for the same
Alertmanager: it says all the older one did, later. A resolved push is never replaced, so it is
not lost to an outage.

Labels are the alert's own plus `owner_email` and `steward_email` (from its annotations), for
Alertmanager's routes to match on. They are added only here: govkit's fingerprint is a hash of its
own labels, and adding the e-mails to those would give every existing alert a new identity (each
firing alert would resolve and fire again) and make a change of owner a new alert.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from monitor.alerting.alerts import Alert
from monitor.alerting.state import Receiver, enqueue
from playbook.core.clock import iso
from playbook.results import FIRING, RESOLVED

API_PATH = "/api/v2/alerts"
PUSH_FIELD = "postableAlerts"  # an outbox payload holding this is a push: its value is the body
KEEPALIVE = "push:"  # transition_at prefix of a firing alert's push (one per run)
DEFAULT_INTERVAL = timedelta(hours=1)  # `monitor schedule`'s default interval
ALIVE_RUNS = 2  # a pushed alert stays active this many intervals without another push
EMAIL_LABELS = ("owner_email", "steward_email")
CLI_NAME = "alertmanager"  # the receiver name of `--alertmanager URL`


@dataclass(frozen=True)
class Alertmanager:
    name: str
    url: str  # the API endpoint, `.../api/v2/alerts`


def api_url(base: str) -> str:
    """`http://host:9093` (or a route prefix, `http://host/am/`) -> its `/api/v2/alerts`. The path
    is extended, not the text: a query is kept after it, a fragment (never sent) dropped."""
    parts = urlsplit(base.strip())
    path = parts.path.rstrip("/")
    path = path if path.endswith(API_PATH) else path + API_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def alertmanagers(configured: list[tuple[str, str]], urls: list[str]) -> list[Alertmanager]:
    """monitor.yaml's Alertmanager receivers (name, base URL), then `--alertmanager` URLs; one
    per API endpoint (the first name given for it)."""
    found: dict[str, Alertmanager] = {}
    for name, base in [*configured, *((CLI_NAME, url) for url in urls)]:
        found.setdefault(api_url(base), Alertmanager(name, api_url(base)))
    return list(found.values())


def alive_for(interval: timedelta | None) -> timedelta:
    """How long past a push Alertmanager keeps the alert active: ALIVE_RUNS intervals, so one
    late or failed run does not resolve it."""
    return ALIVE_RUNS * (interval or DEFAULT_INTERVAL)


def labels_for(alert: Alert) -> dict[str, str]:
    """The alert's labels plus the owner's and steward's e-mail (when the alert has them)."""
    extra = {k: alert.annotations[k] for k in EMAIL_LABELS if alert.annotations.get(k)}
    return {**alert.labels, **extra}


def postable(alert: Alert, *, pushed_at: datetime, alive: timedelta) -> dict[str, Any]:
    """One alert as Alertmanager's API v2 `postableAlert`. `generatorURL` is the handbook page
    when it is absolute (monitor.yaml's `handbook_url` is set), otherwise left out: Alertmanager
    can do nothing with a link relative to a site it does not know."""
    if alert.status == RESOLVED and alert.ends_at is not None:
        ends = alert.ends_at
    else:
        ends = max(pushed_at, alert.starts_at) + alive
    body: dict[str, Any] = {
        "labels": labels_for(alert),
        "annotations": {k: v for k, v in alert.annotations.items() if v},
        "startsAt": iso(alert.starts_at),
        "endsAt": iso(ends),
    }
    page = alert.annotations.get("handbook_url", "")
    if urlsplit(page).scheme in {"http", "https"}:
        body["generatorURL"] = page
    return body


def is_push(payload: dict[str, Any] | None) -> bool:
    return payload is not None and PUSH_FIELD in payload


def enqueue_pushes(
    db: sqlite3.Connection,
    managers: list[Alertmanager],
    alerts: list[Alert],
    *,
    pushed_at: datetime,
    alive: timedelta,
) -> int:
    """Queue, inside the run's transaction, a push of every firing alert and of every alert this
    run resolved to each Alertmanager. Returns the number of rows queued."""

    def push(alert: Alert, _receiver: str) -> dict[str, Any]:
        return {PUSH_FIELD: [postable(alert, pushed_at=pushed_at, alive=alive)]}

    queued = 0
    for manager in managers:
        receiver = Receiver(manager.name, manager.url)
        for alert in alerts:
            if alert.status == FIRING:
                transition = KEEPALIVE + iso(pushed_at)
            elif alert.ends_at is not None:
                transition = iso(alert.ends_at)
            else:
                continue
            # A firing alert's older push says nothing the new one does not.
            db.execute(
                "DELETE FROM outbox WHERE url = ? AND fingerprint = ? AND status = ? "
                "AND transition_at LIKE ?",
                [manager.url, alert.fingerprint, FIRING, KEEPALIVE + "%"],
            )
            queued += enqueue(db, alert, [receiver], pushed_at, transition, push)
    return queued
