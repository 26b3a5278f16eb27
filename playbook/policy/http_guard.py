"""The decision server's limits on connections, each of which holds a thread while it is open.

- A request must arrive whole, head and body, within REQUEST_SECONDS of its first byte: a client
  that trickles its headers or body (slowloris) is cut off with a 408 instead of holding a thread
  for the idle timeout. Waiting for the next request on a kept-alive connection is not limited by
  this; the handler's idle timeout covers it.
- At most MAX_CONNECTIONS are open at once; one more is answered 503 at once, without a thread.

One watchdog thread checks the deadlines; overdue connections have their reading side shut, so
the handler's pending read ends and it can still answer 408.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

MAX_CONNECTIONS = 256
REQUEST_SECONDS = 10.0


class ConnectionGuard:
    """Open connections, their request deadlines and the watchdog that enforces them. Lifecycle:
    `start()` the watchdog, `admit`/`release` each connection, `arm`/`disarm` each request,
    `close_all()` then `stop()`."""

    def __init__(self, *, max_connections: int, request_seconds: float) -> None:
        self.max_connections = max_connections
        self.request_seconds = request_seconds
        self._deadlines: dict[socket.socket, float | None] = {}
        self._expired: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        self._watchdog = threading.Thread(target=self._watch, name="govkit-policy-deadlines")
        self._watchdog.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join()
            self._watchdog = None

    def admit(self, connection: socket.socket) -> bool:
        """Count a new connection in; False (and not counted) when MAX_CONNECTIONS are open."""
        with self._lock:
            if len(self._deadlines) >= self.max_connections:
                return False
            self._deadlines[connection] = None
            return True

    def release(self, connection: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(connection, None)
            self._expired.discard(connection)

    def arm(self, connection: socket.socket) -> None:
        """A request's first byte has arrived: the rest must follow within REQUEST_SECONDS."""
        with self._lock:
            if connection in self._deadlines:
                self._deadlines[connection] = time.monotonic() + self.request_seconds

    def disarm(self, connection: socket.socket) -> None:
        """The request has arrived whole (its answer may take as long as it takes)."""
        with self._lock:
            if connection in self._deadlines:
                self._deadlines[connection] = None

    def expired(self, connection: socket.socket) -> bool:
        with self._lock:
            return connection in self._expired

    def close_all(self) -> None:
        """End every open connection's reading side: idle keep-alive handlers see the end and
        return; one answering a request still sends its answer."""
        with self._lock:
            for connection in self._deadlines:
                _shut_reading(connection)

    def _watch(self) -> None:
        every = min(max(self.request_seconds / 10, 0.02), 1.0)
        while not self._stopping.wait(every):
            now = time.monotonic()
            with self._lock:
                for connection, deadline in self._deadlines.items():
                    if deadline is not None and deadline <= now:
                        self._deadlines[connection] = None
                        self._expired.add(connection)
                        _shut_reading(connection)


def _shut_reading(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed meanwhile
        connection.shutdown(socket.SHUT_RD)
