"""SPIFFE Auth and JWT Auth beyond the shared matrix: SPIFFE-ID rules, trust domains, bundles, configuration."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives import serialization

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority, ServerCertificate
from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.support import assert_api_error, sign, svid_claims


@pytest.fixture(scope="module")
def tls_certificate() -> ServerCertificate:
    return ServerCertificate.for_hosts("127.0.0.1")


@pytest.fixture
def bundle_endpoint(authority: JwtSvidAuthority, tls_certificate: ServerCertificate) -> Iterator[DiscoveryProvider]:
    with DiscoveryProvider(authority, tls=tls_certificate) as running:
        yield running


def spiffe_config(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "trustDomain": "example.org",
        "allowedSpiffeIds": "spiffe://example.org/workload/*, spiffe://example.org/batch/**",
        "allowedAudiences": f"{AUDIENCE}, other-audience",
    }
    body.update(overrides)
    return body


def attach_spiffe(api: Api, body: dict[str, Any]) -> tuple[str, Any]:
    identity_id = api.create_identity()
    return identity_id, api.admin("POST", f"/api/v1/auth/spiffe-auth/identities/{identity_id}", json=body)


def static_spiffe_identity(api: Api, authority: JwtSvidAuthority, **overrides: Any) -> str:
    bundle = {"profile": "static", "bundle": json.dumps(authority.spiffe_bundle())}
    identity_id, response = attach_spiffe(api, spiffe_config(trustBundleDistribution=bundle, **overrides))
    assert response.status_code == 200, response.text
    return identity_id


def spiffe_login(api: Api, identity_id: str, token: str) -> Any:
    return api.client.post("/api/v1/auth/spiffe-auth/login", json={"identityId": identity_id, "jwt": token})


# -- SPIFFE Auth: the subject ---------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "allowed"),
    [
        ("spiffe://example.org/workload/api-server", True),
        ("spiffe://example.org/workload/api/server", False),  # * is one segment
        ("spiffe://example.org/batch/nightly/report", True),  # ** is several
        ("spiffe://example.org/db", False),
    ],
)
def test_spiffe_auth_matches_allowed_ids_by_segment(api: Api, authority: JwtSvidAuthority, subject: str,
                                                    allowed: bool) -> None:
    identity_id = static_spiffe_identity(api, authority)
    response = spiffe_login(api, identity_id, authority.mint(subject, [AUDIENCE]))
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert_api_error(response, 403, "ForbiddenError", "SPIFFE ID not allowed")


@pytest.mark.parametrize(
    ("subject", "rule"),
    [
        ("api-server", "starts with 'spiffe://'"),
        ("https://example.org/workload/api", "starts with 'spiffe://'"),
        ("spiffe://example.org/workload//api", "empty segment"),
        ("spiffe://example.org/workload/api/", "empty segment"),
        ("spiffe://example.org/workload/../admin", "'.' or '..'"),
        ("spiffe://example.org/workload/a%2Fb", "percent-encoding"),
        ("spiffe://Example.org/workload/api", "lower-case"),
        ("spiffe://example.org:8443/workload/api", "no port"),
    ],
)
def test_spiffe_auth_refuses_malformed_spiffe_ids(api: Api, authority: JwtSvidAuthority, subject: str,
                                                 rule: str) -> None:
    identity_id = static_spiffe_identity(api, authority, allowedSpiffeIds="spiffe://**, **")
    response = spiffe_login(api, identity_id, authority.mint(subject, [AUDIENCE]))
    assert_api_error(response, 401, None, "not a valid SPIFFE ID", rule)


def test_spiffe_auth_refuses_a_token_from_another_trust_domain(api: Api, authority: JwtSvidAuthority) -> None:
    # Signed by a key in the bundle, but naming a workload of another trust domain.
    identity_id = static_spiffe_identity(api, authority, allowedSpiffeIds="spiffe://*/workload/*")
    response = spiffe_login(api, identity_id, authority.mint("spiffe://evil.example/workload/api", [AUDIENCE]))
    assert_api_error(response, 401, None, "trust domain 'evil.example'", "'example.org'")


def test_spiffe_auth_refuses_a_token_signed_by_another_trust_domains_key(api: Api, authority: JwtSvidAuthority) -> None:
    identity_id = static_spiffe_identity(api, authority)
    foreign = JwtSvidAuthority(trust_domain="example.org")  # same name, different keys: not our bundle
    assert_api_error(spiffe_login(api, identity_id, foreign.mint(SPIFFE_ID, [AUDIENCE])), 401, None, "not found")


def test_spiffe_auth_audiences_are_exact_names(api: Api, authority: JwtSvidAuthority) -> None:
    identity_id = static_spiffe_identity(api, authority)
    assert spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, ["other-audience"])).status_code == 200
    assert_api_error(spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, ["other-*"])), 401, None, "audience")


# -- SPIFFE Auth: bundles ---------------------------------------------------------


def test_static_bundle_keeps_jwt_authorities_and_ignores_x509_ones(api: Api, authority: JwtSvidAuthority) -> None:
    bundle = authority.spiffe_bundle()
    assert {key["use"] for key in bundle["keys"]} == {"x509-svid", "jwt-svid"}
    identity_id = static_spiffe_identity(api, authority)
    assert spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    key_set = api.admin("GET", f"/api/v1/auth/spiffe-auth/identities/{identity_id}").json()["identitySpiffeAuth"]["keySet"]
    assert key_set["keyCount"] == 1 and key_set["keyIds"] == [authority.active.kid]  # type: ignore[union-attr]


def test_static_bundle_may_be_a_plain_workload_api_jwks(api: Api, authority: JwtSvidAuthority) -> None:
    plain = {"keys": [{k: v for k, v in key.items() if k not in ("alg", "use")} for key in authority.jwks()["keys"]]}
    identity_id = static_spiffe_identity(api, authority)
    response = api.admin("PATCH", f"/api/v1/auth/spiffe-auth/identities/{identity_id}",
                         json={"trustBundleDistribution": {"profile": "static", "bundle": json.dumps(plain)}})
    assert response.status_code == 200, response.text
    assert spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200


def test_bundle_endpoint_is_fetched_with_its_ca_and_its_refresh_hint_is_honoured(
    api: Api, authority: JwtSvidAuthority, bundle_endpoint: DiscoveryProvider, tls_certificate: ServerCertificate
) -> None:
    bundle_endpoint.bundle_refresh_hint = 1
    distribution = {"profile": "https_web_bundle", "endpointUrl": f"{bundle_endpoint.url}/bundle",
                    "caCert": tls_certificate.ca_pem}
    identity_id, response = attach_spiffe(api, spiffe_config(trustBundleDistribution=distribution))
    assert response.status_code == 200, response.text
    described = response.json()["identitySpiffeAuth"]["trustBundleDistribution"]
    assert described == {**distribution, "caCert": tls_certificate.ca_pem.strip(), "refreshHintSeconds": 3600}

    assert spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert bundle_endpoint.fetches("/bundle") == 1
    time.sleep(1.2)  # the bundle's spiffe_refresh_hint, shorter than the cache TTL
    assert spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200
    assert bundle_endpoint.fetches("/bundle") == 2


def test_bundle_endpoint_without_the_right_ca_is_not_trusted(
    api: Api, authority: JwtSvidAuthority, bundle_endpoint: DiscoveryProvider
) -> None:
    other_ca = ServerCertificate.for_hosts("127.0.0.1").ca_pem
    distribution = {"profile": "https_web_bundle", "endpointUrl": f"{bundle_endpoint.url}/bundle", "caCert": other_ca}
    identity_id, response = attach_spiffe(api, spiffe_config(trustBundleDistribution=distribution))
    assert response.status_code == 200, response.text
    response = spiffe_login(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert_api_error(response, 401, None, "CERTIFICATE_VERIFY_FAILED")
    assert bundle_endpoint.fetches("/bundle") == 0


def test_refresh_bundle_fetches_now_and_returns_the_configuration(
    api: Api, authority: JwtSvidAuthority, bundle_endpoint: DiscoveryProvider, tls_certificate: ServerCertificate
) -> None:
    distribution = {"profile": "https_web_bundle", "endpointUrl": f"{bundle_endpoint.url}/bundle",
                    "caCert": tls_certificate.ca_pem}
    identity_id, _ = attach_spiffe(api, spiffe_config(trustBundleDistribution=distribution))
    response = api.admin("POST", f"/api/v1/auth/spiffe-auth/identities/{identity_id}/refresh-bundle")
    assert response.status_code == 200, response.text
    body = response.json()["identitySpiffeAuth"]
    assert body["trustDomain"] == "example.org" and body["keySet"]["keyCount"] == 1
    assert bundle_endpoint.fetches("/bundle") == 1


# -- SPIFFE Auth: configuration --------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "status", "fragment"),
    [
        ({"trustDomain": "Example.org"}, 400, "lower-case"),
        ({"trustDomain": "example.org:443"}, 400, "no port"),
        ({"allowedAudiences": ""}, 422, None),
        ({"allowedAudiences": " , "}, 400, "empty"),
        ({"allowedSpiffeIds": ""}, 422, None),
        ({"trustBundleDistribution": {"profile": "static", "bundle": "not json"}}, 400, "not valid JSON"),
        ({"trustBundleDistribution": {"profile": "static", "bundle": '{"keys": []}'}}, 400, "no usable"),
        ({"trustBundleDistribution": {"profile": "https_web_bundle", "endpointUrl": "http://x.example/b"}}, 400,
         "https"),
        ({"trustBundleDistribution": {"profile": "https_web_bundle", "endpointUrl": "https://x.example/b",
                                      "caCert": "not a pem"}}, 400, "PEM"),
        ({"trustBundleDistribution": {"profile": "carrier-pigeon"}}, 422, None),
        ({"accessTokenTTL": 100, "accessTokenMaxTTL": 10}, 400, "TTL"),
    ],
)
def test_spiffe_auth_refuses_nonsense_configuration(api: Api, authority: JwtSvidAuthority,
                                                   overrides: dict[str, Any], status: int, fragment: str | None) -> None:
    body = spiffe_config(trustBundleDistribution={"profile": "static", "bundle": json.dumps(authority.spiffe_bundle())})
    body.update(overrides)
    identity_id, response = attach_spiffe(api, body)
    assert_api_error(response, status, None, *([fragment] if fragment else []))
    assert api.admin("GET", f"/api/v1/auth/spiffe-auth/identities/{identity_id}").status_code == 400  # nothing stored


def test_spiffe_auth_shows_in_the_identitys_auth_methods(api: Api, authority: JwtSvidAuthority) -> None:
    identity_id = static_spiffe_identity(api, authority)
    identity = api.admin("GET", f"/api/v1/identities/{identity_id}").json()["identity"]["identity"]
    assert identity["authMethods"] == ["spiffe-auth"]


# -- JWT Auth: configuration ---------------------------------------------------------------


def attach_jwt(api: Api, body: dict[str, Any]) -> Any:
    identity_id = api.create_identity()
    return api.admin("POST", f"/api/v1/auth/jwt-auth/identities/{identity_id}", json=body)


def test_jwt_auth_answers_with_infisicals_fields(api: Api, authority: JwtSvidAuthority) -> None:
    pem = authority.active.private_key.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    response = attach_jwt(api, {"configurationType": "static", "publicKeys": [pem], "boundAudiences": "a,b",
                                "boundClaims": {"team": "payments"}})
    assert response.status_code == 200, response.text
    body = response.json()["identityJwtAuth"]
    assert body["configurationType"] == "static" and body["publicKeys"] == [pem.strip()]
    assert body["boundAudiences"] == "a, b" and body["boundClaims"] == {"team": "payments"}
    assert body["accessTokenTTL"] == 2592000 and body["accessTokenNumUsesLimit"] == 0
    assert body["accessTokenTrustedIps"] == [
        {"ipAddress": "0.0.0.0", "type": "ipv4", "prefix": 0}, {"ipAddress": "::", "type": "ipv6", "prefix": 0},
    ]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"configurationType": "static", "publicKeys": []}, 400, "at least one public key"),
        ({"configurationType": "static", "publicKeys": ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"]},
         400, "publicKeys[0]"),
        ({"configurationType": "jwks", "jwksUrl": ""}, 400, "jwksUrl"),
        ({"configurationType": "jwks", "jwksUrl": "ftp://keys.example/jwks"}, 400, "jwksUrl"),
        ({"configurationType": "jwks", "jwksUrl": "https://keys.example/jwks", "jwksCaCert": "nope"}, 400, "PEM"),
        ({"configurationType": "sometimes"}, 422, None),
        ({"configurationType": "jwks", "jwksUrl": "https://k.example/j", "boundClaims": {"a": ""}}, 400, "empty"),
    ],
)
def test_jwt_auth_refuses_nonsense_configuration(api: Api, body: dict[str, Any], status: int,
                                                 fragment: str | None) -> None:
    assert_api_error(attach_jwt(api, body), status, None, *([fragment] if fragment else []))


def test_jwt_auth_checks_bound_claims_like_oidc_auth(api: Api, authority: JwtSvidAuthority,
                                                    provider: DiscoveryProvider) -> None:
    identity_id = api.create_identity()
    response = api.admin("POST", f"/api/v1/auth/jwt-auth/identities/{identity_id}", json={
        "configurationType": "jwks", "jwksUrl": f"{provider.url}/keys", "boundAudiences": AUDIENCE,
        "boundClaims": {"k8s.namespace": "prod, staging"},
    })
    assert response.status_code == 200, response.text

    def login(namespace: str) -> Any:
        claims = svid_claims(authority)
        claims["k8s"] = {"namespace": namespace}
        token = sign(claims, authority.active)  # type: ignore[arg-type]
        return api.client.post("/api/v1/auth/jwt-auth/login", json={"identityId": identity_id, "jwt": token})

    assert login("staging").status_code == 200
    assert_api_error(login("dev"), 401, None, "claim not allowed")
