"""The decision server against hostile HTTP: conflicting Content-Lengths (request smuggling), a
head or body that trickles in (slowloris), more connections than the server keeps threads for,
the HTTP layer's own refusals answered as JSON, clients that go away before their answer, and
listen addresses no socket can take."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from playbook.policy import http_guard
from playbook.policy import server as server_module
from playbook.policy.server import PolicyServer, _Server

DECIDE = "/v1/policies/support-agent/decide"


@pytest.fixture
def port(workspace) -> Iterator[int]:
    with PolicyServer(workspace.governance, addr="127.0.0.1:0") as server:
        yield server.port


@pytest.fixture
def strict_port(workspace, monkeypatch) -> Iterator[int]:
    """A server that allows 0.3 s for a request and 2 open connections."""
    monkeypatch.setattr(http_guard, "REQUEST_SECONDS", 0.3)
    monkeypatch.setattr(http_guard, "MAX_CONNECTIONS", 2)
    with PolicyServer(workspace.governance, addr="127.0.0.1:0") as server:
        yield server.port


def exchange(port: int, request: bytes) -> tuple[http.client.HTTPResponse, dict, socket.socket]:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(request)
    response = http.client.HTTPResponse(raw)
    response.begin()
    return response, json.loads(response.read()), raw


def test_conflicting_content_lengths_are_refused_and_the_connection_closed(port):
    request = (
        f"POST {DECIDE} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    response, body, raw = exchange(port, request.encode())
    with raw:
        assert (response.status, body) == (
            400, {"error": "expected one Content-Length but received ['2', '5']"}
        )  # fmt: skip
        assert response.headers["Connection"] == "close"
        assert raw.recv(1) == b""


def test_a_body_that_does_not_arrive_in_time_is_408_not_a_held_thread(port, monkeypatch):
    monkeypatch.setattr(server_module, "BODY_SECONDS", 0.3)
    request = f"POST {DECIDE} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{}}"
    response, body, raw = exchange(port, request.encode())
    with raw:
        assert (response.status, body) == (
            408, {"error": "the body did not arrive within 0.3 seconds (Content-Length 100)"}
        )  # fmt: skip
        assert raw.recv(1) == b""


def trickle(port: int, pieces: list[bytes], pause: float) -> tuple[int, dict, bytes]:
    """Send `pieces` `pause` seconds apart (stopping when the server hangs up), then read the
    answer: (status, body, what the server sends after it)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with raw:
        for piece in pieces:
            try:
                raw.sendall(piece)
            except OSError:
                break
            time.sleep(pause)
        response = http.client.HTTPResponse(raw)
        response.begin()
        return response.status, json.loads(response.read()), raw.recv(1)


def test_a_head_that_trickles_in_is_408_and_closed(strict_port):
    head = f"POST {DECIDE} HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n".encode()
    status, body, after = trickle(
        strict_port, [head[i : i + 4] for i in range(0, len(head), 4)], 0.05
    )
    assert (status, body, after) == (
        408, {"error": "the request did not arrive whole within 0.3 seconds"}, b""
    )  # fmt: skip


def test_a_body_that_trickles_in_is_408_though_each_byte_is_on_time(strict_port):
    head = f"POST {DECIDE} HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n".encode()
    status, body, after = trickle(strict_port, [head, *[b" "] * 40], 0.05)
    assert (status, body, after) == (
        408, {"error": "the request did not arrive whole within 0.3 seconds"}, b""
    )  # fmt: skip


def test_an_idle_keep_alive_connection_outlives_the_request_deadline(strict_port):
    connection = http.client.HTTPConnection("127.0.0.1", strict_port, timeout=10)
    for _ in range(2):
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["status"]) == (200, "ok")
        time.sleep(0.6)  # twice the request deadline, between requests
    connection.close()


def test_a_connection_over_the_limit_is_503_at_once_and_room_comes_back(strict_port):
    held = [socket.create_connection(("127.0.0.1", strict_port), timeout=10) for _ in range(2)]
    time.sleep(0.2)  # both accepted
    response, body, raw = exchange(strict_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    with raw:
        assert (response.status, body) == (
            503, {"error": "the server has 2 connections open; retry later"}
        )  # fmt: skip
        assert response.headers["Retry-After"] == "1" and raw.recv(1) == b""
    held.pop().close()
    time.sleep(0.2)  # the server sees the close
    response, body, raw = exchange(strict_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    raw.close()
    held.pop().close()
    assert (response.status, body["status"]) == (200, "ok")


@pytest.mark.parametrize(
    ("request_bytes", "status", "error"),
    [
        (f"POST {DECIDE} HTTP/1.1\r\nX: {'a' * 70_000}\r\n\r\n".encode(), 431,
         "Line too long: got more than 65536 bytes when reading header line"),
        (f"GET /{'a' * 70_000} HTTP/1.1\r\n\r\n".encode(), 414, "Request-URI Too Long"),
        (b"BREW / HTTP/1.1\r\n\r\n", 501, "Unsupported method ('BREW')"),
        (b"garbage\r\n\r\n", 400, "Bad request syntax ('garbage')"),
    ],
)  # fmt: skip
def test_the_http_layers_refusals_are_json(port, request_bytes, status, error):
    response, body, raw = exchange(port, request_bytes)
    raw.close()
    assert (response.status, body) == (status, {"error": error})
    assert response.headers["Content-Type"] == "application/json"


def test_a_client_gone_before_its_answer_is_not_a_traceback(capsys):
    reports: list[str] = []
    fake = SimpleNamespace(app=SimpleNamespace(report=reports.append))
    for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
        try:
            raise error
        except OSError:
            _Server.handle_error(fake, None, ("127.0.0.1", 5))  # type: ignore[arg-type]
    assert reports == [] and capsys.readouterr().err == ""
    try:
        raise ValueError("odd")
    except ValueError:
        _Server.handle_error(fake, None, ("127.0.0.1", 5))  # type: ignore[arg-type]
    assert reports == ["connection from 127.0.0.1: ValueError: odd"]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "addr", ["h\udcffx:8181", "h\u00e9:8181", "a b:8181", "::1:8181", "h:\u0663"]
)
def test_an_address_no_socket_can_take_is_exit_2_not_a_traceback(workspace, govkit, addr):
    result = govkit("policy", "serve", "--addr", addr)
    assert result.exit_code == 2
    assert (
        "--addr: expected HOST:PORT such as 127.0.0.1:8181 (port 0: any free port) but received "
        f"{addr!r}" in result.output
    )
