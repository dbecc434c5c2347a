"""HTTP behaviour Infisical's clients rely on, on every route (reference §0 and §1)."""

from __future__ import annotations

import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.support import assert_api_error

LOGIN = "/api/v1/auth/oidc-auth/login"


def test_trailing_slashes_are_ignored(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    response = api.client.post(LOGIN + "/", json={"identityId": identity_id, "jwt": authority.mint(SPIFFE_ID, [AUDIENCE])})
    assert response.status_code == 200, response.text
    assert api.admin("GET", "/api/v1/identities/").status_code == 200
    assert api.admin("GET", f"/api/v1/identities/{identity_id}/").json()["identity"]["identityId"] == identity_id
    assert api.client.get("/api/status/").status_code == 200


def test_unknown_body_fields_are_dropped(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider)
    response = api.client.post(LOGIN, json={
        "identityId": identity_id, "jwt": authority.mint(SPIFFE_ID, [AUDIENCE]),
        "organizationSlug": "whatever", "subOrganizationName": "x", "extra": {"nested": [1, 2]},
    })
    assert response.status_code == 200, response.text
    created = api.admin("POST", "/api/v1/identities",
                        json={"name": "extra-fields", "organizationId": api.org_id, "slug": "ignored"})
    assert created.status_code == 200, created.text
    assert "slug" not in created.json()["identity"]


def test_a_body_on_get_is_ignored(api: Api) -> None:
    response = api.admin("GET", "/api/v1/identities", json={"workspaceId": "x", "limit": "not-a-number"})
    assert response.status_code == 200, response.text
    response = api.admin("GET", "/api/v1/identities", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_empty_query_values_are_treated_as_absent(api: Api) -> None:
    for query in ("orgId=", "orgId=&limit=", "limit=&offset=&orgId=", f"orgId={api.org_id}&limit="):
        response = api.admin("GET", f"/api/v1/identities?{query}")
        assert response.status_code == 200, (query, response.text)
    # A value that is present is still checked.
    assert_api_error(api.admin("GET", "/api/v1/identities?orgId=someone-else"), 404, "NotFound")
    assert_api_error(api.admin("GET", "/api/v1/identities?limit=0"), 422, "ValidationFailure")


@pytest.mark.parametrize(
    "body,missing",
    [({}, ["identityId", "jwt"]), ({"identityId": "x"}, ["jwt"]), ({"jwt": "x"}, ["identityId"]),
     ({"identityId": "", "jwt": ""}, ["identityId", "jwt"])],
    ids=["both-missing", "jwt-missing", "identity-missing", "both-empty"],
)
def test_login_without_identity_or_jwt_is_a_422_validation_failure(api: Api, body: dict[str, str],
                                                                   missing: list[str]) -> None:
    response = api.client.post(LOGIN, json=body)
    error = assert_api_error(response, 422, "ValidationFailure")
    issues = error["message"]
    assert isinstance(issues, list)
    assert sorted(issue["path"][0] for issue in issues) == missing
    assert all({"code", "path", "message"} <= set(issue) for issue in issues)
    if body == {}:
        assert issues[0] | {"path": None} == {"code": "invalid_type", "expected": "string", "received": "undefined",
                                             "path": None, "message": "Required"}


def test_login_with_wrongly_typed_fields_is_a_422(api: Api) -> None:
    error = assert_api_error(api.client.post(LOGIN, json={"identityId": 5, "jwt": ["x"]}), 422, "ValidationFailure")
    assert {issue["code"] for issue in error["message"]} == {"invalid_type"}
    for body in ([], "a string", None):
        assert_api_error(api.client.post(LOGIN, json=body), 422, "ValidationFailure")


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"identityId": "x", "jwt": ', b"\xff\xfe\x00", b"{'single': 'quotes'}"],
    ids=["unquoted", "truncated", "not-utf8", "single-quotes"],
)
def test_invalid_json_body_is_a_400(api: Api, raw: bytes) -> None:
    response = api.client.post(LOGIN, content=raw, headers={"Content-Type": "application/json"})
    assert_api_error(response, 400, "BadRequest", "not valid JSON")
    response = api.admin("POST", "/api/v1/identities", content=raw, headers={"Content-Type": "application/json"})
    assert_api_error(response, 400, "BadRequest")


def test_body_larger_than_one_mebibyte_is_a_400(api: Api) -> None:
    response = api.client.post(LOGIN, json={"identityId": "x", "jwt": "x" * (1024 * 1024 + 1)})
    assert_api_error(response, 400, "BadRequest", "larger than")


@pytest.mark.parametrize("method,path", [("GET", "/api/v1/nothing-here"), ("POST", "/api/v9/identities"),
                                         ("GET", "/"), ("DELETE", "/api/status/extra")])
def test_unknown_route_is_a_404_in_the_error_shape(api: Api, method: str, path: str) -> None:
    assert_api_error(api.admin(method, path), 404, "NotFound")


def test_wrong_method_is_an_error_in_the_api_shape(api: Api) -> None:
    response = api.admin("PUT", "/api/v1/identities")
    assert_api_error(response, 405, "MethodNotAllowed")


def test_missing_token_is_401_token_missing(api: Api) -> None:
    error = assert_api_error(api.client.get("/api/v1/identities"), 401, "UnauthorizedError")
    assert error["message"] == "Token missing"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Bearer a.b.c", "Bearer", "Token abc", "Basic dXNlcjpwYXNz",
     "Bearer eyJhbGciOiJub25lIn0.eyJpZGVudGl0eUlkIjoieCJ9."],
    ids=["not-a-jwt", "three-garbage-parts", "empty-bearer", "other-scheme", "basic", "unsigned"],
)
def test_malformed_bearer_token_is_403_token_error(api: Api, authorization: str) -> None:
    response = api.client.get("/api/v1/identities", headers={"Authorization": authorization})
    assert_api_error(response, 403, "TokenError")


def test_api_key_header_is_refused_with_400(api: Api) -> None:
    response = api.admin("GET", "/api/v1/identities", headers={"X-API-Key": "ak.legacy"})
    assert_api_error(response, 400, "BadRequest", "API key authentication is not supported")


def test_status_and_admin_config_need_no_token(api: Api) -> None:
    status = api.client.get("/api/status")
    assert status.status_code == 200 and status.json()["message"] == "Ok"
    config = api.client.get("/api/v1/admin/config")
    assert config.status_code == 200 and config.json()["config"]["initialized"] is True


def test_every_error_has_its_own_request_id(api: Api) -> None:
    ids = {api.client.get("/api/v1/identities").json()["reqId"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    "request_args",
    [
        ("POST", LOGIN, {"json": {"identityId": "a\u0000b", "jwt": "x.y.z"}}),
        ("POST", "/api/v1/identities", {"json": {"name": "nul\u0000name", "organizationId": "{org}"}}),
        ("GET", "/api/v1/identities/a%00b", {}),
        ("PATCH", "/api/v1/identities/a%00b", {"json": {"name": "x"}}),
        ("GET", "/api/v1/auth/oidc-auth/identities/a%00b", {}),
        ("GET", "/api/v1/identities?orgId=a%00b", {}),
        ("POST", LOGIN, {"data": {"identityId": "a\u0000b", "jwt": "x.y.z"}}),
        ("POST", LOGIN, {"content": b'{"identityId": "x", "jwt": "x.y.z", "extra": [{"k\\u0000": 1}]}',
                         "headers": {"content-type": "application/json"}}),
        ("POST", LOGIN, {"content": b"identityId=a\x00b&jwt=x.y.z",
                         "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    ],
    ids=["login-identity-id", "identity-name", "get-identity-path", "patch-identity-path", "oidc-config-path",
         "query-value", "form-body", "nested-json-key", "raw-byte-in-form"],
)
def test_nul_characters_are_refused_as_bad_input_not_a_500(api: Api, request_args: tuple[str, str, dict]) -> None:
    # PostgreSQL cannot store or compare text with NUL in it; the driver's error must not become a 500.
    method, path, kwargs = request_args
    if "json" in kwargs and kwargs["json"].get("organizationId") == "{org}":
        kwargs = {"json": {**kwargs["json"], "organizationId": api.org_id}}
    response = api.admin(method, path, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert_api_error(response, response.status_code)
    assert api.is_healthy()


def test_an_escaped_backslash_before_u0000_is_not_a_nul(api: Api) -> None:
    # The text \u0000 (a backslash, then "u0000") is no NUL: the login goes on, to an identity that is not there.
    response = api.client.post(LOGIN, content=b'{"identityId": "a\\\\u0000b", "jwt": "x.y.z"}',
                               headers={"content-type": "application/json"})
    assert response.status_code == 404, response.text
