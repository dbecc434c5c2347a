"""The key cache through SPIRE's real schedule and its failures, proven with real logins.

A dedicated server runs with short cache settings: a key set is fresh for 1 s,
refetches are at most one per 0.2 s, the last good set serves for 3 s while its
source fails, and a fetch may take 1 s.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Iterator

import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID, Api, bootstrap, make_settings, start_server

TTL = 1.0
COOLDOWN = 0.2
MAX_STALENESS = 3.0


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = replace(
        make_settings(tmp_path_factory.mktemp("cache"), None),
        jwks_cache_ttl_seconds=TTL,
        jwks_refresh_cooldown_seconds=COOLDOWN,
        jwks_max_staleness_seconds=MAX_STALENESS,
        http_fetch_timeout_seconds=1.0,
    )
    server = start_server(settings)
    api = bootstrap(server)
    yield api
    server.stop()


def login_status(api: Api, identity_id: str, authority: JwtSvidAuthority, **mint: object) -> int:
    return api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE], **mint)).status_code  # type: ignore[arg-type]


def test_key_published_before_it_signs_is_used_without_an_extra_fetch(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    identity_id = api.identity_with_oidc(provider)
    assert login_status(api, identity_id, authority) == 200
    next_key = authority.prepare_key()  # SPIRE publishes the next key long before it signs
    time.sleep(TTL + 0.1)
    assert login_status(api, identity_id, authority) == 200  # TTL refresh picks up the published key
    fetches = provider.fetches("/keys")
    authority.activate(next_key)
    assert login_status(api, identity_id, authority) == 200
    assert provider.fetches("/keys") == fetches
    old_key = authority.published[0]
    assert login_status(api, identity_id, authority, key=old_key) == 200  # still published, still valid


def test_a_key_removed_from_the_source_stops_working_after_the_next_refresh(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    identity_id = api.identity_with_oidc(provider)
    old_key = authority.active
    assert old_key is not None
    authority.activate(authority.prepare_key())
    assert login_status(api, identity_id, authority) == 200
    assert login_status(api, identity_id, authority, key=old_key) == 200
    authority.prune(old_key)
    time.sleep(TTL + 0.1)
    assert login_status(api, identity_id, authority) == 200  # refreshes
    response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE], key=old_key))
    assert response.status_code == 401
    assert f"signing key '{old_key.kid}' was not found" in response.json()["message"]


@pytest.mark.parametrize("failure", ["down", "garbage", "empty", "huge", "slow"])
def test_a_failing_source_is_bridged_by_the_last_good_keys_until_max_staleness(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority, failure: str
) -> None:
    identity_id = api.identity_with_oidc(provider)
    assert login_status(api, identity_id, authority) == 200
    started = time.monotonic()
    provider.failure, provider.slow_seconds = failure, 1.5
    time.sleep(TTL + 0.1)
    assert login_status(api, identity_id, authority) == 200  # stale but within max staleness
    time.sleep(max(0.0, MAX_STALENESS + 0.3 - (time.monotonic() - started)))
    response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert response.status_code == 401
    message = response.json()["message"]
    assert "Failed to fetch OIDC signing keys" in message and "staleness" in message
    expected_error = {
        "down": "HTTP 503", "garbage": "did not return JSON", "empty": "no usable JWT signing keys",
        "huge": "more than", "slow": "timed out",
    }[failure]
    assert expected_error in message
    provider.failure = None
    time.sleep(COOLDOWN + 0.1)
    assert login_status(api, identity_id, authority) == 200  # recovers on its own


def test_a_source_that_never_answered_refuses_logins_with_its_error(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    provider.failure = "garbage"
    identity_id = api.identity_with_oidc(provider)
    response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert response.status_code == 401
    assert "did not return JSON" in response.json()["message"]


def test_changing_the_discovery_url_drops_the_cached_keys_at_once(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    identity_id = api.identity_with_oidc(provider)
    assert login_status(api, identity_id, authority) == 200
    other_authority = JwtSvidAuthority()
    with DiscoveryProvider(other_authority) as other:
        other_authority.issuer = other.url
        response = api.admin(
            "PATCH", f"/api/v1/auth/oidc-auth/identities/{identity_id}",
            json={"oidcDiscoveryUrl": other.url, "boundIssuer": other.url},
        )
        assert response.status_code == 200, response.text
        assert login_status(api, identity_id, other_authority) == 200
        assert login_status(api, identity_id, authority) == 401  # the old issuer's keys are not trusted any more
        assert other.fetches("/keys") == 1


def test_changing_the_ca_certificate_forces_a_fresh_fetch(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority, ca_pem: str
) -> None:
    identity_id = api.identity_with_oidc(provider)
    assert login_status(api, identity_id, authority) == 200
    assert login_status(api, identity_id, authority) == 200
    assert provider.fetches("/keys") == 1
    response = api.admin("PATCH", f"/api/v1/auth/oidc-auth/identities/{identity_id}", json={"caCert": ca_pem})
    assert response.status_code == 200, response.text
    assert login_status(api, identity_id, authority) == 200
    assert provider.fetches("/keys") == 2


def test_discovery_document_must_name_the_configured_issuer(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    provider.advertised_issuer = "https://impostor.example.org"
    identity_id = api.identity_with_oidc(provider)
    response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert response.status_code == 401
    message = response.json()["message"]
    assert "https://impostor.example.org" in message and provider.issuer in message


def test_discovery_issuer_check_ignores_a_trailing_slash(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    provider.advertised_issuer = provider.issuer + "/"
    identity_id = api.identity_with_oidc(provider)
    assert login_status(api, identity_id, authority) == 200


def test_discovery_issuer_check_can_be_turned_off(
    tmp_path_factory: pytest.TempPathFactory, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    settings = replace(make_settings(tmp_path_factory.mktemp("noissuer"), None), check_discovery_issuer=False)
    server = start_server(settings)
    try:
        api = bootstrap(server)
        provider.advertised_issuer = "https://elsewhere.example.org"
        identity_id = api.identity_with_oidc(provider)
        assert login_status(api, identity_id, authority) == 200
    finally:
        server.stop()


def test_get_shows_what_was_fetched_and_refresh_keys_fetches_now(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    identity_id = api.identity_with_oidc(provider)
    path = f"/api/v1/auth/oidc-auth/identities/{identity_id}"
    before = api.admin("GET", path).json()["identityOidcAuth"]["keySet"]
    assert before["lastFetchedAt"] is None and before["keyCount"] == 0

    assert login_status(api, identity_id, authority) == 200
    key_set = api.admin("GET", path).json()["identityOidcAuth"]["keySet"]
    assert key_set["keysUrl"] == f"{provider.url}/keys"
    assert key_set["keyCount"] == 1 and key_set["keyIds"] == [authority.active.kid]  # type: ignore[union-attr]
    assert key_set["lastFetchedAt"].endswith("Z") and key_set["lastError"] is None

    authority.prepare_key()
    refreshed = api.admin("POST", f"{path}/refresh-keys")
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["keySet"]["keyCount"] == 2
    assert provider.fetches("/keys") == 2

    provider.failure = "down"
    failed = api.admin("POST", f"{path}/refresh-keys").json()["keySet"]
    assert "HTTP 503" in failed["lastError"] and failed["keyCount"] == 2  # the last good keys are kept


def test_refresh_keys_needs_an_org_admin(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    workload_token = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).json()["accessToken"]
    response = api.client.post(
        f"/api/v1/auth/oidc-auth/identities/{identity_id}/refresh-keys",
        headers={"Authorization": f"Bearer {workload_token}"},
    )
    assert response.status_code == 403

