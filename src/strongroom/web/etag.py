"""Strong ETags on JSON responses, and ``304 Not Modified`` for a matching ``If-None-Match``.

Infisical registers @fastify/etag; the CLI reads the ``ETag`` of secret
listings to notice changes. The tag is a hash of the exact body sent, so it
changes whenever anything in the answer does, and reveals nothing else.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = [candidate.strip() for candidate in if_none_match.split(",")]
    # Weak comparison, as RFC 9110 prescribes for If-None-Match: W/"x" matches "x".
    return "*" in candidates or any(candidate.removeprefix("W/") == etag for candidate in candidates)


def json_with_etag(request: Request, content: Any) -> Response:
    body = orjson.dumps(content)
    return respond_with_etag(request, body, etag_of(body))


def respond_with_etag(request: Request, body: bytes, etag: str) -> Response:
    """A JSON ``body`` with its ``etag``, or 304 when the client already holds it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})
