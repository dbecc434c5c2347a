"""Projects (workspaces) and their environments, over HTTP, as Infisical's clients call them."""

from __future__ import annotations

import uuid

from tests.conftest import Api
from tests.projects.workloads import Spire, member_of, new_workload


def test_create_project_makes_dev_staging_prod_and_the_creator_admin(api: Api, spire: Spire) -> None:
    creator = new_workload(api, spire, org_role="member")
    response = creator.post("/api/v2/workspace", json={"projectName": "  Payments  ", "organizationSlug": "ignored"})

    assert response.status_code == 200, response.text
    project = response.json()["project"]
    assert project["name"] == "Payments"
    assert project["_id"] == project["id"]
    assert project["orgId"] == api.org_id
    assert project["type"] == "secret-manager"
    assert project["autoCapitalization"] is False
    assert project["slug"].startswith("payments-") and len(project["slug"]) == len("payments-") + 4
    assert [(env["name"], env["slug"]) for env in project["environments"]] == [
        ("Development", "dev"), ("Staging", "staging"), ("Production", "prod"),
    ]
    membership = creator.get(f"/api/v2/workspace/{project['id']}/identity-memberships/{creator.identity_id}")
    assert membership.status_code == 200, membership.text
    assert [role["role"] for role in membership.json()["identityMembership"]["roles"]] == ["admin"]
    # Each environment has a root folder: the root path lists (no folders yet).
    folders = creator.get("/api/v1/folders", params={"workspaceId": project["id"], "environment": "prod"})
    assert folders.status_code == 200 and folders.json() == {"folders": []}


def test_org_no_access_identity_cannot_create_projects(api: Api, spire: Spire) -> None:
    workload = new_workload(api, spire, org_role="no-access")
    response = workload.post("/api/v2/workspace", json={"projectName": "nope"})
    assert response.status_code == 403
    assert response.json()["message"] == "You don't have permission to create a project"


def test_project_slug_rules(api: Api) -> None:
    slug = f"team-{uuid.uuid4().hex[:8]}"
    assert api.create_project(slug=slug)["slug"] == slug
    duplicate = api.admin("POST", "/api/v2/workspace", json={"projectName": "again", "slug": slug})
    assert duplicate.status_code == 400
    assert duplicate.json()["message"] == (
        f'A project with the slug "{slug}" already exists in your organization. Please choose a different name or slug.'
    )
    for bad in ("abc", "Upper-Case", "with space", "x" * 37):
        assert api.admin("POST", "/api/v2/workspace", json={"projectName": "p", "slug": bad}).status_code == 422
    assert api.admin("POST", "/api/v2/workspace", json={}).status_code == 422


def test_get_by_slug_is_unwrapped_and_by_id_is_wrapped(api: Api) -> None:
    project = api.create_project()
    by_slug = api.admin("GET", f"/api/v2/workspace/{project['slug']}")
    by_id = api.admin("GET", f"/api/v1/workspace/{project['id']}")
    alias = api.admin("GET", f"/api/v1/projects/{project['id']}")
    assert by_slug.status_code == by_id.status_code == alias.status_code == 200
    assert by_slug.json()["id"] == project["id"]
    assert by_id.json()["workspace"]["id"] == project["id"]
    assert alias.json()["project"]["environments"] == project["environments"]
    missing = api.admin("GET", f"/api/v1/workspace/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    assert api.admin("GET", "/api/v2/workspace/no-such-project").status_code == 404


def test_list_shows_only_the_projects_an_identity_belongs_to(api: Api, spire: Spire) -> None:
    mine, other = api.create_project(), api.create_project()
    workload = member_of(api, spire, mine["id"], "viewer")
    for path, key in (("/api/v1/workspace", "workspaces"), ("/api/v1/projects", "projects")):
        response = workload.get(path)
        assert response.status_code == 200
        assert [p["id"] for p in response.json()[key]] == [mine["id"]]
    listed_by_admin = {p["id"] for p in api.admin("GET", "/api/v1/workspace").json()["workspaces"]}
    assert {mine["id"], other["id"]} <= listed_by_admin


def test_update_by_slug_and_by_id(api: Api) -> None:
    project = api.create_project()
    renamed = api.admin("PATCH", f"/api/v2/workspace/{project['slug']}",
                        json={"name": "Renamed", "description": "d", "autoCapitalization": True})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["description"], renamed.json()["autoCapitalization"]) == (
        "Renamed", "d", True)
    new_slug = f"moved-{uuid.uuid4().hex[:6]}"
    moved = api.admin("PATCH", f"/api/v1/workspace/{project['id']}", json={"slug": new_slug, "name": "Again"})
    assert moved.status_code == 200
    assert moved.json()["workspace"]["slug"] == new_slug
    assert api.admin("GET", f"/api/v2/workspace/{new_slug}").json()["name"] == "Again"
    assert api.admin("PATCH", f"/api/v1/workspace/{project['id']}", json={"name": "x" * 65}).status_code == 422


def test_delete_respects_delete_protection(api: Api) -> None:
    project = api.create_project(hasDeleteProtection=True)
    refused = api.admin("DELETE", f"/api/v2/workspace/{project['slug']}")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Project delete protection is enabled"
    assert api.admin("PATCH", f"/api/v1/projects/{project['id']}", json={"hasDeleteProtection": False}).status_code == 200
    deleted = api.admin("DELETE", f"/api/v1/workspace/{project['id']}")
    assert deleted.status_code == 200 and deleted.json()["workspace"]["id"] == project["id"]
    assert api.admin("GET", f"/api/v1/workspace/{project['id']}").status_code == 404
    other = api.create_project()
    assert api.admin("DELETE", f"/api/v2/workspace/{other['slug']}").json()["id"] == other["id"]


def test_environments_add_rename_remove(api: Api) -> None:
    project = api.create_project()
    base = f"/api/v1/workspace/{project['id']}/environments"
    added = api.admin("POST", base, json={"name": " QA ", "slug": "qa"})
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["message"] == "Successfully created new environment"
    assert body["workspace"] == project["id"]
    environment = body["environment"]
    assert (environment["name"], environment["slug"], environment["position"]) == ("QA", "qa", 4)

    assert api.admin("POST", base, json={"name": "again", "slug": "qa"}).status_code == 400
    assert api.admin("POST", base, json={"name": "bad", "slug": "Not A Slug"}).status_code == 422

    renamed = api.admin("PATCH", f"{base}/{environment['id']}", json={"name": "Quality", "slug": "quality"})
    assert renamed.status_code == 200
    assert renamed.json()["message"] == "Successfully updated environment"
    assert renamed.json()["environment"]["slug"] == "quality"
    assert api.admin("PATCH", f"{base}/{environment['id']}", json={"slug": "dev"}).status_code == 400

    listed = api.admin("GET", base).json()["environments"]
    assert [env["slug"] for env in listed] == ["dev", "staging", "prod", "quality"]
    assert api.admin("GET", f"/api/v1/workspace/environments/{environment['id']}").json()["environment"]["name"] == "Quality"

    removed = api.admin("DELETE", f"{base}/{environment['id']}")
    assert removed.status_code == 200 and removed.json()["message"] == "Successfully deleted environment"
    assert api.admin("GET", f"{base}/{environment['id']}").status_code == 404
    assert api.admin("GET", "/api/v3/secrets/raw",
                     params={"workspaceId": project["id"], "environment": "quality"}).status_code == 404


def test_environment_of_another_project_cannot_be_changed_through_this_one(api: Api) -> None:
    first, second = api.create_project(), api.create_project()
    foreign = second["environments"][0]["id"]
    response = api.admin("PATCH", f"/api/v1/workspace/{first['id']}/environments/{foreign}", json={"name": "x"})
    assert response.status_code == 404
    assert api.admin("DELETE", f"/api/v1/workspace/{first['id']}/environments/{foreign}").status_code == 404
    assert api.admin("GET", f"/api/v1/workspace/{second['id']}").json()["workspace"]["environments"][0]["name"] == "Development"
