"""What each project role may do, route by route: admin, member, viewer, no-access, and a non-member."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Api
from tests.projects.workloads import Spire, Workload, member_of, new_workload

SEEDED_VALUE = "seeded-value-7f3a"


@dataclass
class Team:
    api: Api
    project: dict
    workloads: dict[str, Workload]
    seeded_id: str

    @property
    def project_id(self) -> str:
        return self.project["id"]


@pytest.fixture(scope="module")
def team(api: Api, spire: Spire) -> Team:
    project = api.create_project()
    seeded = api.admin("POST", "/api/v3/secrets/raw/SEEDED",
                       json={"workspaceId": project["id"], "environment": "dev", "secretValue": SEEDED_VALUE})
    assert seeded.status_code == 200, seeded.text
    workloads = {role: member_of(api, spire, project["id"], role) for role in ("admin", "member", "viewer", "no-access")}
    workloads["outsider"] = new_workload(api, spire)
    return Team(api, project, workloads, seeded.json()["secret"]["id"])


def _fresh_secret(team: Team) -> str:
    key = f"K_{uuid.uuid4().hex[:8].upper()}"
    created = team.api.admin("POST", f"/api/v3/secrets/raw/{key}",
                             json={"workspaceId": team.project_id, "environment": "dev", "secretValue": "v"})
    assert created.status_code == 200, created.text
    return key


def _fresh_folder(team: Team) -> str:
    name = f"shared{uuid.uuid4().hex[:8]}"
    created = team.api.admin("POST", "/api/v1/folders",
                             json={"workspaceId": team.project_id, "environment": "prod", "name": name})
    assert created.status_code == 200, created.text
    return f"/{name}"


Operation = Callable[[Workload, Team], httpx.Response]


def _where(team: Team) -> dict[str, str]:
    return {"workspaceId": team.project_id, "environment": "dev"}


OPERATIONS: dict[str, Operation] = {
    "list secrets": lambda w, t: w.get("/api/v3/secrets/raw", params=_where(t)),
    "list secrets v4": lambda w, t: w.get("/api/v4/secrets", params={"projectId": t.project_id, "environment": "dev"}),
    "get secret": lambda w, t: w.get("/api/v3/secrets/raw/SEEDED", params=_where(t)),
    "get secret by id": lambda w, t: w.get(f"/api/v3/secrets/raw/id/{t.seeded_id}"),
    "create secret": lambda w, t: w.post(f"/api/v3/secrets/raw/NEW_{uuid.uuid4().hex[:6]}",
                                         json={**_where(t), "secretValue": "x"}),
    "update secret": lambda w, t: w.patch(f"/api/v3/secrets/raw/{_fresh_secret(t)}", json={**_where(t), "secretValue": "y"}),
    "delete secret": lambda w, t: w.request("DELETE", f"/api/v3/secrets/raw/{_fresh_secret(t)}", json=_where(t)),
    "batch create": lambda w, t: w.post("/api/v3/secrets/batch/raw",
                                        json={**_where(t), "secrets": [{"secretKey": f"B_{uuid.uuid4().hex[:6]}",
                                                                        "secretValue": "b"}]}),
    "list folders": lambda w, t: w.get("/api/v1/folders", params=_where(t)),
    "create folder": lambda w, t: w.post("/api/v1/folders", json={**_where(t), "name": f"f{uuid.uuid4().hex[:6]}"}),
    "list imports": lambda w, t: w.get("/api/v1/secret-imports", params=_where(t)),
    "create import": lambda w, t: w.post("/api/v1/secret-imports", json={
        "workspaceId": t.project_id, "environment": "staging", "path": "/",
        "import": {"environment": "prod", "path": _fresh_folder(t)}}),
    "get project": lambda w, t: w.get(f"/api/v1/workspace/{t.project_id}"),
    "update project": lambda w, t: w.patch(f"/api/v1/workspace/{t.project_id}", json={"description": "d"}),
    "list memberships": lambda w, t: w.get(f"/api/v2/workspace/{t.project_id}/identity-memberships"),
    "add membership": lambda w, t: w.post(
        f"/api/v2/workspace/{t.project_id}/identity-memberships/{t.api.create_identity()}", json={"role": "viewer"}),
    "list environments": lambda w, t: w.get(f"/api/v1/workspace/{t.project_id}/environments"),
    "add environment": lambda w, t: w.post(f"/api/v1/workspace/{t.project_id}/environments",
                                           json={"name": "e", "slug": f"e{uuid.uuid4().hex[:6]}"}),
}

ALLOWED = {
    "admin": set(OPERATIONS),
    "member": set(OPERATIONS) - {"update project", "add membership"},
    "viewer": {"list secrets", "list secrets v4", "get secret", "get secret by id", "list folders", "list imports",
               "get project", "list memberships", "list environments"},
    "no-access": {"get project"},
    "outsider": set(),
}
# A non-member asking for a secret by id is told it does not exist: ids of other projects are not confirmed.
REFUSAL_STATUS = {("outsider", "get secret by id"): 404}


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_role_matrix(team: Team, role: str, operation: str) -> None:
    response = OPERATIONS[operation](team.workloads[role], team)
    if operation in ALLOWED[role]:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == REFUSAL_STATUS.get((role, operation), 403), response.text
    assert SEEDED_VALUE not in response.text
    if role == "outsider" and response.status_code == 403:
        assert response.json()["message"] == f"Identity is not a member of the specified project with ID '{team.project_id}'"
    elif response.status_code == 403:
        assert response.json()["error"] == "PermissionDenied"
        assert response.json()["message"].startswith("You are not allowed to ")


def test_viewer_reads_values_but_every_write_names_the_missing_permission(team: Team) -> None:
    viewer = team.workloads["viewer"]
    listed = viewer.get("/api/v3/secrets/raw", params=_where(team))
    assert [(s["secretKey"], s["secretValue"]) for s in listed.json()["secrets"] if s["secretKey"] == "SEEDED"] == [
        ("SEEDED", SEEDED_VALUE)]
    refused = viewer.post("/api/v3/secrets/raw/NOPE", json={**_where(team), "secretValue": "x"})
    assert refused.json()["message"] == "You are not allowed to create on secrets"
    edit = viewer.patch("/api/v3/secrets/raw/SEEDED", json={**_where(team), "secretValue": "x"})
    assert edit.json()["message"] == "You are not allowed to edit on secrets"
    delete = viewer.request("DELETE", "/api/v3/secrets/raw/SEEDED", json=_where(team))
    assert delete.json()["message"] == "You are not allowed to delete on secrets"
    assert team.api.admin("GET", "/api/v3/secrets/raw/SEEDED", params=_where(team)).json()["secret"]["secretValue"] == SEEDED_VALUE


def test_no_access_member_is_refused_secrets_before_anything_about_them_is_looked_up(team: Team) -> None:
    no_access = team.workloads["no-access"]
    for path in ("/api/v3/secrets/raw", "/api/v3/secrets/raw/SEEDED", "/api/v3/secrets/raw/DOES_NOT_EXIST"):
        for secret_path in ("/", "/no/such/folder"):
            response = no_access.get(path, params={**_where(team), "secretPath": secret_path})
            # Same answer whether the secret or folder exists: nothing is learnt by probing.
            assert response.status_code == 403
            assert response.json()["message"] == "You are not allowed to describeSecret on secrets"
