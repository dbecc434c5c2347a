"""SPIRE Server's JWT key rotation timetable, for the development stand-in. FOR DEVELOPMENT AND TESTS ONLY.

SPIRE (``pkg/server/ca/manager``) keeps two key slots. A key lives ``ca_ttl``
(24h by default). When a key has ``min(lifetime/2, 30d)`` left, the next key
is prepared: generated and *published* in the bundle, so relying parties can
fetch it before anything is signed with it. When the active key has
``min(lifetime/6, 7d)`` left, the next key is *activated* and signs from then
on. Keys whose ``NotAfter`` is more than 24h in the past are pruned from the
bundle; the stand-in scales that grace with the key lifetime (24h is SPIRE's
default ``ca_ttl``), so a 6-second key is pruned 6 seconds after it expires.

``KeyRotator.tick(now)`` applies the timetable once, so tests can drive it
with their own clock; ``start()`` runs it on a thread, checking every 10 s as
SPIRE does, or more often for the short lifetimes tests use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from strongroom.spiffe.dev_spire import AuthorityKey, JwtSvidAuthority

THIRTY_DAYS = 30 * 24 * 3600.0
SEVEN_DAYS = 7 * 24 * 3600.0
SPIRE_CHECK_INTERVAL = 10.0


@dataclass(frozen=True)
class RotationEvent:
    action: str  # "prepared", "activated" or "pruned"
    kid: str


def prepare_threshold(key: AuthorityKey) -> float:
    """When the next key is published: NotAfter − min(lifetime/2, 30d)."""
    lifetime = _lifetime(key)
    return _not_after(key) - min(lifetime / 2, THIRTY_DAYS)


def activate_threshold(key: AuthorityKey) -> float:
    """When the next key starts signing: NotAfter − min(lifetime/6, 7d)."""
    lifetime = _lifetime(key)
    return _not_after(key) - min(lifetime / 6, SEVEN_DAYS)


def _not_after(key: AuthorityKey) -> float:
    if key.not_after is None:
        raise ValueError(f"key {key.kid} has no validity period")
    return key.not_after


def _lifetime(key: AuthorityKey) -> float:
    if key.not_before is None:
        raise ValueError(f"key {key.kid} has no validity period")
    return _not_after(key) - key.not_before


class KeyRotator:
    """Prepares, activates and prunes an authority's keys on SPIRE's timetable, scaled to ``key_ttl``."""

    def __init__(self, authority: JwtSvidAuthority, key_ttl: float, *,
                 prune_after: float | None = None, clock: Callable[[], float] = time.time,
                 on_event: Callable[[RotationEvent], None] | None = None) -> None:
        if key_ttl <= 0:
            raise ValueError("the key lifetime must be positive")
        self.authority = authority
        self.key_ttl = key_ttl
        self.prune_after = key_ttl if prune_after is None else prune_after
        self.clock = clock
        self.on_event = on_event
        self.next_key: AuthorityKey | None = None
        self.check_interval = max(0.05, min(SPIRE_CHECK_INTERVAL, key_ttl / 60))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        active = authority.active
        assert active is not None
        if active.not_after is None:
            # The authority's first key gets its validity now, as a fresh SPIRE Server's does.
            now = clock()
            active.not_before, active.not_after = now, now + key_ttl

    def tick(self, now: float | None = None) -> list[RotationEvent]:
        now = self.clock() if now is None else now
        events: list[RotationEvent] = []
        active = self.authority.active
        assert active is not None
        if self.next_key is None and now >= prepare_threshold(active):
            self.next_key = self.authority.prepare_key(not_before=now, not_after=now + self.key_ttl)
            events.append(RotationEvent("prepared", self.next_key.kid))
        if self.next_key is not None and now >= activate_threshold(active):
            self.authority.activate(self.next_key)
            events.append(RotationEvent("activated", self.next_key.kid))
            self.next_key = None
            active = self.authority.active
        for key in list(self.authority.published):
            if key is active or key is self.next_key or key.not_after is None:
                continue
            if now >= key.not_after + self.prune_after:
                self.authority.prune(key)
                events.append(RotationEvent("pruned", key.kid))
        if self.on_event is not None:
            for event in events:
                self.on_event(event)
        return events

    def _run(self) -> None:
        while not self._stop.wait(self.check_interval):
            self.tick()

    def start(self) -> "KeyRotator":
        self._thread = threading.Thread(target=self._run, name="dev-spire-rotator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "KeyRotator":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
