"""The JOSE header of a presented JWT, checked before any key is touched."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import orjson

from strongroom.auth.verify.refusals import LoginRefused, Refusal

MAX_JWT_BYTES = 16 * 1024

# JWT-SVID §3.1: exactly these; none, HS* (the public key would become an HMAC
# secret) and EdDSA are refused before anything else happens.
ALLOWED_ALGORITHMS: tuple[str, ...] = (
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
)

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
# An unsecured JWS (alg "none") has an empty signature part; it is let through
# here so that it is refused by name below, not as a malformed token.
_SIGNATURE = re.compile(r"^[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class JwsHeader:
    alg: str
    kid: str | None


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return orjson.loads(base64.urlsafe_b64decode(padded))


def read_jws_header(token: str) -> JwsHeader:
    if len(token.encode()) > MAX_JWT_BYTES:
        raise LoginRefused(Refusal.TOKEN_TOO_LARGE, limit=MAX_JWT_BYTES)
    parts = token.split(".")
    if len(parts) != 3 or not (_SEGMENT.match(parts[0]) and _SEGMENT.match(parts[1]) and _SIGNATURE.match(parts[2])):
        raise LoginRefused(Refusal.TOKEN_MALFORMED, detail="not a compact JWS (three base64url parts)")
    try:
        header = _b64url_json(parts[0])
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise LoginRefused(Refusal.TOKEN_MALFORMED, detail="the header is not base64url-encoded JSON") from None
    if not isinstance(header, dict):
        raise LoginRefused(Refusal.TOKEN_MALFORMED, detail="the header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise LoginRefused(Refusal.ALGORITHM_NOT_ALLOWED, alg=alg, allowed=", ".join(ALLOWED_ALGORITHMS))
    typ = header.get("typ")
    if typ is not None and typ not in ("JWT", "JOSE"):
        raise LoginRefused(Refusal.TOKEN_MALFORMED, detail=f"typ must be JWT or JOSE, not {typ!r}")
    if "crit" in header:
        raise LoginRefused(Refusal.TOKEN_MALFORMED, detail="critical header extensions are not supported")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise LoginRefused(Refusal.TOKEN_MALFORMED, detail="kid must be a string")
    return JwsHeader(alg=alg, kid=kid)
