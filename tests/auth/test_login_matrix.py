"""One negative matrix for every JWT login method: OIDC Auth, JWT Auth (JWKS URL and static keys) and
SPIFFE Auth (static bundle and https_web bundle endpoint). Each bad token is refused with 401 or 403 in the
API's error shape, nothing is written, and the server stays healthy.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from strongroom.spiffe.dev_spire import AuthorityKey, DiscoveryProvider, JwtSvidAuthority, ServerCertificate
from strongroom.store.models import IdentityAccessToken
from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.support import assert_api_error, b64url, sign, svid_claims


@dataclass
class Method:
    """A login method set up on a fresh identity, trusting ``authority``."""

    name: str
    path: str  # the login path segment, e.g. "oidc-auth"
    identity_id: str
    authority: JwtSvidAuthority

    def login(self, api: Api, token: str) -> Any:
        return api.client.post(f"/api/v1/auth/{self.path}/login", json={"identityId": self.identity_id, "jwt": token})


def _public_pem(key: AuthorityKey) -> str:
    return key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _ca(provider: DiscoveryProvider) -> str:
    assert provider.tls is not None
    return provider.tls.ca_pem


def _oidc(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> str:
    return api.identity_with_oidc(provider, caCert=_ca(provider))


def _jwt_jwks(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> str:
    identity_id = api.create_identity()
    response = api.admin("POST", f"/api/v1/auth/jwt-auth/identities/{identity_id}", json={
        "configurationType": "jwks", "jwksUrl": f"{provider.url}/keys", "jwksCaCert": _ca(provider), "boundIssuer": provider.issuer,
        "boundAudiences": AUDIENCE, "boundSubject": "spiffe://example.org/workload/*", "boundClaims": {},
    })
    assert response.status_code == 200, response.text
    return identity_id


def _jwt_static(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> str:
    identity_id = api.create_identity()
    response = api.admin("POST", f"/api/v1/auth/jwt-auth/identities/{identity_id}", json={
        "configurationType": "static", "publicKeys": [_public_pem(key) for key in authority.published],
        "boundIssuer": provider.issuer, "boundAudiences": AUDIENCE,
        "boundSubject": "spiffe://example.org/workload/*", "boundClaims": {},
    })
    assert response.status_code == 200, response.text
    return identity_id


def _spiffe_body(distribution: dict[str, Any]) -> dict[str, Any]:
    return {
        "trustDomain": "example.org", "allowedSpiffeIds": "spiffe://example.org/workload/*",
        "allowedAudiences": AUDIENCE, "trustBundleDistribution": distribution,
    }


def _spiffe_static(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> str:
    import json

    identity_id = api.create_identity()
    bundle = json.dumps(authority.spiffe_bundle())
    response = api.admin("POST", f"/api/v1/auth/spiffe-auth/identities/{identity_id}",
                         json=_spiffe_body({"profile": "static", "bundle": bundle}))
    assert response.status_code == 200, response.text
    return identity_id


def _spiffe_web(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> str:
    identity_id = api.create_identity()
    response = api.admin("POST", f"/api/v1/auth/spiffe-auth/identities/{identity_id}", json=_spiffe_body({
        "profile": "https_web_bundle", "endpointUrl": f"{provider.url}/bundle", "caCert": _ca(provider),
    }))
    assert response.status_code == 200, response.text
    return identity_id


SETUPS: dict[str, tuple[str, Callable[[Api, DiscoveryProvider, JwtSvidAuthority], str]]] = {
    "oidc-auth": ("oidc-auth", _oidc),
    "jwt-auth/jwks": ("jwt-auth", _jwt_jwks),
    "jwt-auth/static": ("jwt-auth", _jwt_static),
    "spiffe-auth/static": ("spiffe-auth", _spiffe_static),
    "spiffe-auth/https_web": ("spiffe-auth", _spiffe_web),
}


@pytest.fixture(scope="module")
def tls_certificate() -> ServerCertificate:
    return ServerCertificate.for_hosts("127.0.0.1")


@pytest.fixture(params=list(SETUPS), ids=list(SETUPS))
def method(request: pytest.FixtureRequest, api: Api, tls_certificate: ServerCertificate) -> Iterator[Method]:
    authority = JwtSvidAuthority(trust_domain="example.org")
    with DiscoveryProvider(authority, tls=tls_certificate) as provider:
        authority.issuer = provider.url
        path, setup = SETUPS[request.param]
        yield Method(request.param, path, setup(api, provider, authority), authority)


def refused(api: Api, method: Method, token: str, status: int, *naming: str) -> None:
    before = api.count_rows(IdentityAccessToken)
    assert_api_error(method.login(api, token), status, None, *naming)
    assert api.count_rows(IdentityAccessToken) == before
    assert api.is_healthy()


def test_a_good_jwt_svid_logs_in_with_every_method(api: Api, method: Method) -> None:
    response = method.login(api, method.authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert response.status_code == 200, response.text
    token = response.json()["accessToken"]
    assert api.client.get("/api/v1/identities", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_matrix_wrong_audience(api: Api, method: Method) -> None:
    refused(api, method, method.authority.mint(SPIFFE_ID, ["vault"]), 401, "audience")


def test_matrix_missing_audience(api: Api, method: Method) -> None:
    claims = svid_claims(method.authority)
    del claims["aud"]
    refused(api, method, sign(claims, method.authority.active), 401, "aud")  # type: ignore[arg-type]


def test_matrix_wrong_subject(api: Api, method: Method) -> None:
    refused(api, method, method.authority.mint("spiffe://example.org/other/db", [AUDIENCE]), 403, "not allowed")


def test_matrix_expired(api: Api, method: Method) -> None:
    token = method.authority.mint(SPIFFE_ID, [AUDIENCE], now=time.time() - 3600)
    refused(api, method, token, 401, "expired")


def test_matrix_no_expiry(api: Api, method: Method) -> None:
    claims = svid_claims(method.authority)
    del claims["exp"]
    refused(api, method, sign(claims, method.authority.active), 401, "exp")  # type: ignore[arg-type]


def test_matrix_alg_none(api: Api, method: Method) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": method.authority.active.kid}  # type: ignore[union-attr]
    token = f"{b64url(header)}.{b64url(svid_claims(method.authority))}."
    refused(api, method, token, 401, "algorithm 'none' is not allowed")


def test_matrix_hs256_keyed_with_the_public_key(api: Api, method: Method) -> None:
    key = method.authority.active
    assert key is not None
    refused(api, method, _hmac_token(method.authority, _public_pem(key).encode()), 401, "HS256")


def _hmac_token(authority: JwtSvidAuthority, secret: bytes) -> str:
    import hashlib
    import hmac

    key = authority.active
    assert key is not None
    signing_input = f"{b64url({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{b64url(svid_claims(authority))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def test_matrix_eddsa(api: Api, method: Method) -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    token = jwt.encode(svid_claims(method.authority), ed_key, algorithm="EdDSA", headers={"kid": "ed"})
    refused(api, method, token, 401, "EdDSA")


def test_matrix_unknown_kid(api: Api, method: Method) -> None:
    stranger = AuthorityKey.generate()
    # PEM keys have no kid: there the stranger's token is tried against them and fails its signature.
    expected = "invalid signature" if method.name == "jwt-auth/static" else stranger.kid
    refused(api, method, sign(svid_claims(method.authority), stranger), 401, expected)


def test_matrix_right_kid_foreign_key(api: Api, method: Method) -> None:
    forger = AuthorityKey.generate()
    real = method.authority.active
    assert real is not None
    refused(api, method, sign(svid_claims(method.authority), forger, kid=real.kid), 401, "signature")


def test_matrix_tampered_payload(api: Api, method: Method) -> None:
    header, _payload, signature = method.authority.mint(SPIFFE_ID, [AUDIENCE]).split(".")
    forged = svid_claims(method.authority, sub="spiffe://example.org/workload/admin")
    refused(api, method, f"{header}.{b64url(forged)}.{signature}", 401, "signature")


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b", "a.b.c.d", "!!!.???.***", ""], ids=str)
def test_matrix_garbage(api: Api, method: Method, garbage: str) -> None:
    response = method.login(api, garbage)
    assert response.status_code in (401, 422), response.text  # "" fails the schema, the rest the JWS check
    assert api.is_healthy()


def test_matrix_oversize(api: Api, method: Method) -> None:
    token = method.authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"padding": "x" * 17000})
    refused(api, method, token, 401, "larger than 16384 bytes")


def test_matrix_unknown_identity(api: Api, method: Method) -> None:
    other = Method(method.name, method.path, str(uuid.uuid4()), method.authority)
    assert_api_error(other.login(api, method.authority.mint(SPIFFE_ID, [AUDIENCE])), 404)


def test_matrix_identity_without_the_method(api: Api, method: Method) -> None:
    other = Method(method.name, method.path, api.create_identity(), method.authority)
    assert_api_error(other.login(api, method.authority.mint(SPIFFE_ID, [AUDIENCE])), 404, None, "not found")


def test_matrix_revoking_the_method_revokes_its_tokens(api: Api, method: Method) -> None:
    token = method.login(api, method.authority.mint(SPIFFE_ID, [AUDIENCE])).json()["accessToken"]
    probe = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/identities", headers=probe).status_code == 403  # authenticated
    revoked = api.admin("DELETE", f"/api/v1/auth/{method.path}/identities/{method.identity_id}")
    assert revoked.status_code == 200, revoked.text
    assert_api_error(api.client.get("/api/v1/identities", headers=probe), 401)
