"""What a decision server's client sends, checked: the listen address, the facts of a body, and
the error answer (`BadRequest`) for what is wrong with a request. Used by `playbook.policy.server`.
"""

from __future__ import annotations

import json
from typing import Any

from playbook.core import jsonout
from playbook.core.address import host_and_port
from playbook.core.errors import UsageError
from playbook.core.problems import describe

DEFAULT_ADDR = "127.0.0.1:8181"
FACTS_EXAMPLE = '{"action": "refund", "amount_usd": 150, "sentiment": "neutral"}'
EXPECTED = f"expected a JSON object of facts like '{FACTS_EXAMPLE}'"
Response = tuple[int, dict[str, Any], dict[str, str]]  # status, body, extra headers


class BadRequest(Exception):
    def __init__(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        *,
        close: bool = False,
    ) -> None:
        super().__init__(body["error"])
        self.response: Response = (status, body, headers or {})
        self.close = close  # the request's body was left unread: the connection cannot go on


def parse_addr(addr: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8181` for IPv6; port 0: any free port)."""
    found = host_and_port(addr)
    if found is None:
        raise UsageError(
            f"--addr: expected HOST:PORT such as {DEFAULT_ADDR} (port 0: any free port) but "
            f"received {addr!r}"
        )
    return found


def parse_facts(body: bytes) -> dict[str, Any]:
    """The request body as facts, or BadRequest (400) saying where it went wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"{EXPECTED} but the body is not UTF-8 (byte {exc.start + 1})") from None
    if not text.strip():
        raise _bad(f"{EXPECTED} but the body is empty")
    try:
        value = jsonout.loads_strict(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise _bad(
            f"{EXPECTED} but received invalid JSON: {exc.msg} at {where}",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise _bad(f"{EXPECTED} but received invalid JSON: {reason}") from None
    if not isinstance(value, dict):
        raise _bad(f"{EXPECTED} but received {describe(value)}")
    return value


def _bad(message: str, **extra: Any) -> BadRequest:
    return BadRequest(400, {"error": message, **extra})
