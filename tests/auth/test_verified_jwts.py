"""A JWT-SVID presented again is not verified again, as long as the answer would be the same."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

import pytest

from strongroom.auth.keys.cache import JwksCache
from strongroom.auth.keys.jwk import SigningKey, parse_jwk
from strongroom.auth.keys.sources import FetchedKeys
from strongroom.auth.verify import signature
from strongroom.auth.verify.refusals import LoginRefused, Refusal
from strongroom.auth.verify.signature import VerifiedJwts, verify_presented_jwt
from strongroom.spiffe.dev_spire import AuthorityKey, JwtSvidAuthority
from tests.support import sign, svid_claims

LEEWAY = 5


class PublishedKeys:
    """A key source whose published keys a test changes; every ask fetches them anew (no TTL)."""

    def __init__(self, *keys: AuthorityKey) -> None:
        self.published = list(keys)
        self.fetches = 0

    @property
    def cache_key(self) -> Hashable:
        return ("test keys", id(self))

    def describe(self) -> str:
        return "test keys"

    def load(self, fetcher: Any) -> FetchedKeys:
        self.fetches += 1
        keys = [parse_jwk(key.public_jwk()) for key in self.published]
        return FetchedKeys([key for key in keys if key is not None], origin="test keys")


@pytest.fixture
def authority() -> JwtSvidAuthority:
    return JwtSvidAuthority(trust_domain="example.org")


@pytest.fixture
def key() -> AuthorityKey:
    return AuthorityKey.generate()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens whose signature was verified (PyJWT run), in order."""
    seen: list[str] = []
    decode = signature._decode

    def counting(token: str, key: SigningKey, alg: str, leeway: int) -> dict[str, Any]:
        seen.append(token)
        return decode(token, key, alg, leeway)

    monkeypatch.setattr(signature, "_decode", counting)
    return seen


def _keys(ttl: float = 3600) -> JwksCache:
    return JwksCache(None, ttl_seconds=ttl, cooldown_seconds=0, max_staleness_seconds=86400)  # type: ignore[arg-type]


def _verify(token: str, source: PublishedKeys, keys: JwksCache, verified: VerifiedJwts) -> dict[str, Any]:
    return verify_presented_jwt(token, source, keys, verified, LEEWAY, time.time())


def test_the_same_token_is_verified_once(authority: JwtSvidAuthority, key: AuthorityKey,
                                         verifications: list[str]) -> None:
    source, keys, verified = PublishedKeys(key), _keys(), VerifiedJwts()
    token = sign(svid_claims(authority), key)
    first = _verify(token, source, keys, verified)
    again = _verify(token, source, keys, verified)
    assert again == first and first["sub"] == svid_claims(authority)["sub"]
    assert verifications == [token]
    other = sign(svid_claims(authority), key)  # another token: verified on its own
    _verify(other, source, keys, verified)
    assert verifications == [token, other]


def test_a_kept_tokens_header_is_not_read_again(authority: JwtSvidAuthority, key: AuthorityKey,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    read_header = signature.read_jws_header

    def counting(token: str) -> Any:
        read.append(token)
        return read_header(token)

    monkeypatch.setattr(signature, "read_jws_header", counting)
    source, keys, verified = PublishedKeys(key), _keys(), VerifiedJwts()
    token = sign(svid_claims(authority), key)
    for _ in range(3):
        _verify(token, source, keys, verified)
    assert read == [token]
    with pytest.raises(LoginRefused) as refused:  # the kept header's kid still has to name a published key
        _verify(token, PublishedKeys(AuthorityKey.generate()), keys, verified)
    assert refused.value.refusal is Refusal.UNKNOWN_KEY_ID


def test_a_kept_token_expires_on_time(authority: JwtSvidAuthority, key: AuthorityKey, verifications: list[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    source, keys, verified = PublishedKeys(key), _keys(), VerifiedJwts()
    token = sign(svid_claims(authority, ttl=60), key)
    _verify(token, source, keys, verified)
    later = time.time() + 60 + LEEWAY
    monkeypatch.setattr(signature.time, "time", lambda: later)
    with pytest.raises(LoginRefused) as refused:
        _verify(token, source, keys, verified)
    assert refused.value.refusal is Refusal.EXPIRED
    assert verifications == [token]  # refused from what was kept, as a fresh check would have


def test_a_token_is_verified_again_when_its_key_is_replaced(authority: JwtSvidAuthority, key: AuthorityKey,
                                                            verifications: list[str]) -> None:
    # The issuer publishes another key under the same kid (a compromised key replaced): the kept
    # answer was given by a key that is no longer published, so it counts for nothing.
    source, keys, verified = PublishedKeys(key), _keys(ttl=0), VerifiedJwts()
    token = sign(svid_claims(authority), key)
    _verify(token, source, keys, verified)
    replacement = AuthorityKey.generate()
    source.published = [AuthorityKey(kid=key.kid, alg=replacement.alg, private_key=replacement.private_key)]
    with pytest.raises(LoginRefused) as refused:
        _verify(token, source, keys, verified)
    assert refused.value.refusal is Refusal.BAD_SIGNATURE
    assert verifications == [token, token]


def test_a_token_verified_for_one_source_is_verified_again_for_another(
        authority: JwtSvidAuthority, key: AuthorityKey, verifications: list[str]) -> None:
    keys, verified = _keys(), VerifiedJwts()
    token = sign(svid_claims(authority), key)
    _verify(token, PublishedKeys(key), keys, verified)
    stranger = AuthorityKey.generate()
    with pytest.raises(LoginRefused) as refused:  # an issuer that never published the signing key
        _verify(token, PublishedKeys(AuthorityKey(kid=key.kid, alg=stranger.alg, private_key=stranger.private_key)),
                keys, verified)
    assert refused.value.refusal is Refusal.BAD_SIGNATURE


def test_an_altered_token_is_never_taken_for_a_kept_one(authority: JwtSvidAuthority, key: AuthorityKey) -> None:
    source, keys, verified = PublishedKeys(key), _keys(), VerifiedJwts()
    token = sign(svid_claims(authority), key)
    _verify(token, source, keys, verified)
    header, payload, signature_part = token.split(".")
    forged = f"{header}.{payload}.{signature_part[:-2]}{'AA' if signature_part[-2:] != 'AA' else 'BB'}"
    with pytest.raises(LoginRefused) as refused:
        _verify(forged, source, keys, verified)
    assert refused.value.refusal in (Refusal.BAD_SIGNATURE, Refusal.TOKEN_MALFORMED)


def test_a_refused_token_is_not_kept(authority: JwtSvidAuthority, key: AuthorityKey,
                                     verifications: list[str]) -> None:
    source, keys, verified = PublishedKeys(key), _keys(), VerifiedJwts()
    not_yet = {**svid_claims(authority), "nbf": int(time.time()) + 600}
    token = sign(not_yet, key)
    for _ in range(2):
        with pytest.raises(LoginRefused) as refused:
            _verify(token, source, keys, verified)
        assert refused.value.refusal is Refusal.NOT_YET_VALID
    assert verifications == [token, token]
