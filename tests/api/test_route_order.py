"""The hot routes are tried first, and only where no other route could answer their requests."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Response
from fastapi.routing import APIRoute

from starlette.routing import Match

from strongroom.api.routing import _could_answer_the_same, hot_routes_first
from strongroom.app import create_app
from strongroom.web.direct_calls import direct_call
from strongroom.web.static_paths import MATCHED_ROUTE, StaticPaths
from tests.conftest import Api


def _paths(routes: list[Any]) -> list[str]:
    return [f"{sorted(route.methods)[0]} {route.path}" for route in routes]


def test_the_routes_workloads_call_come_first(api: Api) -> None:
    app = create_app(api.server.services)
    routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
    hot = [route for route in routes if direct_call(route) is not None]
    assert routes[:len(hot)] == hot
    order = _paths(routes)
    assert order.index("POST /api/v1/auth/oidc-auth/login") < order.index("POST /api/v3/secrets/raw/{secret_name}")
    # Among themselves, as declared: a secret named "id" is read by name, not taken for the by-id route.
    assert order.index("GET /api/v3/secrets/raw/{secret_name}") < order.index("GET /api/v3/secrets/raw/id/{secret_id}")


def test_a_route_is_not_moved_ahead_of_one_that_could_answer_its_requests() -> None:
    router = APIRouter()

    @router.get("/items/{name}")
    async def item(name: str) -> dict[str, str]:  # not called directly: it returns a dict
        return {"name": name}

    @router.get("/items/special")
    async def special() -> Response:  # called directly; GET /items/special also matches the route above
        return Response("special")

    @router.post("/orders")
    async def order() -> Response:
        return Response("ordered")

    with pytest.raises(RuntimeError, match="/items/special cannot be tried before"):
        hot_routes_first(list(router.routes))
    del router.routes[1]
    assert _paths(hot_routes_first(list(router.routes))) == ["POST /orders", "GET /items/{name}"]


def test_routes_that_share_a_path_through_different_segments_are_not_reordered() -> None:
    router = APIRouter()

    @router.get("/workspace/environments/{environment_id}")
    async def environment(environment_id: str) -> dict[str, str]:
        return {"id": environment_id}

    @router.get("/workspace/{project_id}/environments")
    async def environments(project_id: str) -> Response:  # both match /workspace/environments/environments
        return Response(project_id)

    with pytest.raises(RuntimeError, match="cannot be tried before"):
        hot_routes_first(list(router.routes))


def test_a_parameter_that_cannot_take_a_literal_does_not_stop_the_reordering() -> None:
    router = APIRouter()

    @router.get("/orders/{number:int}")
    async def by_number(number: int) -> dict[str, int]:
        return {"number": number}

    @router.get("/orders/latest")
    async def latest() -> Response:  # "latest" is no int
        return Response("latest")

    assert _paths(hot_routes_first(list(router.routes))) == ["GET /orders/latest", "GET /orders/{number:int}"]


# -- plain paths, found by a lookup --------------------------------------------------------------


def _scope(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b"",
            **extra}


def test_a_plain_path_is_found_without_asking_the_routes_ahead_of_it(api: Api,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(api.server.services)
    lookup = app.router.routes[0]
    assert isinstance(lookup, StaticPaths)
    asked: list[str] = []
    matches = APIRoute.matches

    def counting(route: APIRoute, scope: Any) -> Any:
        asked.append(route.path)
        return matches(route, scope)

    monkeypatch.setattr(APIRoute, "matches", counting)
    match, child_scope = lookup.matches(_scope("POST", "/api/v1/auth/oidc-auth/login"))
    assert match is Match.FULL and child_scope[MATCHED_ROUTE].path == "/api/v1/auth/oidc-auth/login"
    assert asked == ["/api/v1/auth/oidc-auth/login"]
    # A method the path does not allow, or a watched request, is left to the router's list.
    assert lookup.matches(_scope("GET", "/api/v1/auth/oidc-auth/login"))[0] is Match.NONE
    assert lookup.matches(_scope("POST", "/api/v1/auth/oidc-auth/login", **{"fastapi.telemetry": object()}))[0] \
        is Match.NONE


def test_a_method_no_route_allows_still_gets_the_routers_405(api: Api) -> None:
    response = api.client.get("/api/v1/auth/oidc-auth/login")
    assert response.status_code == 405, response.text


def test_a_plain_path_that_a_route_ahead_could_match_is_left_to_the_router() -> None:
    router = APIRouter()

    @router.get("/items/{name}")
    async def item(name: str) -> dict[str, str]:
        return {"name": name}

    @router.get("/items/special")
    async def special() -> Response:  # GET /items/special is the route above's, as the router decides
        return Response("special")

    @router.post("/items/special")
    async def make_special() -> Response:  # no route ahead takes a POST
        return Response("made")

    lookup = StaticPaths(list(router.routes), _could_answer_the_same)
    assert lookup.paths == frozenset({"/items/special"})
    assert lookup.matches(_scope("GET", "/items/special"))[0] is Match.NONE
    match, child_scope = lookup.matches(_scope("POST", "/items/special"))
    assert match is Match.FULL and child_scope[MATCHED_ROUTE].endpoint is make_special
