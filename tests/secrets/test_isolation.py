"""Two projects, two workloads: neither reaches the other's secrets by any route, id or path trick."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import Api
from tests.projects.workloads import Spire, Workload, member_of

THEIR_VALUE = "their-secret-value-91c2"


@dataclass
class Neighbours:
    api: Api
    mine: dict
    theirs: dict
    me: Workload
    them: Workload
    their_secret_id: str
    their_folder_id: str
    their_import_id: str


@pytest.fixture(scope="module")
def neighbours(api: Api, spire: Spire) -> Neighbours:
    mine, theirs = api.create_project(), api.create_project()
    me = member_of(api, spire, mine["id"], "admin")
    them = member_of(api, spire, theirs["id"], "admin")
    secret = them.post("/api/v3/secrets/raw/DB_PASSWORD",
                       json={"workspaceId": theirs["id"], "environment": "dev", "secretValue": THEIR_VALUE})
    folder = them.post("/api/v2/folders", json={"projectId": theirs["id"], "environment": "dev", "name": "app"})
    them.post("/api/v3/secrets/raw/DB_PASSWORD",
              json={"workspaceId": theirs["id"], "environment": "dev", "secretPath": "/app", "secretValue": THEIR_VALUE})
    imported = them.post("/api/v1/secret-imports", json={"workspaceId": theirs["id"], "environment": "prod",
                                                         "path": "/", "import": {"environment": "dev", "path": "/app"}})
    me.post("/api/v3/secrets/raw/MINE", json={"workspaceId": mine["id"], "environment": "dev", "secretValue": "m"})
    me.post("/api/v2/folders", json={"projectId": mine["id"], "environment": "dev", "name": "app"})
    assert secret.status_code == folder.status_code == imported.status_code == 200
    return Neighbours(api, mine, theirs, me, them, secret.json()["secret"]["id"], folder.json()["folder"]["id"],
                      imported.json()["secretImport"]["id"])


def _refused(response, *statuses: int) -> None:  # noqa: ANN001
    assert response.status_code in statuses, response.text
    assert THEIR_VALUE not in response.text


def test_reads_of_the_other_project_are_refused(neighbours: Neighbours) -> None:
    me, theirs = neighbours.me, neighbours.theirs
    where = {"workspaceId": theirs["id"], "environment": "dev"}
    _refused(me.get("/api/v3/secrets/raw", params=where), 403)
    _refused(me.get("/api/v3/secrets/raw", params={"workspaceSlug": theirs["slug"], "environment": "dev"}), 403)
    _refused(me.get("/api/v3/secrets/raw", params={**where, "recursive": "true", "include_imports": "true"}), 403)
    _refused(me.get("/api/v4/secrets", params={"projectId": theirs["id"], "environment": "dev"}), 403)
    _refused(me.get("/api/v3/secrets/raw/DB_PASSWORD", params=where), 403)
    _refused(me.get("/api/v4/secrets/DB_PASSWORD", params={"projectId": theirs["id"], "environment": "dev"}), 403)
    _refused(me.get("/api/v1/folders", params=where), 403)
    _refused(me.get("/api/v1/secret-imports", params={**where, "environment": "prod"}), 403)
    _refused(me.get(f"/api/v1/workspace/{theirs['id']}"), 403)
    _refused(me.get(f"/api/v2/workspace/{theirs['slug']}"), 403)
    _refused(me.get(f"/api/v2/workspace/{theirs['id']}/identity-memberships"), 403)
    _refused(me.get(f"/api/v1/projects/{theirs['id']}/memberships/identities/{neighbours.them.identity_id}"), 403)


def test_ids_of_the_other_project_are_not_found(neighbours: Neighbours) -> None:
    me = neighbours.me
    _refused(me.get(f"/api/v3/secrets/raw/id/{neighbours.their_secret_id}"), 404)
    _refused(me.get(f"/api/v4/secrets/id/{neighbours.their_secret_id}"), 404)
    _refused(me.get(f"/api/v2/folders/{neighbours.their_folder_id}"), 404)
    _refused(me.get(f"/api/v1/folders/{neighbours.their_folder_id}"), 404)
    # Their ids used through my own project: not found in mine, and theirs are untouched.
    mine = {"workspaceId": neighbours.mine["id"], "projectId": neighbours.mine["id"], "environment": "dev"}
    _refused(me.patch(f"/api/v1/folders/{neighbours.their_folder_id}", json={**mine, "name": "hijacked"}), 404)
    _refused(me.request("DELETE", f"/api/v2/folders/{neighbours.their_folder_id}", json=mine), 404)
    _refused(me.request("DELETE", f"/api/v1/secret-imports/{neighbours.their_import_id}",
                        json={**mine, "environment": "prod"}), 404)
    their_folder = neighbours.them.get(f"/api/v2/folders/{neighbours.their_folder_id}")
    assert their_folder.json()["folder"]["name"] == "app"
    their_imports = neighbours.them.get("/api/v1/secret-imports", params={
        "workspaceId": neighbours.theirs["id"], "environment": "prod"})
    assert [i["id"] for i in their_imports.json()["secretImports"]] == [neighbours.their_import_id]


def test_writes_to_the_other_project_are_refused_and_change_nothing(neighbours: Neighbours) -> None:
    me, theirs = neighbours.me, neighbours.theirs
    where = {"workspaceId": theirs["id"], "environment": "dev"}
    _refused(me.post("/api/v3/secrets/raw/NEW", json={**where, "secretValue": "x"}), 403)
    _refused(me.patch("/api/v3/secrets/raw/DB_PASSWORD", json={**where, "secretValue": "stolen"}), 403)
    _refused(me.patch("/api/v3/secrets/raw/DB_PASSWORD", json={"projectSlug": theirs["slug"], "environment": "dev",
                                                               "secretValue": "stolen"}), 403)
    _refused(me.request("DELETE", "/api/v3/secrets/raw/DB_PASSWORD", json=where), 403)
    _refused(me.post("/api/v3/secrets/batch/raw", json={**where, "secrets": [{"secretKey": "A", "secretValue": "a"}]}), 403)
    _refused(me.patch("/api/v3/secrets/batch/raw", json={**where, "mode": "upsert",
                                                         "secrets": [{"secretKey": "DB_PASSWORD", "secretValue": "x"}]}), 403)
    _refused(me.request("DELETE", "/api/v3/secrets/batch/raw", json={**where, "secrets": [{"secretKey": "DB_PASSWORD"}]}), 403)
    _refused(me.post("/api/v2/folders", json={"projectId": theirs["id"], "environment": "dev", "name": "x"}), 403)
    _refused(me.post("/api/v1/secret-imports", json={**where, "path": "/", "import": {"environment": "dev", "path": "/app"}}),
             403)
    _refused(me.post(f"/api/v1/workspace/{theirs['id']}/environments", json={"name": "x", "slug": "x"}), 403)
    _refused(me.post(f"/api/v2/workspace/{theirs['id']}/identity-memberships/{me.identity_id}", json={"role": "admin"}),
             403)
    _refused(me.request("DELETE", f"/api/v2/workspace/{theirs['slug']}"), 403)
    # My own project's routes with their secret's name touch only mine.
    mine = {"workspaceId": neighbours.mine["id"], "environment": "dev"}
    _refused(me.patch("/api/v3/secrets/raw/DB_PASSWORD", json={**mine, "secretValue": "stolen"}), 404)
    still = neighbours.them.get("/api/v3/secrets/raw/DB_PASSWORD", params=where)
    assert (still.json()["secret"]["secretValue"], still.json()["secret"]["version"]) == (THEIR_VALUE, 1)


@pytest.mark.parametrize("secret_path", ["/../", "/app/..", "/./app", "/app/%2e%2e", "/%2F", "/app\\..", "/app/../../"])
def test_path_tricks_do_not_leave_the_named_folder(neighbours: Neighbours, secret_path: str) -> None:
    response = neighbours.me.get("/api/v3/secrets/raw", params={"workspaceId": neighbours.mine["id"],
                                                                 "environment": "dev", "secretPath": secret_path})
    _refused(response, 404)
    assert response.json()["error"] == "SecretPathNotFound"


@pytest.mark.parametrize("name", ["..%2F..%2Fid%2F{id}", "DB_PASSWORD%2F..", "%2E%2E", "a%3Ab"])
def test_encoded_slashes_in_secret_names_reach_nothing(neighbours: Neighbours, name: str) -> None:
    path = "/api/v3/secrets/raw/" + name.format(id=neighbours.their_secret_id)
    response = neighbours.me.get(path, params={"workspaceId": neighbours.mine["id"], "environment": "dev"})
    _refused(response, 404, 422)


def test_other_identity_sees_only_its_own_project(neighbours: Neighbours) -> None:
    listed = neighbours.me.get("/api/v1/workspace").json()["workspaces"]
    assert [p["id"] for p in listed] == [neighbours.mine["id"]]
    mine = neighbours.me.get("/api/v3/secrets/raw", params={"workspaceId": neighbours.mine["id"], "environment": "dev",
                                                            "recursive": "true", "include_imports": "true"})
    assert mine.status_code == 200
    assert [s["secretKey"] for s in mine.json()["secrets"]] == ["MINE"]
    assert THEIR_VALUE not in mine.text
