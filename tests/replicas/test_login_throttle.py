"""Failed logins are limited per identity and per client address; with Redis, the replicas share the counts.

The replicas allow 3 failures per identity and 5 per client address in 30 s
(tests/replicas/conftest.py). Each test speaks through the trusted proxy and
states client addresses of its own in X-Forwarded-For, so tests do not share
an address's count.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import httpx
import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID
from tests.replicas.conftest import (
    FAILURE_WINDOW_SECONDS,
    MAX_FAILURES_PER_IDENTITY,
    MAX_FAILURES_PER_IP,
    REPLICA_COUNT,
    ReplicaSet,
)
from tests.support import assert_api_error

LOGIN_ROUTES = ("/api/v1/auth/oidc-auth/login", "/api/v1/auth/jwt-auth/login", "/api/v1/auth/spiffe-auth/login")


def new_client_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def proxies(replicas: ReplicaSet) -> Iterator[list[httpx.Client]]:
    """One client per replica, speaking from the trusted proxy's address."""
    clients = [replicas.via_proxy(index) for index in range(REPLICA_COUNT)]
    yield clients
    for client in clients:
        client.close()


def login(proxies: list[httpx.Client], replica: int, identity_id: str, jwt: str, client_address: str,
          route: str = LOGIN_ROUTES[0]) -> httpx.Response:
    return proxies[replica].post(route, json={"identityId": identity_id, "jwt": jwt},
                                 headers={"X-Forwarded-For": client_address})


def assert_rate_limited(response: httpx.Response) -> int:
    body = assert_api_error(response, 429, "RateLimitExceeded")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= FAILURE_WINDOW_SECONDS
    assert body["message"] == f"Rate limit exceeded. Please try again in {retry_after} seconds"
    return retry_after


def test_failures_of_one_identity_past_its_limit_are_answered_429_with_retry_after(
        replicas: ReplicaSet, proxies: list[httpx.Client], provider: DiscoveryProvider,
        authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    # Without Redis each process counts on its own, so the failures all go to one replica there.
    spread = REPLICA_COUNT if replicas.with_redis else 1
    for attempt in range(MAX_FAILURES_PER_IDENTITY):
        refused = login(proxies, attempt % spread, identity_id, "not-a-jwt", new_client_address())
        assert_api_error(refused, 401, "UnauthorizedError", "Invalid JWT")
    for attempt in range(2):
        assert_rate_limited(login(proxies, attempt % spread, identity_id, "not-a-jwt", new_client_address()))

    # A valid JWT-SVID still logs in: only failures are limited.
    valid = login(proxies, 0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]), new_client_address())
    assert valid.status_code == 200, valid.text
    # Another identity is not affected.
    other = replicas.identity_with_oidc(provider)
    assert_api_error(login(proxies, 0, other, "not-a-jwt", new_client_address()), 401, "UnauthorizedError")


def test_successful_logins_do_not_count_toward_the_limit(
        replicas: ReplicaSet, proxies: list[httpx.Client], provider: DiscoveryProvider,
        authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    address = new_client_address()
    for _ in range(10):
        response = login(proxies, 0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]), address)
        assert response.status_code == 200, response.text
    for _ in range(MAX_FAILURES_PER_IDENTITY):
        refused = login(proxies, 0, identity_id, authority.mint("spiffe://example.org/elsewhere/x", [AUDIENCE]),
                        address)
        assert_api_error(refused, 403, "ForbiddenError", "subject not allowed")
    assert_rate_limited(login(proxies, 0, identity_id, "not-a-jwt", address))


def test_failures_from_one_client_address_past_its_limit_are_answered_429_on_every_login_route(
        replicas: ReplicaSet, proxies: list[httpx.Client]) -> None:
    address = new_client_address()
    spread = REPLICA_COUNT if replicas.with_redis else 1
    # Unknown identities (a scan for ids), spread over the three login routes.
    for attempt in range(MAX_FAILURES_PER_IP):
        refused = login(proxies, attempt % spread, str(uuid.uuid4()), "not-a-jwt", address,
                        route=LOGIN_ROUTES[attempt % len(LOGIN_ROUTES)])
        assert_api_error(refused, 404, "NotFound")
    for route in LOGIN_ROUTES:
        assert_rate_limited(login(proxies, 0, str(uuid.uuid4()), "not-a-jwt", address, route=route))
    # Another client address is not affected.
    assert_api_error(login(proxies, 0, str(uuid.uuid4()), "not-a-jwt", new_client_address()), 404, "NotFound")


def test_with_redis_the_replicas_share_the_counts_and_without_it_each_process_counts_its_own(
        replicas: ReplicaSet, proxies: list[httpx.Client], provider: DiscoveryProvider) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    for replica in (0, 0, 1):  # the limit (3), on two replicas
        assert_api_error(login(proxies, replica, identity_id, "not-a-jwt", new_client_address()), 401)
    on_the_third = login(proxies, 2, identity_id, "not-a-jwt", new_client_address())
    if replicas.with_redis:
        assert_rate_limited(on_the_third)
    else:
        assert_api_error(on_the_third, 401, "UnauthorizedError")
        assert_api_error(login(proxies, 0, identity_id, "not-a-jwt", new_client_address()), 401)  # its 3rd
        assert_rate_limited(login(proxies, 0, identity_id, "not-a-jwt", new_client_address()))


def test_a_refused_login_of_a_trusted_proxy_counts_against_the_forwarded_address_not_the_proxy(
        replicas: ReplicaSet, proxies: list[httpx.Client]) -> None:
    # Were the proxy's own address counted, one client's failures would throttle every client behind it.
    for _ in range(MAX_FAILURES_PER_IP + 1):
        assert_api_error(login(proxies, 0, str(uuid.uuid4()), "not-a-jwt", new_client_address()), 404, "NotFound")
