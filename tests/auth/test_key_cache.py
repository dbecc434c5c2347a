"""The issuer's keys are cached: fetched once, refetched for an unknown kid (SPIRE rotation), never in a flood."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from strongroom.spiffe.dev_spire import AuthorityKey, DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID, Api, bootstrap, make_settings, start_server
from tests.support import assert_api_error, sign, svid_claims

SHORT_COOLDOWN = 0.8
DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def quick_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server whose refetch cool-down is short enough to wait out in a test."""
    settings = make_settings(tmp_path_factory.mktemp("quick-cooldown"), None,
                             jwks_refresh_cooldown_seconds=SHORT_COOLDOWN)
    server = start_server(settings)
    api = bootstrap(server)
    yield api
    api.client.close()
    server.stop()


def stranger_token(authority: JwtSvidAuthority) -> str:
    """A well-formed JWT-SVID signed by a key nobody published, under a fresh random kid."""
    return sign(svid_claims(authority), AuthorityKey.generate())


def test_logins_with_a_known_kid_reuse_the_cached_keys(api: Api, provider: DiscoveryProvider,
                                                       authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    for _ in range(10):
        assert api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert provider.fetches("/keys") == 1
    assert provider.fetches(DISCOVERY) == 1


def test_identities_sharing_a_discovery_url_share_its_keys(api: Api, provider: DiscoveryProvider,
                                                           authority: JwtSvidAuthority) -> None:
    first = api.identity_with_oidc(provider)
    second = api.identity_with_oidc(provider)
    assert api.login(first, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert api.login(second, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert provider.fetches("/keys") == 1


def test_an_unknown_kid_triggers_one_refetch(quick_api: Api, provider: DiscoveryProvider,
                                             authority: JwtSvidAuthority) -> None:
    identity_id = quick_api.identity_with_oidc(provider)
    assert quick_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert provider.fetches("/keys") == 1
    time.sleep(SHORT_COOLDOWN + 0.1)

    assert_api_error(quick_api.login(identity_id, stranger_token(authority)), 401, "UnauthorizedError", "not found")
    assert provider.fetches("/keys") == 2
    # Known kids still need no fetch.
    assert quick_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert provider.fetches("/keys") == 2


def test_spire_key_rotation_is_followed(quick_api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = quick_api.identity_with_oidc(provider)
    old_key = authority.active
    assert quick_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    time.sleep(SHORT_COOLDOWN + 0.1)

    # SPIRE publishes the next key ahead of time, then starts signing with it.
    new_key = authority.prepare_key()
    authority.activate(new_key)
    response = quick_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))

    assert response.status_code == 200, response.text
    assert provider.fetches("/keys") == 2
    # SVIDs signed before the rotation stay valid while the old key is published; no further fetch.
    assert quick_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE], key=old_key)).status_code == 200
    assert quick_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert provider.fetches("/keys") == 2


def test_a_flood_of_unknown_kids_fetches_at_most_once_per_cooldown(api: Api, provider: DiscoveryProvider,
                                                                   authority: JwtSvidAuthority) -> None:
    # The default cool-down (10 s) is longer than this test: one fetch in all.
    identity_id = api.identity_with_oidc(provider)
    for _ in range(30):
        assert_api_error(api.login(identity_id, stranger_token(authority)), 401, "UnauthorizedError", "not found")
    assert provider.fetches("/keys") == 1
    assert provider.fetches(DISCOVERY) == 1
    assert api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert provider.fetches("/keys") == 1


def test_a_sustained_flood_is_held_to_one_fetch_per_cooldown(quick_api: Api, provider: DiscoveryProvider,
                                                             authority: JwtSvidAuthority) -> None:
    identity_id = quick_api.identity_with_oidc(provider)
    started = time.monotonic()
    attempts = 0
    while time.monotonic() - started < 3 * SHORT_COOLDOWN:
        assert quick_api.login(identity_id, stranger_token(authority)).status_code == 401
        attempts += 1
    elapsed = time.monotonic() - started
    assert attempts > 20
    assert 2 <= provider.fetches("/keys") <= 1 + int(elapsed / SHORT_COOLDOWN) + 1


def test_concurrent_logins_share_one_fetch(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    # A slow issuer keeps the first fetch in flight while the other logins arrive.
    provider.failure = "slow"
    provider.slow_seconds = 0.3
    tokens = [authority.mint(SPIFFE_ID, [AUDIENCE]) for _ in range(8)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(tokens))

    def log_in(token: str) -> None:
        with httpx.Client(base_url=api.server.url, timeout=30) as client:
            barrier.wait()
            response = client.post("/api/v1/auth/oidc-auth/login", json={"identityId": identity_id, "jwt": token})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=log_in, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200] * len(tokens)
    assert provider.fetches("/keys") == 1
    assert provider.fetches(DISCOVERY) == 1


def test_concurrent_unknown_kids_share_one_refetch(quick_api: Api, provider: DiscoveryProvider,
                                                   authority: JwtSvidAuthority) -> None:
    identity_id = quick_api.identity_with_oidc(provider)
    assert quick_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    time.sleep(SHORT_COOLDOWN + 0.1)
    provider.failure = "slow"
    provider.slow_seconds = 0.05
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def log_in() -> None:
        with httpx.Client(base_url=quick_api.server.url, timeout=30) as client:
            token = stranger_token(authority)
            barrier.wait()
            response = client.post("/api/v1/auth/oidc-auth/login", json={"identityId": identity_id, "jwt": token})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=log_in) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [401] * 6
    assert provider.fetches("/keys") == 2
