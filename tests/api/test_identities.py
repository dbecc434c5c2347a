"""Machine identities: ``/api/v1/identities`` (reference §6), and who may manage them."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from strongroom.store.models import Identity, IdentityAccessToken, IdentityOidcAuth, IdentityOrgMembership
from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.support import assert_api_error, statements_run

IDENTITIES = "/api/v1/identities"
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PLAIN_KEYS = {"id", "name", "authMethod", "authMethods", "hasDeleteProtection", "orgId", "projectId", "createdAt",
              "updatedAt", "metadata"}
MEMBERSHIP_KEYS = {"id", "role", "roleId", "orgId", "identityId", "createdAt", "updatedAt", "lastLoginAuthMethod",
                   "lastLoginTime", "metadata", "identity"}
INNER_KEYS = {"id", "name", "hasDeleteProtection", "orgId", "authMethods", "activeLockoutAuthMethods"}


def unique_name(prefix: str = "workload") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(api: Api, **fields: object) -> dict:
    response = api.admin("POST", IDENTITIES, json={"name": unique_name(), "organizationId": api.org_id, **fields})
    assert response.status_code == 200, response.text
    return response.json()["identity"]


def caller_token(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority, role: str) -> str:
    identity_id = api.identity_with_oidc(provider, role=role)
    return api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))


# -- create, read, list, update, delete -------------------------------------------------------------


def test_create_returns_the_plain_identity(api: Api) -> None:
    name = unique_name()
    response = api.admin("POST", IDENTITIES, json={
        "name": f"  {name} ", "organizationId": api.org_id, "role": "member", "hasDeleteProtection": True,
        "metadata": [{"key": " team ", "value": "payments"}],
    })

    assert response.status_code == 200, response.text
    identity = response.json()["identity"]
    assert set(identity) == PLAIN_KEYS
    assert uuid.UUID(identity["id"])
    assert identity["name"] == name
    assert identity["authMethod"] is None and identity["authMethods"] == []
    assert identity["hasDeleteProtection"] is True
    assert identity["orgId"] == api.org_id and identity["projectId"] is None
    assert ISO_MILLIS.match(identity["createdAt"]) and ISO_MILLIS.match(identity["updatedAt"])
    assert [(item["key"], item["value"]) for item in identity["metadata"]] == [("team", "payments")]


def test_create_defaults_to_role_no_access_without_delete_protection(api: Api) -> None:
    identity = create(api)
    assert identity["hasDeleteProtection"] is False
    assert api.admin("GET", f"{IDENTITIES}/{identity['id']}").json()["identity"]["role"] == "no-access"


def test_get_returns_the_org_membership_view(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.identity_with_oidc(provider, role="member")

    response = api.admin("GET", f"{IDENTITIES}/{identity_id}")

    assert response.status_code == 200, response.text
    membership = response.json()["identity"]
    assert set(membership) == MEMBERSHIP_KEYS
    assert membership["identityId"] == identity_id and membership["orgId"] == api.org_id
    assert membership["role"] == "member" and membership["roleId"] is None
    assert membership["id"] != identity_id
    assert set(membership["identity"]) == INNER_KEYS
    assert membership["identity"]["id"] == identity_id
    assert membership["identity"]["authMethods"] == ["oidc-auth"]
    assert membership["identity"]["activeLockoutAuthMethods"] == []


@pytest.mark.parametrize("identity_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["random-uuid", "not-a-uuid"])
def test_get_unknown_identity_is_404(api: Api, identity_id: str) -> None:
    # Terraform drops an identity from its state on exactly this 404.
    assert_api_error(api.admin("GET", f"{IDENTITIES}/{identity_id}"), 404, "NotFound", "Failed to find identity")


def test_list_returns_memberships_with_a_total_count(api: Api) -> None:
    created = [create(api)["id"] for _ in range(3)]

    response = api.admin("GET", IDENTITIES, params={"orgId": api.org_id, "limit": 1000})

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"identities", "totalCount"}
    assert body["totalCount"] == len(body["identities"]) == api.count_rows(Identity)
    listed = [item["identityId"] for item in body["identities"]]
    assert set(created) <= set(listed)
    assert all(set(item) == MEMBERSHIP_KEYS for item in body["identities"])
    page = api.admin("GET", IDENTITIES, params={"offset": 1, "limit": 2}).json()
    assert page["totalCount"] == body["totalCount"]
    assert [item["identityId"] for item in page["identities"]] == listed[1:3]


def _attach_spiffe_auth(api: Api, authority: JwtSvidAuthority, identity_id: str) -> None:
    bundle = {"profile": "static", "bundle": json.dumps(authority.spiffe_bundle())}
    response = api.admin("POST", f"/api/v1/auth/spiffe-auth/identities/{identity_id}", json={
        "trustDomain": "example.org", "allowedSpiffeIds": "spiffe://example.org/**",
        "allowedAudiences": AUDIENCE, "trustBundleDistribution": bundle})
    assert response.status_code == 200, response.text


def _methods_and_metadata(membership: dict) -> tuple[list[str], list[tuple[str, str]]]:
    return (membership["identity"]["authMethods"],
            sorted((item["key"], item["value"]) for item in membership["metadata"]))


def test_get_and_list_show_each_identitys_own_methods_and_metadata(api: Api, provider: DiscoveryProvider,
                                                                   authority: JwtSvidAuthority) -> None:
    plain = create(api, metadata=[{"key": "b", "value": "2"}, {"key": "a", "value": "1"}])["id"]
    with_methods = api.identity_with_oidc(provider)
    _attach_spiffe_auth(api, authority, with_methods)
    assert api.admin("PATCH", f"{IDENTITIES}/{with_methods}",
                     json={"metadata": [{"key": "team", "value": "payments"}]}).status_code == 200
    expected = {
        plain: ([], [("a", "1"), ("b", "2")]),
        with_methods: (["oidc-auth", "spiffe-auth"], [("team", "payments")]),  # in Infisical's order
    }

    for identity_id, shown in expected.items():
        membership = api.admin("GET", f"{IDENTITIES}/{identity_id}").json()["identity"]
        assert _methods_and_metadata(membership) == shown
        assert all(item["id"] and set(item) == {"id", "key", "value"} for item in membership["metadata"])
    page = api.admin("GET", IDENTITIES, params={"limit": 1000}).json()["identities"]
    listed = {item["identityId"]: item for item in page}
    for identity_id, shown in expected.items():
        assert _methods_and_metadata(listed[identity_id]) == shown


def test_a_page_of_identities_costs_the_same_statements_however_many_it_holds(api: Api) -> None:
    def statements_of_a_listing() -> int:
        api.admin("GET", IDENTITIES, params={"limit": 1000})  # reads the caller's token again if anything moved
        with statements_run(api) as seen:
            assert api.admin("GET", IDENTITIES, params={"limit": 1000}).status_code == 200
        return len(seen)

    create(api)
    fewer = statements_of_a_listing()
    for number in range(5):
        create(api, metadata=[{"key": f"k{number}", "value": "v"}])
    assert statements_of_a_listing() == fewer


def test_list_for_another_organisation_is_404(api: Api) -> None:
    assert_api_error(api.admin("GET", IDENTITIES, params={"orgId": str(uuid.uuid4())}), 404, "NotFound")


def test_update_changes_the_given_fields(api: Api) -> None:
    identity = create(api, metadata=[{"key": "a", "value": "1"}])
    new_name = unique_name("renamed")

    response = api.admin("PATCH", f"{IDENTITIES}/{identity['id']}", json={"name": new_name, "role": "member"})

    assert response.status_code == 200, response.text
    updated = response.json()["identity"]
    assert set(updated) == PLAIN_KEYS
    assert updated["name"] == new_name
    assert [(item["key"], item["value"]) for item in updated["metadata"]] == [("a", "1")]
    assert updated["hasDeleteProtection"] is False
    fetched = api.admin("GET", f"{IDENTITIES}/{identity['id']}").json()["identity"]
    assert fetched["role"] == "member" and fetched["identity"]["name"] == new_name


def test_update_replaces_metadata_when_given(api: Api) -> None:
    identity = create(api, metadata=[{"key": "a", "value": "1"}])
    response = api.admin("PATCH", f"{IDENTITIES}/{identity['id']}", json={"metadata": [{"key": "b", "value": "2"}]})
    assert response.status_code == 200, response.text
    assert [(item["key"], item["value"]) for item in response.json()["identity"]["metadata"]] == [("b", "2")]


@pytest.mark.parametrize("role", ["owner", "Admin", "superuser", " "])
def test_unknown_role_is_refused(api: Api, role: str) -> None:
    before = api.count_rows(Identity)
    response = api.admin("POST", IDENTITIES, json={"name": unique_name(), "organizationId": api.org_id, "role": role})
    assert 400 <= response.status_code < 500, response.text
    if role.strip():
        assert_api_error(response, 400, "BadRequest", "Unknown organization role")
    assert api.count_rows(Identity) == before

    identity = create(api)
    response = api.admin("PATCH", f"{IDENTITIES}/{identity['id']}", json={"role": role})
    assert 400 <= response.status_code < 500, response.text
    assert api.admin("GET", f"{IDENTITIES}/{identity['id']}").json()["identity"]["role"] == "no-access"


def test_create_in_another_organisation_is_404(api: Api) -> None:
    response = api.admin("POST", IDENTITIES, json={"name": unique_name(), "organizationId": str(uuid.uuid4())})
    assert_api_error(response, 404, "NotFound", "organization")


@pytest.mark.parametrize("body", [{"organizationId": "x"}, {"name": "   ", "organizationId": "x"}, {"name": "x"}],
                         ids=["no-name", "blank-name", "no-organization"])
def test_create_without_required_fields_is_a_422(api: Api, body: dict[str, str]) -> None:
    body = {**body, "organizationId": api.org_id} if "organizationId" in body else body
    assert_api_error(api.admin("POST", IDENTITIES, json=body), 422, "ValidationFailure")


def test_delete_returns_the_identity_and_removes_it(api: Api) -> None:
    identity = create(api)

    response = api.admin("DELETE", f"{IDENTITIES}/{identity['id']}")

    assert response.status_code == 200, response.text
    assert response.json()["identity"]["id"] == identity["id"]
    assert set(response.json()["identity"]) == PLAIN_KEYS
    assert_api_error(api.admin("GET", f"{IDENTITIES}/{identity['id']}"), 404, "NotFound")
    assert_api_error(api.admin("DELETE", f"{IDENTITIES}/{identity['id']}"), 404, "NotFound")
    assert api.count_rows(IdentityOrgMembership, identity_id=identity["id"]) == 0


def test_deleting_an_identity_locks_the_access_counter_before_the_identity(api: Api) -> None:
    # A login's conditional write locks the counter, then its identity (the foreign key): a delete that
    # locked the identity first could deadlock with it.
    if api.server.services.database.is_sqlite:
        pytest.skip("SQLite's writer holds the whole database from BEGIN IMMEDIATE")
    identity = create(api)
    with statements_run(api) as seen:
        assert api.admin("DELETE", f"{IDENTITIES}/{identity['id']}").status_code == 200
    lock = next(number for number, sql in enumerate(seen) if "access_generation" in sql and "FOR UPDATE" in sql)
    delete = next(number for number, sql in enumerate(seen) if sql.startswith("DELETE FROM identities"))
    assert lock < delete
    assert not any(sql.startswith("DELETE") for sql in seen[:lock])


def test_delete_protection_blocks_deletion_until_turned_off(api: Api) -> None:
    identity = create(api, hasDeleteProtection=True)
    assert_api_error(api.admin("DELETE", f"{IDENTITIES}/{identity['id']}"), 400, "BadRequest", "delete protection")
    assert api.admin("GET", f"{IDENTITIES}/{identity['id']}").status_code == 200

    assert api.admin("PATCH", f"{IDENTITIES}/{identity['id']}", json={"hasDeleteProtection": False}).status_code == 200
    assert api.admin("DELETE", f"{IDENTITIES}/{identity['id']}").status_code == 200


def test_the_instance_admin_identity_cannot_be_deleted(api: Api) -> None:
    admin_identities = [item["identityId"] for item in api.admin("GET", IDENTITIES, params={"limit": 1000}).json()["identities"]
                        if item["identity"]["name"] == "Instance Admin Identity"]
    assert len(admin_identities) == 1
    assert_api_error(api.admin("DELETE", f"{IDENTITIES}/{admin_identities[0]}"), 400, "BadRequest", "instance admin")
    assert api.admin("GET", IDENTITIES).status_code == 200


def test_deleting_an_identity_removes_its_tokens_and_auth_methods(api: Api, provider: DiscoveryProvider,
                                                                  authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, role="member")
    token = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert api.probe(token).status_code == 200
    assert api.count_rows(IdentityAccessToken, identity_id=identity_id) == 1

    assert api.admin("DELETE", f"{IDENTITIES}/{identity_id}").status_code == 200

    assert api.count_rows(IdentityAccessToken, identity_id=identity_id) == 0
    assert api.count_rows(IdentityOidcAuth, identity_id=identity_id) == 0
    assert_api_error(api.probe(token), 401, "UnauthorizedError")
    assert_api_error(api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE])), 404, "NotFound")


# -- who may manage identities -------------------------------------------------------------------


def test_no_access_identity_cannot_read_or_manage_identities(api: Api, provider: DiscoveryProvider,
                                                             authority: JwtSvidAuthority) -> None:
    token = caller_token(api, provider, authority, "no-access")
    target = create(api)["id"]
    before = api.count_rows(Identity)

    for method, path, body in [
        ("GET", IDENTITIES, None),
        ("GET", f"{IDENTITIES}/{target}", None),
        ("POST", IDENTITIES, {"name": unique_name(), "organizationId": api.org_id}),
        ("PATCH", f"{IDENTITIES}/{target}", {"name": "taken-over"}),
        ("DELETE", f"{IDENTITIES}/{target}", None),
    ]:
        response = api.as_token(token, method, path, json=body)
        assert_api_error(response, 403, "PermissionDenied", "You are not allowed to")

    assert api.count_rows(Identity) == before
    assert api.admin("GET", f"{IDENTITIES}/{target}").json()["identity"]["identity"]["name"] != "taken-over"


def test_member_can_read_but_not_manage_identities(api: Api, provider: DiscoveryProvider,
                                                   authority: JwtSvidAuthority) -> None:
    token = caller_token(api, provider, authority, "member")
    target = create(api)["id"]
    before = api.count_rows(Identity)

    assert api.as_token(token, "GET", IDENTITIES).status_code == 200
    assert api.as_token(token, "GET", f"{IDENTITIES}/{target}").json()["identity"]["identityId"] == target
    assert api.as_token(token, "GET", f"/api/v1/auth/oidc-auth/identities/{target}").status_code == 400  # no OIDC: readable
    for method, path, body in [
        ("POST", IDENTITIES, {"name": unique_name(), "organizationId": api.org_id}),
        ("PATCH", f"{IDENTITIES}/{target}", {"role": "admin"}),
        ("DELETE", f"{IDENTITIES}/{target}", None),
    ]:
        assert_api_error(api.as_token(token, method, path, json=body), 403, "PermissionDenied")
    assert api.count_rows(Identity) == before
    assert api.admin("GET", f"{IDENTITIES}/{target}").json()["identity"]["role"] == "no-access"


def test_an_admin_identity_from_oidc_login_can_manage_identities(api: Api, provider: DiscoveryProvider,
                                                                  authority: JwtSvidAuthority) -> None:
    token = caller_token(api, provider, authority, "admin")
    response = api.as_token(token, "POST", IDENTITIES, json={"name": unique_name(), "organizationId": api.org_id,
                                                            "role": "admin"})
    assert response.status_code == 200, response.text
    assert api.as_token(token, "DELETE", f"{IDENTITIES}/{response.json()['identity']['id']}").status_code == 200
