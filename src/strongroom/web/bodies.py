"""Request bodies as JSON or form-urlencoded, validated into a pydantic model.

Infisical registers a form-body parser, and the GitHub secrets action and the
OIDC docs post the login as ``identityId=…&jwt=…``; JSON bodies come from the SDKs.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import parse_qsl

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from strongroom.errors import BadRequest, ValidationFailure

M = TypeVar("M", bound=BaseModel)

MAX_BODY_BYTES = 1024 * 1024


def zod_issues(error: ValidationError | list[dict[str, Any]], location_prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Pydantic errors in the shape of Infisical's zod issues: ``{code, path, message, ...}``."""
    raw = error.errors() if isinstance(error, ValidationError) else error
    issues = []
    for item in raw:
        loc = [part for part in item.get("loc", ()) if part not in location_prefix]
        issue: dict[str, Any] = {"code": "custom", "path": loc, "message": item.get("msg", "Invalid")}
        if item.get("type") == "missing":
            issue.update(code="invalid_type", expected="string", received="undefined", message="Required")
        elif str(item.get("type", "")).endswith("_type") or item.get("type") in ("model_type", "dict_type"):
            issue["code"] = "invalid_type"
        issues.append(issue)
    return issues


async def read_body_data(request: Request) -> Any:
    """The body as parsed JSON or form fields. A body whose text holds NUL is refused here: PostgreSQL
    cannot store or compare such text, and its error would otherwise surface as a 500."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"Request body is larger than {MAX_BODY_BYTES} bytes")
    content_type = request.headers.get("content-type", "").lower()
    if "application/x-www-form-urlencoded" in content_type:
        data: Any = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        may_hold_nul = b"%00" in raw or b"\x00" in raw
    elif not raw.strip():
        return {}
    else:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("Body is not valid JSON") from None
        # orjson refuses control characters left unescaped in a string, so a NUL comes only from this escape.
        may_hold_nul = b"\\u0000" in raw
    if may_hold_nul and _holds_nul(data):
        raise BadRequest("The body must not contain NUL characters")
    return data


def _holds_nul(data: Any) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(key) or _holds_nul(value) for key, value in data.items())
    if isinstance(data, list):
        return any(_holds_nul(item) for item in data)
    return False


def body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    async def parse(request: Request) -> M:
        data = await read_body_data(request)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailure(zod_issues(exc)) from None

    parse.__name__ = f"body_{model.__name__}"
    return parse
