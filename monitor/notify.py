"""Deliver alert notifications: Alertmanager webhook (version 4) JSON to each receiver.

Notifications are written to the state's outbox in the same transaction as the alert transition
that causes them, then delivered after the commit. A receiver that is down is retried with
backoff; what still fails stays in the outbox and goes out on the next run. A delivered
notification is marked at once, so each transition reaches each receiver once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.alerts import ZERO_TIME, Alert, iso
from monitor.state import StateStore

USER_AGENT = "govkit-monitor"


def webhook_payload(alert: Alert, receiver: str, *, external_url: str = "") -> dict[str, Any]:
    """One alert as an Alertmanager webhook notification (its group holds just this alert)."""
    group_labels = {key: alert.labels[key] for key in ("alertname", "agent", "metric")}
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


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    errors: list[str] | None = None


def post_json(url: str, payload: dict[str, Any], *, timeout: float) -> None:
    request = urllib.request.Request(  # noqa: S310 - receivers are http(s) URLs, validated
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, "unexpected status", None, None)


def deliver_outbox(
    state: StateStore,
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    timeout: float = 5.0,
    post: Callable[..., None] = post_json,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send every pending notification, oldest first; keep what fails for the next run."""
    delivery = Delivery(errors=[])
    down: set[str] = set()
    for item in state.pending_outbox():
        if item.url in down:  # one dead receiver costs one round of retries per run, not many
            delivery.failed += 1
            continue
        error = None
        for attempt in range(attempts):
            try:
                post(item.url, item.payload, timeout=timeout)
                error = None
                break
            except (urllib.error.URLError, OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt + 1 < attempts:
                    sleep(backoff * 2**attempt)
        if error is None:
            state.mark_delivered(item.id, datetime.now(UTC))
            delivery.sent += 1
        else:
            state.mark_failed(item.id, error)
            delivery.failed += 1
            delivery.errors.append(f"{item.receiver} ({item.url}): {error}")  # type: ignore[union-attr]
            down.add(item.url)
    return delivery
