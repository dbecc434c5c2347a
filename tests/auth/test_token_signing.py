"""Strongroom's HS256 signer produces the tokens PyJWT would, and PyJWT (which checks every presented token) accepts them."""

from __future__ import annotations

import os

import jwt
import pytest

from strongroom.auth.token_signing import Hs256Signer


def _payload(**extra: object) -> dict[str, object]:
    return {
        "identityId": "0192e4a1-0000-7000-8000-000000000001",
        "identityAccessTokenId": "0192e4a1-0000-7000-8000-000000000002",
        "authTokenType": "identityAccessToken",
        "authMethod": "oidc-auth",
        "nonce": "q2Vf0lD3mM6oWnJc4Xx0aA",
        "iat": 1_764_000_000,
        "exp": 1_764_007_200,
        **extra,
    }


def test_the_token_is_byte_for_byte_what_pyjwt_signs() -> None:
    key = os.urandom(32)
    payload = _payload(identityAuth={"oidc": {"claims": {"team": "payments", "tier": "1"}}})

    assert Hs256Signer(key).sign(payload) == jwt.encode(payload, key, algorithm="HS256")


def test_pyjwt_verifies_a_token_with_text_outside_ascii() -> None:
    # orjson writes such text as UTF-8 where PyJWT's encoder escapes it: different bytes, the same claims.
    key = os.urandom(32)
    payload = _payload(identityAuth={"oidc": {"claims": {"team": "Zahlungsverkehr – Köln ✓"}}})

    token = Hs256Signer(key).sign(payload)

    assert jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False}) == payload
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_the_signature_covers_header_and_payload_under_that_key() -> None:
    key = os.urandom(32)
    token = Hs256Signer(key).sign(_payload())
    header, payload, signature = token.split(".")
    other_payload = Hs256Signer(key).sign(_payload(authMethod="token-auth")).split(".")[1]

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, os.urandom(32), algorithms=["HS256"], options={"verify_exp": False})
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{header}.{other_payload}.{signature}", key, algorithms=["HS256"], options={"verify_exp": False})


def test_a_key_shorter_than_the_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Hs256Signer(os.urandom(31))
