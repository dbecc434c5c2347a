"""Calling a route's endpoint without solving its dependencies anew on every request.

FastAPI 0.163 solves a route's dependencies on every request as if it had never
seen the route: for each one it recomputes cache keys, scope flags and whether
the callable is a generator, parses the query string and the cookies whether
or not anything reads them, and opens telemetry operations around each step.
That was a third of a cached secret read's instructions, and half of
``GET /api/status``'s (bench/instructions.py).

Strongroom's hot routes take only the request, plain string path parameters and
dependencies that themselves take only the request (the caller's context, a
parsed query, a parsed body), and return a ``Response``. For such a route what
FastAPI would do is decided once, when the route is built: await each
dependency with the request (once, however often it is named), read each path
parameter, await the endpoint. Any other shape keeps FastAPI's own handler, as
does a route included through ``include_router`` and every request made while
dependency overrides are set or FastAPI's telemetry is watching, so that those
keep working as FastAPI documents them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _effective_route_context_var
from starlette.convertors import StringConvertor
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]
RequestOnly = Callable[[Request], Awaitable[Any]]


@dataclass(frozen=True)
class DirectCall:
    """How to call one endpoint: each dependency once, then the path parameters."""

    endpoint: Callable[..., Awaitable[Response]]
    # Each distinct dependency once, with the parameters that receive its value: FastAPI, too,
    # calls a dependency named twice in one request once.
    dependencies: tuple[tuple[RequestOnly, tuple[str, ...]], ...]
    path_parameters: tuple[str, ...]
    request_parameter: str | None

    async def __call__(self, request: Request) -> Response:
        arguments: dict[str, Any] = {}
        for dependency, names in self.dependencies:
            value = await dependency(request)
            for name in names:
                arguments[name] = value
        if self.path_parameters:
            path_params = request.path_params
            for name in self.path_parameters:
                arguments[name] = path_params[name]
        if self.request_parameter is not None:
            arguments[self.request_parameter] = request
        response = await self.endpoint(**arguments)
        if not isinstance(response, Response):
            raise TypeError(f"{self.endpoint.__qualname__} returned {type(response).__name__}, not a Response")
        return response


def _other_inputs(dependant: Dependant) -> bool:
    """Inputs this module does not supply: FastAPI's handler must."""
    return bool(
        dependant.query_params or dependant.header_params or dependant.cookie_params or dependant.body_params
        or dependant.websocket_param_name or dependant.http_connection_param_name
        or dependant.response_param_name or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name or dependant.own_oauth_scopes
    )


def _plain_coroutine_function(call: Any) -> bool:
    # Not a generator (its exit would need FastAPI's exit stacks), not a callable object, partial
    # or wrapper (FastAPI looks inside those), not a security scheme (it adds OpenAPI scopes).
    return inspect.iscoroutinefunction(call) and inspect.unwrap(call) is call


def _takes_the_request_alone(sub: Dependant) -> bool:
    if _other_inputs(sub) or sub.path_params or sub.dependencies or not sub.request_param_name:
        return False
    if not (_plain_coroutine_function(sub.call) and sub.use_cache and sub.scope is None):
        return False
    parameters = list(inspect.signature(sub.call).parameters.values())
    return len(parameters) == 1 and parameters[0].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                           inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _returns_response(endpoint: Callable[..., Any]) -> bool:
    try:
        returned = get_type_hints(endpoint).get("return")
    except Exception:  # noqa: BLE001 - an annotation that does not resolve: leave the route to FastAPI
        return False
    return isinstance(returned, type) and issubclass(returned, Response)


def _plain_string(route: APIRoute, field: Any) -> bool:
    """A path parameter FastAPI would pass on as matched: a ``str`` without constraints, from a plain ``{name}``."""
    info = field.field_info
    return (info.annotation is str and not info.metadata and field.alias == field.name
            and isinstance(route.param_convertors.get(field.name), StringConvertor))


def direct_call(route: APIRoute) -> DirectCall | None:
    """The route's endpoint, callable without FastAPI's solving, or None if its shape needs FastAPI."""
    dependant = route.dependant
    endpoint = dependant.call
    if (route.response_field is not None or not _plain_coroutine_function(endpoint)
            or not _returns_response(endpoint) or _other_inputs(dependant)
            or not all(_plain_string(route, field) for field in dependant.path_params)
            or not all(_takes_the_request_alone(sub) for sub in dependant.dependencies)):
        return None
    receivers: dict[Callable[..., Any], list[str]] = {}
    for sub in dependant.dependencies:
        names = receivers.setdefault(sub.call, [])  # type: ignore[arg-type]
        if sub.name is not None:
            names.append(sub.name)
    return DirectCall(
        endpoint=endpoint,  # type: ignore[arg-type]
        dependencies=tuple((call, tuple(names)) for call, names in receivers.items()),
        path_parameters=tuple(field.name for field in dependant.path_params),
        request_parameter=dependant.request_param_name,
    )


def with_direct_call(route: APIRoute, fastapi_handler: Handler) -> Handler:
    """The route's handler: its direct call where the shape allows and the request does not need FastAPI."""
    if _effective_route_context_var.get() is not None:
        # FastAPI is building the handler of a route included through include_router, from the
        # route merged with its router's dependencies and overrides: what it reads, not route.dependant.
        # Strongroom adds its routes to the app itself (strongroom.api.routing.add_routes).
        return fastapi_handler
    direct = direct_call(route)
    if direct is None:
        return fastapi_handler
    overrides_provider = route.dependency_overrides_provider

    async def handle(request: Request) -> Response:
        if request.scope.get("fastapi.telemetry") is not None or (
                overrides_provider is not None and getattr(overrides_provider, "dependency_overrides", None)):
            return await fastapi_handler(request)
        return await direct(request)

    return handle
