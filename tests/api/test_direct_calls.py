"""Routes called without FastAPI's per-request dependency solving (strongroom.web.direct_calls)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import fastapi.routing
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from strongroom.web.direct_calls import direct_call, with_direct_call
from strongroom.web.responses import JsonResponse


class DirectRoute(APIRoute):
    def get_route_handler(self) -> Callable[..., Any]:
        return with_direct_call(self, super().get_route_handler())


calls: list[str] = []


async def who(request: Request) -> str:
    calls.append("who")
    return request.headers.get("x-who", "nobody")


async def shout(request: Request) -> str:
    return request.url.path.upper()


async def with_sub_dependency(name: Annotated[str, Depends(who)]) -> str:
    return name


async def yielding(request: Request) -> AsyncIterator[str]:
    yield "yielded"


def sync_dependency(request: Request) -> str:
    return "sync"


async def with_query(request: Request, limit: int = 5) -> int:
    return limit


def make_app(*, included: bool = False) -> FastAPI:
    """Routes added to the app itself, as Strongroom adds them, or through include_router."""
    app = FastAPI()
    router = APIRouter(route_class=DirectRoute, dependency_overrides_provider=None if included else app)

    @router.get("/direct/{name}")
    async def direct(request: Request, name: str, first: Annotated[str, Depends(who)],
                     again: Annotated[str, Depends(who)], path: Annotated[str, Depends(shout)]) -> Response:
        return JsonResponse({"name": name, "first": first, "again": again, "path": path,
                             "method": request.method})

    @router.get("/left/{number}")
    async def left(number: int) -> Response:
        return JsonResponse({"number": number})

    if included:
        app.include_router(router)
    else:
        app.router.routes.extend(router.routes)
    return app


def get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(send())


def route_of(app: FastAPI, path: str) -> APIRoute:
    return next(route for route in app.routes if isinstance(route, APIRoute) and route.path == path)


def test_an_included_route_is_left_to_fastapi(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(included=True)
    calls.clear()
    assert get(app, "/direct/x", {"x-who": "a"}).json()["first"] == "a"
    assert calls == ["who"]

    async def refuse(**_: Any) -> Any:
        raise AssertionError("FastAPI's solving was used")

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", refuse)
    with pytest.raises(AssertionError, match="FastAPI's solving"):
        get(app, "/direct/x")


def test_a_direct_route_gets_what_fastapi_would_give_it() -> None:
    calls.clear()
    response = get(make_app(), "/direct/caf%C3%A9", {"x-who": "api-server"})
    assert response.status_code == 200
    assert response.json() == {"name": "café", "first": "api-server", "again": "api-server",
                               "path": "/DIRECT/CAFÉ", "method": "GET"}
    assert calls == ["who"]  # named twice, called once, as FastAPI does


def test_direct_routes_skip_fastapis_solving(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()

    async def refuse(**_: Any) -> Any:
        raise AssertionError("FastAPI's solving was used")

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", refuse)
    assert (get(app, "/direct/x")).status_code == 200
    with pytest.raises(AssertionError, match="FastAPI's solving"):
        get(app, "/left/7")  # the patch is in force: a route left to FastAPI goes through it


def test_a_route_left_to_fastapi_still_validates() -> None:
    app = make_app()
    assert direct_call(route_of(app, "/left/{number}")) is None
    assert (get(app, "/left/7")).json() == {"number": 7}
    assert (get(app, "/left/seven")).status_code == 422


@pytest.mark.parametrize("included", [False, True])
def test_dependency_overrides_are_honoured(included: bool) -> None:
    app = make_app(included=included)

    async def someone_else(request: Request) -> str:
        return "override"

    app.dependency_overrides[who] = someone_else
    assert (get(app, "/direct/x")).json()["first"] == "override"
    app.dependency_overrides.clear()
    assert (get(app, "/direct/x")).json()["first"] == "nobody"


def _shape(**route: Any) -> APIRoute:
    router = APIRouter(route_class=DirectRoute)
    path = "/shape/{name:int}" if route["endpoint"] is _path_convertor else "/shape/{name}"
    router.add_api_route(path, route.pop("endpoint"), methods=["GET"], **route)
    return router.routes[0]  # type: ignore[return-value]


async def _by_query(name: str, limit: int = 5) -> Response:
    return Response()


async def _int_path(name: int) -> Response:
    return Response()


async def _path_convertor(name: str) -> Response:
    return Response()


async def _header(name: str, x_who: Annotated[str, Header()]) -> Response:
    return Response()


async def _nested(name: str, value: Annotated[str, Depends(with_sub_dependency)]) -> Response:
    return Response()


async def _generator(name: str, value: Annotated[str, Depends(yielding)]) -> Response:
    return Response()


async def _sync_dependency(name: str, value: Annotated[str, Depends(sync_dependency)]) -> Response:
    return Response()


async def _dependency_with_query(name: str, value: Annotated[int, Depends(with_query)]) -> Response:
    return Response()


async def _returns_dict(name: str) -> dict[str, str]:
    return {"name": name}


def _sync_endpoint(name: str) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [_by_query, _int_path, _path_convertor, _header, _nested, _generator, _sync_dependency,
                                      _dependency_with_query, _returns_dict, _sync_endpoint])
def test_shapes_that_need_fastapi_are_left_to_it(endpoint: Callable[..., Any]) -> None:
    assert direct_call(_shape(endpoint=endpoint)) is None


async def _plain(name: str, request: Request, value: Annotated[str, Depends(who)]) -> Response:
    return Response()


def test_the_plain_shape_is_called_directly() -> None:
    direct = direct_call(_shape(endpoint=_plain))
    assert direct is not None
    assert direct.path_parameters == ("name",)
    assert direct.request_parameter == "request"
    assert direct.dependencies == ((who, ("value",)),)


def test_the_hot_routes_are_called_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from strongroom.app import app_from_env

    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(tmp_path))
    app = app_from_env()
    direct = {(method, route.path) for route in app.routes if isinstance(route, APIRoute) and direct_call(route)
              for method in route.methods}
    for method, path in [
        ("GET", "/api/v3/secrets/raw"), ("GET", "/api/v4/secrets"),
        ("GET", "/api/v3/secrets/raw/{secret_name}"), ("GET", "/api/v4/secrets/{secret_name}"),
        ("GET", "/api/v3/secrets/raw/id/{secret_id}"), ("GET", "/api/v4/secrets/id/{secret_id}"),
        ("POST", "/api/v1/auth/oidc-auth/login"), ("POST", "/api/v1/auth/jwt-auth/login"),
        ("POST", "/api/v1/auth/spiffe-auth/login"), ("GET", "/api/status"),
    ]:
        assert (method, path) in direct, f"{method} {path} is no longer called directly"
