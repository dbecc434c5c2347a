"""``strongroom secrets list|get|set|delete`` and ``strongroom export``.

Each command takes its token from ``--token``/``STRONGROOM_TOKEN`` or logs in
with ``--identity-id`` and a JWT-SVID; with both, an expired token is replaced
by a login without the user noticing (see ``credentials.TokenKeeper``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from strongroom.cli import formats, options
from strongroom.cli.api_client import SecretLocation, StrongroomClient
from strongroom.cli.credentials import TokenKeeper
from strongroom.cli.failures import CliError, err, reports_failures

secrets_app = typer.Typer(help="Read and write a project's secrets.", no_args_is_help=True)


class _Context:
    """The client, token and folder one command works on."""

    def __init__(self, *, domain: str, token: str | None, method: str, identity_id: str | None, jwt: str | None,
                 jwt_file: Path | None, spiffe_socket: str | None, audience: str, project: str, environment: str,
                 path: str) -> None:
        self.where: SecretLocation = options.location(project, environment, path)
        self.client = StrongroomClient(domain)
        self.keeper: TokenKeeper = options.token_keeper(
            self.client, token=token, method=method, identity_id=identity_id, jwt=jwt, jwt_file=jwt_file,
            spiffe_socket=spiffe_socket, audience=audience,
        )

    def __enter__(self) -> "_Context":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.client.close()

    def values(self, *, expand: bool, include_imports: bool) -> dict[str, str]:
        listing = self.keeper.call(
            lambda token: self.client.list_secrets(token, self.where, expand=expand, include_imports=include_imports)
        )
        assert listing is not None  # no ETag was sent
        return listing.merged()


def fetch_values(*, domain: str, token: str | None, method: str, identity_id: str | None, jwt: str | None,
                 jwt_file: Path | None, spiffe_socket: str | None, audience: str, project: str, environment: str,
                 path: str, expand: bool = True, include_imports: bool = True) -> dict[str, str]:
    """The secrets a program in this folder should see (the folder's own over its imports)."""
    with _Context(domain=domain, token=token, method=method, identity_id=identity_id, jwt=jwt, jwt_file=jwt_file,
                  spiffe_socket=spiffe_socket, audience=audience, project=project, environment=environment,
                  path=path) as context:
        return context.values(expand=expand, include_imports=include_imports)


@secrets_app.command("list")
@reports_failures
def list_secrets(
    project: options.Project,
    environment: options.Environment = options.DEFAULTS["environment"],
    path: options.SecretPath = options.DEFAULTS["path"],
    expand: options.Expand = True,
    include_imports: options.IncludeImports = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print {KEY: value} as JSON.")] = False,
    token: options.Token = None,
    identity_id: options.IdentityId = None,
    method: options.Method = options.DEFAULTS["method"],
    jwt: options.Jwt = None,
    jwt_file: options.JwtFileOption = None,
    spiffe_socket: options.SpiffeSocket = None,
    audience: options.Audience = options.DEFAULTS["audience"],
    domain: options.ApiUrl = options.DEFAULTS["api_url"],
) -> None:
    """List the secrets of a folder (with its imports, references expanded)."""
    values = fetch_values(domain=domain, token=token, method=method, identity_id=identity_id, jwt=jwt,
                          jwt_file=jwt_file, spiffe_socket=spiffe_socket, audience=audience, project=project,
                          environment=environment, path=path, expand=expand, include_imports=include_imports)
    if json_output:
        print(formats.as_json(values), end="")
        return
    table = Table("SECRET NAME", "SECRET VALUE", title=f"{environment} {path}", title_justify="left")
    for key, value in values.items():
        table.add_row(key, value, end_section=False)
    Console(highlight=False, soft_wrap=True).print(table)


@secrets_app.command("get")
@reports_failures
def get_secret(
    names: Annotated[list[str], typer.Argument(help="The secrets' names.")],
    project: options.Project,
    environment: options.Environment = options.DEFAULTS["environment"],
    path: options.SecretPath = options.DEFAULTS["path"],
    expand: options.Expand = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print {KEY: value} as JSON.")] = False,
    token: options.Token = None,
    identity_id: options.IdentityId = None,
    method: options.Method = options.DEFAULTS["method"],
    jwt: options.Jwt = None,
    jwt_file: options.JwtFileOption = None,
    spiffe_socket: options.SpiffeSocket = None,
    audience: options.Audience = options.DEFAULTS["audience"],
    domain: options.ApiUrl = options.DEFAULTS["api_url"],
) -> None:
    """Print secrets' values: one name prints its bare value, several print KEY=value lines."""
    with _Context(domain=domain, token=token, method=method, identity_id=identity_id, jwt=jwt, jwt_file=jwt_file,
                  spiffe_socket=spiffe_socket, audience=audience, project=project, environment=environment,
                  path=path) as context:
        values = {}
        for name in names:
            secret = context.keeper.call(
                lambda access, name=name: context.client.get_secret(access, context.where, name, expand=expand)
            )
            values[secret.key] = secret.value
    if json_output:
        print(formats.as_json(values), end="")
    elif len(names) == 1:
        print(next(iter(values.values())))
    else:
        for key, value in values.items():
            print(f"{key}={value}")


def _assignment(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise CliError(f"{text.split('=')[0]!r}: write each secret as NAME=value (or NAME=@file to read a file)")
    if value.startswith("@"):
        source = Path(value[1:])
        try:
            value = source.read_text()
        except OSError as exc:
            raise CliError(f"cannot read {source} for {key}: {exc.strerror or exc}") from None
    return key.strip(), value


@secrets_app.command("set")
@reports_failures
def set_secrets(
    assignments: Annotated[list[str], typer.Argument(help="NAME=value, or NAME=@file to read the value from a file.")],
    project: options.Project,
    environment: options.Environment = options.DEFAULTS["environment"],
    path: options.SecretPath = options.DEFAULTS["path"],
    token: options.Token = None,
    identity_id: options.IdentityId = None,
    method: options.Method = options.DEFAULTS["method"],
    jwt: options.Jwt = None,
    jwt_file: options.JwtFileOption = None,
    spiffe_socket: options.SpiffeSocket = None,
    audience: options.Audience = options.DEFAULTS["audience"],
    domain: options.ApiUrl = options.DEFAULTS["api_url"],
) -> None:
    """Create or update secrets, all in one request (all are written or none)."""
    values: dict[str, str] = {}
    for assignment in assignments:
        key, value = _assignment(assignment)
        if key in values:
            raise CliError(f"{key} is given twice")
        values[key] = value
    with _Context(domain=domain, token=token, method=method, identity_id=identity_id, jwt=jwt, jwt_file=jwt_file,
                  spiffe_socket=spiffe_socket, audience=audience, project=project, environment=environment,
                  path=path) as context:
        context.keeper.call(lambda access: context.client.set_secrets(access, context.where, values))
    err.print(f"[green]✔[/green] set {', '.join(values)} in {environment} {path}")


@secrets_app.command("delete")
@reports_failures
def delete_secrets(
    names: Annotated[list[str], typer.Argument(help="The secrets' names.")],
    project: options.Project,
    environment: options.Environment = options.DEFAULTS["environment"],
    path: options.SecretPath = options.DEFAULTS["path"],
    token: options.Token = None,
    identity_id: options.IdentityId = None,
    method: options.Method = options.DEFAULTS["method"],
    jwt: options.Jwt = None,
    jwt_file: options.JwtFileOption = None,
    spiffe_socket: options.SpiffeSocket = None,
    audience: options.Audience = options.DEFAULTS["audience"],
    domain: options.ApiUrl = options.DEFAULTS["api_url"],
) -> None:
    """Delete secrets, all in one request (all are deleted or none)."""
    with _Context(domain=domain, token=token, method=method, identity_id=identity_id, jwt=jwt, jwt_file=jwt_file,
                  spiffe_socket=spiffe_socket, audience=audience, project=project, environment=environment,
                  path=path) as context:
        context.keeper.call(lambda access: context.client.delete_secrets(access, context.where, list(names)))
    err.print(f"[green]✔[/green] deleted {', '.join(names)} from {environment} {path}")


@reports_failures
def export(
    project: options.Project,
    environment: options.Environment = options.DEFAULTS["environment"],
    path: options.SecretPath = options.DEFAULTS["path"],
    format_name: Annotated[str, typer.Option("--format", help="dotenv, json or yaml.")] = "dotenv",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file (mode 0600), not stdout.",
                                                dir_okay=False)] = None,
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
    """Print a folder's secrets as dotenv, JSON or YAML."""
    if format_name not in formats.FORMATS:
        raise CliError(f"unknown format {format_name!r}; use one of {', '.join(formats.FORMATS)}")
    values = fetch_values(domain=domain, token=token, method=method, identity_id=identity_id, jwt=jwt,
                          jwt_file=jwt_file, spiffe_socket=spiffe_socket, audience=audience, project=project,
                          environment=environment, path=path, expand=expand, include_imports=include_imports)
    if format_name == "dotenv":
        skipped = [key for key in values if not formats.is_env_name(key)]
        if skipped:
            err.print(f"[yellow]warning:[/yellow] left out of the dotenv output (not variable names): "
                      f"{', '.join(skipped)}")
        values = {key: value for key, value in values.items() if formats.is_env_name(key)}
    text = formats.render(values, format_name)
    if output is None:
        sys.stdout.write(text)
        return
    from strongroom.cli.agent.files import write_atomically

    write_atomically(output, text.encode(), mode=0o600)
    err.print(f"[green]✔[/green] wrote {len(values)} secrets to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
    app.command("export")(export)

