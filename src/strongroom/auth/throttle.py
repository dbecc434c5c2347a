"""Limits on failed logins, per identity and per client address, shared by the replicas through Redis.

Every login route runs its login inside ``LoginThrottle.attempt``. A login that
fails because of what the client sent (a refused JWT, an unknown identity)
counts once against its identity and once against its client address. Once
either has more than its limit of failures in the window, further failures
are answered 429 ``RateLimitExceeded`` with ``Retry-After``, instead of the
refusal naming the failed check.

Only failures count, and only failures are refused: a login is always checked,
and a valid one succeeds even while its identity or address is over the limit.
A limit that refused before checking would let anyone who knows an identity id,
or who shares a NAT address with a workload, lock healthy workloads out. What
the limit buys instead: a client that keeps failing is told to back off, and a
prober stops learning which check its guesses fail. (Checking is cheap: keys
are cached, refetches are cooled down, JWTs over 16 KiB and bad algorithms are
refused before any key is touched.)

The window is fixed and starts at a key's first failure. With
``STRONGROOM_REDIS_URL`` the counters live in Redis and every replica sees
the same counts; without it, or while Redis cannot be reached, each process
counts on its own. A burst of concurrent failures may pass the limit by the
logins already in flight.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Protocol

import redis

from strongroom.auth.verify.refusals import LoginRefused, Refusal
from strongroom.errors import ApiError, RateLimited

log = logging.getLogger("strongroom.throttle")

REDIS_KEY_PREFIX = "strongroom:login-failures:"


@dataclass(frozen=True)
class WindowCount:
    """Failures of one key in its current window, and the seconds until the window ends."""

    failures: int
    seconds_left: float


class FailureCounter(Protocol):
    def add_failure(self, keys: Sequence[str], window_seconds: int) -> list[WindowCount]:
        """Count one failure against each key; the counts after it, in the order of ``keys``."""
        ...


class LocalFailureCounter:
    """Counters in this process's memory, bounded in size."""

    MAX_KEYS = 100_000

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (failures, monotonic end of window)
        self._lock = threading.Lock()

    def add_failure(self, keys: Sequence[str], window_seconds: int) -> list[WindowCount]:
        now = self._monotonic()
        counts = []
        with self._lock:
            for key in keys:
                failures, ends_at = self._windows.get(key, (0, 0.0))
                if ends_at <= now:
                    failures, ends_at = 0, now + window_seconds
                self._windows[key] = (failures + 1, ends_at)
                counts.append(WindowCount(failures + 1, ends_at - now))
            if len(self._windows) > self.MAX_KEYS:
                self._evict(now)
        return counts

    def _evict(self, now: float) -> None:
        # Ended windows first; if a flood of distinct keys keeps the table full, the oldest half goes.
        self._windows = {key: value for key, value in self._windows.items() if value[1] > now}
        if len(self._windows) > self.MAX_KEYS:
            keep = list(self._windows.items())[len(self._windows) // 2:]
            self._windows = dict(keep)


class RedisFailureCounter:
    """Counters in Redis, shared by every replica; this process's own counters stand in while Redis is down."""

    WARN_EVERY_SECONDS = 60.0

    def __init__(self, client: redis.Redis, fallback: LocalFailureCounter | None = None) -> None:
        self._redis = client
        self._fallback = fallback or LocalFailureCounter()
        self._last_warning = -math.inf

    def add_failure(self, keys: Sequence[str], window_seconds: int) -> list[WindowCount]:
        names = [REDIS_KEY_PREFIX + key for key in keys]
        try:
            pipeline = self._redis.pipeline(transaction=True)
            for name in names:
                pipeline.incr(name)
                pipeline.expire(name, window_seconds, nx=True)  # the window starts at the first failure
                pipeline.pttl(name)
            replies = pipeline.execute()
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._last_warning >= self.WARN_EVERY_SECONDS:
                self._last_warning = now
                log.warning("Redis unreachable (%s); failed logins are counted per process", type(exc).__name__)
            return self._fallback.add_failure(keys, window_seconds)
        counts = []
        for index in range(len(names)):
            failures, _, ttl_ms = replies[3 * index: 3 * index + 3]
            counts.append(WindowCount(int(failures), ttl_ms / 1000 if ttl_ms >= 0 else window_seconds))
        return counts


def counts_as_failure(error: ApiError) -> bool:
    """A failure of the client's making: its JWT, its identity id. Not an issuer we could not reach."""
    if isinstance(error, LoginRefused) and error.refusal is Refusal.KEY_SOURCE_UNAVAILABLE:
        return False
    return 400 <= error.status_code < 500


def _identity_key(identity_id: str) -> str:
    # The id comes from the request body, unchecked: hash it so a key's size is fixed.
    return "identity:" + hashlib.sha256(identity_id.encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, counter: FailureCounter, *, window_seconds: int, max_failures_per_identity: int,
                 max_failures_per_ip: int) -> None:
        self._counter = counter
        self._window = window_seconds
        self._per_identity = max_failures_per_identity
        self._per_ip = max_failures_per_ip

    @contextmanager
    def attempt(self, identity_id: str, client_ip: str | None) -> Iterator[None]:
        """Run one login; a counted failure past a limit leaves as 429 instead of its own error."""
        try:
            yield
        except ApiError as error:
            if counts_as_failure(error):
                self._failed(identity_id, client_ip, error)
            raise

    def _failed(self, identity_id: str, client_ip: str | None, error: ApiError) -> None:
        limits: list[tuple[str, int]] = []
        if self._per_identity:
            limits.append((_identity_key(identity_id), self._per_identity))
        if self._per_ip and client_ip:
            limits.append(("ip:" + client_ip, self._per_ip))
        if not limits:
            return
        counts = self._counter.add_failure([key for key, _ in limits], self._window)
        over = [count for count, (_, limit) in zip(counts, limits) if count.failures > limit]
        if not over:
            return
        for count, (key, limit) in zip(counts, limits):
            if count.failures == limit + 1:
                log.warning("more than %d failed logins in %d s for %s; further failures answered 429",
                            limit, self._window, key if key.startswith("ip:") else f"identity {identity_id[:64]!r}")
        retry_after = max(1, math.ceil(max(count.seconds_left for count in over)))
        raise RateLimited(
            f"Rate limit exceeded. Please try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        ) from error


def build_login_throttle(redis_client: redis.Redis | None, *, window_seconds: int, max_failures_per_identity: int,
                         max_failures_per_ip: int) -> LoginThrottle:
    counter: FailureCounter = RedisFailureCounter(redis_client) if redis_client is not None else LocalFailureCounter()
    return LoginThrottle(counter, window_seconds=window_seconds, max_failures_per_identity=max_failures_per_identity,
                         max_failures_per_ip=max_failures_per_ip)
