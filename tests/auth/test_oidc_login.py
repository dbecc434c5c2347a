"""OIDC login with SPIRE JWT-SVIDs, against a real server and a local discovery provider.

Every refusal is checked the same way: the right status, the API's error shape,
a message naming the check that failed, nothing written to the database, and
a server that still answers afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from strongroom.spiffe.dev_spire import AuthorityKey, DiscoveryProvider, JwtSvidAuthority
from strongroom.store.models import IdentityAccessToken, IdentityOrgMembership
from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.support import assert_api_error, b64url, sign, svid_claims, unverified_payload

ERRORS = {401: "UnauthorizedError", 403: "ForbiddenError", 404: "NotFound"}


def assert_login_refused(api: Api, identity_id: str, token: str, status: int, *naming: str) -> dict[str, Any]:
    tokens_before = api.count_rows(IdentityAccessToken)
    api.server.services.last_logins.flush()  # last logins are written in the background: write them now
    logins_before = api.count_rows(IdentityOrgMembership, last_login_auth_method="oidc-auth")

    body = assert_api_error(api.login(identity_id, token), status, ERRORS[status], *naming)
    api.server.services.last_logins.flush()

    assert api.count_rows(IdentityAccessToken) == tokens_before, "a refused login issued a token"
    assert api.count_rows(IdentityOrgMembership, last_login_auth_method="oidc-auth") == logins_before, \
        "a refused login was recorded as a login"
    assert api.is_healthy()
    return body


def test_login_with_spire_jwt_svid_returns_access_token(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, accessTokenTTL=600, accessTokenMaxTTL=3600)

    response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expiresIn"] == 600
    assert body["accessTokenMaxTTL"] == 3600
    assert body["tokenType"] == "Bearer"
    whoami = api.client.get(f"/api/v1/identities/{identity_id}", headers={"Authorization": f"Bearer {body['accessToken']}"})
    # The workload's identity has org role no-access: authenticated, but not allowed to read identities.
    assert whoami.status_code == 403
    assert whoami.json()["error"] == "PermissionDenied"


def test_login_records_the_last_login_on_the_identity(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    before = api.admin("GET", f"/api/v1/identities/{identity_id}").json()["identity"]
    assert before["lastLoginAuthMethod"] is None and before["lastLoginTime"] is None

    assert api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])).status_code == 200

    # Written in the background within a second (strongroom.auth.last_logins); flushed here rather than waited for.
    api.server.services.last_logins.flush()
    after = api.admin("GET", f"/api/v1/identities/{identity_id}").json()["identity"]
    assert after["lastLoginAuthMethod"] == "oidc-auth"
    assert after["lastLoginTime"].endswith("Z")


def test_a_slow_issuer_does_not_hold_up_other_requests(api: Api, provider: DiscoveryProvider,
                                                       authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    provider.failure = "slow"
    provider.slow_seconds = 1.0
    statuses: list[int] = []

    def slow_login() -> None:
        with httpx.Client(base_url=api.server.url, timeout=30) as client:
            body = {"identityId": identity_id, "jwt": authority.mint(SPIFFE_ID, [AUDIENCE])}
            statuses.append(client.post("/api/v1/auth/oidc-auth/login", json=body).status_code)

    login = threading.Thread(target=slow_login)
    login.start()
    deadline = time.monotonic() + 5
    while provider.fetches("/.well-known/openid-configuration") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)

    # While the login waits for the issuer, an unrelated request (which writes: it counts a token use) goes through.
    started = time.monotonic()
    response = api.admin("GET", "/api/v1/identities", params={"limit": 1})
    elapsed = time.monotonic() - started
    login.join(timeout=30)

    assert response.status_code == 200, response.text
    assert elapsed < 0.5, f"an unrelated request waited {elapsed:.2f} s for a login's key fetch"
    assert statuses == [200]


# -- the negative matrix: bindings ----------------------------------------------------


def test_login_rejects_token_for_another_audience(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    token = authority.mint(SPIFFE_ID, ["vault", "some-other-service"])
    assert_login_refused(api, identity_id, token, 401, "audience not allowed")


@pytest.mark.parametrize("audience", ["absent", [], ""], ids=["absent", "empty-list", "empty-string"])
def test_login_rejects_token_without_audience(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority,
                                              audience: Any) -> None:
    # JWT-SVIDs must name an audience; refused even when the method binds none.
    identity_id = api.identity_with_oidc(provider, boundAudiences="")
    claims = svid_claims(authority)
    if audience == "absent":
        del claims["aud"]
    else:
        claims["aud"] = audience
    assert_login_refused(api, identity_id, sign(claims, authority.active), 401, "no 'aud' claim")


def test_login_rejects_subject_outside_bound_subject_with_403(api: Api, provider: DiscoveryProvider,
                                                              authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundSubject="spiffe://example.org/workload/*")
    # `*` stays within one segment: a deeper workload path is another workload.
    for subject in ("spiffe://example.org/db/postgres", "spiffe://example.org/workload/team/api",
                    "spiffe://evil.org/workload/api-server"):
        assert_login_refused(api, identity_id, authority.mint(subject, [AUDIENCE]), 403, "subject not allowed")


def test_login_rejects_token_without_subject_with_403(api: Api, provider: DiscoveryProvider,
                                                      authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    claims = svid_claims(authority)
    del claims["sub"]
    assert_login_refused(api, identity_id, sign(claims, authority.active), 403, "subject not allowed")


def test_login_rejects_token_from_another_issuer(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    claims = {**svid_claims(authority), "iss": "https://oidc.evil.example"}
    body = assert_login_refused(api, identity_id, sign(claims, authority.active), 401, "issuer invalid")
    assert provider.issuer in body["message"]


def test_login_rejects_token_without_issuer_when_bound_issuer_is_set(api: Api, provider: DiscoveryProvider,
                                                                     authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundIssuer=provider.issuer)
    claims = svid_claims(authority)
    del claims["iss"]  # SPIRE Server without jwt_issuer
    assert_login_refused(api, identity_id, sign(claims, authority.active), 401, "issuer invalid", "no 'iss' claim")


def test_login_accepts_token_without_issuer_when_bound_issuer_is_empty(api: Api, provider: DiscoveryProvider,
                                                                       authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundIssuer="")
    claims = svid_claims(authority)
    del claims["iss"]
    response = api.login(identity_id, sign(claims, authority.active))
    assert response.status_code == 200, response.text


# -- the negative matrix: lifetime ----------------------------------------------------


def test_login_rejects_expired_token(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    token = authority.mint(SPIFFE_ID, [AUDIENCE], ttl_seconds=300, now=time.time() - 3600)
    assert_login_refused(api, identity_id, token, 401, "jwt expired")


def test_login_accepts_token_expired_within_the_leeway(api: Api, provider: DiscoveryProvider,
                                                       authority: JwtSvidAuthority) -> None:
    # STRONGROOM_JWT_LEEWAY_SECONDS defaults to 5: two seconds of clock skew are tolerated.
    identity_id = api.identity_with_oidc(provider)
    claims = {**svid_claims(authority), "exp": int(time.time()) - 2}
    response = api.login(identity_id, sign(claims, authority.active))
    assert response.status_code == 200, response.text


def test_login_rejects_token_without_expiry(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    claims = svid_claims(authority)
    del claims["exp"]
    assert_login_refused(api, identity_id, sign(claims, authority.active), 401, "no 'exp' claim")


def test_login_rejects_token_with_non_numeric_expiry(api: Api, provider: DiscoveryProvider,
                                                     authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    claims = {**svid_claims(authority), "exp": str(int(time.time()) + 300)}
    assert_login_refused(api, identity_id, sign(claims, authority.active), 401, "exp")


def test_login_rejects_token_not_yet_valid(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    claims = {**svid_claims(authority), "nbf": int(time.time()) + 600}
    assert_login_refused(api, identity_id, sign(claims, authority.active), 401, "nbf")


def test_login_rejects_token_issued_in_the_future(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    token = authority.mint(SPIFFE_ID, [AUDIENCE], now=time.time() + 600)
    assert_login_refused(api, identity_id, token, 401, "iat")


# -- the negative matrix: algorithms, keys and signatures ----------------------------------


def test_login_rejects_unsigned_token_with_alg_none(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    header = {"alg": "none", "typ": "JWT", "kid": authority.active.kid}
    unsigned = f"{b64url(header)}.{b64url(svid_claims(authority))}."
    assert_login_refused(api, identity_id, unsigned, 401, "algorithm 'none' is not allowed")
    # The same with a signature part that is not empty.
    assert_login_refused(api, identity_id, unsigned + b64url(b"x" * 64), 401, "algorithm 'none' is not allowed")


def test_login_rejects_hs256_token_keyed_with_the_public_key(api: Api, provider: DiscoveryProvider,
                                                             authority: JwtSvidAuthority) -> None:
    # The classic key-confusion attack: the public key, which anyone can fetch from /keys,
    # used as an HMAC secret. pyjwt refuses to do this, so the token is built by hand.
    identity_id = api.identity_with_oidc(provider)
    public_pem = authority.active.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64url({'alg': 'HS256', 'typ': 'JWT', 'kid': authority.active.kid})}.{b64url(svid_claims(authority))}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_login_refused(api, identity_id, f"{signing_input}.{b64url(mac)}", 401, "algorithm 'HS256' is not allowed")


def test_login_rejects_eddsa_token(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    ed_key = AuthorityKey(kid=authority.active.kid, alg="EdDSA", private_key=ed25519.Ed25519PrivateKey.generate())
    assert_login_refused(api, identity_id, sign(svid_claims(authority), ed_key), 401, "algorithm 'EdDSA' is not allowed")


def test_login_rejects_token_whose_alg_does_not_fit_the_key_type(api: Api, provider: DiscoveryProvider,
                                                                 authority: JwtSvidAuthority) -> None:
    # The published key is P-256: a token that claims RS256 under its kid must not be tried with it.
    identity_id = api.identity_with_oidc(provider)
    rsa_key = AuthorityKey.generate("rsa-2048")
    token = sign(svid_claims(authority), rsa_key, kid=authority.active.kid)
    assert_login_refused(api, identity_id, token, 401, "no RS256 signing key")


def test_login_rejects_token_with_unknown_kid(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    stranger = AuthorityKey.generate()
    body = assert_login_refused(api, identity_id, sign(svid_claims(authority), stranger), 401, "was not found")
    assert stranger.kid in body["message"]


def test_login_rejects_token_with_the_right_kid_signed_by_a_foreign_key(api: Api, provider: DiscoveryProvider,
                                                                        authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    forger = AuthorityKey.generate()
    token = sign(svid_claims(authority), forger, kid=authority.active.kid)
    assert_login_refused(api, identity_id, token, 401, "invalid signature")


def test_login_rejects_token_with_tampered_payload(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    genuine = authority.mint("spiffe://example.org/db/postgres", [AUDIENCE])
    header, _payload, signature = genuine.split(".")
    # Swap in an allowed subject and a later expiry, keeping the original signature.
    forged_claims = {**unverified_payload(genuine), "sub": SPIFFE_ID, "exp": int(time.time()) + 86400}
    tampered = f"{header}.{b64url(forged_claims)}.{signature}"
    assert_login_refused(api, identity_id, tampered, 401, "invalid signature")


@pytest.mark.parametrize(
    "garbage",
    ["not-a-jwt", "a.b.c", "e30.e30", "e30.e30.e30.e30", "eyJhbGciOiJFUzI1NiJ9.%%%.sig", "W10.e30.c2ln", "-.-.-"],
    ids=["words", "undecodable-parts", "two-parts", "four-parts", "bad-characters", "header-not-an-object", "dashes"],
)
def test_login_rejects_garbage_token(api: Api, provider: DiscoveryProvider, garbage: str) -> None:
    identity_id = api.identity_with_oidc(provider)
    assert_login_refused(api, identity_id, garbage, 401, "Invalid JWT")


def test_login_rejects_token_larger_than_16_kib(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    token = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"padding": "x" * 17 * 1024})
    assert len(token) > 16 * 1024
    assert_login_refused(api, identity_id, token, 401, "larger than 16384 bytes")
    # Refused before any key was looked up.
    assert provider.fetches("/keys") == 0


# -- the negative matrix: the identity ----------------------------------------------------


@pytest.mark.parametrize(
    "identity_id",
    [str(uuid.uuid4()), "not-a-uuid", "x" * 300, "' OR 1=1 --", "\u00e9\u00e8"],
    ids=["random-uuid", "not-a-uuid", "very-long", "sql-ish", "non-ascii"],
)
def test_login_for_unknown_identity_is_404(api: Api, authority: JwtSvidAuthority, identity_id: str) -> None:
    body = assert_login_refused(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]), 404, "OIDC auth method not found")
    assert body["error"] == "NotFound"


def test_login_for_identity_without_oidc_auth_is_404(api: Api, authority: JwtSvidAuthority) -> None:
    identity_id = api.create_identity()
    assert_login_refused(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]), 404, "did you configure OIDC auth")


# -- positive logins ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SvidCase:
    key_type: str = "ec-p256"
    set_key_use: bool = False
    discovery_suffix: str = ""
    aud: Any = (AUDIENCE,)


POSITIVE_CASES = {
    "es256-default": SvidCase(),
    "rs256": SvidCase(key_type="rsa-2048"),
    "es384": SvidCase(key_type="ec-p384"),
    "keys-with-use-sig": SvidCase(set_key_use=True),
    "aud-array-with-several-entries": SvidCase(aud=["vault", AUDIENCE]),
    "aud-string": SvidCase(aud=AUDIENCE),
    "discovery-url-base-with-slash": SvidCase(discovery_suffix="/"),
    "discovery-url-full-well-known": SvidCase(discovery_suffix="/.well-known/openid-configuration"),
    "discovery-url-underscore-typo": SvidCase(discovery_suffix="/.well-known/openid_configuration"),
}


@pytest.mark.parametrize("case", POSITIVE_CASES.values(), ids=POSITIVE_CASES.keys())
def test_login_accepts_jwt_svids_as_spire_issues_them(api: Api, case: SvidCase) -> None:
    authority = JwtSvidAuthority(key_type=case.key_type)
    with DiscoveryProvider(authority, set_key_use=case.set_key_use) as provider:
        authority.issuer = provider.url
        identity_id = api.identity_with_oidc(provider, oidcDiscoveryUrl=provider.url + case.discovery_suffix)
        token = sign(svid_claims(authority, aud=case.aud), authority.active)
        assert jwt.get_unverified_header(token)["alg"] == authority.active.alg

        response = api.login(identity_id, token)

        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"accessToken", "expiresIn", "accessTokenMaxTTL", "tokenType"}
        assert body["expiresIn"] == 2592000 and body["accessTokenMaxTTL"] == 2592000
        # Whatever was configured, the document fetched is the one at the hyphenated well-known path.
        assert provider.fetches("/.well-known/openid-configuration") == 1
        assert provider.fetches("/keys") == 1


def test_login_accepts_token_without_kid_when_a_published_key_verifies_it(api: Api, provider: DiscoveryProvider,
                                                                          authority: JwtSvidAuthority) -> None:
    authority.prepare_key()  # two keys published; the token names neither
    identity_id = api.identity_with_oidc(provider)
    token = jwt.encode(svid_claims(authority), authority.active.private_key, algorithm="ES256", headers={"typ": "JWT"})
    assert "kid" not in jwt.get_unverified_header(token)
    response = api.login(identity_id, token)
    assert response.status_code == 200, response.text


def test_login_accepts_form_urlencoded_body(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    response = api.client.post(
        "/api/v1/auth/oidc-auth/login", data={"identityId": identity_id, "jwt": authority.mint(SPIFFE_ID, [AUDIENCE])}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tokenType"] == "Bearer"


def test_login_ignores_a_stale_authorization_header(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    # The Python SDK re-logs in with the expired token still in its headers.
    identity_id = api.identity_with_oidc(provider)
    for stale in ("Bearer expired.access.token", "Bearer", "Basic dXNlcjpwYXNz"):
        response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]), headers={"Authorization": stale})
        assert response.status_code == 200, (stale, response.text)


def test_login_trims_identity_id_and_jwt(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    response = api.login(f"  {identity_id}\n", f" {authority.mint(SPIFFE_ID, [AUDIENCE])}\n")
    assert response.status_code == 200, response.text


# -- bound claims and claim metadata ------------------------------------------------------------------


def test_bound_claims_follow_dot_paths_into_nested_objects(api: Api, provider: DiscoveryProvider,
                                                           authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundClaims={"k8s.namespace": "prod"})

    good = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"k8s": {"namespace": "prod"}})
    assert api.login(identity_id, good).status_code == 200

    other = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"k8s": {"namespace": "dev"}})
    assert_login_refused(api, identity_id, other, 401, "claim not allowed", "k8s.namespace")
    # A top-level claim literally named "k8s.namespace" is not the nested one.
    flat = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"k8s.namespace": "prod"})
    assert_login_refused(api, identity_id, flat, 401, "token has no k8s.namespace field")


def test_bound_claims_accept_any_of_comma_separated_alternatives(api: Api, provider: DiscoveryProvider,
                                                                 authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundClaims={"env": "prod,staging , team-*"})
    for env in ("prod", "staging", "team-blue"):
        response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"env": env}))
        assert response.status_code == 200, (env, response.text)
    for env in ("dev", "Prod", "prod,staging", "team-blue/x"):
        assert_login_refused(api, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"env": env}),
                             401, "claim not allowed")


def test_bound_claims_match_any_element_of_an_array_claim(api: Api, provider: DiscoveryProvider,
                                                          authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundClaims={"groups": "admins"})
    member = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"groups": ["devs", "admins"]})
    assert api.login(identity_id, member).status_code == 200
    outsider = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"groups": ["devs", "ops"]})
    assert_login_refused(api, identity_id, outsider, 401, "claim not allowed")
    empty = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"groups": []})
    assert_login_refused(api, identity_id, empty, 401, "token has no groups field")


def test_every_bound_claim_must_match(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundClaims={"env": "prod", "region": "eu-*"})
    both = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"env": "prod", "region": "eu-west-1"})
    assert api.login(identity_id, both).status_code == 200
    one = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"env": "prod", "region": "us-east-1"})
    assert_login_refused(api, identity_id, one, 401, "claim not allowed", "region")
    missing = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"env": "prod"})
    assert_login_refused(api, identity_id, missing, 401, "token has no region field")


def test_bound_claims_match_booleans_and_numbers_including_false_and_zero(api: Api, provider: DiscoveryProvider,
                                                                          authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundClaims={"privileged": "false", "tier": "0"})
    good = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"privileged": False, "tier": 0})
    assert api.login(identity_id, good).status_code == 200, "a bound false/0 claim must be able to match"
    escalated = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"privileged": True, "tier": 0})
    assert_login_refused(api, identity_id, escalated, 401, "claim not allowed", "privileged")
    # An object is not a claim value that can be bound.
    structured = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"privileged": {"x": False}, "tier": 0})
    assert_login_refused(api, identity_id, structured, 401, "token has no privileged field")


def test_claim_metadata_mapping_puts_claims_into_the_access_token(api: Api, provider: DiscoveryProvider,
                                                                   authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(
        provider, claimMetadataMapping={"namespace": "k8s.namespace", "groups": "groups", "canary": "canary"}
    )
    svid = authority.mint(SPIFFE_ID, [AUDIENCE],
                          extra_claims={"k8s": {"namespace": "prod"}, "groups": ["a", "b"], "canary": True})

    access_token = api.access_token(identity_id, svid)

    assert unverified_payload(access_token)["identityAuth"] == {
        "oidc": {"claims": {"namespace": "prod", "groups": "a,b", "canary": "true"}}
    }
    missing = authority.mint(SPIFFE_ID, [AUDIENCE], extra_claims={"groups": ["a"], "canary": True})
    assert_login_refused(api, identity_id, missing, 401, "token has no k8s.namespace field")


def test_access_token_carries_no_claim_metadata_without_a_mapping(api: Api, provider: DiscoveryProvider,
                                                                  authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    payload = unverified_payload(api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])))
    assert "identityAuth" not in payload
    assert payload["authTokenType"] == "identityAccessToken" and payload["identityId"] == identity_id
