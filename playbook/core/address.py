"""Listen addresses given on the command line (`--addr`, `--metrics-addr`): `HOST:PORT`."""

from __future__ import annotations

# Letters, digits and what host names, IPv4 and IPv6 addresses (with a zone: `%eth0`) use; any
# other character (a space, a non-ASCII letter, a lone surrogate) is no address a socket takes.
HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:_%")


def host_and_port(text: str) -> tuple[str, int] | None:
    """`127.0.0.1:8181` or `[::1]:8181` as (host, port), port 0 to 65535 (0: any free port);
    None when `text` is not such an address (each option words its own error)."""
    host, colon, port = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    valid_host = bool(host) and set(host) <= HOST_CHARACTERS and (bracketed or ":" not in host)
    if not colon or not valid_host or not port.isascii() or not port.isdigit():
        return None
    return (host, int(port)) if int(port) < 65536 else None
