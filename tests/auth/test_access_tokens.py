"""Access tokens issued by OIDC login: use limits, expiry, renewal, revocation and trusted IP ranges."""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from strongroom.store.models import new_time_ordered_id
from tests.conftest import AUDIENCE, SPIFFE_ID, Api, bootstrap, make_settings, start_server
from tests.support import assert_api_error, unverified_payload

RENEW = "/api/v1/auth/token/renew"
REVOKE = "/api/v1/auth/token/revoke"


def start_of_a_second() -> None:
    """Sleep to just past a whole second: a token's iat and exp are whole seconds, so short TTLs are exact from here."""
    time.sleep(1.02 - time.time() % 1)


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def login(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority, **fields: object) -> tuple[str, str]:
    identity_id = api.identity_with_oidc(provider, role="member", **fields)
    return identity_id, api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))


# -- use limits ---------------------------------------------------------------------------------


def test_token_with_use_limit_works_exactly_that_many_times(api: Api, provider: DiscoveryProvider,
                                                            authority: JwtSvidAuthority) -> None:
    _, token = login(api, provider, authority, accessTokenNumUsesLimit=3)
    for use in range(3):
        assert api.probe(token).status_code == 200, f"use {use + 1} of 3 was refused"
    assert_api_error(api.probe(token), 401, "UnauthorizedError", "usage limit")
    assert_api_error(api.probe(token), 401, "UnauthorizedError", "usage limit")


def test_a_use_counts_even_when_the_request_is_then_denied(api: Api, provider: DiscoveryProvider,
                                                           authority: JwtSvidAuthority) -> None:
    _, token = login(api, provider, authority, accessTokenNumUsesLimit=2)
    forbidden = api.as_token(token, "POST", "/api/v1/identities", json={"name": "x", "organizationId": api.org_id})
    assert_api_error(forbidden, 403, "PermissionDenied")
    assert api.probe(token).status_code == 200
    assert_api_error(api.probe(token), 401, "UnauthorizedError", "usage limit")


def test_renewal_keeps_the_use_count(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    _, token = login(api, provider, authority, accessTokenNumUsesLimit=2)
    assert api.probe(token).status_code == 200
    renewed = api.client.post(RENEW, json={"accessToken": token})
    assert renewed.status_code == 200, renewed.text
    new_token = renewed.json()["accessToken"]
    assert api.probe(new_token).status_code == 200
    assert_api_error(api.probe(new_token), 401, "UnauthorizedError", "usage limit")
    assert_api_error(api.client.post(RENEW, json={"accessToken": new_token}), 401, "UnauthorizedError", "limit reached")


# -- expiry ---------------------------------------------------------------------------------------


def test_token_expires_after_its_ttl(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, role="member", accessTokenTTL=2, accessTokenMaxTTL=10)
    start_of_a_second()
    response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert response.status_code == 200, response.text
    assert response.json()["expiresIn"] == 2
    token = response.json()["accessToken"]
    payload = unverified_payload(token)
    assert payload["exp"] - payload["iat"] == 2
    assert api.probe(token).status_code == 200

    sleep_until(payload["exp"] + 0.1)

    assert_api_error(api.probe(token), 403, "TokenError", "Your token has expired")
    assert_api_error(api.client.post(RENEW, json={"accessToken": token}), 403, "TokenError", "expired")


def test_ttl_zero_issues_a_token_without_expiry_bounded_by_max_ttl(api: Api, provider: DiscoveryProvider,
                                                                   authority: JwtSvidAuthority) -> None:
    identity_id, token = login(api, provider, authority, accessTokenTTL=0, accessTokenMaxTTL=600)
    payload = unverified_payload(token)
    assert payload["exp"] - payload["iat"] == 600


# -- renewal --------------------------------------------------------------------------------------


def test_renew_returns_a_new_token_with_a_fresh_expiry_and_retires_the_old_one(
    api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    identity_id = api.identity_with_oidc(provider, role="member", accessTokenTTL=2, accessTokenMaxTTL=60)
    start_of_a_second()
    old = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    old_exp = unverified_payload(old)["exp"]
    time.sleep(1)

    response = api.client.post(RENEW, json={"accessToken": old})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"accessToken": body["accessToken"], "expiresIn": 2, "accessTokenMaxTTL": 60, "tokenType": "Bearer"}
    new = body["accessToken"]
    assert new != old
    assert unverified_payload(new)["exp"] > old_exp
    assert unverified_payload(new)["identityAccessTokenId"] == unverified_payload(old)["identityAccessTokenId"]
    assert_api_error(api.probe(old), 401, "UnauthorizedError", "No identity access token found")
    assert_api_error(api.client.post(RENEW, json={"accessToken": old}), 401, "UnauthorizedError")
    assert api.probe(new).status_code == 200
    sleep_until(old_exp + 0.1)
    assert api.probe(new).status_code == 200, "the renewed token must outlive the original expiry"


def test_renew_never_extends_past_the_max_ttl(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, role="member", accessTokenTTL=2, accessTokenMaxTTL=3)
    start_of_a_second()
    token = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    issued = time.time()  # the token was created no later than this
    iat = unverified_payload(token)["iat"]
    sleep_until(max(iat + 1.5, issued + 1.05))

    response = api.client.post(RENEW, json={"accessToken": token})

    # Less than 2 s of the 3 s budget are left: the renewed token is cut short (or refused), never given a full TTL.
    if response.status_code == 200:
        body = response.json()
        assert 0 < body["expiresIn"] <= 1
        assert body["accessTokenMaxTTL"] == 3
        assert unverified_payload(body["accessToken"])["exp"] <= issued + 3
    else:
        assert_api_error(response, 401, "UnauthorizedError", "Max TTL")


def test_renew_is_refused_once_the_max_ttl_is_spent(api: Api, provider: DiscoveryProvider,
                                                    authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, role="member", accessTokenTTL=3, accessTokenMaxTTL=3)
    start_of_a_second()
    token = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    issued = time.time()
    # Less than a second of the budget left, while the token itself (exp = iat + 3) is still valid.
    sleep_until(max(unverified_payload(token)["iat"] + 2.3, issued + 2.05))

    assert_api_error(api.client.post(RENEW, json={"accessToken": token}), 401, "UnauthorizedError", "Max TTL")
    # Refusing the renewal does not end the token: it lives out its own expiry.
    assert api.probe(token).status_code == 200


def test_renew_and_revoke_ignore_the_authorization_header(api: Api, provider: DiscoveryProvider,
                                                          authority: JwtSvidAuthority) -> None:
    _, token = login(api, provider, authority)
    stale = {"Authorization": "Bearer not.a.token"}
    renewed = api.client.post(RENEW, json={"accessToken": token}, headers=stale)
    assert renewed.status_code == 200, renewed.text
    revoked = api.client.post(REVOKE, json={"accessToken": renewed.json()["accessToken"]}, headers=stale)
    assert revoked.status_code == 200, revoked.text


@pytest.mark.parametrize("endpoint", [RENEW, REVOKE])
def test_renew_and_revoke_refuse_malformed_tokens_with_token_error(api: Api, endpoint: str) -> None:
    assert_api_error(api.client.post(endpoint, json={"accessToken": "not-a-token"}), 403, "TokenError", "malformed")
    response = api.client.post(endpoint, json={})
    assert_api_error(response, 422, "ValidationFailure")
    assert response.json()["message"][0]["path"] == ["accessToken"]


# -- revocation ----------------------------------------------------------------------------------


def test_revoked_token_is_refused_and_cannot_be_revoked_or_renewed_again(api: Api, provider: DiscoveryProvider,
                                                                          authority: JwtSvidAuthority) -> None:
    _, token = login(api, provider, authority)
    assert api.probe(token).status_code == 200

    response = api.client.post(REVOKE, json={"accessToken": token})

    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Successfully revoked access token"}
    assert_api_error(api.probe(token), 401, "UnauthorizedError", "No identity access token found")
    assert_api_error(api.client.post(REVOKE, json={"accessToken": token}), 401, "UnauthorizedError")
    assert_api_error(api.client.post(RENEW, json={"accessToken": token}), 401, "UnauthorizedError")


def test_revoking_one_token_leaves_the_identitys_other_tokens_alone(api: Api, provider: DiscoveryProvider,
                                                                    authority: JwtSvidAuthority) -> None:
    identity_id, first = login(api, provider, authority)
    second = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert api.client.post(REVOKE, json={"accessToken": first}).status_code == 200
    assert api.probe(second).status_code == 200


def test_token_signed_with_another_servers_key_is_refused(api: Api, provider: DiscoveryProvider,
                                                          authority: JwtSvidAuthority, tmp_path: Path) -> None:
    other = start_server(make_settings(tmp_path, None))
    try:
        foreign = bootstrap(other).admin_token
    finally:
        other.stop()
    assert_api_error(api.probe(foreign), 403, "TokenError", "invalid signature")


# -- trusted IPs --------------------------------------------------------------------------------------


def test_trusted_ips_refuse_clients_outside_the_ranges(api: Api, provider: DiscoveryProvider,
                                                       authority: JwtSvidAuthority) -> None:
    # The login itself is not IP-checked (as Infisical); every use of the token is.
    _, token = login(api, provider, authority, accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}])
    assert_api_error(api.probe(token), 403, "ForbiddenError", "from the current IP address")


@pytest.mark.parametrize("allowed", ["127.0.0.1/32", "127.0.0.1", "127.0.0.0/8"])
def test_trusted_ips_admit_clients_inside_the_ranges(api: Api, provider: DiscoveryProvider,
                                                     authority: JwtSvidAuthority, allowed: str) -> None:
    _, token = login(api, provider, authority,
                     accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}, {"ipAddress": allowed}])
    response = api.probe(token)
    assert response.status_code == 200, response.text


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(api: Api, provider: DiscoveryProvider,
                                                              authority: JwtSvidAuthority) -> None:
    # No STRONGROOM_TRUSTED_PROXIES: the socket peer (127.0.0.1) is the client, whatever it claims.
    _, outside = login(api, provider, authority, accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}])
    _, loopback = login(api, provider, authority, accessTokenTrustedIps=[{"ipAddress": "127.0.0.1/32"}])
    for name in ("X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP", "True-Client-IP", "X-Client-IP", "Forwarded"):
        value = "for=10.1.2.3" if name == "Forwarded" else "10.1.2.3"
        assert_api_error(api.probe(outside, headers={name: value}), 403, "ForbiddenError", "IP address")
        assert api.probe(loopback, headers={name: value}).status_code == 200, name


def test_trusted_ip_changes_apply_to_tokens_already_issued(api: Api, provider: DiscoveryProvider,
                                                           authority: JwtSvidAuthority) -> None:
    identity_id, token = login(api, provider, authority)
    assert api.probe(token).status_code == 200
    oidc = f"/api/v1/auth/oidc-auth/identities/{identity_id}"
    assert api.admin("PATCH", oidc, json={"accessTokenTrustedIps": [{"ipAddress": "10.0.0.0/8"}]}).status_code == 200
    assert_api_error(api.probe(token), 403, "ForbiddenError", "IP address")
    assert api.admin("PATCH", oidc, json={"accessTokenTrustedIps": [{"ipAddress": "127.0.0.1"}]}).status_code == 200
    assert api.probe(token).status_code == 200


@pytest.fixture(scope="module")
def proxied_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server behind a reverse proxy at 127.0.0.1 (STRONGROOM_TRUSTED_PROXIES=127.0.0.1/32)."""
    settings = make_settings(tmp_path_factory.mktemp("proxied"), None,
                             trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    server = start_server(settings)
    api = bootstrap(server)
    yield api
    api.client.close()
    server.stop()


@pytest.mark.parametrize(
    "headers,admitted",
    [
        ({"X-Forwarded-For": "10.1.2.3"}, True),
        ({"Forwarded": "for=10.1.2.3;proto=https"}, True),
        ({"X-Real-IP": "10.1.2.3"}, True),
        # The proxy appends the address it saw; anything left of it was written by the client.
        ({"X-Forwarded-For": "192.168.1.5, 10.1.2.3"}, True),
        ({"X-Forwarded-For": "10.9.9.9, 192.168.1.5"}, False),
        ({"X-Forwarded-For": "10.1.2.3, 127.0.0.1"}, True),
        ({}, False),
    ],
    ids=["xff", "forwarded", "x-real-ip", "xff-nearest-hop-inside", "xff-spoofed-left-hop", "xff-through-two-proxies",
         "no-header-means-the-proxy-itself"],
)
def test_behind_a_trusted_proxy_the_forwarded_address_decides(proxied_api: Api, provider: DiscoveryProvider,
                                                               authority: JwtSvidAuthority, headers: dict[str, str],
                                                               admitted: bool) -> None:
    _, token = login(proxied_api, provider, authority, accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}])
    response = proxied_api.probe(token, headers=headers)
    if admitted:
        assert response.status_code == 200, response.text
    else:
        assert_api_error(response, 403, "ForbiddenError", "IP address")


def test_behind_a_trusted_proxy_the_proxys_own_address_is_not_the_client(proxied_api: Api, provider: DiscoveryProvider,
                                                                          authority: JwtSvidAuthority) -> None:
    _, token = login(proxied_api, provider, authority, accessTokenTrustedIps=[{"ipAddress": "127.0.0.1/32"}])
    assert_api_error(proxied_api.probe(token, headers={"X-Forwarded-For": "10.1.2.3"}), 403, "ForbiddenError")
    assert proxied_api.probe(token).status_code == 200


def test_a_trusted_ip_written_as_ipv4_mapped_ipv6_matches_the_ipv4_client(api: Api, provider: DiscoveryProvider,
                                                                          authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, role="member", accessTokenTrustedIps=[{"ipAddress": "::ffff:127.0.0.1"}])
    stored = api.admin("GET", f"/api/v1/auth/oidc-auth/identities/{identity_id}").json()["identityOidcAuth"]
    assert stored["accessTokenTrustedIps"] == [{"ipAddress": "127.0.0.1", "type": "ipv4"}]
    token = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert api.probe(token).status_code == 200


def test_token_records_get_time_ordered_uuids() -> None:
    # Issued one after another, token ids sort in issue order: each insert lands at the end of the
    # primary-key index rather than on a random page of it (the --scale benchmark's login).
    first = new_time_ordered_id()
    time.sleep(0.002)
    second = new_time_ordered_id()
    assert first < second
    for made in (first, second):
        parsed = uuid.UUID(made)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert len({new_time_ordered_id() for _ in range(1000)}) == 1000
