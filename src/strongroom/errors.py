"""The API's error type and its JSON shape, ``{reqId, statusCode, message, error[, details]}``.

Infisical's clients read ``message`` (the Node SDK prints it, the Python SDK
raises with it) and ``statusCode``; the ``error`` names below are the ones
Infisical sends, so scripts that match on them keep working.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

_REQ_ID_ALPHABET = string.ascii_letters + string.digits


def new_request_id() -> str:
    return "req-" + "".join(secrets.choice(_REQ_ID_ALPHABET) for _ in range(14))


class ApiError(Exception):
    status_code: int = 500
    error: str = "InternalServerError"
    default_message: str = "Something went wrong"

    def __init__(self, message: str | None = None, *, error: str | None = None, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        if error is not None:
            self.error = error
        self.details = details
        self.headers = headers  # sent with the error response (Retry-After on a 429)
        super().__init__(self.message)

    def body(self, req_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "reqId": req_id,
            "statusCode": self.status_code,
            "message": self.message,
            "error": self.error,
        }
        # Infisical does not serialise details for 400s; keep the same contract.
        if self.details is not None and self.status_code != 400:
            body["details"] = self.details
        return body


class BadRequest(ApiError):
    status_code = 400
    error = "BadRequest"
    default_message = "The request is invalid"


class Unauthorized(ApiError):
    status_code = 401
    error = "UnauthorizedError"
    default_message = "You are not allowed to access this resource"


class Forbidden(ApiError):
    status_code = 403
    error = "ForbiddenError"
    default_message = "You are not allowed to access this resource"


class PermissionDenied(Forbidden):
    error = "PermissionDenied"


class TokenError(Forbidden):
    """A bearer token that is malformed, badly signed or expired (Infisical answers these 403)."""

    error = "TokenError"


class NotFound(ApiError):
    status_code = 404
    error = "NotFound"
    default_message = "The requested entity is not found"


class RateLimited(ApiError):
    status_code = 429
    error = "RateLimitExceeded"


class ValidationFailure(ApiError):
    """Schema validation failed; ``message`` is the list of issues, as Infisical's zod errors are."""

    status_code = 422
    error = "ValidationFailure"

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        super().__init__("Validation failed")
        self.issues = issues

    def body(self, req_id: str) -> dict[str, Any]:
        return {"reqId": req_id, "statusCode": 422, "message": self.issues, "error": self.error}
