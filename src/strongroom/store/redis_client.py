"""The optional Redis that replicas share (``STRONGROOM_REDIS_URL``).

Redis holds only what replicas must agree on within milliseconds and may lose
without harm: the failed-login counters. Nothing in it can make a replica
accept what the database refuses, and a Redis that is down or slow costs
precision of those counters, never a login or a request.
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# A login must not wait long on a counter: past this, the replica counts on its own (see auth.throttle).
SOCKET_TIMEOUT_SECONDS = 0.5


def open_redis(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://host:port/db``); it connects on first use, so a Redis down at start is no error."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
        # No retries: the client's default retries with backoff would hold a login for seconds while Redis is down.
        retry=Retry(NoBackoff(), 0),
    )
