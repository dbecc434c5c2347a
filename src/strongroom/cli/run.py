"""``strongroom run -- command args…``: run a program with a folder's secrets in its environment.

The secrets override variables of the same name inherited from the shell.
The program runs as a child; its exit status becomes ours (128+N if a signal
N ended it, as shells report it). SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 are
forwarded to it. SIGINT and SIGQUIT are forwarded too, except when we are
the foreground process group of a terminal: then the terminal has already
delivered Ctrl-C (or Ctrl-\\) to the child, which shares our group, and a
second copy would make many programs skip their graceful shutdown.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from types import FrameType
from typing import Annotated

import typer

from strongroom.cli import formats, options
from strongroom.cli.failures import CliError, err, reports_failures
from strongroom.cli.secret_commands import fetch_values

ALWAYS_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT)


def _terminal_delivers_to_our_group() -> bool:
    try:
        terminal = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False  # no controlling terminal: a signal we get was sent to us alone
    try:
        return os.tcgetpgrp(terminal) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(terminal)


def run_child(argv: list[str], environment: dict[str, str]) -> int:
    """Run ``argv`` with ``environment``, forwarding signals; its exit status."""
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum in TERMINAL_SIGNALS and _terminal_delivers_to_our_group():
            return
        if child is None:
            pending.append(signum)  # arrived while the child was being started
            return
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {signum: signal.signal(signum, forward) for signum in ALWAYS_FORWARDED + TERMINAL_SIGNALS}
    try:
        try:
            child = subprocess.Popen(argv, env=environment)
        except FileNotFoundError:
            raise CliError(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise CliError(f"cannot run {argv[0]}: permission denied") from None
        except OSError as exc:
            raise CliError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        for signum in pending:
            child.send_signal(signum)
        returncode = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return returncode if returncode >= 0 else 128 - returncode


@reports_failures
def run(
    command: Annotated[list[str], typer.Argument(help="The command and its arguments (after --).")],
    project: options.Project,
    environment: options.Environment = options.DEFAULTS["environment"],
    path: options.SecretPath = options.DEFAULTS["path"],
    expand: options.Expand = True,
    include_imports: options.IncludeImports = True,
    token: options.Token = None,
    identity_id: options.IdentityId = None,
    method: options.Method = options.DEFAULTS["method"],
    jwt: options.Jwt = None,
    jwt_file: options.JwtFileOption = None,
    spiffe_socket: options.SpiffeSocket = None,
    audience: options.Audience = options.DEFAULTS["audience"],
    domain: options.ApiUrl = options.DEFAULTS["api_url"],
) -> None:
    """Run a command with the folder's secrets as environment variables; exits with the command's status."""
    if shutil.which(command[0]) is None:
        # Before logging in: a typo costs no JWT-SVID and no secrets fetched for nothing.
        raise CliError(f"command not found: {command[0]}")
    values = fetch_values(domain=domain, token=token, method=method, identity_id=identity_id, jwt=jwt,
                          jwt_file=jwt_file, spiffe_socket=spiffe_socket, audience=audience, project=project,
                          environment=environment, path=path, expand=expand, include_imports=include_imports)
    skipped = [key for key in values if not formats.is_env_name(key)]
    if skipped:
        err.print(f"[yellow]warning:[/yellow] not passed (not variable names): {', '.join(skipped)}")
    child_environment = dict(os.environ)
    child_environment.update({key: value for key, value in values.items() if formats.is_env_name(key)})
    err.print(f"[green]✔[/green] injecting {len(values) - len(skipped)} secrets from {environment} {path}")
    raise typer.Exit(run_child(list(command), child_environment))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
