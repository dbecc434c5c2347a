"""At rest: no plaintext value or comment anywhere in the database or the logs; moved ciphertexts do not open."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import MetaData, select, update

from strongroom.store.models import Secret, SecretVersion
from tests.conftest import Api
from tests.projects.workloads import Spire, Workload
from tests.secrets.conftest import where


def _every_cell(api: Api) -> list[Any]:
    engine = api.server.services.database.engine
    metadata = MetaData()
    metadata.reflect(engine)
    cells = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                cells.extend(row)
    return cells


def _contains(cell: Any, text: str) -> bool:
    if isinstance(cell, (bytes, bytearray, memoryview)):
        raw = bytes(cell)
        return text.encode() in raw or text.encode("utf-16-le") in raw
    return text in str(cell)


def test_no_plaintext_value_or_comment_is_stored_or_logged(api: Api, member: Workload, project: dict[str, Any],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    canaries = [f"canary-{uuid.uuid4().hex}" for _ in range(6)]
    caplog.set_level(logging.DEBUG)
    member.post("/api/v3/secrets/raw/ONE", json=where(project, secretValue=canaries[0], secretComment=canaries[1]))
    member.patch("/api/v3/secrets/raw/ONE", json=where(project, secretValue=canaries[2], newSecretName="RENAMED"))
    member.post("/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "TWO", "secretValue": canaries[3], "secretComment": canaries[4]}]))
    member.post("/api/v2/folders", json={"projectId": project["id"], "environment": "dev", "name": "moved"})
    member.post("/api/v3/secrets/raw/THREE", json=where(project, secretPath="/moved", secretValue=canaries[5]))
    folder_id = member.get("/api/v2/folders", params={"projectId": project["id"], "environment": "dev"}).json()["folders"][0]["id"]
    member.patch(f"/api/v2/folders/{folder_id}", json={"projectId": project["id"], "environment": "dev", "name": "renamed"})
    # The values really are there, for whoever may read them ...
    listed = member.get("/api/v3/secrets/raw", params=where(project, recursive="true"))
    assert {s["secretValue"] for s in listed.json()["secrets"]} == {canaries[2], canaries[3], canaries[5]}

    # ... but in no table, in no column, and in no log line.
    cells = _every_cell(api)
    assert len(cells) > 0
    for canary in canaries:
        assert not any(_contains(cell, canary) for cell in cells), canary
        assert canary not in caplog.text


def _sealed(api: Api, secret_id: str) -> tuple[bytes, bytes]:
    with api.server.services.database.sessions() as session:
        row = session.get(Secret, secret_id)
        assert row is not None
        return bytes(row.sealed_value), bytes(row.sealed_comment)


def _store(api: Api, secret_id: str, **columns: bytes) -> None:
    with api.server.services.database.sessions() as session:
        session.execute(update(Secret).where(Secret.id == secret_id).values(**columns))
        session.commit()


def test_swapped_ciphertexts_do_not_open_and_the_api_says_so(api: Api, member: Workload, project: dict[str, Any],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    first = member.post("/api/v3/secrets/raw/FIRST", json=where(project, secretValue="first-value")).json()["secret"]
    second = member.post("/api/v3/secrets/raw/SECOND", json=where(project, secretValue="second-value")).json()["secret"]
    first_value, _ = _sealed(api, first["id"])
    second_value, _ = _sealed(api, second["id"])
    _store(api, first["id"], sealed_value=second_value)
    _store(api, second["id"], sealed_value=first_value)

    for key in ("FIRST", "SECOND"):
        response = member.get(f"/api/v3/secrets/raw/{key}", params=where(project))
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "SecretIntegrityError"
        assert f"secret '{key}'" in response.json()["message"]
        assert "first-value" not in response.text and "second-value" not in response.text
    listing = member.get("/api/v3/secrets/raw", params=where(project))
    assert listing.status_code == 409
    assert member.get(f"/api/v3/secrets/raw/id/{first['id']}").status_code == 409
    assert "integrity check" in caplog.text
    assert "first-value" not in caplog.text and "second-value" not in caplog.text

    # Writing a new value (and comment) repairs a secret; a damaged one can also simply be deleted.
    repaired = member.patch("/api/v3/secrets/raw/FIRST", json=where(project, secretValue="fresh", secretComment=""))
    assert repaired.status_code == 200, repaired.text
    assert member.get("/api/v3/secrets/raw/FIRST", params=where(project)).json()["secret"]["secretValue"] == "fresh"
    deleted = member.request("DELETE", "/api/v3/secrets/raw/SECOND", json=where(project))
    assert deleted.status_code == 200 and deleted.json()["secret"]["secretValueHidden"] is True
    assert member.get("/api/v3/secrets/raw", params=where(project)).status_code == 200


def test_value_moved_into_the_comment_column_does_not_open(api: Api, member: Workload, project: dict[str, Any]) -> None:
    secret = member.post("/api/v3/secrets/raw/COLUMN", json=where(project, secretValue="v", secretComment="c")).json()["secret"]
    value, _ = _sealed(api, secret["id"])
    _store(api, secret["id"], sealed_comment=value)
    response = member.get("/api/v3/secrets/raw/COLUMN", params=where(project))
    assert response.status_code == 409
    assert "stored comment" in response.json()["message"]


def test_ciphertext_copied_between_versions_does_not_open(api: Api, member: Workload, project: dict[str, Any]) -> None:
    secret = member.post("/api/v3/secrets/raw/HISTORY", json=where(project, secretValue="one")).json()["secret"]
    member.patch("/api/v3/secrets/raw/HISTORY", json=where(project, secretValue="two"))
    with api.server.services.database.sessions() as session:
        versions = {v.version: v for v in session.scalars(select(SecretVersion).where(SecretVersion.secret_id == secret["id"]))}
        session.execute(update(SecretVersion).where(SecretVersion.id == versions[1].id)
                        .values(sealed_value=versions[2].sealed_value))
        session.commit()
    old = member.get("/api/v3/secrets/raw/HISTORY", params=where(project, version="1"))
    assert old.status_code == 409
    assert member.get("/api/v3/secrets/raw/HISTORY", params=where(project)).json()["secret"]["secretValue"] == "two"


def test_ciphertext_from_another_project_does_not_open(api: Api, spire: Spire, member: Workload,
                                                      project: dict[str, Any]) -> None:
    other = api.create_project()
    theirs = api.admin("POST", "/api/v3/secrets/raw/SAME", json={"workspaceId": other["id"], "environment": "dev",
                                                                "secretValue": "other-project-value"}).json()["secret"]
    mine = member.post("/api/v3/secrets/raw/SAME", json=where(project, secretValue="mine")).json()["secret"]
    their_value, their_comment = _sealed(api, theirs["id"])
    _store(api, mine["id"], sealed_value=their_value, sealed_comment=their_comment)
    response = member.get("/api/v3/secrets/raw/SAME", params=where(project))
    assert response.status_code == 409
    assert "other-project-value" not in response.text
