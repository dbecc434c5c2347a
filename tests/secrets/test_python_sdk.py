"""Infisical's own Python SDK (infisicalsdk 1.0.18), unchanged, against a real server: OIDC login with a JWT-SVID."""

from __future__ import annotations

from typing import Any

import pytest
from infisical_sdk import InfisicalSDKClient
from infisical_sdk.infisical_requests import APIError

from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.projects.workloads import Spire


def _sdk_workload(api: Api, spire: Spire, project_id: str, role: str) -> InfisicalSDKClient:
    identity_id = api.create_identity()
    assert api.attach_oidc(identity_id, spire.provider).status_code == 200
    assert api.add_to_project(project_id, identity_id, role).status_code == 200
    client = InfisicalSDKClient(host=api.server.url, cache_ttl=None)
    login = client.auth.oidc_auth.login(identity_id=identity_id, jwt=spire.authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert login.tokenType == "Bearer"
    return client


@pytest.fixture
def project(api: Api) -> dict[str, Any]:
    project = api.create_project()
    where = {"workspaceId": project["id"]}
    api.admin("POST", "/api/v1/folders", json={**where, "environment": "prod", "name": "shared"})
    for environment, path, key, value in (("dev", "/", "DB_USER", "app"), ("dev", "/", "DB_URL", "pg://${DB_USER}@db"),
                                          ("prod", "/shared", "SHARED_TOKEN", "shared-token")):
        created = api.admin("POST", f"/api/v3/secrets/raw/{key}",
                            json={**where, "environment": environment, "secretPath": path, "secretValue": value})
        assert created.status_code == 200, created.text
    imported = api.admin("POST", "/api/v1/secret-imports", json={**where, "environment": "dev", "path": "/",
                                                                 "import": {"environment": "prod", "path": "/shared"}})
    assert imported.status_code == 200, imported.text
    return project


def test_member_lists_with_references_expanded_and_imports_included(api: Api, spire: Spire, project: dict[str, Any]) -> None:
    client = _sdk_workload(api, spire, project["id"], "member")
    listed = client.secrets.list_secrets(environment_slug="dev", secret_path="/", project_id=project["id"])
    assert {s.secretKey: s.secretValue for s in listed.secrets} == {"DB_USER": "app", "DB_URL": "pg://app@db"}
    assert [(i.environment, i.secretPath) for i in listed.imports] == [("prod", "/shared")]
    assert [s["secretKey"] for s in listed.imports[0].secrets] == ["SHARED_TOKEN"]

    by_slug = client.secrets.list_secrets(environment_slug="dev", secret_path="/", project_slug=project["slug"])
    assert len(by_slug.secrets) == 2

    one = client.secrets.get_secret_by_name(secret_name="DB_URL", project_id=project["id"], environment_slug="dev",
                                            secret_path="/")
    assert (one.secretValue, one.version, one.workspace) == ("pg://app@db", 1, project["id"])
    through_import = client.secrets.get_secret_by_name(secret_name="SHARED_TOKEN", project_id=project["id"],
                                                       environment_slug="dev", secret_path="/")
    assert (through_import.secretValue, through_import.environment) == ("shared-token", "prod")


def test_member_creates_updates_and_deletes(api: Api, spire: Spire, project: dict[str, Any]) -> None:
    client = _sdk_workload(api, spire, project["id"], "member")
    created = client.secrets.create_secret_by_name(secret_name="API_KEY", project_id=project["id"], secret_path="/",
                                                   environment_slug="dev", secret_value=" k1 ", secret_comment="rotated monthly")
    assert (created.secretKey, created.secretValue, created.secretComment, created.version) == (
        "API_KEY", "k1", "rotated monthly", 1)
    updated = client.secrets.update_secret_by_name(current_secret_name="API_KEY", project_id=project["id"], secret_path="/",
                                                   environment_slug="dev", secret_value="k2", new_secret_name="API_TOKEN")
    assert (updated.secretKey, updated.version) == ("API_TOKEN", 2)
    old = client.secrets.get_secret_by_name(secret_name="API_TOKEN", project_id=project["id"], environment_slug="dev",
                                            secret_path="/", version="1")
    assert (old.secretValue, old.secretKey) == ("k1", "API_KEY")
    deleted = client.secrets.delete_secret_by_name(secret_name="API_TOKEN", project_id=project["id"],
                                                   environment_slug="dev", secret_path="/")
    assert deleted.secretValue == "k2"
    with pytest.raises(APIError) as missing:
        client.secrets.get_secret_by_name(secret_name="API_TOKEN", project_id=project["id"], environment_slug="dev",
                                          secret_path="/")
    assert missing.value.status_code == 404


def test_member_manages_folders(api: Api, spire: Spire, project: dict[str, Any]) -> None:
    client = _sdk_workload(api, spire, project["id"], "member")
    folder = client.folders.create_folder(name="app", environment_slug="dev", project_id=project["id"], path="/")
    assert folder.path == "/app"
    listed = client.folders.list_folders(project_id=project["id"], environment_slug="dev", path="/")
    assert [f.name for f in listed.folders] == ["app"]
    got = client.folders.get_folder_by_id(folder.id)
    assert (got.path, got.projectId, got.environment.envSlug) == ("/app", project["id"], "dev")


def test_viewer_reads_but_writes_raise_403(api: Api, spire: Spire, project: dict[str, Any]) -> None:
    client = _sdk_workload(api, spire, project["id"], "viewer")
    listed = client.secrets.list_secrets(environment_slug="dev", secret_path="/", project_id=project["id"])
    assert len(listed.secrets) == 2
    attempts = [
        lambda: client.secrets.create_secret_by_name(secret_name="NEW", project_id=project["id"], secret_path="/",
                                                     environment_slug="dev", secret_value="x"),
        lambda: client.secrets.update_secret_by_name(current_secret_name="DB_USER", project_id=project["id"],
                                                     secret_path="/", environment_slug="dev", secret_value="x"),
        lambda: client.secrets.delete_secret_by_name(secret_name="DB_USER", project_id=project["id"],
                                                     environment_slug="dev", secret_path="/"),
        lambda: client.folders.create_folder(name="nope", environment_slug="dev", project_id=project["id"]),
    ]
    for attempt in attempts:
        with pytest.raises(APIError) as refused:
            attempt()
        assert refused.value.status_code == 403
        assert refused.value.response["error"] == "PermissionDenied"
    assert client.secrets.get_secret_by_name(secret_name="DB_USER", project_id=project["id"], environment_slug="dev",
                                             secret_path="/").secretValue == "app"


def test_no_access_member_and_outsider_get_403(api: Api, spire: Spire, project: dict[str, Any]) -> None:
    client = _sdk_workload(api, spire, project["id"], "no-access")
    other = api.create_project()
    outsider = _sdk_workload(api, spire, other["id"], "admin")
    for sdk in (client, outsider):
        with pytest.raises(APIError) as refused:
            sdk.secrets.list_secrets(environment_slug="dev", secret_path="/", project_id=project["id"])
        assert refused.value.status_code == 403
        assert "app" not in str(refused.value.response)
