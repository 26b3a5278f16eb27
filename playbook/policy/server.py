"""The decision server (`govkit policy serve`): policies decided over HTTP, for agents not written
in Python.

    POST /v1/policies/<id>/decide   body: the facts, a JSON object; `?agent=` names the caller
    GET  /v1/policies               {"policies": [{id, revision, blob, file, loaded_at, error}]}
    GET  /healthz                   {"status": "ok", "policies": N}

A decision's body is what `govkit policy decide --format json` prints for the same facts. Errors
are JSON `{"error": ...}`: 400 bad body (located), 404 unknown policy or path, 405 wrong method,
408 a request not whole within `http_guard.REQUEST_SECONDS` of its first byte, 411 a chunked body,
413 body over `MAX_BODY_BYTES`, 422 a fact the policy needs is missing, 503 a policy that never
loaded, a decision log that cannot be written (no decision goes unrecorded) or
`http_guard.MAX_CONNECTIONS` connections already open.
Policies reload when their files change (`playbook.policy.live`).

Built on the standard library's threading HTTP server (HTTP/1.1 keep-alive, a thread per
connection): measured sufficient for the target load (bench/bench_policy.py) without a dependency.
Lifecycle: `start()` (open the decision log, load the policies, listen and guard the connections,
watch, serve), `stop()` (the same in reverse: stop accepting, stop watching, close connections,
stop the guard, close the log).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playbook.core import jsonout
from playbook.core.errors import GovkitError, UsageError, display_path, unknown_choice
from playbook.policy import http_guard
from playbook.policy.decision_log import DecisionLog
from playbook.policy.http_input import DEFAULT_ADDR, BadRequest, Response, parse_addr, parse_facts
from playbook.policy.live import WATCH_SECONDS, LivePolicies, Report
from playbook.policy.rules import POLICIES_DIR
from playbook.policy.syntax import ConditionError, MissingFact

MAX_BODY_BYTES = 1_000_000
DRAINED_BYTES = 16_000_000  # a body over the limit up to this size is read and dropped (413, the
# connection kept); a larger one is not read: 413 and the connection closed
BODY_SECONDS = 10.0  # a body announced by Content-Length must arrive within this many seconds
ENDPOINTS = "POST /v1/policies/<id>/decide, GET /v1/policies or GET /healthz"


class DecisionApp:
    """The endpoints, independent of the HTTP machinery: (method, target, body) -> response."""

    def __init__(self, policies: LivePolicies, report: Report = lambda message: None) -> None:
        self.policies = policies
        self.report = report

    def route(self, method: str, target: str, body: bytes) -> Response:
        try:
            return self._route(method, target, body)
        except BadRequest as exc:
            return exc.response
        except GovkitError as exc:  # the decision log cannot be written: no unrecorded decision
            self.report(exc.format_message())
            return 503, {"error": exc.format_message()}, {}
        except Exception as exc:  # one request's failure is its answer, not a crash
            message = f"internal error: {type(exc).__name__}: {exc}"
            self.report(f"{method} {target}: {message}")
            return 500, {"error": message}, {}

    def _route(self, method: str, target: str, body: bytes) -> Response:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        segments = path.strip("/").split("/")
        if path == "/healthz":
            _allow(method, "GET", path)
            return 200, {"status": "ok", "policies": len(self.policies.ids())}, {}
        if path == "/v1/policies":
            _allow(method, "GET", path)
            return 200, {"policies": self.policies.listing()}, {}
        if len(segments) == 4 and segments[:2] == ["v1", "policies"] and segments[3] == "decide":
            _allow(method, "POST", path)
            agent = (parse_qs(parts.query).get("agent") or [""])[-1] or None
            return self.decide(segments[2], body, agent)
        raise BadRequest(404, {"error": f"no endpoint {path}; expected {ENDPOINTS}"})

    def decide(self, policy_id: str, body: bytes, agent: str | None) -> Response:
        served = self.policies.get(policy_id)
        if served is None:
            raise BadRequest(404, {"error": self._unknown(policy_id), "policy": policy_id})
        if served.policy is None:
            message = f"policy {policy_id!r} is invalid and was never served: {served.error}"
            raise BadRequest(503, {"error": message, "policy": policy_id})
        facts = parse_facts(body)
        try:
            decision = served.policy.decide(facts, agent=agent)
        except MissingFact as exc:
            # The rule that stopped names one fact; the client learns every absent one at once.
            absent = [fact for fact in served.policy.facts if fact not in facts]
            missing = [exc.fact, *(fact for fact in absent if fact != exc.fact)]
            raise BadRequest(422, {"error": str(exc), "missing": missing}) from None
        except ConditionError as exc:
            raise BadRequest(422, {"error": str(exc)}) from None
        logged = {"X-Decision-Id": decision.decision_id} if decision.decision_id else {}
        return 200, decision.to_json(), logged

    def _unknown(self, policy_id: str) -> str:
        known = self.policies.ids()
        where = display_path(self.policies.directory)
        if not known:
            return f"unknown policy {policy_id!r}: {where} holds no policies"
        return f"{unknown_choice('policy', policy_id, known)[:-1]} in {where}."


def _allow(method: str, allowed: str, path: str) -> None:
    if method != allowed and not (method == "HEAD" and allowed == "GET"):
        message = f"method {method} is not allowed on {path}; expected {allowed}"
        raise BadRequest(405, {"error": message}, {"Allow": allowed})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: an agent reuses its connection
    disable_nagle_algorithm = True  # headers and body leave at once (no delayed-ACK stall)
    server_version = "govkit-policy"
    timeout = 300  # an idle keep-alive connection is closed after this many seconds
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def handle_one_request(self) -> None:
        """Wait (up to the idle timeout) for the next request's first byte, then give the whole
        request REQUEST_SECONDS to arrive (`http_guard`)."""
        try:
            if not self.rfile.peek(1):
                self.close_connection = True
                return
        except OSError:  # the idle timeout, or the connection reset
            self.close_connection = True
            return
        guard = self.server.guard
        guard.arm(self.connection)
        try:
            super().handle_one_request()
        finally:
            guard.disarm(self.connection)

    def _handle(self) -> None:
        try:
            body = self._body()
            self._refuse_if_late()
        except BadRequest as exc:
            self.close_connection = self.close_connection or exc.close
            self._send(exc.response)
            return
        self.server.guard.disarm(self.connection)
        self._send(self.server.app.route(self.command, self.path, body))

    def _refuse_if_late(self) -> None:
        if self.server.guard.expired(self.connection):
            raise self._late()

    def _late(self) -> BadRequest:
        seconds = self.server.guard.request_seconds
        message = f"the request did not arrive whole within {seconds:g} seconds"
        return BadRequest(408, {"error": message}, close=True)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            message = "expected a Content-Length header, not a chunked body"
            raise BadRequest(411, {"error": message}, close=True)
        lengths = {value.strip() for value in self.headers.get_all("Content-Length", [])}
        if len(lengths) > 1:  # which one frames the body? (request smuggling): none is trusted
            message = f"expected one Content-Length but received {sorted(lengths)}"
            raise BadRequest(400, {"error": message}, close=True)
        length = next(iter(lengths), "0") or "0"
        if not length.isascii() or not length.isdigit():
            message = f"expected a Content-Length of digits but received {length!r}"
            raise BadRequest(400, {"error": message}, close=True)
        size = int(length)
        if size > MAX_BODY_BYTES:
            message = f"the body is {size:,} bytes; the limit is {MAX_BODY_BYTES:,}"
            unread = size > DRAINED_BYTES or not self._drain(size)
            raise BadRequest(413, {"error": message, "limit": MAX_BODY_BYTES}, close=unread)
        return self._read(size) if size else b""

    def _read(self, size: int) -> bytes:
        """The body, which must arrive within BODY_SECONDS: a client that sends a Content-Length
        and then trickles (or stops) does not hold a thread for the idle timeout."""
        self.connection.settimeout(BODY_SECONDS)
        try:
            body = self.rfile.read(size)
        except TimeoutError:
            message = (
                f"the body did not arrive within {BODY_SECONDS:g} seconds (Content-Length {size:,})"
            )
            raise BadRequest(408, {"error": message}, close=True) from None
        finally:
            self.connection.settimeout(self.timeout)
        if len(body) < size:  # the client closed its side early, or the deadline did
            self._refuse_if_late()
            message = f"the body ended after {len(body):,} of its {size:,} bytes"
            raise BadRequest(400, {"error": message}, close=True)
        return body

    def _drain(self, size: int) -> bool:
        """Read and drop `size` bytes; False when the client went away first."""
        while size > 0:
            chunk = self.rfile.read(min(size, 65536))
            if not chunk:
                return False
            size -= len(chunk)
        return True

    def _send(self, response: Response) -> None:
        status, body, headers = response
        data = (jsonout.dumps(body, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The HTTP layer's own refusals (a request line or header too long, too many headers, a
        malformed request line) as JSON like every other answer, not an HTML page."""
        self.close_connection = True
        # A request line that did not parse leaves HTTP/0.9, whose answers have no status line.
        self.request_version = self.protocol_version
        if self.server.guard.expired(self.connection):  # a request head cut off by its deadline
            self._send(self._late().response)
            return
        reason = message or self.responses.get(code, ("error",))[0]
        self._send((code, {"error": f"{reason}: {explain}" if explain else reason}, {}))

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: decisions go to the decision log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: a fleet of agents connecting at once (the
    # default 5 drops SYNs, and each dropped one costs its client a second)

    def __init__(self, address: tuple[str, int], app: DecisionApp) -> None:
        self.address_family = _family(address[0])
        self.app = app
        self.guard = http_guard.ConnectionGuard(
            max_connections=http_guard.MAX_CONNECTIONS,
            request_seconds=http_guard.REQUEST_SECONDS,
        )
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection, or, when MAX_CONNECTIONS are open, 503 at once."""
        if self.guard.admit(request):
            super().process_request(request, client_address)
            return
        message = f"the server has {self.guard.max_connections} connections open; retry later"
        data = (jsonout.dumps({"error": message}) + "\n").encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            request.settimeout(1.0)
            request.sendall(head.encode() + data)
        super().shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        self.guard.release(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away before its answer was sent is no error of the server's;
        anything else is reported in one line, not a traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            self.app.report(f"connection from {client_address[0]}: {type(error).__name__}: {error}")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class PolicyServer:
    """`govkit policy serve`, startable and stoppable in-process (tests, embedding). Usable as a
    context manager: started on entry, stopped on exit."""

    def __init__(
        self,
        governance_dir: Path,
        *,
        addr: str = DEFAULT_ADDR,
        decision_log: Path | None = None,
        log_max_bytes: int | None = None,
        log_backups: int | None = None,
        report: Report = lambda message: None,
        watch_seconds: float = WATCH_SECONDS,
    ) -> None:
        self.governance_dir = governance_dir
        self.host, self.port = parse_addr(addr)
        self._log_options = (decision_log, log_max_bytes, log_backups)
        self._report = report
        self._watch_seconds = watch_seconds
        self._teardown: list[Callable[[], None]] = []
        self.policies: LivePolicies | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> PolicyServer:
        directory = self.governance_dir / POLICIES_DIR
        if not directory.is_dir():
            raise UsageError(
                f"{display_path(directory)}: no such directory; expected the policies to serve "
                "(governance/policies/<id>.yaml), or --governance DIR"
            )
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        log = self._open_log()
        if log is not None:
            self._teardown.append(log.close)
        self.policies = LivePolicies(self.governance_dir, decision_log=log, report=self._report)
        self.policies.refresh()
        server = self._listen(DecisionApp(self.policies, self._report))
        self._teardown.append(server.server_close)
        server.guard.start()
        self._teardown.append(server.guard.stop)
        self._teardown.append(server.guard.close_all)
        self.policies.watch(self._watch_seconds)
        self._teardown.append(self.policies.stop)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="govkit-policy-http"
        )
        thread.start()
        self._teardown.append(lambda: (server.shutdown(), thread.join()))

    def _open_log(self) -> DecisionLog | None:
        path, max_bytes, backups = self._log_options
        if path is None:
            return None
        options = {"max_bytes": max_bytes, "backups": backups}
        return DecisionLog(
            path, **{key: value for key, value in options.items() if value is not None}
        )

    def _listen(self, app: DecisionApp) -> _Server:
        try:
            server = _Server((self.host, self.port), app)
        except OSError as exc:
            raise UsageError(
                f"--addr {self.host}:{self.port}: cannot listen there "
                f"({exc.strerror or exc}); expected a free HOST:PORT"
            ) from None
        self.port = server.server_address[1]
        return server

    def stop(self) -> None:
        """The reverse of `start`: stop accepting, stop watching the files, close the
        connections (answers in flight are still sent), close the decision log (its summary
        record written). Safe to call twice."""
        while self._teardown:
            self._teardown.pop()()

    def __enter__(self) -> PolicyServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
