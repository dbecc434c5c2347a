"""The v3 raw secrets API: shapes, normalisation, validation, versions, batches, v4 listing and ETags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.projects.workloads import Workload
from tests.secrets.conftest import where

REQUIRED_FIELDS = {"id", "_id", "workspace", "environment", "version", "type", "secretKey", "secretValue",
                   "secretComment", "createdAt", "updatedAt"}
EXTENSION_FIELDS = {"secretPath", "secretValueHidden", "tags", "secretMetadata", "skipMultilineEncoding",
                    "secretReminderNote", "secretReminderRepeatDays"}


def test_secret_object_has_every_field_clients_read(member: Workload, project: dict[str, Any]) -> None:
    created = member.post("/api/v3/secrets/raw/API_KEY", json=where(project, secretValue="abc"))
    assert created.status_code == 200, created.text
    secret = created.json()["secret"]
    assert REQUIRED_FIELDS | EXTENSION_FIELDS <= set(secret)
    assert secret["_id"] == secret["id"]
    assert (secret["workspace"], secret["environment"], secret["version"], secret["type"]) == (project["id"], "dev", 1, "shared")
    assert (secret["secretComment"], secret["tags"], secret["secretMetadata"], secret["secretPath"]) == ("", [], [], "/")
    assert secret["skipMultilineEncoding"] is False and secret["secretValueHidden"] is False
    for listed in (member.get("/api/v3/secrets/raw", params=where(project)).json()["secrets"][0],
                   member.get("/api/v3/secrets/raw/API_KEY", params=where(project)).json()["secret"],
                   member.get(f"/api/v3/secrets/raw/id/{secret['id']}").json()["secret"]):
        assert REQUIRED_FIELDS | EXTENSION_FIELDS <= set(listed)
        assert listed["secretValue"] == "abc"


@pytest.mark.parametrize("version", ["v3", "v4"])
def test_a_secret_named_id_and_reads_by_id_do_not_meet(member: Workload, project: dict[str, Any], version: str) -> None:
    # The by-name and by-id routes share a prefix; the by-name ones are tried first.
    created = member.post("/api/v3/secrets/raw/id", json=where(project, secretValue="named id"))
    assert created.status_code == 200, created.text
    prefix = "/api/v3/secrets/raw" if version == "v3" else "/api/v4/secrets"
    params = where(project) if version == "v3" else {"projectId": project["id"], "environment": "dev"}
    by_name = member.get(f"{prefix}/id", params=params)
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["secret"]["secretValue"] == "named id"
    by_id = member.get(f"{prefix}/id/{created.json()['secret']['id']}")
    assert by_id.status_code == 200, by_id.text
    assert by_id.json()["secret"]["secretKey"] == "id"


@pytest.mark.parametrize(("sent", "stored"), [
    ("  padded  ", "padded"),
    ("-----BEGIN KEY-----\nabc\n-----END KEY-----\n", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"),
    ("  trailing newline kept once \n\n", "trailing newline kept once\n"),
    ("", ""),
])
def test_values_are_normalised_as_infisical_does(member: Workload, project: dict[str, Any], sent: str, stored: str) -> None:
    created = member.post("/api/v3/secrets/raw/VALUE", json=where(project, secretValue=sent, secretComment="  note "))
    assert created.json()["secret"]["secretValue"] == stored
    read = member.get("/api/v3/secrets/raw/VALUE", params=where(project)).json()["secret"]
    assert (read["secretValue"], read["secretComment"]) == (stored, "note")


@pytest.mark.parametrize("name", ["A:B", "   ", "X" * 256])
def test_invalid_secret_names_are_refused_with_422(member: Workload, project: dict[str, Any], name: str) -> None:
    response = member.post(f"/api/v3/secrets/raw/{name}", json=where(project, secretValue="v"))
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationFailure"
    assert member.get("/api/v3/secrets/raw", params=where(project)).json()["secrets"] == []


def test_colon_or_slash_message_matches_infisical(member: Workload, project: dict[str, Any]) -> None:
    response = member.post("/api/v3/secrets/batch/raw", json=where(project, secrets=[{"secretKey": "a/b", "secretValue": "v"}]))
    assert response.status_code == 422
    assert response.json()["message"][0]["message"].endswith("Secret name cannot contain colon or forward slash.")


def test_duplicates_and_missing_secrets(member: Workload, project: dict[str, Any]) -> None:
    assert member.post("/api/v3/secrets/raw/DUP", json=where(project, secretValue="1")).status_code == 200
    again = member.post("/api/v3/secrets/raw/%20DUP%20", json=where(project, secretValue="2"))
    assert again.status_code == 400 and again.json()["message"] == "Secret already exists"
    missing = member.get("/api/v3/secrets/raw/NOPE", params=where(project))
    assert missing.status_code == 404 and missing.json()["message"] == "Secret with name 'NOPE' not found"
    assert member.patch("/api/v3/secrets/raw/NOPE", json=where(project, secretValue="x")).status_code == 404
    deleted = member.request("DELETE", "/api/v3/secrets/raw/NOPE", json=where(project))
    assert deleted.status_code == 404 and deleted.json()["message"] == "Secret not found"
    folder = member.post("/api/v3/secrets/raw/X", json=where(project, secretValue="1", secretPath="/missing"))
    assert folder.status_code == 404
    assert folder.json()["message"] == "Folder with path '/missing' in environment with slug 'dev' not found"


def test_missing_project_or_environment(member: Workload, project: dict[str, Any]) -> None:
    listing = member.get("/api/v3/secrets/raw", params={"workspaceId": project["id"]})
    assert listing.status_code == 400 and listing.json()["message"] == "Missing project id or environment"
    one = member.get("/api/v3/secrets/raw/A", params={"workspaceId": project["id"]})
    assert one.status_code == 400 and one.json()["message"] == "Missing environment"
    unknown_env = member.get("/api/v3/secrets/raw", params=where(project, environment="qa"))
    assert unknown_env.status_code == 404


def test_update_bumps_version_keeps_history_and_renames(member: Workload, project: dict[str, Any]) -> None:
    member.post("/api/v3/secrets/raw/DB_URL", json=where(project, secretValue="v1", secretComment="first"))
    second = member.patch("/api/v3/secrets/raw/DB_URL", json=where(project, secretValue="v2"))
    assert second.json()["secret"]["version"] == 2
    third = member.patch("/api/v3/secrets/raw/DB_URL", json=where(project, secretComment="third", newSecretName="DATABASE_URL"))
    assert third.status_code == 200
    assert (third.json()["secret"]["version"], third.json()["secret"]["secretKey"]) == (3, "DATABASE_URL")
    assert third.json()["secret"]["secretValue"] == ""  # Infisical echoes the value sent, or "" when none was

    current = member.get("/api/v3/secrets/raw/DATABASE_URL", params=where(project)).json()["secret"]
    assert (current["secretValue"], current["secretComment"], current["version"]) == ("v2", "third", 3)
    for version, value, comment, key in ((1, "v1", "first", "DB_URL"), (2, "v2", "first", "DB_URL")):
        old = member.get("/api/v3/secrets/raw/DATABASE_URL", params=where(project, version=str(version)))
        assert old.status_code == 200, old.text
        body = old.json()["secret"]
        assert (body["version"], body["secretValue"], body["secretComment"], body["secretKey"]) == (version, value, comment, key)
    assert member.get("/api/v3/secrets/raw/DATABASE_URL", params=where(project, version="9")).status_code == 404
    assert member.get("/api/v3/secrets/raw/DB_URL", params=where(project)).status_code == 404

    member.post("/api/v3/secrets/raw/OTHER", json=where(project, secretValue="o"))
    clash = member.patch("/api/v3/secrets/raw/OTHER", json=where(project, newSecretName="DATABASE_URL"))
    assert clash.status_code == 400 and clash.json()["message"] == "Secret with the new name already exists"
    empty = member.patch("/api/v3/secrets/raw/OTHER", json=where(project, newSecretName="  "))
    assert empty.status_code == 400 and empty.json()["message"] == "New secret name cannot be empty"


def test_delete_answers_with_the_last_value(member: Workload, project: dict[str, Any]) -> None:
    member.post("/api/v3/secrets/raw/GONE", json=where(project, secretValue="bye"))
    deleted = member.request("DELETE", "/api/v3/secrets/raw/GONE", json=where(project))
    assert deleted.status_code == 200 and deleted.json()["secret"]["secretValue"] == "bye"
    assert member.get("/api/v3/secrets/raw/GONE", params=where(project)).status_code == 404


def test_auto_capitalization_requires_uppercase_names(api: Api, member: Workload, project: dict[str, Any]) -> None:
    api.admin("PATCH", f"/api/v2/workspace/{project['slug']}", json={"autoCapitalization": True})
    refused = member.post("/api/v3/secrets/raw/lower", json=where(project, secretValue="v"))
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("Secret name must be in UPPERCASE per project requirements.")
    assert member.post("/api/v3/secrets/raw/UPPER", json=where(project, secretValue="v")).status_code == 200


def test_batch_create_is_all_or_nothing(member: Workload, project: dict[str, Any]) -> None:
    member.post("/api/v3/secrets/raw/TAKEN", json=where(project, secretValue="t"))
    clash = member.post("/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "FRESH", "secretValue": "f"}, {"secretKey": "TAKEN", "secretValue": "x"}]))
    assert clash.status_code == 400 and clash.json()["message"] == "Secret already exists: TAKEN"
    repeated = member.post("/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "TWICE", "secretValue": "1"}, {"secretKey": "TWICE", "secretValue": "2"}]))
    assert repeated.status_code == 400
    half_invalid = member.post("/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "GOOD", "secretValue": "g"}, {"secretKey": "BAD:KEY", "secretValue": "b"}]))
    assert half_invalid.status_code == 422
    keys = [s["secretKey"] for s in member.get("/api/v3/secrets/raw", params=where(project)).json()["secrets"]]
    assert keys == ["TAKEN"]

    created = member.post("/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "A", "secretValue": " a "}, {"secretKey": "B", "secretValue": "b", "secretComment": "c"}]))
    assert created.status_code == 200
    assert [(s["secretKey"], s["secretValue"], s["version"]) for s in created.json()["secrets"]] == [("A", "a", 1), ("B", "b", 1)]


def test_batch_update_modes_and_batch_delete(member: Workload, project: dict[str, Any]) -> None:
    member.post("/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "A", "secretValue": "a"}, {"secretKey": "B", "secretValue": "b"}]))
    strict = member.patch("/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "A", "secretValue": "a2"}, {"secretKey": "C", "secretValue": "c"}]))
    assert strict.status_code == 404 and strict.json()["message"] == "Secret does not exist: C in path /"
    assert member.get("/api/v3/secrets/raw/A", params=where(project)).json()["secret"]["secretValue"] == "a"

    ignored = member.patch("/api/v3/secrets/batch/raw", json=where(project, mode="ignore", secrets=[
        {"secretKey": "A", "secretValue": "a2"}, {"secretKey": "C", "secretValue": "c"}]))
    assert [(s["secretKey"], s["version"]) for s in ignored.json()["secrets"]] == [("A", 2)]
    upserted = member.patch("/api/v3/secrets/batch/raw", json=where(project, mode="upsert", secrets=[
        {"secretKey": "B", "secretValue": "b2", "newSecretName": "B2"}, {"secretKey": "C", "secretValue": "c"}]))
    assert [(s["secretKey"], s["secretValue"], s["version"]) for s in upserted.json()["secrets"]] == [
        ("B2", "b2", 2), ("C", "c", 1)]

    missing = member.request("DELETE", "/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "A"}, {"secretKey": "NOPE"}]))
    assert missing.status_code == 404
    deleted = member.request("DELETE", "/api/v3/secrets/batch/raw", json=where(project, secrets=[
        {"secretKey": "A"}, {"secretKey": "C"}]))
    assert [s["secretKey"] for s in deleted.json()["secrets"]] == ["A", "C"]
    keys = [s["secretKey"] for s in member.get("/api/v3/secrets/raw", params=where(project)).json()["secrets"]]
    assert keys == ["B2"]


def test_recursive_listing_and_hidden_values(api: Api, member: Workload, project: dict[str, Any]) -> None:
    api.admin("POST", "/api/v2/folders", json={"projectId": project["id"], "environment": "dev", "name": "db", "path": "/app"})
    member.post("/api/v3/secrets/raw/ROOT", json=where(project, secretValue="r"))
    member.post("/api/v3/secrets/raw/DEEP", json=where(project, secretValue="d", secretPath="/app/db/"))
    flat = member.get("/api/v3/secrets/raw", params=where(project))
    assert [s["secretKey"] for s in flat.json()["secrets"]] == ["ROOT"]
    deep = member.get("/api/v3/secrets/raw", params=where(project, recursive="true"))
    assert [(s["secretKey"], s["secretPath"]) for s in deep.json()["secrets"]] == [("ROOT", "/"), ("DEEP", "/app/db")]
    hidden = member.get("/api/v3/secrets/raw", params=where(project, viewSecretValue="false", recursive="True"))
    assert {(s["secretValue"], s["secretValueHidden"]) for s in hidden.json()["secrets"]} == {("<hidden-by-infisical>", True)}
    for bad in ("1", "yes", "TRUEISH"):
        assert member.get("/api/v3/secrets/raw", params=where(project, recursive=bad)).status_code == 422


def test_v4_listing_takes_project_id_and_camel_case_flags(member: Workload, project: dict[str, Any]) -> None:
    member.post("/api/v3/secrets/raw/A", json=where(project, secretValue="a"))
    member.post("/api/v3/secrets/raw/B", json=where(project, secretValue="${A}-b"))
    query = {"projectId": project["id"], "environment": "dev", "secretPath": "/", "includeImports": "true",
             "recursive": "false", "expandSecretReferences": "true", "includePersonalOverrides": "true"}
    response = member.get("/api/v4/secrets", params=query)
    assert response.status_code == 200, response.text
    assert {s["secretKey"]: s["secretValue"] for s in response.json()["secrets"]} == {"A": "a", "B": "a-b"}
    assert response.json()["imports"] == []


def test_list_and_get_carry_etags_and_honour_if_none_match(member: Workload, project: dict[str, Any]) -> None:
    member.post("/api/v3/secrets/raw/A", json=where(project, secretValue="a"))
    for path in ("/api/v3/secrets/raw", "/api/v3/secrets/raw/A"):
        first = member.get(path, params=where(project))
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        assert member.get(path, params=where(project)).headers["etag"] == etag
        unchanged = member.get(path, params=where(project), headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert member.get(path, params=where(project), headers={"If-None-Match": '"other"'}).status_code == 200
    before = member.get("/api/v3/secrets/raw", params=where(project)).headers["etag"]
    member.patch("/api/v3/secrets/raw/A", json=where(project, secretValue="changed"))
    after = member.get("/api/v3/secrets/raw", params=where(project), headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before


def test_tags_are_not_supported_so_tag_filters_match_nothing(member: Workload, project: dict[str, Any]) -> None:
    member.post("/api/v3/secrets/raw/A", json=where(project, secretValue="a"))
    assert member.get("/api/v3/secrets/raw", params=where(project, tagSlugs="prod")).json()["secrets"] == []
    tagged = member.post("/api/v3/secrets/raw/B", json=where(project, secretValue="b", tagIds=["00000000-0000-0000-0000-000000000000"]))
    assert tagged.status_code == 404


def test_metadata_is_kept_and_encrypted_metadata_refused(member: Workload, project: dict[str, Any]) -> None:
    created = member.post("/api/v3/secrets/raw/M", json=where(project, secretValue="m",
                                                               secretMetadata=[{"key": "team", "value": "payments"}]))
    assert created.json()["secret"]["secretMetadata"] == [{"key": "team", "value": "payments", "isEncrypted": False}]
    refused = member.post("/api/v3/secrets/raw/N", json=where(project, secretValue="n",
                                                               secretMetadata=[{"key": "k", "value": "v", "isEncrypted": True}]))
    assert refused.status_code == 422
