"""The failed-login counters themselves: windows, and what happens while Redis cannot be reached."""

from __future__ import annotations

import pytest

from strongroom.auth.throttle import LocalFailureCounter, LoginThrottle, RedisFailureCounter
from strongroom.auth.verify.refusals import LoginRefused, Refusal
from strongroom.errors import ApiError, NotFound, RateLimited
from strongroom.store.redis_client import open_redis


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail_once(throttle: LoginThrottle, identity_id: str = "id-1", client_ip: str = "10.0.0.1") -> type[Exception]:
    try:
        with throttle.attempt(identity_id, client_ip):
            raise NotFound("OIDC auth method not found for identity")
    except Exception as exc:  # noqa: BLE001 - the test looks at which one
        return type(exc)
    raise AssertionError("the failure was swallowed")


def test_a_window_starts_at_the_first_failure_and_ends_after_its_length() -> None:
    clock = FakeMonotonic()
    throttle = LoginThrottle(LocalFailureCounter(clock), window_seconds=60, max_failures_per_identity=2,
                             max_failures_per_ip=0)
    assert [fail_once(throttle) for _ in range(2)] == [NotFound, NotFound]
    clock.now += 59
    assert fail_once(throttle) is RateLimited
    clock.now += 1.5  # the window that began at the first failure is over
    assert [fail_once(throttle) for _ in range(3)] == [NotFound, NotFound, RateLimited]


def test_the_retry_after_is_what_is_left_of_the_window() -> None:
    clock = FakeMonotonic()
    throttle = LoginThrottle(LocalFailureCounter(clock), window_seconds=60, max_failures_per_identity=1,
                             max_failures_per_ip=0)
    fail_once(throttle)
    clock.now += 20.5
    with pytest.raises(RateLimited) as refused:
        with throttle.attempt("id-1", None):
            raise NotFound()
    assert refused.value.headers == {"Retry-After": "40"}
    assert refused.value.message == "Rate limit exceeded. Please try again in 40 seconds"


@pytest.mark.parametrize("ours", [
    ApiError(),
    LoginRefused(Refusal.KEY_SOURCE_UNAVAILABLE, source="http://issuer.example", detail="connection refused"),
], ids=["server-error", "issuer-unreachable"])
def test_a_failure_on_our_side_is_not_counted_against_the_client(ours: ApiError) -> None:
    throttle = LoginThrottle(LocalFailureCounter(), window_seconds=60, max_failures_per_identity=1,
                             max_failures_per_ip=1)
    for _ in range(3):
        with pytest.raises(type(ours)):
            with throttle.attempt("id-1", "10.0.0.1"):
                raise ours
    assert fail_once(throttle) is NotFound


def test_while_redis_cannot_be_reached_each_process_counts_on_its_own() -> None:
    unreachable = open_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    throttle = LoginThrottle(RedisFailureCounter(unreachable), window_seconds=60, max_failures_per_identity=2,
                             max_failures_per_ip=0)
    assert [fail_once(throttle) for _ in range(3)] == [NotFound, NotFound, RateLimited]
