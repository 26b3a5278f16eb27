"""`govkit monitor schedule --metrics-addr HOST:PORT`: `/metrics` for Prometheus to scrape.

A WSGI app of `prometheus_client` (it negotiates the text format or OpenMetrics from the scrape's
`Accept` header) on a stdlib server this module starts and stops, so it ends with the scheduler:
explicit `start()` and `stop()`, no daemon left behind. Other paths answer 404.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from playbook.core.address import host_and_port
from playbook.core.errors import UsageError

METRICS_PATH = "/metrics"


def parse_address(text: str) -> tuple[str, int]:
    """`127.0.0.1:9464` (or `[::1]:9464`) as (host, port); port 0 picks a free one."""
    found = host_and_port(text.strip())
    if found is None:
        raise UsageError(
            f"--metrics-addr: expected HOST:PORT such as 127.0.0.1:9464 but received {text!r}"
        )
    return found


class _IPv6Server(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per scrape would drown the monitor's own log


class MetricsServer:
    """Serves `collector`'s figures on `/metrics` at (host, port) until `stop()`."""

    def __init__(self, address: tuple[str, int], collector: Collector) -> None:
        self.address = address
        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)
        self._app = make_wsgi_app(registry)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _route(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != METRICS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not found: the metrics are at /metrics\n"]
        return self._app(environ, start_response)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        host, port = self.address
        server_class = _IPv6Server if ":" in host else ThreadingWSGIServer
        try:
            self._server = make_server(
                host, port, self._route, server_class, handler_class=_QuietHandler
            )
        except (OSError, OverflowError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(f"--metrics-addr {host}:{port}: cannot listen: {reason}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="govkit-metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket. Safe to call more than once."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
