"""Routes whose path has no parameter, found by one dictionary lookup instead of one pattern after another.

Starlette's router tries each route's path pattern in turn until one matches
the request in full. A login (``POST /api/v1/auth/oidc-auth/login``) came
eighth, after seven secret reads, each a Python call and a regular expression:
about 5 % of a login's own work. ``StaticPaths`` stands first in the route
list and holds the routes whose path is a plain string, by that string. For a
request on such a path it asks those routes alone, exactly as the router
would, and answers for the one that matches in full; for any other request it
matches nothing, and the router goes on through its list, where every route
still is (a method that no route of the path allows, say, still gets the
router's 405).

A route is held only where no route ahead of it in the list could match the
same request: there the router, too, would have come to it. A request that
FastAPI's telemetry watches goes through the list, so that the route it
records is the one matched there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

# Where the route that matched waits for ``handle``, in the request's scope.
MATCHED_ROUTE = "strongroom.static_route"


def _static(route: Any) -> bool:
    return isinstance(route, APIRoute) and not route.param_convertors


class StaticPaths(BaseRoute):
    def __init__(self, routes: list[Any], could_answer_the_same: Callable[[APIRoute, APIRoute], bool]) -> None:
        """``routes`` in the router's order; ``could_answer_the_same(earlier, later)`` tells whether
        a request could match both (anything but an APIRoute is taken to match anything)."""
        self._by_path: dict[str, list[APIRoute]] = {}
        for position, route in enumerate(routes):
            if not _static(route):
                continue
            ahead = routes[:position]
            if any(not isinstance(earlier, APIRoute) or could_answer_the_same(earlier, route) for earlier in ahead):
                continue
            self._by_path.setdefault(route.path, []).append(route)

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(self._by_path)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        routes = self._by_path.get(get_route_path(scope))
        if routes is None or scope["type"] != "http" or scope.get("fastapi.telemetry") is not None:
            return Match.NONE, {}
        for route in routes:
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                child_scope[MATCHED_ROUTE] = route  # a dict of the route's own making, merged into the scope
                return match, child_scope
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[MATCHED_ROUTE].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the routes held here answer for themselves, further down

    def __repr__(self) -> str:
        return f"StaticPaths({sorted(self._by_path)})"
