"""``strongroom demo`` (``make run``): the whole mission on one machine, in one process, until Ctrl-C.

1. the development SPIRE stand-in starts (discovery provider on HTTP, Workload API on a unix socket);
2. Strongroom starts on the embedded default (SQLite in ``--data-dir``), with
   ``STRONGROOM_ALLOW_INTERNAL_ISSUERS=true`` because the stand-in is on loopback;
3. the instance is bootstrapped (or, on a later run, the same instance is reused);
4. a project with a few secrets, and a machine identity whose OIDC Auth is bound to
   ``spiffe://example.org/workload/*``, are created and the identity is made a viewer of the project;
5. a workload fetches its JWT-SVID from the Workload API, logs in with it, and prints the secrets it reads;
6. it keeps serving, with the URL, the admin token and the next commands printed.

The admin token and the ids of what the demo made are kept in ``<data dir>/demo.json``
(mode 0600, like the root key beside it) so that a second run reuses them.
"""

from __future__ import annotations

import json
import os
import secrets as random_secrets
import shlex
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from strongroom.cli.agent.files import write_atomically
from strongroom.cli.api_client import ApiRefused, SecretLocation, StrongroomClient
from strongroom.cli.dev import DEVELOPMENT_ONLY, serve_until_interrupted, start_stand_in, stop_on_sigterm
from strongroom.cli.failures import CliError, reports_failures
from strongroom.spiffe import workload_client
from strongroom.spiffe.stand_in import DEFAULT_SPIFFE_ID, SpireStandIn, default_socket_path

AUDIENCE = "strongroom"
BOUND_SUBJECT = "spiffe://example.org/workload/*"
PROJECT_NAME = "Demo"
ENVIRONMENT = "dev"
STATE_FILE = "demo.json"

out = Console(highlight=False, soft_wrap=True)


@dataclass
class DemoState:
    admin_token: str
    org_id: str
    project_id: str | None = None
    identity_id: str | None = None

    @classmethod
    def load(cls, path: Path) -> "DemoState | None":
        try:
            data = json.loads(path.read_text())
            return cls(data["adminToken"], data["organizationId"], data.get("projectId"), data.get("identityId"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CliError(f"{path} is unreadable ({exc}); remove the data folder to start afresh") from None

    def save(self, path: Path) -> None:
        data = {"adminToken": self.admin_token, "organizationId": self.org_id, "projectId": self.project_id,
                "identityId": self.identity_id}
        write_atomically(path, json.dumps(data, indent=2).encode(), mode=0o600)


class EmbeddedServer:
    """Strongroom served by uvicorn from a thread of this process, on a port bound here first."""

    def __init__(self, data_dir: Path, port: int) -> None:
        import uvicorn

        from strongroom.app import build_services, create_app
        from strongroom.settings import Settings

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind(("127.0.0.1", port))
        except OSError as exc:
            self._socket.close()
            raise CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc} (pick another with --port)") \
                from None
        settings = Settings.from_env({
            "STRONGROOM_DATA_DIR": str(data_dir),
            # The SPIRE stand-in's discovery provider is on 127.0.0.1, which a production server refuses.
            "STRONGROOM_ALLOW_INTERNAL_ISSUERS": "true",
            "STRONGROOM_LOG_LEVEL": "warning",
        })
        self.services = build_services(settings)  # migrates the database, creates the root key on first start
        config = uvicorn.Config(create_app(self.services), log_level="warning", access_log=False, lifespan="off",
                                proxy_headers=False, server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="strongroom-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def start(self) -> "EmbeddedServer":
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise CliError("Strongroom did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        self.services.close()


def _step(title: str) -> Any:
    return out.status(title, spinner="dots")


def _done(message: str) -> None:
    out.print(f"[green]✔[/green] {message}")


def _bootstrap(client: StrongroomClient, state_path: Path) -> DemoState:
    state = DemoState.load(state_path)
    if state is not None:
        return state
    try:
        body = client.call("POST", "/api/v1/admin/bootstrap", json={
            "email": "admin@example.org", "password": random_secrets.token_urlsafe(18), "organization": "Example",
        })
    except ApiRefused as exc:
        if exc.status == 400:
            raise CliError(f"the instance in {state_path.parent} was set up outside the demo and its admin token "
                           "is unknown; remove that folder or pass another --data-dir") from None
        raise
    state = DemoState(body["identity"]["credentials"]["token"], body["organization"]["id"])
    state.save(state_path)
    return state


def _exists(client: StrongroomClient, path: str, token: str) -> bool:
    try:
        client.call("GET", path, token=token)
    except ApiRefused as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _project(client: StrongroomClient, state: DemoState) -> tuple[str, bool]:
    if state.project_id and _exists(client, f"/api/v1/workspace/{state.project_id}", state.admin_token):
        return state.project_id, False
    project = client.call("POST", "/api/v2/workspace", token=state.admin_token, json={"projectName": PROJECT_NAME})
    project_id = project["project"]["id"]
    where = SecretLocation(project_id, ENVIRONMENT)
    client.set_secrets(state.admin_token, where, {
        "GREETING": "Hello from Strongroom",
        "DB_PASSWORD": random_secrets.token_urlsafe(12),
        # A reference: the workload reads it expanded.
        "DATABASE_URL": "postgres://app:${DB_PASSWORD}@db.internal:5432/app",
        "PAYMENTS_API_KEY": "sk_demo_" + random_secrets.token_hex(8),
    })
    return project_id, True


def _oidc_config(stand_in: SpireStandIn) -> dict[str, Any]:
    return {
        "oidcDiscoveryUrl": stand_in.discovery_url,
        "boundIssuer": stand_in.provider.issuer,
        "boundAudiences": AUDIENCE,
        "boundSubject": BOUND_SUBJECT,
        "boundClaims": {},
        "accessTokenTTL": 600,
        "accessTokenMaxTTL": 3600,
    }


def _identity(client: StrongroomClient, state: DemoState, stand_in: SpireStandIn, project_id: str) -> str:
    token = state.admin_token
    if state.identity_id and _exists(client, f"/api/v1/identities/{state.identity_id}", token):
        # The stand-in's port may differ from the last run's: point the identity at this one.
        config = {key: value for key, value in _oidc_config(stand_in).items() if key in
                  ("oidcDiscoveryUrl", "boundIssuer")}
        client.call("PATCH", f"/api/v1/auth/oidc-auth/identities/{state.identity_id}", token=token, json=config)
        identity_id = state.identity_id
    else:
        created = client.call("POST", "/api/v1/identities", token=token,
                              json={"name": "demo-workload", "organizationId": state.org_id, "role": "no-access"})
        identity_id = created["identity"]["id"]
        client.call("POST", f"/api/v1/auth/oidc-auth/identities/{identity_id}", token=token,
                    json=_oidc_config(stand_in))
    if not _exists(client, f"/api/v2/workspace/{project_id}/identity-memberships/{identity_id}", token):
        client.call("POST", f"/api/v2/workspace/{project_id}/identity-memberships/{identity_id}", token=token,
                    json={"role": "viewer"})
    return identity_id


def _program_name() -> str:
    """How the user started us, so the printed commands can be pasted (``.venv/bin/strongroom`` under make)."""
    invoked = Path(sys.argv[0])
    if invoked.name == "strongroom" and invoked.parent != Path("."):
        relative = os.path.relpath(invoked.absolute())
        return relative if not relative.startswith("..") else str(invoked.absolute())
    return "strongroom"


@reports_failures
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo instance lives (SQLite database, root key).")]
    = Path(".strongroom-demo"),
    port: Annotated[int, typer.Option(help="Strongroom's port.")] = 8080,
    spire_port: Annotated[int, typer.Option(help="Port of the SPIRE stand-in's discovery provider.")] = 8081,
    socket_path: Annotated[Path | None, typer.Option(
        "--socket", help="Unix socket of the stand-in's Workload API [default: /tmp/strongroom-demo-<uid>/api.sock].")]
    = None,
) -> None:
    """Start Strongroom and a SPIRE stand-in, and show a workload reading its secrets with its JWT-SVID."""
    stop_on_sigterm()
    out.print("[bold]Strongroom demo[/bold]: Strongroom on the embedded default plus a SPIRE stand-in, on this machine.")
    out.print(DEVELOPMENT_ONLY)
    data_dir = data_dir.absolute()
    socket_path = socket_path or default_socket_path("strongroom-demo")
    server: EmbeddedServer | None = None
    stand_in: SpireStandIn | None = None
    try:
        with _step("Starting the SPIRE stand-in"):
            stand_in = start_stand_in(spiffe_id=DEFAULT_SPIFFE_ID, port=spire_port, socket_path=socket_path,
                                      key_ttl=24 * 3600.0, svid_ttl=300, announce=False)
        _done(f"SPIRE stand-in: discovery provider {stand_in.discovery_url}, Workload API {stand_in.endpoint}")

        with _step(f"Migrating the database in {data_dir} and starting Strongroom"):
            server = EmbeddedServer(data_dir, port).start()
        _done(f"Strongroom is serving at {server.url} (SQLite in {data_dir})")

        with StrongroomClient(server.url, timeout=30) as client:
            with _step("Bootstrapping the instance"):
                state = _bootstrap(client, data_dir / STATE_FILE)
            _done(f"instance bootstrapped; organisation {state.org_id}")

            with _step(f"Creating project {PROJECT_NAME} with secrets in {ENVIRONMENT}"):
                project_id, created = _project(client, state)
                state.project_id = project_id
                state.save(data_dir / STATE_FILE)
            _done(f"project {PROJECT_NAME} ({project_id}) {'created with 4 secrets' if created else 'reused'}")

            with _step(f"Creating a machine identity with OIDC Auth bound to {BOUND_SUBJECT}"):
                identity_id = _identity(client, state, stand_in, project_id)
                state.identity_id = identity_id
                state.save(data_dir / STATE_FILE)
            _done(f"identity {identity_id}: OIDC Auth on {stand_in.discovery_url}, subject {BOUND_SUBJECT}, "
                  f"audience {AUDIENCE}; viewer of {PROJECT_NAME}")

            out.print()
            out.print(f"[bold]Now the workload[/bold] ({DEFAULT_SPIFFE_ID}):")
            with _step("Fetching a JWT-SVID from the SPIFFE Workload API"):
                svid = workload_client.fetch_jwt_svid(AUDIENCE, socket=stand_in.endpoint)
            claims = _unverified_claims(svid)
            _done(f"JWT-SVID for {claims.get('sub')} (audience {claims.get('aud')}, valid "
                  f"{int(claims.get('exp', 0)) - int(time.time())}s) from {stand_in.endpoint}")
            with _step("Logging in to Strongroom with it"):
                grant = client.login("oidc-auth", identity_id, svid)
            _done(f"logged in: access token valid {grant.expires_in}s, renewable up to {grant.max_ttl}s")
            with _step("Reading the project's secrets"):
                listing = client.list_secrets(grant.access_token, SecretLocation(project_id, ENVIRONMENT))
            assert listing is not None
            values = listing.merged()
            table = Table("SECRET", "VALUE", title=f"The secrets the workload read from {PROJECT_NAME}/{ENVIRONMENT}",
                          title_justify="left")
            for key, value in values.items():
                table.add_row(escape(key), escape(value))
            out.print(table)

        _print_next_steps(server.url, state, stand_in, data_dir)
        out.print("[bold]Serving until Ctrl-C.[/bold]")
        serve_until_interrupted()
        out.print("stopping…")
    except KeyboardInterrupt:
        out.print("interrupted; stopping…")
    finally:
        if server is not None:
            server.stop()
        if stand_in is not None:
            stand_in.stop()
    out.print("demo stopped")


def _unverified_claims(token: str) -> dict[str, Any]:
    import jwt

    # Display only: the server verified this token when it accepted the login.
    return jwt.decode(token, options={"verify_signature": False})


def _print_next_steps(url: str, state: DemoState, stand_in: SpireStandIn, data_dir: Path) -> None:
    program = _program_name()
    assert state.identity_id and state.project_id
    exports = (f"export STRONGROOM_API_URL={url} SPIFFE_ENDPOINT_SOCKET={stand_in.endpoint}\n"
               f"export STRONGROOM_IDENTITY_ID={state.identity_id} STRONGROOM_PROJECT_ID={state.project_id}")
    commands = [
        f"{program} login",
        f"{program} secrets list --env {ENVIRONMENT}",
        f"{program} run --env {ENVIRONMENT} -- sh -c 'echo \"$GREETING, the database is $DATABASE_URL\"'",
        f"{program} export --env {ENVIRONMENT} --format yaml",
        f"{program} secrets set GREETING='Hello again' --env {ENVIRONMENT} --token \"$ADMIN_TOKEN\"",
        f"curl -s {url}/api/v1/identities -H \"Authorization: Bearer $ADMIN_TOKEN\"",
    ]
    out.print()
    out.print(f"[bold]Strongroom[/bold]     {url}   (data in {data_dir})")
    out.print(f"[bold]SPIRE stand-in[/bold] discovery {stand_in.discovery_url}, Workload API {stand_in.endpoint}")
    out.print("[bold]Admin token[/bold]    (instance admin; keep it secret):")
    out.print(state.admin_token, soft_wrap=True)
    out.print()
    out.print("[bold]Next, in another terminal:[/bold]")
    out.print(escape(f"export ADMIN_TOKEN={shlex.quote(state.admin_token)}"), soft_wrap=True)
    out.print(escape(exports), soft_wrap=True)
    for command in commands:
        out.print(escape(command), soft_wrap=True)
    out.print()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
