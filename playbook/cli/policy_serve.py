"""`govkit policy serve`: the decision server (`playbook.policy.server`) on the command line."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from playbook.cli.options import governance_option
from playbook.core.errors import Stopped, display_path
from playbook.handbook.lifecycle import stop_on_signals
from playbook.policy.decision_log import DEFAULT_BACKUPS, DEFAULT_MAX_BYTES
from playbook.policy.server import DEFAULT_ADDR, MAX_BODY_BYTES, PolicyServer


def _report(message: str) -> None:
    click.echo(f"govkit policy serve: {message}", err=True)


@click.command("serve")
@governance_option("Governance directory: its policies/*.yaml are served, each by its id.")
@click.option(
    "--addr",
    default=DEFAULT_ADDR,
    show_default=True,
    metavar="HOST:PORT",
    help="Where to listen; port 0 picks a free port (the address is printed on start).",
)
@click.option(
    "--decision-log",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PATH",
    help="Append every decision to this decision log (JSON Lines; auto_approve sampled at the "
    "policy's logging.sample_rate, require_human and escalate always).",
)
@click.option(
    "--log-max-bytes",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    help="Rotate the decision log when it would grow past this size (0: never).",
)
@click.option(
    "--log-backups",
    type=click.IntRange(min=0),
    default=DEFAULT_BACKUPS,
    show_default=True,
    help="Rotated decision logs kept (PATH.1 newest ... PATH.N oldest; 0: never rotate).",
)
def serve_command(
    governance_dir: Path,
    addr: str,
    decision_log: Path | None,
    log_max_bytes: int,
    log_backups: int,
) -> None:
    """Serve decisions over HTTP for agents not written in Python.

    \b
    POST /v1/policies/<id>/decide   the facts as a JSON object (?agent=ID: who asks)
    GET  /v1/policies               ids, revisions, files and problems
    GET  /healthz                   {"status": "ok", "policies": N}

    A decision's body is what `govkit policy decide --format json` prints. A policy file that
    changes is reloaded within a second; an invalid edit keeps the last good version in service
    and is reported with file:line. Requests over {limit} bytes get 413. Ctrl-C, SIGTERM or
    SIGHUP stop it (exit 0).
    """
    server = PolicyServer(
        governance_dir,
        addr=addr,
        decision_log=decision_log,
        log_max_bytes=log_max_bytes,
        log_backups=log_backups,
        report=_report,
    )
    with stop_on_signals():
        try:
            with server:
                count = len(server.policies.ids()) if server.policies else 0
                logged = f"; decision log {display_path(decision_log)}" if decision_log else ""
                click.echo(
                    f"serving {count} polic{'y' if count == 1 else 'ies'} from "
                    f"{display_path(governance_dir / 'policies')} on {server.url}{logged} "
                    "(Ctrl-C to stop)"
                )
                forever = threading.Event()
                while not forever.wait(1.0):
                    pass
        except (KeyboardInterrupt, Stopped):
            _report("stopped")


serve_command.help = (serve_command.help or "").replace("{limit}", f"{MAX_BODY_BYTES:,}")
