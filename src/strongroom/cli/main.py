"""The ``strongroom`` command."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from rich.console import Console

from strongroom.cli import demo, dev, login, run, secret_commands
from strongroom.cli.agent import command as agent_command
from strongroom.settings import Settings, settings_table_markdown

app = typer.Typer(
    help="Strongroom: secrets for workloads with a cryptographic identity.",
    no_args_is_help=True,
    # A known problem is reported in one line (strongroom.cli.failures); a traceback is a bug, shown plainly.
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

err = Console(stderr=True)


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def server(
    host: str = typer.Option(None, help="Listen address (default: STRONGROOM_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Listen port (default: STRONGROOM_PORT or 8080)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Serve the API (migrating the database first)."""
    import uvicorn

    from strongroom.app import build_services

    settings = Settings.from_env()
    # Migrate once here, not in every worker.
    build_services(settings).close()
    uvicorn.run(
        "strongroom.app:app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,  # the client address is decided in strongroom.web.client_ip
        server_header=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    from strongroom.store import migrate
    from strongroom.store.db import open_database

    settings = Settings.from_env()
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings.database_url)
    try:
        migrate.upgrade(database.engine)
        err.print(f"database at revision {migrate.current_revision(database.engine)}")
    finally:
        database.dispose()


@app.command()
def bootstrap(
    email: str = typer.Option(..., help="The admin user's email."),
    organization: str = typer.Option(..., help="The organisation's name."),
    password: str = typer.Option(
        None, envvar="STRONGROOM_ADMIN_PASSWORD", help="The admin user's password (prompted when absent)."
    ),
) -> None:
    """Set up a fresh instance and print the instance-admin identity's token."""
    from pydantic import ValidationError

    from strongroom.app import build_services
    from strongroom.errors import ApiError
    from strongroom.identities.bootstrap import BootstrapRequest
    from strongroom.identities.bootstrap import bootstrap as bootstrap_instance

    if password is None:
        if not sys.stdin.isatty():
            fail("no password given: pass --password or set STRONGROOM_ADMIN_PASSWORD")
        password = typer.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    try:
        request = BootstrapRequest(email=email, password=password, organization=organization)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    services = build_services(Settings.from_env())
    try:
        with services.database.sessions() as session:
            result = bootstrap_instance(session, request, services.tokens)
            session.commit()
    except ApiError as exc:
        fail(exc.message)
    finally:
        services.close()
    err.print(f"bootstrapped organisation [bold]{result.organization.name}[/bold] ({result.organization.id})")
    err.print(f"instance admin identity {result.identity.id}; its token follows on stdout")
    print(result.token)


@app.command("settings")
def show_settings() -> None:
    """Print every STRONGROOM_* setting as a Markdown table."""
    print(settings_table_markdown())


# The workload side and the development helpers, one module per command.
login.register(app)
secret_commands.register(app)
run.register(app)
agent_command.register(app)
dev.register(app)
demo.register(app)


if __name__ == "__main__":  # pragma: no cover
    app(prog_name=os.path.basename(sys.argv[0]))
