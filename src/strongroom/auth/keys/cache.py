"""One cache of signing keys per key source, used by every auth method.

Infisical fetches the discovery document and the JWKS on every login. Here a
key set is fetched once and reused until it is ``ttl`` old (or, for a SPIFFE
bundle, its ``spiffe_refresh_hint``, whichever is sooner). A ``kid`` the set
does not hold triggers one refetch (SPIRE publishes a new key hours before it
signs with it, so an unknown ``kid`` usually means "refresh now"), but at most
one fetch per source per ``cooldown``, and concurrent logins share it: a flood
of tokens with made-up ``kid``s cannot hammer the issuer. When the source is
down, slow or answers garbage, the last good set keeps serving for
``max_staleness``; after that logins fail with the fetch error. A key that
disappears from the source is gone after the next refresh.

The cache key of a source is everything that decides which keys it yields
(URL, CA certificate, expected issuer), so changing any of them in an auth
method's configuration starts from a fresh fetch: the counter-example is
Vault's bug #9912, where a changed CA kept serving keys fetched under the old one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from strongroom.auth.keys.jwk import SigningKey
from strongroom.auth.keys.sources import KeySource
from strongroom.outbound import FetchError, HttpFetcher


class KeysNotAtHand(Exception):
    """The keys must be fetched, or a fetch in flight awaited, first: ask again where blocking is allowed."""


class KeySourceUnavailable(Exception):
    pass


@dataclass(frozen=True)
class KeySetStatus:
    """What an operator sees of one source's cached keys on this replica."""

    source: str
    origin: str | None
    last_fetched_at: float | None  # wall-clock seconds
    last_attempt_at: float | None
    key_count: int
    key_ids: list[str]
    last_error: str | None
    fetch_count: int

    def as_response(self) -> dict[str, Any]:
        from datetime import datetime, timezone

        from strongroom.clock import iso

        def moment(value: float | None) -> str | None:
            return iso(datetime.fromtimestamp(value, timezone.utc)) if value is not None else None

        return {
            "source": self.source,
            "keysUrl": self.origin,
            "lastFetchedAt": moment(self.last_fetched_at),
            "lastAttemptAt": moment(self.last_attempt_at),
            "keyCount": self.key_count,
            "keyIds": self.key_ids,
            "lastError": self.last_error,
            "fetchCount": self.fetch_count,
        }


@dataclass
class _CachedKeySet:
    keys: list[SigningKey] = field(default_factory=list)
    origin: str | None = None
    fetched_at: float | None = None  # monotonic time of the last good fetch
    fetched_at_wall: float | None = None
    refresh_hint: float | None = None
    last_attempt: float | None = None
    last_attempt_wall: float | None = None
    last_error: str | None = None
    fetch_count: int = 0
    fetching: threading.Lock = field(default_factory=threading.Lock)

    def has_kid(self, kid: str | None) -> bool:
        return kid is None or any(key.kid == kid for key in self.keys)


class JwksCache:
    def __init__(
        self,
        fetcher: HttpFetcher,
        *,
        ttl_seconds: float,
        cooldown_seconds: float,
        max_staleness_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetcher = fetcher
        self._ttl = ttl_seconds
        self._cooldown = cooldown_seconds
        self._max_staleness = max_staleness_seconds
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._entries: dict[Hashable, _CachedKeySet] = {}
        self._entries_lock = threading.Lock()

    def _entry(self, source: KeySource) -> _CachedKeySet:
        entry = self._entries.get(source.cache_key)  # a dict lookup is atomic; only adding needs the lock
        if entry is not None:
            return entry
        with self._entries_lock:
            entry = self._entries.get(source.cache_key)
            if entry is None:
                entry = self._entries[source.cache_key] = _CachedKeySet()
            return entry

    def _ttl_of(self, entry: _CachedKeySet) -> float:
        if entry.refresh_hint is not None:
            return max(1.0, min(self._ttl, entry.refresh_hint))
        return self._ttl

    def _fresh(self, entry: _CachedKeySet, now: float) -> bool:
        return entry.fetched_at is not None and now - entry.fetched_at < self._ttl_of(entry)

    def _wants_fetch(self, entry: _CachedKeySet, kid: str | None, now: float) -> bool:
        since_attempt = now - entry.last_attempt if entry.last_attempt is not None else float("inf")
        if not self._fresh(entry, now):
            # Due for a refresh; after a failed attempt, wait out the cooldown before the next.
            return entry.last_error is None or since_attempt >= self._cooldown
        # Fresh, but the token names a key we do not hold: one refetch per cooldown.
        return not entry.has_kid(kid) and since_attempt >= self._cooldown

    def _fetch(self, entry: _CachedKeySet, source: KeySource) -> None:
        entry.last_attempt = self._monotonic()
        entry.last_attempt_wall = self._wall_clock()
        entry.fetch_count += 1
        try:
            fetched = source.load(self._fetcher)
        except FetchError as exc:
            entry.last_error = str(exc)
            return
        entry.keys = fetched.keys
        entry.origin = fetched.origin
        entry.refresh_hint = fetched.refresh_hint_seconds
        entry.fetched_at = self._monotonic()
        entry.fetched_at_wall = self._wall_clock()
        entry.last_error = None

    def signing_keys(self, source: KeySource, kid: str | None, *, may_block: bool = True) -> list[SigningKey]:
        """The current keys of ``source``, refreshed first when stale or when ``kid`` is unknown.

        With ``may_block=False`` (a caller on the event loop) this never goes to the network nor waits
        for a fetch in flight: it raises KeysNotAtHand instead, and the caller asks again from a thread.
        """
        entry = self._entry(source)
        if self._fresh(entry, self._monotonic()) and entry.has_kid(kid):
            return entry.keys  # fresh, and holding the kid: nothing to fetch or wait for (nearly every login)
        if not may_block:
            missing = entry.fetched_at is None or not entry.has_kid(kid)
            in_flight = entry.fetching.locked()
            would_fetch = self._wants_fetch(entry, kid, self._monotonic()) and not in_flight
            if would_fetch or (missing and in_flight):
                raise KeysNotAtHand(source.describe())
        if self._wants_fetch(entry, kid, self._monotonic()) and entry.fetching.acquire(blocking=False):
            try:
                if self._wants_fetch(entry, kid, self._monotonic()):
                    self._fetch(entry, source)
            finally:
                entry.fetching.release()
        if (entry.fetched_at is None or not entry.has_kid(kid)) and entry.fetching.locked():
            # Another login's fetch is in flight and may bring what we lack: wait for it, don't fetch again.
            with entry.fetching:
                pass
        if entry.fetched_at is None:
            raise KeySourceUnavailable(entry.last_error or "no key set has been fetched yet")
        age = self._monotonic() - entry.fetched_at
        if age > max(self._ttl_of(entry), self._max_staleness):
            raise KeySourceUnavailable(
                f"the last good key set is {age:.0f} s old, past the allowed staleness "
                f"(STRONGROOM_JWKS_MAX_STALENESS_SECONDS); last fetch error: {entry.last_error}"
            )
        return entry.keys

    def refresh(self, source: KeySource) -> KeySetStatus:
        """Fetch now, whatever the cache holds (an operator's forced refresh)."""
        entry = self._entry(source)
        with entry.fetching:
            self._fetch(entry, source)
        return self.status(source)

    def forget(self, source: KeySource) -> None:
        with self._entries_lock:
            self._entries.pop(source.cache_key, None)

    def status(self, source: KeySource) -> KeySetStatus:
        entry = self._entry(source)
        return KeySetStatus(
            source=source.describe(),
            origin=entry.origin,
            last_fetched_at=entry.fetched_at_wall,
            last_attempt_at=entry.last_attempt_wall,
            key_count=len(entry.keys),
            key_ids=[key.kid for key in entry.keys if key.kid is not None],
            last_error=entry.last_error,
            fetch_count=entry.fetch_count,
        )

    def fetch_count(self, source: KeySource) -> int:
        return self._entry(source).fetch_count
