"""A secret written on one replica is what every other replica answers next, whatever it rendered before."""

from __future__ import annotations

from typing import Any

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID
from tests.replicas.conftest import REPLICA_COUNT, ReplicaSet, database_only


def _secret_value(replicas: ReplicaSet, index: int, token: str, project_id: str, key: str) -> str:
    response = replicas.replica(index).get(f"/api/v3/secrets/raw/{key}", params={
        "workspaceId": project_id, "environment": "prod"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["secret"]["secretValue"]


def _listed(replicas: ReplicaSet, index: int, token: str, project_id: str) -> dict[str, Any]:
    response = replicas.replica(index).get("/api/v3/secrets/raw", params={
        "workspaceId": project_id, "environment": "prod"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {secret["secretKey"]: secret["secretValue"] for secret in response.json()["secrets"]}


@database_only
def test_a_secret_changed_on_one_replica_is_read_back_changed_on_every_other(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    created = replicas.admin(0, "POST", "/api/v2/workspace", json={"projectName": "rotating"})
    assert created.status_code == 200, created.text
    project_id = created.json()["project"]["id"]
    identity_id = replicas.identity_with_oidc(provider)
    added = replicas.admin(0, "POST", f"/api/v2/workspace/{project_id}/identity-memberships/{identity_id}",
                           json={"role": "viewer"})
    assert added.status_code == 200, added.text
    token = replicas.access_token(1, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    write = {"workspaceId": project_id, "environment": "prod"}
    assert replicas.admin(0, "POST", "/api/v3/secrets/raw/DB_PASSWORD", json={**write, "secretValue": "old"}).status_code == 200

    # Every replica renders (and keeps) the old value, twice over.
    for _ in range(2):
        for index in range(REPLICA_COUNT):
            assert _secret_value(replicas, index, token, project_id, "DB_PASSWORD") == "old"
            assert _listed(replicas, index, token, project_id) == {"DB_PASSWORD": "old"}

    rotated = replicas.admin(0, "PATCH", "/api/v3/secrets/raw/DB_PASSWORD", json={**write, "secretValue": "new"})
    assert rotated.status_code == 200, rotated.text
    for index in range(REPLICA_COUNT):
        assert _secret_value(replicas, index, token, project_id, "DB_PASSWORD") == "new"
        assert _listed(replicas, index, token, project_id) == {"DB_PASSWORD": "new"}

    deleted = replicas.admin(2, "DELETE", "/api/v3/secrets/raw/DB_PASSWORD", json=write)
    assert deleted.status_code == 200, deleted.text
    for index in range(REPLICA_COUNT):
        assert _listed(replicas, index, token, project_id) == {}
