"""Options the workload commands share, spelled once (with Infisical's CLI names as aliases where it has one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strongroom.cli.api_client import DEFAULT_API_URL, SecretLocation, StrongroomClient
from strongroom.cli.credentials import DEFAULT_AUDIENCE, TokenKeeper, WorkloadLogin, svid_source
from strongroom.cli.failures import CliError

ApiUrl = Annotated[str, typer.Option(
    "--domain", "--url", envvar="STRONGROOM_API_URL", show_envvar=True,
    help="Strongroom's base URL.",
)]
Method = Annotated[str, typer.Option(
    "--method", envvar="STRONGROOM_AUTH_METHOD", help="Login method: oidc-auth or spiffe-auth.",
)]
IdentityId = Annotated[str | None, typer.Option(
    "--identity-id", "--machine-identity-id", envvar="STRONGROOM_IDENTITY_ID", show_envvar=True,
    help="The machine identity to log in as.",
)]
Jwt = Annotated[str | None, typer.Option("--jwt", "--oidc-jwt", help="A JWT-SVID to log in with.")]
JwtFileOption = Annotated[Path | None, typer.Option(
    "--jwt-file", help="A file holding the JWT-SVID (read afresh at every login).", dir_okay=False,
)]
SpiffeSocket = Annotated[str | None, typer.Option(
    "--spiffe-socket", help="The SPIFFE Workload API socket (default: SPIFFE_ENDPOINT_SOCKET).",
)]
Audience = Annotated[str, typer.Option(
    "--audience", envvar="STRONGROOM_AUDIENCE", help="Audience of the JWT-SVID fetched from the Workload API.",
)]
Token = Annotated[str | None, typer.Option(
    "--token", envvar="STRONGROOM_TOKEN", show_envvar=True,
    help="An access token; without one (or when it has expired) the CLI logs in with --identity-id.",
)]
Project = Annotated[str, typer.Option(
    "--project", "--projectId", envvar="STRONGROOM_PROJECT_ID", show_envvar=True, help="The project's id.",
)]
Environment = Annotated[str, typer.Option("--env", help="The environment's slug.")]
SecretPath = Annotated[str, typer.Option("--path", help="The folder.")]
Expand = Annotated[bool, typer.Option("--expand/--no-expand", help="Expand ${KEY} references.")]
IncludeImports = Annotated[bool, typer.Option("--include-imports/--no-include-imports",
                                              help="Include imported secrets.")]

DEFAULTS = {"api_url": DEFAULT_API_URL, "method": "oidc-auth", "audience": DEFAULT_AUDIENCE,
            "environment": "dev", "path": "/"}


def workload_login(*, method: str, identity_id: str | None, jwt: str | None, jwt_file: Path | None,
                   spiffe_socket: str | None, audience: str) -> WorkloadLogin | None:
    if not identity_id:
        if jwt or jwt_file:
            raise CliError("a JWT-SVID was given but no --identity-id to log in as")
        return None
    return WorkloadLogin(method, identity_id.strip(),
                         svid_source(jwt=jwt, jwt_file=jwt_file, spiffe_socket=spiffe_socket, audience=audience))


def token_keeper(client: StrongroomClient, *, token: str | None, method: str, identity_id: str | None,
                 jwt: str | None, jwt_file: Path | None, spiffe_socket: str | None, audience: str) -> TokenKeeper:
    login = workload_login(method=method, identity_id=identity_id, jwt=jwt, jwt_file=jwt_file,
                           spiffe_socket=spiffe_socket, audience=audience)
    return TokenKeeper(client, login=login, token=(token or "").strip() or None)


def location(project: str, environment: str, path: str) -> SecretLocation:
    if not project.strip():
        raise CliError("--project must name a project id")
    if not environment.strip():
        raise CliError("--env must name an environment")
    return SecretLocation(project.strip(), environment.strip(), path.strip() or "/")
