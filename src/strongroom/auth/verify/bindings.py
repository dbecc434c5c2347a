"""The bindings of an OIDC auth method: issuer, subject, audiences, claims, claim metadata.

Applied after the signature is verified, in this order. Matching is
exact-or-glob (``globs.matches``); stored lists are ``", "``-joined, and any
one entry of a list matching is enough, while every bound claim must match.
"""

from __future__ import annotations

from typing import Any

from strongroom.auth.verify.globs import matches, split_patterns
from strongroom.auth.verify.refusals import LoginRefused, Refusal

ClaimValue = str | int | float | bool | list[str]


def check_issuer(bound_issuer: str, claims: dict[str, Any]) -> None:
    if not bound_issuer:
        return
    issuer = claims.get("iss")
    if issuer is None:
        raise LoginRefused(Refusal.ISSUER_MISSING, expected=bound_issuer)
    if issuer != bound_issuer:
        raise LoginRefused(Refusal.ISSUER_MISMATCH, expected=bound_issuer, actual=issuer)


def check_subject(bound_subject: str, claims: dict[str, Any]) -> None:
    if not bound_subject:
        return
    subject = claims.get("sub")
    if not isinstance(subject, str) or not matches(subject, bound_subject):
        raise LoginRefused(Refusal.SUBJECT_NOT_ALLOWED)


def audiences_of(claims: dict[str, Any]) -> list[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return [audience] if audience else []
    if isinstance(audience, list):
        return [entry for entry in audience if isinstance(entry, str) and entry]
    return []


def check_audiences(bound_audiences: str, claims: dict[str, Any]) -> None:
    audiences = audiences_of(claims)
    # JWT-SVID §3: aud is required. Unlike Infisical, a token without one is
    # refused even when the auth method binds no audience.
    if not audiences:
        raise LoginRefused(Refusal.AUDIENCE_MISSING)
    allowed = split_patterns(bound_audiences)
    if allowed and not any(matches(audience, pattern) for audience in audiences for pattern in allowed):
        raise LoginRefused(Refusal.AUDIENCE_NOT_ALLOWED)


def resolve_claim(claims: dict[str, Any], path: str) -> ClaimValue | None:
    """Walk a dot path (``a.b.c``); only strings, numbers, booleans and string arrays count."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, list) and all(isinstance(entry, str) for entry in value):
        return value
    return None


def _claim_matches(value: ClaimValue, pattern: str) -> bool:
    if isinstance(value, bool):
        return value == (pattern == "true")
    if isinstance(value, (int, float)):
        try:
            return value == int(pattern)
        except ValueError:
            return False
    if isinstance(value, list):
        return any(matches(entry, pattern) for entry in value)
    return matches(value, pattern)


def check_bound_claims(bound_claims: dict[str, str], claims: dict[str, Any]) -> None:
    for path, allowed in bound_claims.items():
        value = resolve_claim(claims, path)
        if value is None or value == "" or value == []:
            raise LoginRefused(Refusal.CLAIM_MISSING, claim=path)
        if not any(_claim_matches(value, pattern) for pattern in split_patterns(allowed)):
            raise LoginRefused(Refusal.CLAIM_NOT_ALLOWED, claim=path)


def map_claim_metadata(mapping: dict[str, str] | None, claims: dict[str, Any]) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for key, path in (mapping or {}).items():
        value = resolve_claim(claims, path)
        if value is None or value == "" or value == []:
            raise LoginRefused(Refusal.CLAIM_MISSING, claim=path)
        if isinstance(value, list):
            metadata[key] = ",".join(value)
        elif isinstance(value, bool):
            metadata[key] = "true" if value else "false"
        else:
            metadata[key] = str(value)
    return metadata
