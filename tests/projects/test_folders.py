"""Folders on /api/v1/folders (workspaceId, directory|path) and /api/v2/folders (projectId)."""

from __future__ import annotations

from tests.conftest import Api


def _create(api: Api, project_id: str, name: str, path: str = "/", version: str = "v1", **extra: object):  # noqa: ANN202
    owner = {"workspaceId": project_id} if version == "v1" else {"projectId": project_id}
    return api.admin("POST", f"/api/{version}/folders", json={**owner, "environment": "dev", "name": name, "path": path,
                                                              **extra})


def test_create_folder_answers_with_its_path_and_creates_missing_parents(api: Api) -> None:
    project = api.create_project()
    created = _create(api, project["id"], "db", path="app/services/", description="databases")
    assert created.status_code == 200, created.text
    folder = created.json()["folder"]
    assert folder["path"] == "/app/services/db"
    assert (folder["name"], folder["description"], folder["version"], folder["isReserved"]) == ("db", "databases", 1, False)
    env_id = project["environments"][0]["id"]
    assert folder["envId"] == env_id

    listed = api.admin("GET", "/api/v1/folders", params={"workspaceId": project["id"], "environment": "dev",
                                                          "directory": "/app"})
    assert [f["name"] for f in listed.json()["folders"]] == ["services"]


def test_folder_names_are_letters_digits_dash_underscore(api: Api) -> None:
    project = api.create_project()
    for bad in ("a b", "a/b", "..", "a.b", ""):
        assert _create(api, project["id"], bad).status_code == 422, bad
    assert _create(api, project["id"], "ok-name_1").status_code == 200
    duplicate = _create(api, project["id"], "ok-name_1")
    assert duplicate.status_code == 400


def test_list_recursive_with_relative_paths_and_lenient_booleans(api: Api) -> None:
    project = api.create_project()
    for name, path in (("app", "/"), ("db", "/app"), ("cache", "/app"), ("deep", "/app/db")):
        assert _create(api, project["id"], name, path, version="v2").status_code == 200
    query = {"projectId": project["id"], "environment": "dev", "path": "/app"}
    flat = api.admin("GET", "/api/v2/folders", params={**query, "recursive": "False"})
    assert flat.status_code == 200
    assert [f["name"] for f in flat.json()["folders"]] == ["cache", "db"]
    deep = api.admin("GET", "/api/v2/folders", params={**query, "recursive": "TRUE"})
    assert [(f["name"], f["relativePath"]) for f in deep.json()["folders"]] == [
        ("cache", "/cache"), ("db", "/db"), ("deep", "/db/deep"),
    ]
    assert api.admin("GET", "/api/v2/folders", params={**query, "recursive": "yes"}).status_code == 422
    missing = api.admin("GET", "/api/v2/folders", params={**query, "path": "/nope"})
    assert missing.status_code == 404


def test_get_rename_and_delete_folder(api: Api) -> None:
    project = api.create_project()
    folder = _create(api, project["id"], "api", "/services").json()["folder"]
    got = api.admin("GET", f"/api/v2/folders/{folder['id']}")
    assert got.status_code == 200
    body = got.json()["folder"]
    assert (body["path"], body["projectId"]) == ("/services/api", project["id"])
    assert body["environment"] == {"envId": folder["envId"], "envName": "Development", "envSlug": "dev"}

    api.admin("POST", "/api/v3/secrets/raw/KEY", json={"workspaceId": project["id"], "environment": "dev",
                                                      "secretPath": "/services/api", "secretValue": "v"})
    renamed = api.admin("PATCH", f"/api/v1/folders/{folder['id']}",
                        json={"workspaceId": project["id"], "environment": "dev", "name": "gateway", "path": "/services"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["folder"]["path"] == "/services/gateway"
    assert renamed.json()["folder"]["version"] == 2
    # The secret moved with its folder and still opens (its seal is re-bound to the new path).
    moved = api.admin("GET", "/api/v3/secrets/raw/KEY", params={"workspaceId": project["id"], "environment": "dev",
                                                                "secretPath": "/services/gateway"})
    assert moved.status_code == 200 and moved.json()["secret"]["secretValue"] == "v"

    by_name = api.admin("DELETE", "/api/v1/folders/gateway",
                        json={"workspaceId": project["id"], "environment": "dev", "directory": "/services"})
    assert by_name.status_code == 200 and by_name.json()["folder"]["id"] == folder["id"]
    assert api.admin("GET", f"/api/v2/folders/{folder['id']}").status_code == 404
    gone = api.admin("GET", "/api/v3/secrets/raw", params={"workspaceId": project["id"], "environment": "dev",
                                                           "secretPath": "/services/gateway"})
    assert gone.status_code == 404 and gone.json()["error"] == "SecretPathNotFound"

    other = _create(api, project["id"], "other").json()["folder"]
    by_id = api.admin("DELETE", f"/api/v2/folders/{other['id']}",
                      json={"projectId": project["id"], "environment": "dev", "path": "/", "forceDelete": False})
    assert by_id.status_code == 200
