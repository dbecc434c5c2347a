"""Query strings validated into a pydantic model, with Infisical's boolean spelling.

Infisical's secrets routes take booleans as the strings ``true``/``false``.
The Python SDK's folder listing sends ``recursive=False`` (Python's ``str(bool)``),
which real Infisical accepts too, so case is ignored; anything else is a 422.
"""

from __future__ import annotations

from collections import OrderedDict
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


# Distinct query strings kept parsed, per model: a fleet of workloads repeats a few, over and over.
KEPT_PER_MODEL = 1024


def query(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    # A frozen model is kept parsed by the raw query string: the same bytes always validate to
    # the same value, which nobody can change (splitting the string and validating it again cost
    # 3 % of a cached secret read's instructions). Only what validated is kept; a mutable model never is.
    kept: OrderedDict[bytes, M] | None = OrderedDict() if model.model_config.get("frozen") else None

    # async: validating a query string does no I/O, and a plain def would cost every read a trip
    # through the thread pool (a thread hand-off each way) before the route even starts. So this
    # runs on the event loop only, and the kept values need no lock.
    async def parse(request: Request) -> M:
        raw: bytes = request.scope["query_string"]
        if kept is not None and (parsed := kept.get(raw)) is not None:
            kept.move_to_end(raw)
            return parsed
        try:
            parsed = model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise ValidationFailure(zod_issues(exc)) from None
        if kept is not None:
            kept[raw] = parsed
            if len(kept) > KEPT_PER_MODEL:
                kept.popitem(last=False)
        return parsed

    parse.__name__ = f"query_{model.__name__}"
    return parse
