"""A route that uses ``Db`` runs in one unit of work: committed when it returns, rolled back when it raises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from strongroom.api.deps import Db
from strongroom.api.routing import add_routes, api_router
from strongroom.app import build_services
from strongroom.errors import BadRequest
from strongroom.web.errors import install_error_handlers
from tests.conftest import RunningServer, make_settings


def _notes_app() -> FastAPI:
    router = api_router("/notes")

    @router.post("/kept")
    async def kept(session: Db) -> dict[str, str]:
        session.execute(text("INSERT INTO notes VALUES ('kept')"))
        return {"written": "kept"}

    @router.post("/refused")
    async def refused(session: Db) -> dict[str, str]:
        session.execute(text("INSERT INTO notes VALUES ('refused')"))
        raise BadRequest("refused after writing")

    @router.get("")
    async def notes(session: Db) -> dict[str, list[str]]:
        return {"notes": list(session.scalars(text("SELECT body FROM notes ORDER BY body")))}

    app = FastAPI()
    install_error_handlers(app)
    add_routes(app, [router])
    return app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    services = build_services(make_settings(tmp_path, None))
    with services.database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
    app = _notes_app()
    app.state.services = services
    server = RunningServer(services, app).start()
    try:
        with httpx.Client(base_url=server.url) as http:
            yield http
    finally:
        server.stop()


def test_a_route_that_returns_commits(client: httpx.Client) -> None:
    assert client.post("/notes/kept").status_code == 200
    assert client.get("/notes").json() == {"notes": ["kept"]}


def test_a_route_that_raises_leaves_nothing(client: httpx.Client) -> None:
    answer = client.post("/notes/refused")
    assert answer.status_code == 400
    assert answer.json()["message"] == "refused after writing"
    assert client.get("/notes").json() == {"notes": []}
