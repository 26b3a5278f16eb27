"""The decision server against hostile HTTP: conflicting Content-Lengths (request smuggling), a
body that trickles in (slowloris), the HTTP layer's own refusals answered as JSON, clients that
go away before their answer, and listen addresses no socket can take."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from playbook.policy import server as server_module
from playbook.policy.server import PolicyServer, _Server

DECIDE = "/v1/policies/support-agent/decide"


@pytest.fixture
def port(workspace) -> Iterator[int]:
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


@pytest.mark.parametrize(
    ("request_bytes", "status", "error"),
    [
        (f"POST {DECIDE} HTTP/1.1\r\nX: {'a' * 70_000}\r\n\r\n".encode(), 431,
         "Line too long: got more than 65536 bytes when reading header line"),
        (f"GET /{'a' * 70_000} HTTP/1.1\r\n\r\n".encode(), 414, "Request-URI Too Long"),
        (b"BREW / HTTP/1.1\r\n\r\n", 501, "Unsupported method ('BREW')"),
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
