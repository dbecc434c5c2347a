"""How routes are declared and added to the app: matched once, each in its unit of work.

- A route that uses ``Context`` or ``Db`` runs in one unit of work (strongroom.store.unit_of_work),
  opened before its dependencies are solved (the caller's token check uses
  it), committed when the route has returned, rolled back if anything
  raises. A dependency that yields would do the same, but FastAPI runs each
  one's exit inside an exit stack and an anyio shielded cancel scope: 4–5 %
  of a cached secret read's instructions (bench/instructions.py).
- A route of the plain shape (request-only dependencies, string path
  parameters, a ``Response`` returned) is called without FastAPI's
  per-request dependency solving (strongroom.web.direct_calls).
- FastAPI 0.163 keeps an included router as a branch: a request is matched
  against every branch in turn and then again inside the branch that
  matched (a tenth of ``GET /api/status``'s instructions). So routes are
  added to the app itself and matched once, in order; they carry the
  response class of the router they were declared on, so these routers
  declare the app's (orjson).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.convertors import PathConvertor

from strongroom.api.deps import NEEDS_UNIT_OF_WORK, UNIT_OF_WORK, open_unit_of_work
from strongroom.web.direct_calls import direct_call, with_direct_call
from strongroom.web.static_paths import StaticPaths
from strongroom.web.responses import JsonResponse


def _depends_on(dependant: Dependant, calls: tuple[Callable[..., Any], ...]) -> bool:
    return any(sub.call in calls or _depends_on(sub, calls) for sub in dependant.dependencies)


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = with_direct_call(self, super().get_route_handler())
        if not _depends_on(self.dependant, NEEDS_UNIT_OF_WORK):
            return handle

        async def handle_in_unit_of_work(request: Request) -> Response:
            with open_unit_of_work(request) as work:
                request.scope[UNIT_OF_WORK] = work
                response = await handle(request)
                work.commit()
            return response

        return handle_in_unit_of_work


def api_router(prefix: str = "") -> APIRouter:
    return APIRouter(prefix=prefix, default_response_class=JsonResponse, route_class=UnitOfWorkRoute)


def add_routes(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    # Ahead of the documentation pages FastAPI added when the app was made (no path is shared):
    # each route tried before the one that matches costs a request about 1 % of a cached read.
    # The routes of plain paths are found first by a lookup (strongroom.web.static_paths).
    routes = hot_routes_first([route for router in routers for route in router.routes])
    app.router.routes[:0] = [StaticPaths(routes, _could_answer_the_same), *routes]


def _segments_overlap(first: APIRoute, second: APIRoute) -> bool:
    """Whether some path matches both routes' path templates, segment by segment: two literals only if
    they are equal, a parameter and a literal if the parameter's convertor takes the literal. A
    parameter that may span segments (``:path``) is taken to overlap anything."""
    def segments(route: APIRoute) -> list[str]:
        return route.path_format.split("/")

    def spans_segments(route: APIRoute) -> bool:
        return any(isinstance(convertor, PathConvertor) for convertor in route.param_convertors.values())

    if spans_segments(first) or spans_segments(second):
        return True
    if len(segments(first)) != len(segments(second)):
        return False
    for one, other in zip(segments(first), segments(second)):
        one_name = one[1:-1] if one.startswith("{") and one.endswith("}") else None
        other_name = other[1:-1] if other.startswith("{") and other.endswith("}") else None
        if one_name is None and other_name is None:
            if one != other:
                return False
        elif one_name is None:
            if not re.fullmatch(second.param_convertors[other_name].regex, one):  # type: ignore[index]
                return False
        elif other_name is None:
            if not re.fullmatch(first.param_convertors[one_name].regex, other):
                return False
    return True


def _could_answer_the_same(first: APIRoute, second: APIRoute) -> bool:
    return bool(first.methods & second.methods) and _segments_overlap(first, second)


def hot_routes_first(routes: list[Any]) -> list[Any]:
    """The routes called directly (strongroom.web.direct_calls: status, secret reads, logins, the calls
    workloads make all the time) ahead of the others, each group in its order: a request is matched
    against one route after another, so a login no longer first fails to match the secret writes.

    Moving a route ahead of another changes nothing as long as no request could match both; a route
    that could is refused here, when the app is built, rather than left to answer in the other's place.
    """
    hot = [route for route in routes if isinstance(route, APIRoute) and direct_call(route) is not None]
    moved = {id(route) for route in hot}
    for position, route in enumerate(routes):
        if id(route) not in moved:
            continue
        for passed in routes[:position]:
            if id(passed) not in moved and isinstance(passed, APIRoute) and _could_answer_the_same(passed, route):
                raise RuntimeError(f"{sorted(route.methods)} {route.path} cannot be tried before "
                                   f"{sorted(passed.methods)} {passed.path}: a request could match both")
    return hot + [route for route in routes if id(route) not in moved]
