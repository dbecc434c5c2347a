"""Turn every failure into the API's error JSON: no stack traces, no framework-shaped bodies."""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.errors import ApiError, NotFound, ValidationFailure, new_request_id
from strongroom.web.bodies import zod_issues
from strongroom.web.responses import JsonResponse

log = logging.getLogger("strongroom")

_STATUS_ERRORS = {
    400: "BadRequest", 401: "UnauthorizedError", 403: "ForbiddenError", 404: "NotFound",
    405: "MethodNotAllowed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType",
}


def _respond(error: ApiError) -> JsonResponse:
    return JsonResponse(error.body(new_request_id()), status_code=error.status_code,
                        headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JsonResponse:
        return _respond(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JsonResponse:
        return _respond(ValidationFailure(zod_issues(list(exc.errors()), ("query", "path", "body", "header"))))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JsonResponse:
        if exc.status_code == 404:
            return _respond(NotFound("Route not found"))
        error = ApiError(str(exc.detail), error=_STATUS_ERRORS.get(exc.status_code, "HttpError"))
        error.status_code = exc.status_code
        return _respond(error)



class ContainUnexpectedErrors:
    """Answer 500 in the API's shape and log where it happened, but never the exception's text.

    An exception's message can quote SQL parameters, a token or a secret value,
    so only its type and stack frames are logged. Sitting inside Starlette's
    ServerErrorMiddleware, it also stops the server from logging the full text.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - this is the last line of defence
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unhandled %s on %s %s\n%s", type(exc).__name__, scope["method"], scope["path"], frames)
            if not started:
                await _respond(ApiError())(scope, receive, send)
