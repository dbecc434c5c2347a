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

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from strongroom.api.deps import NEEDS_UNIT_OF_WORK, UNIT_OF_WORK, open_unit_of_work
from strongroom.web.direct_calls import direct_call, with_direct_call
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
    app.router.routes[:0] = hot_routes_first([route for router in routers for route in router.routes])


def _sample_path(route: APIRoute) -> str:
    """A path the route answers: each parameter a plain word."""
    return route.path_format.format(**{name: "sample" for name in route.param_convertors})


def _could_answer_the_same(first: APIRoute, second: APIRoute) -> bool:
    return bool(first.methods & second.methods) and bool(
        first.path_regex.match(_sample_path(second)) or second.path_regex.match(_sample_path(first)))


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
