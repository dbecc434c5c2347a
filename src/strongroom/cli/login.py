"""``strongroom login``: trade a JWT-SVID for an access token and print it (as ``infisical login`` does)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from strongroom.cli import options
from strongroom.cli.api_client import StrongroomClient
from strongroom.cli.failures import CliError, err, reports_failures


@reports_failures
def login(
    identity_id: options.IdentityId = None,
    method: options.Method = options.DEFAULTS["method"],
    jwt: options.Jwt = None,
    jwt_file: options.JwtFileOption = None,
    spiffe_socket: options.SpiffeSocket = None,
    audience: options.Audience = options.DEFAULTS["audience"],
    domain: options.ApiUrl = options.DEFAULTS["api_url"],
    plain: Annotated[bool, typer.Option("--plain", help="Print only the access token.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the login answer as JSON.")] = False,
) -> None:
    """Log in with a JWT-SVID (from the Workload API, --jwt or --jwt-file) and print the access token."""
    if plain and json_output:
        raise CliError("choose one of --plain and --json")
    if not identity_id:
        raise CliError("--identity-id is required (or set STRONGROOM_IDENTITY_ID)")
    login_with = options.workload_login(method=method, identity_id=identity_id, jwt=jwt, jwt_file=jwt_file,
                                        spiffe_socket=spiffe_socket, audience=audience)
    assert login_with is not None
    with StrongroomClient(domain) as client:
        grant = login_with.perform(client)
    if json_output:
        print(json.dumps(grant.as_response()))
        return
    if not plain:
        lifetime = f"expires in {grant.expires_in}s" if grant.expires_in else "does not expire"
        limit = f", renewable up to {grant.max_ttl}s after login" if grant.max_ttl else ""
        err.print(f"[green]✔[/green] Logged in as identity {identity_id} with {method} "
                  f"(JWT-SVID from {login_with.svids.describe()}); the access token {lifetime}{limit}.")
        err.print("Access token:")
    print(grant.access_token)


def register(app: typer.Typer) -> None:
    app.command("login")(login)

