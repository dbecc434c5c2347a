"""``strongroom dev spire``: the development SPIRE stand-in. Never use it in production."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from strongroom.cli.durations import parse_duration
from strongroom.cli.failures import CliError, err, reports_failures
from strongroom.spiffe.rotation import RotationEvent, activate_threshold, prepare_threshold
from strongroom.spiffe.stand_in import DEFAULT_SPIFFE_ID, SpireStandIn, default_socket_path

dev_app = typer.Typer(help="Development helpers. Never use them in production.", no_args_is_help=True)

DEVELOPMENT_ONLY = (
    "[bold red]DEVELOPMENT ONLY[/bold red]: this SPIRE stand-in keeps its keys in memory, attests nothing, "
    "and gives a JWT-SVID to anyone who can reach its socket or port. Never trust it in production."
)


def duration_option(value: str, name: str) -> float:
    try:
        return parse_duration(value, name=name)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def stop_on_sigterm() -> None:
    """Make SIGTERM end the process as Ctrl-C does: by KeyboardInterrupt, through every ``finally`` that cleans up.

    Installed before anything starts, so a SIGTERM at any moment stops the process cleanly.
    """

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def serve_until_interrupted() -> None:
    """Block until Ctrl-C or SIGTERM (see ``stop_on_sigterm``)."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def start_stand_in(*, spiffe_id: str, port: int, socket_path: Path, key_ttl: float, svid_ttl: float,
                   announce: bool) -> SpireStandIn:
    def on_rotation(event: RotationEvent) -> None:
        meaning = {"prepared": "published the next key", "activated": "now signing with key",
                   "pruned": "removed the expired key"}[event.action]
        err.print(f"{time.strftime('%H:%M:%S')} dev spire: {meaning} {event.kid}")

    try:
        stand_in = SpireStandIn(spiffe_id=spiffe_id, port=port, socket_path=socket_path, key_ttl=key_ttl,
                                svid_ttl=int(svid_ttl), on_rotation=on_rotation if announce else None)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port} for the discovery provider: {exc.strerror or exc}") \
            from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        stand_in.start()
    except (OSError, RuntimeError) as exc:
        stand_in.provider.stop()
        raise CliError(f"cannot serve the Workload API on {socket_path}: {exc}") from None
    return stand_in


@dev_app.command("spire")
@reports_failures
def dev_spire(
    port: Annotated[int, typer.Option(help="Port of the OIDC discovery provider (HTTP, loopback).")] = 8081,
    spiffe_id: Annotated[str, typer.Option(help="The SPIFFE ID the Workload API issues JWT-SVIDs for.")]
    = DEFAULT_SPIFFE_ID,
    socket: Annotated[Path | None, typer.Option(
        help="Unix socket of the Workload API [default: /tmp/strongroom-dev-spire-<uid>/api.sock].")] = None,
    key_ttl: Annotated[str, typer.Option(
        help="Lifetime of a signing key (SPIRE's ca_ttl): the next key is published at 1/2 and signs from 5/6.")]
    = "24h",
    svid_ttl: Annotated[str, typer.Option(help="Lifetime of a JWT-SVID (SPIRE's default_jwt_svid_ttl).")] = "5m",
) -> None:
    """A SPIRE stand-in: OIDC discovery provider on HTTP and SPIFFE Workload API on a unix socket. DEVELOPMENT ONLY."""
    stop_on_sigterm()
    stand_in = start_stand_in(spiffe_id=spiffe_id, port=port, socket_path=socket or default_socket_path(),
                              key_ttl=duration_option(key_ttl, "--key-ttl"),
                              svid_ttl=duration_option(svid_ttl, "--svid-ttl"), announce=True)
    try:
        active = stand_in.authority.active
        assert active is not None
        now = time.time()
        err.print(DEVELOPMENT_ONLY)
        err.print(f"discovery provider: {stand_in.discovery_url}   (issuer {stand_in.provider.issuer}, "
                  f"keys at {stand_in.discovery_url}/keys)")
        err.print(f"Workload API:       export SPIFFE_ENDPOINT_SOCKET={stand_in.endpoint}")
        err.print(f"JWT-SVIDs for:      {spiffe_id} (any audience, {int(duration_option(svid_ttl, '--svid-ttl'))}s)")
        err.print(f"key rotation:       next key published in {prepare_threshold(active) - now:.0f}s, "
                  f"signing in {activate_threshold(active) - now:.0f}s")
        err.print("Ctrl-C stops it.")
        serve_until_interrupted()
    finally:
        stand_in.stop()
    err.print("dev spire: stopped")


def register(app: typer.Typer) -> None:
    app.add_typer(dev_app, name="dev")
