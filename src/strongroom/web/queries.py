"""Query strings validated into a pydantic model, with Infisical's boolean spelling.

Infisical's secrets routes take booleans as the strings ``true``/``false``.
The Python SDK's folder listing sends ``recursive=False`` (Python's ``str(bool)``),
which real Infisical accepts too, so case is ignored; anything else is a 422.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, BeforeValidator, ValidationError

from strongroom.errors import ValidationFailure
from strongroom.web.bodies import zod_issues

M = TypeVar("M", bound=BaseModel)


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("Expected 'true' or 'false'")


Flag = Annotated[bool, BeforeValidator(_flag)]
"""A query boolean: ``true``/``false`` in any case."""


def query(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    # async: validating a query string does no I/O, and a plain def would cost every read a trip
    # through the thread pool (a thread hand-off each way) before the route even starts.
    async def parse(request: Request) -> M:
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise ValidationFailure(zod_issues(exc)) from None

    parse.__name__ = f"query_{model.__name__}"
    return parse
