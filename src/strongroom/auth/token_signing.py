"""The HS256 signature of Strongroom's own access tokens (JWS compact serialization, RFC 7515 §7.1).

Every login signs one token. PyJWT's ``encode`` re-validates the key on each call
(it refuses PEM, SSH and DER public keys passed as an HMAC secret, the last by
trying to load one), serialises the fixed header again and the payload with the
standard library's JSON encoder: on the benchmark's machine that was about a fifth
of a login's own work, for a key Strongroom derived itself at start-up. Here the
key is the one ``AccessTokens`` holds, the header is encoded once, the payload
with orjson, and the MAC is the standard library's one-shot HMAC-SHA256. The
output is the same token PyJWT would produce for the same payload (tested), and
every check of a presented token still goes through PyJWT (``AccessTokens._decode``).
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

import orjson

ALGORITHM = "HS256"

def _segment(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


# PyJWT's header for HS256, keys sorted, no spaces: what Infisical's tokens carry too.
_SIGNED_HEADER = _segment(orjson.dumps({"alg": ALGORITHM, "typ": "JWT"})) + b"."


class Hs256Signer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            # RFC 7518 §3.2: an HS256 key at least as long as the hash output.
            raise ValueError("an HS256 signing key needs at least 32 bytes")
        self._key = key

    def sign(self, payload: dict[str, Any]) -> str:
        signing_input = _SIGNED_HEADER + _segment(orjson.dumps(payload))
        signature = hmac.digest(self._key, signing_input, "sha256")
        return (signing_input + b"." + _segment(signature)).decode("ascii")
