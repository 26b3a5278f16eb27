"""Fixtures for monitor tests: events for one agent with or without a planted breach, and a
webhook receiver that records what it is sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import numpy as np
import pytest

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
AGENT = "refunds"  # stop condition: rollback_rate above 0.02 over 7d, action escalate


def write_events(
    path: Path, *, now: datetime = NOW, rollback_rate: float = 0.003, seed: int = 1
) -> Path:
    """About 100 tasks a day for `refunds` from 2026-09-01 to `now`; the last 7 days have the
    given rollback rate (healthy is 0.003; the stop condition is above 0.02)."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    days = (now - start).days
    n = days * 100
    ts = np.sort(start.timestamp() + rng.uniform(0, (now - start).total_seconds(), n))
    recent = ts >= (now - timedelta(days=7)).timestamp()
    rate = np.where(recent, rollback_rate, 0.003)
    events = {
        "timestamp": ts,
        "agent": np.full(n, AGENT),
        "outcome": np.where(rng.random(n) < 0.97, "success", "escalated"),
        "latency_s": rng.lognormal(1.0, 0.4, n),
        "cost_usd": rng.uniform(0.01, 0.03, n),
        "tooling_cost_usd": rng.uniform(0.0, 0.01, n),
        "reviewer_minutes": rng.uniform(1.0, 2.0, n),
        "reworked": rng.random(n) < 0.02,
        "policy_hit": rng.random(n) < 0.01,
        "rolled_back": rng.random(n) < rate,
        "financial_error": np.zeros(n, dtype=bool),
    }
    connection = duckdb.connect()
    connection.register("events_frame", events)
    connection.execute(
        "COPY (SELECT * REPLACE (to_timestamp(timestamp) AS timestamp) FROM events_frame) "
        f"TO '{path}' (FORMAT parquet)"
    )
    connection.close()
    return path


class Receiver:
    """A webhook receiver on 127.0.0.1 that records JSON bodies; `up` can be switched."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.up = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()
