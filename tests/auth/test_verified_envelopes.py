"""Verified access-token envelopes are kept by the exact token bytes, and a kept one still expires."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest

from strongroom.auth.tokens import EXPIRED_MESSAGE, TOKEN_TYPE, AccessTokens, hash_token
from strongroom.errors import TokenError
from strongroom.recent import MostRecentlyUsed


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def timestamp(self) -> float:
        return time.time()


class NoUsage:
    def record(self, token_id: str, moment: datetime) -> None:
        pass


@pytest.fixture
def tokens() -> AccessTokens:
    return AccessTokens(os.urandom(32), Clock(), NoUsage())  # type: ignore[arg-type]


def _token(tokens: AccessTokens, lifetime: int | None) -> str:
    return tokens._sign("token-1", "identity-1", "oidc-auth", datetime.now(timezone.utc), lifetime, None)


def test_a_kept_envelope_is_refused_once_its_exp_has_passed(tokens: AccessTokens,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token(tokens, lifetime=60)
    digest = hash_token(token)
    assert tokens._verified_envelope(token, digest)["authTokenType"] == TOKEN_TYPE
    assert tokens._verified.get(digest) is not None
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(TokenError, match=EXPIRED_MESSAGE):
        tokens._verified_envelope(token, digest)


def test_only_the_exact_bytes_that_were_verified_are_kept(tokens: AccessTokens) -> None:
    token = _token(tokens, lifetime=None)
    tokens._verified_envelope(token, hash_token(token))
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(TokenError):
        tokens._verified_envelope(forged, hash_token(forged))
    assert tokens._verified.get(hash_token(forged)) is None


def test_a_token_of_another_signing_key_is_never_kept(tokens: AccessTokens) -> None:
    other = AccessTokens(os.urandom(32), Clock(), NoUsage())  # type: ignore[arg-type]
    foreign = _token(other, lifetime=60)
    with pytest.raises(TokenError):
        tokens._verified_envelope(foreign, hash_token(foreign))
    assert tokens._verified.get(hash_token(foreign)) is None


def test_the_least_recently_used_entry_goes_first() -> None:
    kept: MostRecentlyUsed[bytes, dict[str, int]] = MostRecentlyUsed(capacity=2)
    kept.put(b"a", {"n": 1})
    kept.put(b"b", {"n": 2})
    assert kept.get(b"a") == {"n": 1}
    kept.put(b"c", {"n": 3})
    assert kept.get(b"b") is None
    assert kept.get(b"a") == {"n": 1} and kept.get(b"c") == {"n": 3}
    assert len(kept) == 2
