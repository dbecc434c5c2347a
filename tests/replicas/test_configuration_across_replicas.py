"""What one replica changes, every other replica applies on the next request: bindings, trusted IPs, client addresses."""

from __future__ import annotations

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID
from tests.replicas.conftest import ReplicaSet, database_only
from tests.support import assert_api_error

OTHER_SPIFFE_ID = "spiffe://example.org/batch/nightly-report"


def test_a_bound_subject_changed_on_one_replica_applies_to_the_next_login_on_another(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    # Replica 1 logs in first, so it holds the key set, and anything else it might cache, from before the change.
    assert replicas.login(1, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert_api_error(replicas.login(1, identity_id, authority.mint(OTHER_SPIFFE_ID, [AUDIENCE])), 403,
                     "ForbiddenError", "subject not allowed")

    changed = replicas.admin(0, "PATCH", f"/api/v1/auth/oidc-auth/identities/{identity_id}",
                             json={"boundSubject": "spiffe://example.org/batch/*"})
    assert changed.status_code == 200, changed.text

    assert_api_error(replicas.login(1, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])), 403,
                     "ForbiddenError", "subject not allowed")
    assert replicas.login(1, identity_id, authority.mint(OTHER_SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert replicas.login(2, identity_id, authority.mint(OTHER_SPIFFE_ID, [AUDIENCE])).status_code == 200


@database_only
def test_an_audience_changed_on_one_replica_applies_to_the_next_login_on_another(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    assert replicas.login(2, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    changed = replicas.admin(0, "PATCH", f"/api/v1/auth/oidc-auth/identities/{identity_id}",
                             json={"boundAudiences": "vault"})
    assert changed.status_code == 200, changed.text
    assert_api_error(replicas.login(2, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])), 401,
                     "UnauthorizedError", "audience not allowed")


@database_only
def test_trusted_ips_changed_on_one_replica_apply_to_tokens_on_another(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    token = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert replicas.probe(1, token).status_code == 200
    changed = replicas.admin(0, "PATCH", f"/api/v1/auth/oidc-auth/identities/{identity_id}",
                             json={"accessTokenTrustedIps": [{"ipAddress": "10.0.0.0/8"}]})
    assert changed.status_code == 200, changed.text
    assert_api_error(replicas.probe(1, token), 403, "ForbiddenError", "IP address")
    assert_api_error(replicas.probe(2, token), 403, "ForbiddenError", "IP address")


# -- the client address ------------------------------------------------------------------------


@database_only
def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_trusted_ip_decision(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider, accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}])
    token = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    # 127.0.0.1 is not the trusted proxy: it is the client, whatever address it claims.
    for index in range(3):
        assert_api_error(replicas.probe(index, token, headers={"X-Forwarded-For": "10.1.2.3"}), 403,
                         "ForbiddenError", "IP address")


@database_only
def test_from_the_trusted_proxy_the_forwarded_address_decides(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider, accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}])
    token = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    for index in range(3):
        with replicas.via_proxy(index) as proxy:
            assert replicas.probe(index, token, client=proxy, headers={"X-Forwarded-For": "10.1.2.3"}
                                  ).status_code == 200
            # Without a forwarded address the proxy itself is the client, and it is not in 10.0.0.0/8.
            assert_api_error(replicas.probe(index, token, client=proxy), 403, "ForbiddenError", "IP address")
            # The proxy appends the address it saw; what stands left of it was written by the client.
            assert_api_error(
                replicas.probe(index, token, client=proxy, headers={"X-Forwarded-For": "10.9.9.9, 192.168.1.5"}),
                403, "ForbiddenError", "IP address",
            )
            # The same when the proxy adds a header line of its own after the client's (HAProxy does).
            two_lines = [("X-Forwarded-For", "10.9.9.9"), ("X-Forwarded-For", "192.168.1.5")]
            assert_api_error(replicas.probe(index, token, client=proxy, headers=two_lines), 403, "ForbiddenError")


@database_only
def test_behind_the_proxy_only_the_configured_forwarded_header_is_read(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    # STRONGROOM_FORWARDED_HEADERS=x-forwarded-for: X-Client-IP (first in Infisical's order) and the others
    # are passed through by a proxy that only sets X-Forwarded-For, so they are the client's own words.
    identity_id = replicas.identity_with_oidc(provider, accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}])
    token = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    with replicas.via_proxy(1) as proxy:
        for name in ("X-Client-IP", "CF-Connecting-IP", "X-Real-IP", "True-Client-IP"):
            assert_api_error(
                replicas.probe(1, token, client=proxy, headers={name: "10.1.2.3", "X-Forwarded-For": "192.168.1.5"}),
                403, "ForbiddenError", "IP address",
            )
