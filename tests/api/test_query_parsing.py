"""Query strings validated into models: frozen ones are parsed once per distinct string, and only what validated."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request

from strongroom.errors import ValidationFailure
from strongroom.secrets.requests import SecretGetQuery
from strongroom.web import queries
from strongroom.web.queries import Flag, query


class _Mutable(BaseModel):
    recursive: Flag = False


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
    recursive: Flag = False


def _parse(parse: object, query_string: bytes) -> object:
    request = Request({"type": "http", "method": "GET", "path": "/", "query_string": query_string, "headers": []})
    return asyncio.run(parse(request))  # type: ignore[operator]


def test_a_frozen_model_is_parsed_once_per_distinct_query_string() -> None:
    parse = query(_Frozen)
    first = _parse(parse, b"recursive=true")
    assert first == _Frozen(recursive=True)
    assert _parse(parse, b"recursive=true") is first  # the kept value, not a second parse
    other = _parse(parse, b"recursive=FALSE")
    assert other == _Frozen(recursive=False) and other is not first


def test_a_mutable_model_is_never_shared_between_requests() -> None:
    parse = query(_Mutable)
    first = _parse(parse, b"recursive=true")
    assert _parse(parse, b"recursive=true") is not first


def test_what_does_not_validate_is_refused_every_time_and_never_kept() -> None:
    parse = query(_Frozen)
    for _ in range(2):
        with pytest.raises(ValidationFailure):
            _parse(parse, b"recursive=maybe")


def test_the_kept_strings_are_bounded_least_recently_used_first_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "KEPT_PER_MODEL", 2)
    parse = query(_Frozen)
    kept_true = _parse(parse, b"recursive=true")
    kept_false = _parse(parse, b"recursive=false")
    assert _parse(parse, b"recursive=true") is kept_true  # now the most recently used
    _parse(parse, b"recursive=TRUE")  # a third string: the least recently used goes
    assert _parse(parse, b"recursive=true") is kept_true
    assert _parse(parse, b"recursive=false") is not kept_false


def test_secret_read_queries_are_frozen() -> None:
    parsed = _parse(query(SecretGetQuery), b"environment=dev&workspaceId=p")
    with pytest.raises(Exception, match="frozen"):
        parsed.environment = "prod"  # type: ignore[attr-defined]
