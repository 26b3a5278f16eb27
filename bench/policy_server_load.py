"""The decision server's section of bench_policy.py: a bounded open-loop load over keep-alive
connections, against `govkit policy serve` and against a trivial standard-library HTTP server
answering a constant (the reference), both as their own processes, measured in the same run.

The client is asyncio over raw sockets (one coroutine per connection, requests sent on a fixed
schedule: request i is due at start + i / rate); a request's latency counts from when it was due,
so a server that falls behind is charged for the queue it builds (no coordinated omission).
Server CPU is read from /proc/PID/stat (utime + stime) around each run.

Run by hand as the reference server: `python bench/policy_server_load.py --reference`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DECIDE = "/v1/policies/support-agent/decide?agent=bench"
CONSTANT = (
    json.dumps(
        {"decision": "auto_approve", "reasons": [], "redact_pii": True, "log_sample_rate": 0.15,
         "policy_revision": None, "policy_source": {"blob": "0" * 40, "committed_at": None}},
        indent=2,
    ) + "\n"
).encode()  # fmt: skip


@dataclass
class Load:
    sent: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    cpu_s: float | None

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _requests(cases: list[dict[str, Any]]) -> list[bytes]:
    found = []
    for facts in cases:
        body = json.dumps(facts).encode()
        head = (f"POST {DECIDE} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
        found.append(head.encode() + body)
    return found


async def _connection(
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    requests: list[bytes],
    due: list[float],
    out: Load,
) -> None:
    reader, writer = stream
    try:
        for index, when in enumerate(due):
            wait = when - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(requests[index % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                out.errors += 1
            out.latencies_ms.append((time.perf_counter() - when) * 1000)
    finally:
        writer.close()


async def _run(port: int, requests: list[bytes], rate: float | None, seconds: float,
               connections: int) -> Load:  # fmt: skip
    """Open loop at `rate` for `seconds`; `rate` None: closed loop (each connection sends as soon
    as its previous answer arrived), for the capacity."""
    out = Load(0, 0.0, [], 0, None)
    if rate is None:
        return await _closed(port, requests, seconds, connections, out)
    # Connected before the clock starts: the schedule measures requests, not TCP handshakes.
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    start = time.perf_counter() + 0.05
    total = int(rate * seconds)
    schedules = [
        [start + i / rate for i in range(k, total, connections)] for k in range(connections)
    ]
    await asyncio.gather(
        *(
            _connection(stream, requests, due, out)
            for stream, due in zip(streams, schedules, strict=True)
        )
    )
    out.sent, out.seconds = total, time.perf_counter() - start
    return out


async def _closed(port: int, requests: list[bytes], seconds: float, connections: int,
                  out: Load) -> Load:  # fmt: skip
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    start = time.perf_counter()
    deadline = start + seconds

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = 0
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            writer.write(requests[index % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            out.errors += not head.startswith(b"HTTP/1.1 200")
            out.latencies_ms.append((time.perf_counter() - sent) * 1000)
            index += 1
        writer.close()

    await asyncio.gather(*(one(reader, writer) for reader, writer in streams))
    out.sent, out.seconds = len(out.latencies_ms), time.perf_counter() - start
    return out


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(process: subprocess.Popen, port: int, cases: list[dict[str, Any]],
            rate: float | None, seconds: float, connections: int) -> Load:  # fmt: skip
    before = _cpu_seconds(process.pid)
    load = asyncio.run(_run(port, _requests(cases), rate, seconds, connections))
    after = _cpu_seconds(process.pid)
    load.cpu_s = after - before if before is not None and after is not None else None
    return load


def start(command: list[str], cwd: Path) -> tuple[subprocess.Popen, int]:
    """A server process and the port it printed on its first line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)  # fmt: skip
    first = process.stdout.readline()
    found = re.search(r"127\.0\.0\.1:(\d+)", first)
    if not found:
        process.kill()
        raise SystemExit(f"the server did not start: {first}{process.stderr.read()}")
    return process, int(found.group(1))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def govkit_server(governance: Path, decision_log: Path | None) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "playbook", "policy", "serve", "--governance",
               str(governance), "--addr", "127.0.0.1:0"]  # fmt: skip
    if decision_log is not None:
        command += ["--decision-log", str(decision_log)]
    return start(command, governance.parent)


def reference_server() -> tuple[subprocess.Popen, int]:
    return start([sys.executable, str(Path(__file__).resolve()), "--reference"], REPO)


REFERENCE = "reference (constant answer)"
SERVED = "govkit policy serve"


def _row(label: str, load: Load, reference: Load | None) -> None:
    cpu = f"{load.cpu_s / load.sent * 1000:10.3f}" if load.cpu_s is not None else f"{'?':>10}"
    ratio = f"{load.quantile(0.99) / reference.quantile(0.99):7.1f}x" if reference else ""
    worst = max(load.latencies_ms, default=float("nan"))
    print(
        f"  {label:<36} {load.rate:7.0f} {load.quantile(0.5):8.2f} {load.quantile(0.99):8.2f} "
        f"{worst:8.1f} {cpu} {load.errors:6d} {ratio}"
    )


def bench_server(args: Any, cases: list[dict[str, Any]], governance: Path) -> None:
    """The decision server under a bounded open-loop load, then its capacity (closed loop), each
    against the reference server measured alike in the same run."""
    rate, seconds, connections = args.rate, args.seconds, args.connections
    print(
        f"\nDecision server: {SERVED} (its own process), {rate:,.0f} requests/s for {seconds:g} s "
        f"over {connections} keep-alive connections, open loop (latency counted from when each "
        f"request was due); facts: the example policy's {len(cases)} test cases;\nreference: a "
        "standard-library ThreadingHTTPServer answering a constant, same client"
    )
    header = (
        f"  {'':<36} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'CPU ms/req':>10} {'errors':>6} {'p99/ref':>8}"
    )
    print(header)
    results: dict[str, Load] = {}
    runs: list[tuple[str, bool | None]] = [(REFERENCE, None), (SERVED, False)]
    if not args.no_server_log:
        runs.append((f"{SERVED} --decision-log", True))
    for label, logged in runs:
        log = governance.parent / "decisions.jsonl" if logged else None
        process, port = reference_server() if logged is None else govkit_server(governance, log)
        try:
            results[label] = measure(process, port, cases, rate, seconds, connections)
        finally:
            stop(process)
        _row(label, results[label], results.get(REFERENCE) if logged is not None else None)
    print(f"\nCapacity: closed loop, {connections} connections, {args.capacity_seconds:g} s each")
    print(header)
    capacity: dict[str, Load] = {}
    for label in (REFERENCE, SERVED):
        process, port = (
            reference_server() if label == REFERENCE else govkit_server(governance, None)
        )
        try:
            capacity[label] = measure(
                process, port, cases, None, args.capacity_seconds, connections
            )
        finally:
            stop(process)
        _row(label, capacity[label], None)
    served = results[SERVED]
    met = served.rate >= 0.99 * rate and served.errors == 0
    share = capacity[SERVED].rate / capacity[REFERENCE].rate
    print(
        f"target {rate:,.0f} requests/s for {seconds:g} s without errors: {served.rate:,.0f}/s, "
        f"p99 {served.quantile(0.99):.2f} ms: {'met' if met else 'NOT met'}; capacity "
        f"{capacity[SERVED].rate:,.0f}/s ({share:.2f}x the reference's)"
    )


class _Constant(BaseHTTPRequestHandler):
    """The reference: the same HTTP machinery, no policy: read the body, answer a constant."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(CONSTANT)))
        self.end_headers()
        self.wfile.write(CONSTANT)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve_reference() -> None:
    ThreadingHTTPServer.request_queue_size = 128  # as govkit's server: a burst of connections
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Constant)
    print(f"reference on http://127.0.0.1:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__" and sys.argv[1:] == ["--reference"]:
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    _serve_reference()
