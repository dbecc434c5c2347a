"""Signature and lifetime of a presented JWT, with the key chosen by ``kid``."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import jwt

from strongroom.auth.keys.cache import JwksCache, KeySourceUnavailable
from strongroom.auth.keys.sources import KeySource
from strongroom.auth.verify.jws import MAX_JWT_BYTES, JwsHeader, read_jws_header
from strongroom.auth.keys.jwk import SigningKey
from strongroom.auth.verify.refusals import LoginRefused, Refusal
from strongroom.recent import MostRecentlyUsed

# Tokens without a kid are tried against each fitting key, but only this many
# (Infisical's limit), so one login cannot cost unbounded signature checks.
MAX_KEYS_WITHOUT_KID = 10


def choose_keys(keys: list[SigningKey], header: JwsHeader) -> list[SigningKey]:
    """The keys that may verify this token: the one its ``kid`` names, else (for PEM keys, which
    have no ``kid``, or a token without one) each key of a type that fits its ``alg``, a bounded few."""
    by_kid = [key for key in keys if header.kid is not None and key.kid == header.kid]
    if by_kid:
        fitting = [key for key in by_kid if key.fits(header.alg)]
        if not fitting:
            raise LoginRefused(Refusal.NO_KEY_FOR_ALGORITHM, alg=header.alg, kid_note=f" with kid '{header.kid}'")
        return fitting
    # A kid names a key: only keys that have no kid of their own may stand in for a missing match.
    anonymous = [key for key in keys if header.kid is None or key.kid is None]
    if header.kid is not None and not anonymous:
        raise LoginRefused(Refusal.UNKNOWN_KEY_ID, kid=header.kid)
    fitting = [key for key in anonymous if key.fits(header.alg)]
    if not fitting:
        if header.kid is not None:
            raise LoginRefused(Refusal.UNKNOWN_KEY_ID, kid=header.kid)
        raise LoginRefused(Refusal.NO_KEY_FOR_ALGORITHM, alg=header.alg, kid_note="")
    if len(fitting) > MAX_KEYS_WITHOUT_KID:
        raise LoginRefused(Refusal.TOO_MANY_KEYS_WITHOUT_KID, count=len(fitting), limit=MAX_KEYS_WITHOUT_KID)
    return fitting


def _decode(token: str, key: SigningKey, alg: str, leeway: int) -> dict[str, Any]:
    return jwt.decode(
        token,
        key.public_key,
        # Exactly the header's algorithm, already checked against the JWT-SVID
        # allow-list and against this key's type by choose_keys.
        algorithms=[alg],
        options={
            "verify_signature": True,
            "require": ["exp"],  # JWT-SVIDs must expire; Infisical accepts tokens without exp
            "verify_exp": True,
            "verify_nbf": True,
            "verify_iat": True,
            # Issuer, subject and audience are bindings of the auth method, checked after this.
            "verify_aud": False,
            "verify_iss": False,
            "verify_sub": False,
            "verify_jti": False,
        },
        leeway=leeway,
    )


def verify_signature_and_lifetime(token: str, header: JwsHeader, keys: list[SigningKey], leeway: int,
                                  now: float) -> tuple[SigningKey, dict[str, Any]]:
    """The key the signature verified with, and the claims."""
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = _decode(token, key, header.alg, leeway)
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.MissingRequiredClaimError:
            raise LoginRefused(Refusal.MISSING_EXPIRY) from None
        except jwt.ExpiredSignatureError:
            raise LoginRefused(Refusal.EXPIRED) from None
        except jwt.ImmatureSignatureError as exc:
            if "iat" in str(exc):
                raise LoginRefused(Refusal.BAD_ISSUED_AT, detail="issued in the future") from None
            raise LoginRefused(Refusal.NOT_YET_VALID) from None
        except jwt.InvalidIssuedAtError:
            raise LoginRefused(Refusal.BAD_ISSUED_AT, detail="not a number") from None
        except jwt.DecodeError as exc:
            if "Signature verification failed" in str(exc):
                continue
            raise LoginRefused(Refusal.TOKEN_MALFORMED, detail=str(exc)) from None
        except jwt.InvalidTokenError as exc:
            raise LoginRefused(Refusal.BAD_CLAIM_TYPE, claim="time", detail=str(exc)) from None
    if claims is None:
        raise LoginRefused(Refusal.BAD_SIGNATURE)
    if not isinstance(claims.get("exp"), (int, float)) or isinstance(claims.get("exp"), bool):
        raise LoginRefused(Refusal.BAD_CLAIM_TYPE, claim="exp", detail="not a number")
    iat = claims.get("iat")
    if iat is not None and (not isinstance(iat, (int, float)) or isinstance(iat, bool) or iat > now + leeway):
        raise LoginRefused(Refusal.BAD_ISSUED_AT, detail="not a number in the past")
    return key, claims


@dataclass(frozen=True)
class KeptVerification:
    header: JwsHeader  # as read_jws_header read it: the same bytes read the same way
    key: SigningKey  # the very object, of the key set of the moment, that the signature verified with
    claims: dict[str, Any]

    def still_signed(self, fitting: list[SigningKey]) -> bool:
        """Whether the key that verified the token is among those that may verify it now."""
        return any(key is self.key for key in fitting)


class VerifiedJwts:
    """The claims of presented JWTs whose signature verified, by the SHA-256 of the whole token.

    SPIRE's agent hands a workload the same JWT-SVID until less than half of its
    life is left, and hands that one to every workload of the same SPIFFE ID on
    its node: a rollout's pods, or a workload logging in again, present the same
    bytes over and over. Those bytes verify under the same key the same way each
    time, so the answer is kept, and only that answer (with the JOSE header those
    bytes hold). A kept token counts as signed only while the key that verified it
    is still one the key source publishes (the same key object of the current
    key set: a refetched or rotated set verifies afresh); its lifetime is checked
    again on every login, as the first check made it; the bindings are checked
    after, as for any token.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._verified: MostRecentlyUsed[bytes, KeptVerification] = MostRecentlyUsed(capacity)

    @staticmethod
    def digest(token: str) -> bytes | None:
        """The token's key here; None for a token longer than any that is kept (read_jws_header refuses it)."""
        return hashlib.sha256(token.encode()).digest() if len(token) <= MAX_JWT_BYTES else None

    def get(self, digest: bytes | None) -> KeptVerification | None:
        return self._verified.get(digest) if digest is not None else None

    def keep(self, digest: bytes | None, header: JwsHeader, key: SigningKey, claims: dict[str, Any]) -> None:
        if digest is not None:
            self._verified.put(digest, KeptVerification(header, key, claims))


def _check_lifetime_again(claims: dict[str, Any], leeway: int, now: float) -> None:
    """The lifetime checks of the first verification (PyJWT's, on the wall clock, then ours), made now."""
    wall_clock = time.time()
    if "iat" in claims and int(claims["iat"]) > wall_clock + leeway:
        raise LoginRefused(Refusal.BAD_ISSUED_AT, detail="issued in the future")
    if "nbf" in claims and int(claims["nbf"]) > wall_clock + leeway:
        raise LoginRefused(Refusal.NOT_YET_VALID)
    if int(claims["exp"]) <= wall_clock - leeway:
        raise LoginRefused(Refusal.EXPIRED)
    if "iat" in claims and claims["iat"] > now + leeway:
        raise LoginRefused(Refusal.BAD_ISSUED_AT, detail="not a number in the past")


def verify_presented_jwt(token: str, source: KeySource, keys: JwksCache, verified: VerifiedJwts, leeway: int,
                         now: float, *, keys_may_block: bool = True) -> dict[str, Any]:
    """Steps 1–3 of every JWT login: the JOSE header, the issuer's key by ``kid``, signature and lifetime.

    ``keys_may_block=False``: raise KeysNotAtHand rather than fetch keys (see ``JwksCache.signing_keys``).
    The claims are not to be changed: the same dict may answer the next presentation of the token.
    """
    digest = verified.digest(token)
    kept = verified.get(digest)
    header = kept.header if kept is not None else read_jws_header(token)
    try:
        candidates = keys.signing_keys(source, header.kid, may_block=keys_may_block)
    except KeySourceUnavailable as exc:
        raise LoginRefused(Refusal.KEY_SOURCE_UNAVAILABLE, source=source.describe(), detail=str(exc)) from None
    fitting = choose_keys(candidates, header)
    if kept is not None and kept.still_signed(fitting):
        _check_lifetime_again(kept.claims, leeway, now)
        return kept.claims
    key, claims = verify_signature_and_lifetime(token, header, fitting, leeway, now)
    verified.keep(digest, header, key, claims)
    return claims
