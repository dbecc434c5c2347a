"""Helpers the tests share: forging JWTs with real keys, reading tokens, and asserting the API's error shape."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
from sqlalchemy import event

from strongroom.spiffe.dev_spire import AuthorityKey, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID, Api

ERROR_KEYS = {"reqId", "statusCode", "message", "error"}


def b64url(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def svid_claims(authority: JwtSvidAuthority, *, sub: str = SPIFFE_ID, aud: Any = (AUDIENCE,), ttl: int = 300,
                now: float | None = None) -> dict[str, Any]:
    """The claims SPIRE puts in a JWT-SVID; tests edit them to build each bad case."""
    issued_at = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "aud": list(aud) if isinstance(aud, tuple) else aud,
        "iat": issued_at,
        "exp": issued_at + ttl,
    }
    if authority.issuer:
        claims["iss"] = authority.issuer
    return claims


def sign(claims: dict[str, Any], key: AuthorityKey, *, alg: str | None = None, kid: str | None = None,
         headers: dict[str, Any] | None = None) -> str:
    """A JWS over ``claims`` made with a real private key (``kid`` defaults to the key's own)."""
    header = {"kid": key.kid if kid is None else kid, "typ": "JWT", **(headers or {})}
    return jwt.encode(claims, key.private_key, algorithm=alg or key.alg, headers=header)


def unverified_payload(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_api_error(response: httpx.Response, status: int, error: str | None = None, *naming: str) -> dict[str, Any]:
    """The response is an error in the API's shape ``{reqId, statusCode, message, error}``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) <= ERROR_KEYS | {"details"} and ERROR_KEYS <= set(body), body
    assert body["statusCode"] == status
    assert isinstance(body["reqId"], str) and body["reqId"].startswith("req-") and len(body["reqId"]) == 18
    if error is not None:
        assert body["error"] == error, body
    for fragment in naming:
        assert fragment.lower() in str(body["message"]).lower(), (fragment, body["message"])
    return body


@contextmanager
def statements_run(api: Api) -> Iterator[list[str]]:
    """The SQL statements the server runs meanwhile (SQLite's BEGIN and COMMIT go straight to the driver)."""
    seen: list[str] = []
    engine = api.server.services.database.engine

    def note(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
