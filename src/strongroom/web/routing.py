"""Routers whose routes are added straight to the app, so that a request is matched once.

FastAPI 0.163 keeps an included router as a branch: a request is matched
against every branch in turn and then again inside the branch that matched
(3–6 % of a request's instructions here, bench/instructions.py). Routes
added to the app itself are matched once, in order. A route carries the
response class of the router it was declared on, so these routers declare
the app's (orjson).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI

from strongroom.web.responses import JsonResponse


def api_router(prefix: str = "") -> APIRouter:
    return APIRouter(prefix=prefix, default_response_class=JsonResponse)


def add_routes(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    for router in routers:
        app.router.routes.extend(router.routes)
