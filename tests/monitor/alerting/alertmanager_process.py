"""A real Alertmanager (Debian's `prometheus-alertmanager`) on a free loopback port, for tests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

SKIP_REASON = (
    "Alertmanager is not installed (Debian: `apt-get install prometheus-alertmanager`, which "
    "`make alertmanager` runs where it can): skipping the tests against a real Alertmanager"
)


def find_binary(name: str = "alertmanager") -> str | None:
    """`prometheus-alertmanager` (Debian) or `alertmanager` on PATH, else Debian's path."""
    names = ("prometheus-alertmanager", "alertmanager") if name == "alertmanager" else (name,)
    for candidate in names:
        if found := shutil.which(candidate):
            return found
    fallback = Path("/usr/bin") / names[0]
    return str(fallback) if fallback.exists() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Alertmanager:
    """Start, stop and start again on the same port; talk to its API v2."""

    def __init__(self, binary: str, workdir: Path, config: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.process is not None:
            return
        log = (self.workdir / "alertmanager.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={self.config}",
             f"--storage.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"alertmanager not ready within 20s: {self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return (self.workdir / "alertmanager.log").read_text(errors="replace")[-2000:]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read()
        return json.loads(text) if text.strip() else None

    def alerts(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v2/alerts")  # type: ignore[no-any-return]

    def forget_everything(self) -> None:
        """Resolve every active alert and expire every silence: a clean slate for the next test."""
        ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        active = [
            {"labels": a["labels"], "startsAt": a["startsAt"], "endsAt": ended}
            for a in self.alerts()
        ]
        if active:
            self.request("POST", "/api/v2/alerts", active)
        for silence in self.request("GET", "/api/v2/silences"):
            if silence["status"]["state"] != "expired":
                self.request("DELETE", f"/api/v2/silence/{silence['id']}")
