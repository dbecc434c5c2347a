"""Identity project memberships on both path styles; roles, temporary roles, and who may manage them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import Api
from tests.projects.workloads import Spire, member_of, new_workload

V2 = "/api/v2/workspace/{project}/identity-memberships"
V1 = "/api/v1/projects/{project}/memberships/identities"


@pytest.mark.parametrize("style", [V2, V1])
def test_membership_lifecycle(api: Api, style: str) -> None:
    project = api.create_project()
    identity_id = api.create_identity()
    base = style.format(project=project["id"])

    added = api.admin("POST", f"{base}/{identity_id}", json={"roles": [{"role": "viewer", "isTemporary": False}]})
    assert added.status_code == 200, added.text
    created = added.json()["identityMembership"]
    assert (created["projectId"], created["identityId"]) == (project["id"], identity_id)

    got = api.admin("GET", f"{base}/{identity_id}")
    assert got.status_code == 200
    membership = got.json()["identityMembership"]
    assert membership["id"] == created["id"]
    assert [role["role"] for role in membership["roles"]] == ["viewer"]
    assert membership["identity"]["id"] == identity_id
    assert membership["project"] == {"id": project["id"], "name": project["name"], "slug": project["slug"]}

    listed = api.admin("GET", base)
    assert listed.status_code == 200
    assert listed.json()["totalCount"] == 2  # the creator (admin) and this identity
    assert {m["identityId"] for m in listed.json()["identityMemberships"]} >= {identity_id}

    updated = api.admin("PATCH", f"{base}/{identity_id}", json={"roles": [{"role": "member"}]})
    assert updated.status_code == 200, updated.text
    roles = updated.json()["roles"] if style == V2 else updated.json()["identityMembership"]["roles"]
    assert [role["role"] for role in roles] == ["member"]

    removed = api.admin("DELETE", f"{base}/{identity_id}")
    assert removed.status_code == 200 and removed.json()["identityMembership"]["identityId"] == identity_id
    assert api.admin("GET", f"{base}/{identity_id}").status_code == 404
    assert api.admin("DELETE", f"{base}/{identity_id}").status_code == 404


def test_single_role_field_is_accepted_and_one_of_role_or_roles_is_required(api: Api) -> None:
    project = api.create_project()
    identity_id = api.create_identity()
    base = V2.format(project=project["id"])
    missing = api.admin("POST", f"{base}/{identity_id}", json={})
    assert missing.status_code == 400
    assert missing.json()["message"] == "You must provide either role or roles field"
    assert api.admin("POST", f"{base}/{identity_id}", json={"role": "no-access"}).status_code == 200
    duplicate = api.admin("POST", f"{base}/{identity_id}", json={"role": "viewer"})
    assert duplicate.status_code == 400


def test_unknown_roles_and_identities_are_refused(api: Api) -> None:
    project = api.create_project()
    base = V2.format(project=project["id"])
    identity_id = api.create_identity()
    assert api.admin("POST", f"{base}/{identity_id}", json={"role": "owner"}).status_code == 400
    assert api.admin("POST", f"{base}/{identity_id}", json={"roles": []}).status_code == 422
    assert api.admin("POST", f"{base}/{uuid.uuid4()}", json={"role": "viewer"}).status_code == 404
    assert api.admin("GET", f"{base}/{identity_id}").status_code == 404


def test_temporary_role_counts_only_while_in_force(api: Api, spire: Spire) -> None:
    project = api.create_project()
    api.admin("POST", "/api/v3/secrets/raw/TOKEN",
              json={"workspaceId": project["id"], "environment": "dev", "secretValue": "t"})
    workload = new_workload(api, spire)
    base = V2.format(project=project["id"])
    started = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    expired = {"role": "viewer", "isTemporary": True, "temporaryMode": "relative", "temporaryRange": "1h",
               "temporaryAccessStartTime": started}
    added = api.admin("POST", f"{base}/{workload.identity_id}", json={"roles": [expired]})
    assert added.status_code == 200, added.text
    read = {"workspaceId": project["id"], "environment": "dev"}
    assert workload.get("/api/v3/secrets/raw", params=read).status_code == 403

    current = {**expired, "temporaryRange": "3h"}
    assert api.admin("PATCH", f"{base}/{workload.identity_id}", json={"roles": [current]}).status_code == 200
    assert workload.get("/api/v3/secrets/raw", params=read).status_code == 200
    role = api.admin("GET", f"{base}/{workload.identity_id}").json()["identityMembership"]["roles"][0]
    assert role["isTemporary"] is True and role["temporaryRange"] == "3h"
    assert role["temporaryAccessEndTime"] is not None

    bad = {**expired, "temporaryRange": "soon"}
    assert api.admin("PATCH", f"{base}/{workload.identity_id}", json={"roles": [bad]}).status_code == 422


def test_only_project_admins_and_org_admins_manage_memberships(api: Api, spire: Spire) -> None:
    project = api.create_project()
    base = V2.format(project=project["id"])
    member = member_of(api, spire, project["id"], "member")
    outsider_id = api.create_identity()
    refused = member.post(f"{base}/{outsider_id}", json={"role": "admin"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "PermissionDenied"
    assert member.get(base).status_code == 200  # members may see who is in the project
    assert member.delete(f"{base}/{member.identity_id}").status_code == 403

    project_admin = member_of(api, spire, project["id"], "admin")
    assert project_admin.post(f"{base}/{outsider_id}", json={"role": "viewer"}).status_code == 200


def test_org_admin_runs_a_project_it_is_not_in_but_cannot_read_its_secrets(api: Api, spire: Spire) -> None:
    creator = new_workload(api, spire, org_role="member")
    project = api.create_project(token=creator.token)
    creator.post("/api/v3/secrets/raw/PRIVATE",
                 json={"workspaceId": project["id"], "environment": "dev", "secretValue": "only-members"})

    assert api.admin("GET", f"/api/v1/workspace/{project['id']}").status_code == 200
    assert api.admin("PATCH", f"/api/v2/workspace/{project['slug']}", json={"description": "run by IT"}).status_code == 200
    assert api.admin("GET", V2.format(project=project["id"])).status_code == 200
    listing = api.admin("GET", "/api/v3/secrets/raw", params={"workspaceId": project["id"], "environment": "dev"})
    assert listing.status_code == 403
    assert "only-members" not in listing.text
    assert "is not a member of the specified project" in listing.json()["message"]
    # ... until it makes itself a member, as an org admin can.
    admin_identity = api.admin("GET", "/api/v1/identities").json()["identities"]
    instance_admin = next(i["identity"]["id"] for i in admin_identity if i["identity"]["name"] == "Instance Admin Identity")
    assert api.add_to_project(project["id"], instance_admin, "viewer").status_code == 200
    assert api.admin("GET", "/api/v3/secrets/raw",
                     params={"workspaceId": project["id"], "environment": "dev"}).status_code == 200
