"""The decision server (`govkit policy serve`), started on a free loopback port: the same decisions
as the CLI and the API, hot reload that keeps the last good version, malformed requests answered
with located reasons, and the decision log it writes."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from playbook.core import jsonout
from playbook.policy import load_policy
from playbook.policy.server import PolicyServer
from tests.conftest import REPO
from tests.policy.conftest import seed_cases
from tests.processes import wait_for

POLICY = Path("governance/policies/support-agent.yaml")
DECIDE = "/v1/policies/support-agent/decide"
EXAMPLE = '{"action": "refund", "amount_usd": 150, "sentiment": "neutral"}'
EXPECTED = f"expected a JSON object of facts like '{EXAMPLE}'"


class Client:
    """One keep-alive connection to the server, as an agent would hold it."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(
        self, method: str, path: str, body: bytes | str | None = None
    ) -> tuple[int, http.client.HTTPResponse, str]:
        data = body.encode() if isinstance(body, str) else body
        self.connection.request(method, path, body=data)
        response = self.connection.getresponse()
        text = response.read().decode()
        return response.status, response, text

    def json(self, method: str, path: str, body: bytes | str | None = None) -> tuple[int, dict]:
        status, _, text = self.request(method, path, body)
        return status, json.loads(text)


@pytest.fixture
def served(workspace) -> Iterator[tuple[PolicyServer, Client, list[str]]]:
    reports: list[str] = []
    with PolicyServer(
        workspace.governance, addr="127.0.0.1:0", report=reports.append, watch_seconds=0.05
    ) as server:
        yield server, Client(server.port), reports


def test_server_cli_and_api_give_identical_bodies_on_every_seed_case(served, govkit):
    _server, client, _ = served
    policy = load_policy(POLICY)
    cases = seed_cases(POLICY)
    assert len(cases) >= 13
    for case in cases:
        status, response, body = client.request("POST", DECIDE, json.dumps(case.facts))
        cli = govkit("policy", "decide", "support-agent", "--case", json.dumps(case.facts),
                     "--format", "json")  # fmt: skip
        assert status == 200, body
        assert response.headers["Content-Type"] == "application/json"
        assert body == cli.stdout, case.name
        assert body == jsonout.dumps(policy.decide(case.facts).to_json(), indent=2) + "\n"
        assert json.loads(body)["decision"] == case.expect


def test_listing_and_health(served):
    server, client, _ = served
    assert client.json("GET", "/healthz") == (200, {"status": "ok", "policies": 1})
    status, listing = client.json("GET", "/v1/policies")
    assert status == 200
    [entry] = listing["policies"]
    assert set(entry) == {"id", "revision", "blob", "file", "loaded_at", "error"}
    assert entry["id"] == "support-agent"
    assert entry["file"] == "governance/policies/support-agent.yaml"
    assert entry["error"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["loaded_at"])
    assert entry["blob"] == load_policy(POLICY).revision.blob
    assert server.url == f"http://127.0.0.1:{server.port}"


REFUND_250 = {
    "action": "refund", "amount_usd": 250, "customer_tenure_months": 12, "fraud_risk_score": 0.1,
    "lifetime_refunds_usd": 100, "sentiment": "neutral", "topic": "billing",
}  # fmt: skip


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _listed(client: Client) -> dict:
    return {entry["id"]: entry for entry in client.json("GET", "/v1/policies")[1]["policies"]}


def test_hot_reload_keeps_the_last_good_version_until_the_file_is_fixed(served, workspace):
    _server, client, reports = served
    path = workspace.governance / "policies/support-agent.yaml"
    line = _line_of(path, "auto_approve_max_usd")
    assert client.json("POST", DECIDE, json.dumps(REFUND_250))[1]["decision"] == "require_human"

    workspace.edit(
        "policies/support-agent.yaml", "auto_approve_max_usd: 200", "auto_approve_max_usd: -5"
    )
    assert wait_for(lambda: _listed(client)["support-agent"]["error"], timeout=10)
    error = _listed(client)["support-agent"]["error"]
    assert error.startswith(
        f"governance/policies/support-agent.yaml:{line}: refunds.auto_approve_max_usd: "
    )
    # Still served, as it was: the last good version.
    status, decision = client.json("POST", DECIDE, json.dumps(REFUND_250))
    assert (status, decision["decision"]) == (200, "require_human")
    assert decision["reasons"] == ["amount_usd 250 > auto_approve_max_usd 200"]
    assert any(
        f"governance/policies/support-agent.yaml:{line}:" in report
        and "still serving the version loaded at" in report
        for report in reports
    )

    workspace.edit(
        "policies/support-agent.yaml", "auto_approve_max_usd: -5", "auto_approve_max_usd: 300"
    )
    assert wait_for(lambda: _listed(client)["support-agent"]["error"] is None, timeout=10)
    status, decision = client.json("POST", DECIDE, json.dumps(REFUND_250))
    assert (status, decision["decision"], decision["reasons"]) == (200, "auto_approve", [])
    assert any("policy support-agent: reloaded" in report for report in reports)


def test_new_policy_files_are_served_and_deleted_ones_are_not(served, workspace):
    _server, client, reports = served
    source = (workspace.governance / "policies/support-agent.yaml").read_text()
    workspace.write("policies/billing-agent.yaml", source.replace("200", "50"))
    assert wait_for(lambda: "billing-agent" in _listed(client), timeout=10)
    status, decision = client.json(
        "POST", "/v1/policies/billing-agent/decide", json.dumps(REFUND_250)
    )
    assert (status, decision["reasons"]) == (200, ["amount_usd 250 > auto_approve_max_usd 50"])
    assert client.json("GET", "/healthz")[1]["policies"] == 2

    (workspace.governance / "policies/billing-agent.yaml").unlink()
    assert wait_for(lambda: "billing-agent" not in _listed(client), timeout=10)
    status, body = client.json("POST", "/v1/policies/billing-agent/decide", json.dumps(REFUND_250))
    assert status == 404
    assert body["error"].startswith("unknown policy 'billing-agent'.")
    assert any(
        "policy billing-agent: governance/policies/billing-agent.yaml is gone" in r for r in reports
    )


def test_a_policy_invalid_from_the_start_is_listed_and_answers_503(workspace):
    workspace.write("policies/broken.yaml", "refunds: [\n")
    reports: list[str] = []
    with PolicyServer(workspace.governance, addr="127.0.0.1:0", report=reports.append) as server:
        client = Client(server.port)
        entry = _listed(client)["broken"]
        assert entry["error"].startswith("governance/policies/broken.yaml:")
        assert entry["revision"] is None and entry["loaded_at"] is None
        status, body = client.json("POST", "/v1/policies/broken/decide", "{}")
        assert status == 503
        assert body["error"].startswith(
            "policy 'broken' is invalid and was never served: governance/policies/broken.yaml:"
        )
        assert client.json("POST", DECIDE, json.dumps(REFUND_250))[0] == 200
    assert any("not served until the file is fixed" in report for report in reports)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "expected"),
    [
        ("POST", DECIDE, '{"action": "refund",}', 400, {
            "error": f"{EXPECTED} but received invalid JSON: Expecting property name enclosed in double quotes at line 1 column 21",
            "line": 1, "column": 21}),
        ("POST", DECIDE, '{\n  "a": 1\n  "b": 2}', 400, {
            "error": f"{EXPECTED} but received invalid JSON: Expecting ',' delimiter at line 3 column 3",
            "line": 3, "column": 3}),
        ("POST", DECIDE, "[1, 2]", 400, {"error": f"{EXPECTED} but received a list"}),
        ("POST", DECIDE, '"refund"', 400, {"error": f"{EXPECTED} but received 'refund' (text)"}),
        ("POST", DECIDE, "", 400, {"error": f"{EXPECTED} but the body is empty"}),
        ("POST", DECIDE, '{"a": 1, "a": 2}', 400, {
            "error": f"{EXPECTED} but received invalid JSON: the key 'a' is given twice"}),
        ("POST", DECIDE, '{"a": NaN}', 400, {
            "error": f"{EXPECTED} but received invalid JSON: NaN is not a number"}),
        ("POST", DECIDE, b'{"a": "\xff"}', 400, {
            "error": f"{EXPECTED} but the body is not UTF-8 (byte 8)"}),
        ("POST", "/v1/policies/support-agnt/decide", "{}", 404, {
            "error": "unknown policy 'support-agnt'. Did you mean 'support-agent'? Expected one of 'support-agent' in governance/policies.",
            "policy": "support-agnt"}),
        ("POST", DECIDE, '{"action": "refund", "amount_usd": 120}', 422, {
            "error": "missing fact 'sentiment', needed by escalation.if_sentiment (sentiment == escalation.if_sentiment). The case has: action, amount_usd.",
            "missing": ["sentiment", "topic", "customer_tenure_months", "fraud_risk_score", "lifetime_refunds_usd"]}),
        ("GET", DECIDE, None, 405, {
            "error": "method GET is not allowed on /v1/policies/support-agent/decide; expected POST"}),
        ("POST", "/v1/policies", "{}", 405, {
            "error": "method POST is not allowed on /v1/policies; expected GET"}),
        ("DELETE", "/healthz", None, 405, {"error": "method DELETE is not allowed on /healthz; expected GET"}),
        ("GET", "/v2/nothing", None, 404, {
            "error": "no endpoint /v2/nothing; expected POST /v1/policies/<id>/decide, GET /v1/policies or GET /healthz"}),
    ],
)  # fmt: skip
def test_malformed_requests(served, method, path, body, status, expected):
    _server, client, _ = served
    got_status, response, text = client.request(method, path, body)
    assert (got_status, json.loads(text)) == (status, expected)
    if status == 405:
        assert response.headers["Allow"] == ("POST" if path == DECIDE else "GET")
    # The connection stays usable after an error the server could read whole.
    assert client.json("GET", "/healthz")[0] == 200


def test_a_body_over_the_limit_is_413(served):
    _server, client, _ = served
    status, response, text = client.request("POST", DECIDE, b"{" + b" " * 1_000_000 + b"}")
    assert (status, json.loads(text)) == (
        413,
        {"error": "the body is 1,000,002 bytes; the limit is 1,000,000", "limit": 1_000_000},
    )
    assert "Connection" not in response.headers  # read and dropped: the connection goes on
    assert client.json("GET", "/healthz")[0] == 200


@pytest.mark.parametrize(
    ("header", "status", "error"),
    [
        ("Content-Length: 100000000", 413, "the body is 100,000,000 bytes; the limit is 1,000,000"),
        ("Content-Length: 12x", 400, "expected a Content-Length of digits but received '12x'"),
        ("Transfer-Encoding: chunked", 411, "expected a Content-Length header, not a chunked body"),
    ],
)
def test_a_body_the_server_will_not_read_closes_the_connection(served, header, status, error):
    server, _, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(f"POST {DECIDE} HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n{{".encode())
        response = http.client.HTTPResponse(raw)
        response.begin()
        assert (response.status, json.loads(response.read())["error"]) == (status, error)
        assert response.headers["Connection"] == "close"
        assert raw.recv(1) == b""  # closed by the server


def test_decisions_are_logged_with_the_agent_and_redacted_facts(workspace, tmp_path):
    log = tmp_path / "logs/decisions.jsonl"
    with PolicyServer(workspace.governance, addr="127.0.0.1:0", decision_log=log) as server:
        client = Client(server.port)
        personal = {**REFUND_250, "customer_email": "ann@example.com", "agent": "billing"}
        assert client.json("POST", DECIDE + "?agent=refunds", json.dumps(personal))[0] == 200
        assert client.json("POST", DECIDE, json.dumps(personal))[0] == 200  # the facts' agent
        small = {**REFUND_250, "amount_usd": 20}
        for _ in range(3):
            assert client.json("POST", DECIDE, json.dumps(small))[0] == 200
    records = [json.loads(line) for line in log.read_text().splitlines()]
    required = [r for r in records if r["decision"] == "require_human"]
    assert [r["agent"] for r in required] == ["refunds", "billing"]
    assert required[0]["facts"]["customer_email"] == "[redacted]"
    assert required[0]["policy"] == "support-agent"
    assert required[0]["reasons"] == ["amount_usd 250 > auto_approve_max_usd 200"]
    assert re.fullmatch(r"[0-9a-f]{32}", required[0]["decision_id"])
    # Every auto_approve decision is counted, sampled or summarised when the server stops.
    approved = [r for r in records if r["decision"] == "auto_approve"]
    assert sum(r["represents"] for r in approved) == 3


def test_a_logged_decision_names_its_record_in_x_decision_id(workspace, tmp_path):
    log = tmp_path / "decisions.jsonl"
    with PolicyServer(workspace.governance, addr="127.0.0.1:0", decision_log=log) as server:
        client = Client(server.port)
        status, response, text = client.request("POST", DECIDE, json.dumps(REFUND_250))
        sampled_out = [client.request("POST", DECIDE, json.dumps({**REFUND_250, "amount_usd": 20}))
                       for _ in range(40)]  # fmt: skip
    records = {r["decision_id"]: r for r in map(json.loads, log.read_text().splitlines())}
    assert status == 200 and "decision_id" not in json.loads(text)  # the body is unchanged
    assert records[response.headers["X-Decision-Id"]]["decision"] == "require_human"
    for _, answer, _ in sampled_out:  # a header names a record that exists, or there is none
        named = answer.headers["X-Decision-Id"]
        assert named is None or records[named]["decision"] == "auto_approve"
    assert any(a.headers["X-Decision-Id"] is None for _, a, _ in sampled_out)


def test_without_a_decision_log_there_is_no_x_decision_id(served):
    _, client, _ = served
    status, response, _ = client.request("POST", DECIDE, json.dumps(REFUND_250))
    assert (status, response.headers["X-Decision-Id"]) == (200, None)


def _start_cli(governance: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "playbook", "policy", "serve", "--governance",
               str(governance), "--addr", "127.0.0.1:0", *extra]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=governance.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    first = process.stdout.readline()
    match = re.search(r"on http://127\.0\.0\.1:(\d+) ", first)
    assert match, first + process.stderr.read()
    return process, match.group(1)


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_the_command_prints_its_port_reports_problems_and_stops_cleanly(workspace, stop):
    process, port = _start_cli(workspace.governance)
    try:
        client = Client(int(port))
        assert client.json("GET", "/healthz") == (200, {"status": "ok", "policies": 1})
        workspace.edit("policies/support-agent.yaml", "sample_rate: 0.15", "sample_rate: 2")
        assert wait_for(lambda: _listed(client)["support-agent"]["error"], timeout=10)
        process.send_signal(getattr(signal, stop))
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    line = _line_of(workspace.governance / "policies/support-agent.yaml", "sample_rate")
    assert process.returncode == 0, stderr
    assert f"governance/policies/support-agent.yaml:{line}: logging.sample_rate:" in stderr
    assert stderr.rstrip().endswith("govkit policy serve: stopped")


def test_a_bad_or_busy_address_is_exit_2(workspace, govkit):
    result = govkit("policy", "serve", "--addr", "localhost")
    assert result.exit_code == 2
    assert (
        "--addr: expected HOST:PORT such as 127.0.0.1:8181 (port 0: any free port) but received 'localhost'"
        in result.output
    )
    with PolicyServer(workspace.governance, addr="127.0.0.1:0") as server:
        result = govkit("policy", "serve", "--addr", f"127.0.0.1:{server.port}")
    assert result.exit_code == 2
    assert (
        f"--addr 127.0.0.1:{server.port}: cannot listen there (Address already in use)"
        in result.output
    )


def test_no_policies_directory_is_exit_2(tmp_path, govkit, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = govkit("policy", "serve", "--governance", "nowhere", "--addr", "127.0.0.1:0")
    assert result.exit_code == 2
    assert "nowhere/policies: no such directory; expected the policies to serve" in result.output


def test_the_decision_log_rotates_by_size(workspace, tmp_path):
    log = tmp_path / "decisions.jsonl"
    server = PolicyServer(
        workspace.governance, addr="127.0.0.1:0", decision_log=log, log_max_bytes=2000,
        log_backups=2,
    )  # fmt: skip
    with server:
        client = Client(server.port)
        for _ in range(20):
            assert client.json("POST", DECIDE, json.dumps(REFUND_250))[0] == 200
    files = sorted(path.name for path in tmp_path.glob("decisions.jsonl*"))
    assert files == ["decisions.jsonl", "decisions.jsonl.1", "decisions.jsonl.2"]
    assert all(path.stat().st_size <= 2000 for path in tmp_path.glob("decisions.jsonl*"))


def test_a_decision_that_cannot_be_logged_is_503_not_an_unrecorded_answer(workspace, tmp_path):
    (tmp_path / "taken").write_text("a file, not a directory")
    log = tmp_path / "taken/decisions.jsonl"
    reports: list[str] = []
    with PolicyServer(
        workspace.governance, addr="127.0.0.1:0", decision_log=log, report=reports.append
    ) as server:
        status, body = Client(server.port).json("POST", DECIDE, json.dumps(REFUND_250))
    assert status == 503
    assert body["error"].startswith("decision log taken/decisions.jsonl: cannot write: ")
    assert reports == [body["error"]]


def test_many_agents_at_once_get_what_one_at_a_time_gets(served):
    server, client, _ = served
    cases = seed_cases(POLICY)
    expected = [client.request("POST", DECIDE, json.dumps(case.facts))[2] for case in cases]

    def agent(_: int) -> list[str]:
        own = Client(server.port)
        return [own.request("POST", DECIDE, json.dumps(c.facts))[2] for c in cases * 5]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(agent, range(8)))
    assert all(answer == expected * 5 for answer in answers)
