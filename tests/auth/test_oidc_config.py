"""Configuring OIDC Auth on an identity: ``/api/v1/auth/oidc-auth/identities/{identityId}``."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority, ServerCertificate
from strongroom.store.models import IdentityAccessToken, IdentityOidcAuth
from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.support import assert_api_error

RESPONSE_KEYS = {
    "id", "accessTokenTTL", "accessTokenMaxTTL", "accessTokenNumUsesLimit", "accessTokenTrustedIps", "identityId",
    "oidcDiscoveryUrl", "boundIssuer", "boundAudiences", "boundClaims", "claimMetadataMapping", "boundSubject",
    "createdAt", "updatedAt", "caCert",
}
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def path(identity_id: str) -> str:
    return f"/api/v1/auth/oidc-auth/identities/{identity_id}"


def self_signed_ca_pem() -> str:
    return ServerCertificate.for_hosts("127.0.0.1").ca_pem


def stored(api: Api, identity_id: str) -> dict[str, Any]:
    """The configuration as GET reports it (Infisical's keys; GET may add Strongroom's own beside them)."""
    response = api.admin("GET", path(identity_id))
    assert response.status_code == 200, response.text
    config = response.json()["identityOidcAuth"]
    assert RESPONSE_KEYS <= set(config)
    return {key: config[key] for key in RESPONSE_KEYS}


# -- attach -------------------------------------------------------------------------------


def test_attach_applies_infisical_defaults(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.create_identity()
    response = api.admin("POST", path(identity_id), json={
        "oidcDiscoveryUrl": provider.url, "boundIssuer": provider.issuer, "boundClaims": {},
    })

    assert response.status_code == 200, response.text
    config = response.json()["identityOidcAuth"]
    assert set(config) == RESPONSE_KEYS
    assert config["identityId"] == identity_id
    assert uuid.UUID(config["id"])
    assert config["accessTokenTTL"] == 2592000
    assert config["accessTokenMaxTTL"] == 2592000
    assert config["accessTokenNumUsesLimit"] == 0
    assert config["accessTokenTrustedIps"] == [
        {"ipAddress": "0.0.0.0", "type": "ipv4", "prefix": 0},
        {"ipAddress": "::", "type": "ipv6", "prefix": 0},
    ]
    assert config["caCert"] == ""
    assert config["boundAudiences"] == "" and config["boundSubject"] == "" and config["boundClaims"] == {}
    assert config["claimMetadataMapping"] is None
    assert ISO_MILLIS.match(config["createdAt"]) and ISO_MILLIS.match(config["updatedAt"])
    assert stored(api, identity_id) == config


def test_attach_stores_trusted_ips_in_infisical_form(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.create_identity()
    response = api.attach_oidc(identity_id, provider, accessTokenTrustedIps=[
        {"ipAddress": "10.0.0.0/8"}, {"ipAddress": " 192.168.1.7 "}, {"ipAddress": "2001:db8::/32"},
        {"ipAddress": "172.16.5.4/12"},
    ])
    assert response.status_code == 200, response.text
    assert response.json()["identityOidcAuth"]["accessTokenTrustedIps"] == [
        {"ipAddress": "10.0.0.0", "type": "ipv4", "prefix": 8},
        {"ipAddress": "192.168.1.7", "type": "ipv4"},  # a plain address has no prefix
        {"ipAddress": "2001:db8::", "type": "ipv6", "prefix": 32},
        {"ipAddress": "172.16.0.0", "type": "ipv4", "prefix": 12},
    ]


def test_attach_normalises_pattern_lists_to_comma_space_joins(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.create_identity()
    response = api.attach_oidc(
        identity_id, provider,
        boundAudiences=" strongroom,vault ,  infi* ,",
        boundClaims={"env": "prod,staging", "k8s.ns": " a , b "},
        claimMetadataMapping={"namespace": " k8s.ns "},
    )
    assert response.status_code == 200, response.text
    config = response.json()["identityOidcAuth"]
    assert config["boundAudiences"] == "strongroom, vault, infi*"
    assert config["boundClaims"] == {"env": "prod, staging", "k8s.ns": "a, b"}
    assert config["claimMetadataMapping"] == {"namespace": "k8s.ns"}
    assert stored(api, identity_id)["boundAudiences"] == "strongroom, vault, infi*"


def test_attach_drops_unknown_fields(api: Api, provider: DiscoveryProvider) -> None:
    # Terraform sends identityId inside the body.
    identity_id = api.create_identity()
    response = api.attach_oidc(identity_id, provider, identityId=identity_id, somethingElse={"x": 1})
    assert response.status_code == 200, response.text
    assert "somethingElse" not in response.json()["identityOidcAuth"]


REFUSED_ATTACHES: dict[str, tuple[dict[str, Any], int, str]] = {
    "ttl-above-max-ttl": ({"accessTokenTTL": 7200, "accessTokenMaxTTL": 3600}, 400, "TTL cannot be greater than max TTL"),
    "ttl-above-ten-years": ({"accessTokenTTL": 315360001, "accessTokenMaxTTL": 0}, 422, ""),
    "negative-uses-limit": ({"accessTokenNumUsesLimit": -1}, 422, ""),
    "cidr-prefix-too-long": ({"accessTokenTrustedIps": [{"ipAddress": "10.0.0.0/33"}]}, 400, "not a valid IPv4"),
    "not-an-address": ({"accessTokenTrustedIps": [{"ipAddress": "localhost"}]}, 400, "not a valid IPv4"),
    "one-bad-address-among-good": (
        {"accessTokenTrustedIps": [{"ipAddress": "10.0.0.0/8"}, {"ipAddress": "300.1.1.1"}]}, 400, "not a valid IPv4"),
    "no-trusted-ips": ({"accessTokenTrustedIps": []}, 422, ""),
    "ca-cert-not-pem": ({"caCert": "this is not a certificate"}, 400, "caCert"),
    "ca-cert-truncated-pem": ({"caCert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}, 400, "caCert"),
    "audiences-only-commas": ({"boundAudiences": " , "}, 400, "boundAudiences"),
    "bound-claim-empty-value": ({"boundClaims": {"env": ""}}, 400, "boundClaims"),
    "bound-claim-blank-value": ({"boundClaims": {"env": " , "}}, 400, "boundClaims"),
    "bound-claim-empty-name": ({"boundClaims": {" ": "prod"}}, 400, "boundClaims"),
    "bound-claim-number-value": ({"boundClaims": {"tier": 1}}, 422, ""),
    "metadata-mapping-empty-path": ({"claimMetadataMapping": {"ns": ""}}, 400, "claimMetadataMapping"),
    "discovery-url-not-http": ({"oidcDiscoveryUrl": "ftp://oidc.example.org"}, 400, "oidcDiscoveryUrl"),
    "discovery-url-not-a-url": ({"oidcDiscoveryUrl": "oidc.example.org"}, 400, "oidcDiscoveryUrl"),
    "discovery-url-with-credentials": ({"oidcDiscoveryUrl": "https://user:pass@oidc.example.org"}, 400, "credentials"),
    "discovery-url-empty": ({"oidcDiscoveryUrl": ""}, 422, ""),
}


@pytest.mark.parametrize("fields,status,naming", REFUSED_ATTACHES.values(), ids=REFUSED_ATTACHES.keys())
def test_attach_refuses_invalid_configuration_and_stores_nothing(api: Api, provider: DiscoveryProvider,
                                                                  fields: dict[str, Any], status: int, naming: str) -> None:
    identity_id = api.create_identity()
    response = api.attach_oidc(identity_id, provider, **fields)
    assert_api_error(response, status, "ValidationFailure" if status == 422 else "BadRequest", naming)
    if status == 422:
        assert isinstance(response.json()["message"], list)
    assert api.count_rows(IdentityOidcAuth, identity_id=identity_id) == 0
    assert_api_error(api.admin("GET", path(identity_id)), 400, "BadRequest", "does not have OIDC Auth attached")
    # The identity can still be configured properly afterwards.
    assert api.attach_oidc(identity_id, provider).status_code == 200


def test_attach_accepts_a_pem_ca_certificate(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.create_identity()
    pem = self_signed_ca_pem()
    response = api.attach_oidc(identity_id, provider, caCert=f"\n{pem}\n")
    assert response.status_code == 200, response.text
    assert response.json()["identityOidcAuth"]["caCert"] == pem.strip()
    assert stored(api, identity_id)["caCert"] == pem.strip()


def test_second_attach_is_refused_and_keeps_the_first(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.identity_with_oidc(provider, boundSubject="spiffe://example.org/first")
    response = api.attach_oidc(identity_id, provider, boundSubject="spiffe://example.org/second")
    assert_api_error(response, 400, "BadRequest", "already configured")
    assert stored(api, identity_id)["boundSubject"] == "spiffe://example.org/first"
    assert api.count_rows(IdentityOidcAuth, identity_id=identity_id) == 1


def test_attach_to_unknown_identity_is_404(api: Api, provider: DiscoveryProvider) -> None:
    assert_api_error(api.attach_oidc(str(uuid.uuid4()), provider), 404, "NotFound", "Failed to find identity")


# -- read ---------------------------------------------------------------------------------------------


def test_get_without_oidc_auth_is_400(api: Api) -> None:
    identity_id = api.create_identity()
    assert_api_error(api.admin("GET", path(identity_id)), 400, "BadRequest", "does not have OIDC Auth attached")


@pytest.mark.parametrize("identity_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["random-uuid", "not-a-uuid"])
def test_get_for_unknown_identity_is_404(api: Api, identity_id: str) -> None:
    assert_api_error(api.admin("GET", path(identity_id)), 404, "NotFound", "Failed to find identity")


# -- update -------------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.identity_with_oidc(
        provider, boundClaims={"env": "prod"}, accessTokenTTL=600, accessTokenMaxTTL=3600,
        accessTokenTrustedIps=[{"ipAddress": "10.0.0.0/8"}],
    )
    before = stored(api, identity_id)

    response = api.admin("PATCH", path(identity_id), json={"boundSubject": "spiffe://example.org/ns/*/sa/api",
                                                            "boundAudiences": "a,b"})

    assert response.status_code == 200, response.text
    after = response.json()["identityOidcAuth"]
    assert after["boundSubject"] == "spiffe://example.org/ns/*/sa/api"
    assert after["boundAudiences"] == "a, b"
    unchanged = RESPONSE_KEYS - {"boundSubject", "boundAudiences", "updatedAt"}
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}
    assert stored(api, identity_id) == after


def test_patch_checks_ttl_against_the_stored_max_ttl(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.identity_with_oidc(provider, accessTokenTTL=600, accessTokenMaxTTL=3600)
    response = api.admin("PATCH", path(identity_id), json={"accessTokenTTL": 7200})
    assert_api_error(response, 400, "BadRequest", "TTL cannot be greater than max TTL")
    response = api.admin("PATCH", path(identity_id), json={"accessTokenMaxTTL": 60})
    assert_api_error(response, 400, "BadRequest", "TTL cannot be greater than max TTL")
    assert (stored(api, identity_id)["accessTokenTTL"], stored(api, identity_id)["accessTokenMaxTTL"]) == (600, 3600)
    response = api.admin("PATCH", path(identity_id), json={"accessTokenTTL": 7200, "accessTokenMaxTTL": 7200})
    assert response.status_code == 200, response.text


def test_refused_patch_stores_nothing(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.identity_with_oidc(provider, boundSubject="spiffe://example.org/before")
    before = stored(api, identity_id)
    # The first fields are valid; the CA is not, so none of them may stick.
    response = api.admin("PATCH", path(identity_id), json={
        "boundSubject": "spiffe://example.org/after", "oidcDiscoveryUrl": "https://elsewhere.example.org",
        "caCert": "not a certificate",
    })
    assert_api_error(response, 400, "BadRequest", "caCert")
    assert stored(api, identity_id) == before


def test_patch_accepts_a_pem_ca_certificate_and_an_empty_one_clears_it(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.identity_with_oidc(provider)
    pem = self_signed_ca_pem()
    response = api.admin("PATCH", path(identity_id), json={"caCert": pem})
    assert response.status_code == 200, response.text
    assert stored(api, identity_id)["caCert"] == pem.strip()
    assert api.admin("PATCH", path(identity_id), json={"caCert": ""}).status_code == 200
    assert stored(api, identity_id)["caCert"] == ""


def test_patch_without_oidc_auth_is_400(api: Api) -> None:
    identity_id = api.create_identity()
    response = api.admin("PATCH", path(identity_id), json={"boundSubject": "x"})
    assert_api_error(response, 400, "BadRequest", "Failed to update OIDC Auth")


def test_changed_bindings_apply_to_the_next_login(api: Api, provider: DiscoveryProvider,
                                                  authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    assert api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert api.admin("PATCH", path(identity_id), json={"boundSubject": "spiffe://example.org/other"}).status_code == 200
    assert_api_error(api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])), 403, "ForbiddenError", "subject")


# -- revoke -------------------------------------------------------------------------------------------


def test_revoking_oidc_auth_revokes_the_tokens_it_issued(api: Api, provider: DiscoveryProvider,
                                                         authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, role="member")
    tokens = [api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])) for _ in range(2)]
    for token in tokens:
        assert api.probe(token).status_code == 200

    response = api.admin("DELETE", path(identity_id))

    assert response.status_code == 200, response.text
    assert set(response.json()["identityOidcAuth"]) == RESPONSE_KEYS - {"caCert"}
    for token in tokens:
        assert_api_error(api.probe(token), 401, "UnauthorizedError")
    assert api.count_rows(IdentityAccessToken, identity_id=identity_id, is_revoked=False) == 0
    assert api.count_rows(IdentityOidcAuth, identity_id=identity_id) == 0
    assert_api_error(api.admin("GET", path(identity_id)), 400, "BadRequest")
    assert_api_error(api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])), 404, "NotFound")
    # The identity and its other tokens are untouched, and OIDC Auth can be attached again.
    assert api.admin("GET", f"/api/v1/identities/{identity_id}").status_code == 200
    assert api.attach_oidc(identity_id, provider).status_code == 200
    for token in tokens:
        assert_api_error(api.probe(token), 401, "UnauthorizedError")


def test_revoking_oidc_auth_leaves_other_identities_tokens_alone(api: Api, provider: DiscoveryProvider,
                                                                 authority: JwtSvidAuthority) -> None:
    revoked = api.identity_with_oidc(provider, role="member")
    kept = api.identity_with_oidc(provider, role="member")
    kept_token = api.access_token(kept, authority.mint(SPIFFE_ID, [AUDIENCE]))
    api.access_token(revoked, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert api.admin("DELETE", path(revoked)).status_code == 200
    assert api.probe(kept_token).status_code == 200


def test_revoke_without_oidc_auth_is_400(api: Api) -> None:
    identity_id = api.create_identity()
    assert_api_error(api.admin("DELETE", path(identity_id)), 400, "BadRequest", "does not have OIDC auth")


# -- who may configure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "no-access"])
def test_only_admins_may_attach_update_or_revoke_oidc_auth(api: Api, provider: DiscoveryProvider,
                                                            authority: JwtSvidAuthority, role: str) -> None:
    caller = api.identity_with_oidc(provider, role=role)
    token = api.access_token(caller, authority.mint(SPIFFE_ID, [AUDIENCE]))
    target = api.create_identity()
    configured = api.identity_with_oidc(provider)
    body = {"oidcDiscoveryUrl": provider.url, "boundIssuer": provider.issuer, "boundClaims": {}}

    assert_api_error(api.as_token(token, "POST", path(target), json=body), 403, "PermissionDenied")
    assert_api_error(api.as_token(token, "PATCH", path(configured), json={"boundSubject": "*"}), 403, "PermissionDenied")
    assert_api_error(api.as_token(token, "DELETE", path(configured)), 403, "PermissionDenied")
    assert api.count_rows(IdentityOidcAuth, identity_id=target) == 0
    assert stored(api, configured)["boundSubject"] == "spiffe://example.org/workload/*"
