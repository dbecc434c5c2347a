"""Rendered secret reads are reused only while nothing they show has changed, and never skip a check."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from strongroom.secrets.rendered import RenderedReads
from tests.conftest import Api
from tests.projects.workloads import Spire, Workload, member_of
from tests.secrets.conftest import where


# -- the cache itself ------------------------------------------------------------------------


def test_an_answer_is_reused_only_at_the_generation_it_was_rendered_at() -> None:
    cache = RenderedReads(max_bytes=1024)
    kept = cache.put("k", 7, b'{"a":1}')
    assert cache.get("k", 7) == kept
    assert cache.get("k", 8) is None
    assert cache.get("other", 7) is None


def test_the_cache_stays_within_its_bytes_dropping_the_least_recently_used() -> None:
    cache = RenderedReads(max_bytes=100)
    cache.put("a", 1, b"x" * 40)
    cache.put("b", 1, b"x" * 40)
    assert cache.get("a", 1) is not None  # "a" is now the most recently used
    cache.put("c", 1, b"x" * 40)
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) is not None and cache.get("c", 1) is not None
    cache.put("huge", 1, b"x" * 101)  # larger than the whole cache: answered, never kept
    assert cache.get("huge", 1) is None
    assert cache.get("a", 1) is not None


# -- through the API -------------------------------------------------------------------------


def _values(member: Workload, project: dict[str, Any], **query: Any) -> dict[str, str]:
    listed = member.get("/api/v3/secrets/raw", params=where(project, **query))
    assert listed.status_code == 200, listed.text
    return {secret["secretKey"]: secret["secretValue"] for secret in listed.json()["secrets"]}


def _put(member: Workload, project: dict[str, Any], key: str, value: str, path: str = "/") -> None:
    response = member.post(f"/api/v3/secrets/raw/{key}", json=where(project, secretValue=value, secretPath=path))
    assert response.status_code == 200, response.text


def _import(member: Workload, project: dict[str, Any], path: str) -> str:
    imported = member.post("/api/v1/secret-imports", json=where(project, path=path, **{
        "import": {"environment": "staging", "path": "/"}}))
    assert imported.status_code == 200, imported.text
    return imported.json()["secretImport"]["id"]


def _generation(api: Api) -> int:
    with api.server.services.database.engine.connect() as connection:
        return connection.execute(text("SELECT value FROM read_generation WHERE id = 1")).scalar_one()


def test_repeated_reads_are_answered_from_the_cache_with_the_same_body(api: Api, member: Workload,
                                                                        project: dict[str, Any]) -> None:
    _put(member, project, "DB_URL", "postgres://one")
    cache = api.server.services.rendered_reads
    first = member.get("/api/v3/secrets/raw", params=where(project))
    kept = len(cache._entries)
    second = member.get("/api/v3/secrets/raw", params=where(project))
    assert (second.content, second.headers["etag"]) == (first.content, first.headers["etag"])
    assert len(cache._entries) == kept  # the second answer was the kept one, not a new entry
    assert member.get("/api/v3/secrets/raw", params=where(project),
                      headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_every_kind_of_change_shows_in_the_next_read(api: Api, member: Workload, project: dict[str, Any]) -> None:
    _put(member, project, "A", "1")
    assert _values(member, project) == {"A": "1"}
    assert member.get("/api/v3/secrets/raw/A", params=where(project)).json()["secret"]["secretValue"] == "1"

    assert member.patch("/api/v3/secrets/raw/A", json=where(project, secretValue="2")).status_code == 200
    assert _values(member, project) == {"A": "2"}
    assert member.get("/api/v3/secrets/raw/A", params=where(project)).json()["secret"]["secretValue"] == "2"

    assert member.patch("/api/v3/secrets/raw/A", json=where(project, newSecretName="B")).status_code == 200
    assert _values(member, project) == {"B": "2"}
    assert member.get("/api/v3/secrets/raw/A", params=where(project)).status_code == 404

    assert member.post("/api/v1/folders", json=where(project, path="/", name="app")).status_code == 200
    _put(member, project, "NESTED", "n", path="/app")
    assert _values(member, project, recursive="true") == {"B": "2", "NESTED": "n"}

    _put(member, project, "SHARED", "from-staging")  # in dev; imported into dev/app below from staging
    staging = member.post("/api/v3/secrets/raw/SHARED", json={"workspaceId": project["id"], "environment": "staging",
                                                              "secretValue": "s"})
    assert staging.status_code == 200, staging.text
    _import(member, project, "/app")
    with_imports = member.get("/api/v3/secrets/raw", params=where(project, secretPath="/app", include_imports="true"))
    assert [secret["secretKey"] for entry in with_imports.json()["imports"] for secret in entry["secrets"]] == ["SHARED"]

    assert member.request("DELETE", "/api/v3/secrets/raw/B", json=where(project)).status_code == 200
    assert _values(member, project) == {"SHARED": "from-staging"}

    dev = next(environment for environment in project["environments"] if environment["slug"] == "dev")
    renamed = api.admin("PATCH", f"/api/v1/workspace/{project['id']}/environments/{dev['id']}", json={"slug": "develop"})
    assert renamed.status_code == 200, renamed.text
    assert member.get("/api/v3/secrets/raw", params=where(project)).status_code == 404
    assert _values(member, project, environment="develop") == {"SHARED": "from-staging"}


def test_a_change_made_outside_the_api_is_seen_at_once(api: Api, member: Workload, project: dict[str, Any]) -> None:
    _put(member, project, "FIRST", "one")
    _put(member, project, "SECOND", "two")
    assert _values(member, project) == {"FIRST": "one", "SECOND": "two"}
    engine = api.server.services.database.engine
    ids = {secret["secretKey"]: secret["id"]
           for secret in member.get("/api/v3/secrets/raw", params=where(project)).json()["secrets"]}
    with engine.begin() as connection:
        # An operator's SQL (or an attacker with database access) moves one sealed value onto another secret.
        connection.execute(text(
            "UPDATE secrets SET sealed_value = (SELECT sealed_value FROM secrets WHERE id = :first) WHERE id = :second"
        ), {"first": ids["FIRST"], "second": ids["SECOND"]})
    refused = member.get("/api/v3/secrets/raw", params=where(project))
    assert refused.status_code == 409, refused.text  # not the kept answer with the old value
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM secrets WHERE id = :second"), {"second": ids["SECOND"]})
    assert _values(member, project) == {"FIRST": "one"}


def test_a_kept_answer_is_not_given_to_a_caller_who_may_no_longer_read(api: Api, member: Workload,
                                                                      project: dict[str, Any]) -> None:
    _put(member, project, "TOKEN", "t")
    assert _values(member, project) == {"TOKEN": "t"}
    removed = api.admin("DELETE", f"/api/v2/workspace/{project['id']}/identity-memberships/{member.identity_id}")
    assert removed.status_code == 200, removed.text
    assert member.get("/api/v3/secrets/raw", params=where(project)).status_code == 403
    assert member.get("/api/v3/secrets/raw/TOKEN", params=where(project)).status_code == 403


def test_a_kept_answer_is_not_given_to_another_project_or_a_caller_without_values(
        api: Api, spire: Spire, member: Workload, project: dict[str, Any]) -> None:
    _put(member, project, "TOKEN", "t")
    assert _values(member, project) == {"TOKEN": "t"}
    outsider = member_of(api, spire, api.create_project()["id"], "member")
    assert outsider.get("/api/v3/secrets/raw", params=where(project)).status_code == 403
    hidden = member.get("/api/v3/secrets/raw", params=where(project, viewSecretValue="false"))
    assert hidden.json()["secrets"][0]["secretValue"] == "<hidden-by-infisical>"


@pytest.mark.parametrize("statement", [
    "UPDATE secrets SET reminder_note = reminder_note WHERE id = :secret_id",
    "UPDATE secret_folders SET name = name "
    "WHERE env_id IN (SELECT id FROM project_environments WHERE project_id = :project_id)",
    "UPDATE project_environments SET name = name WHERE project_id = :project_id",
    "UPDATE projects SET name = name WHERE id = :project_id",
    "DELETE FROM secret_imports WHERE id = :import_id",
    "DELETE FROM secret_versions WHERE secret_id = :secret_id",
])
def test_each_watched_table_moves_the_read_generation(api: Api, member: Workload, project: dict[str, Any],
                                                      statement: str) -> None:
    _put(member, project, "A", "1")
    ids = {
        "secret_id": member.get("/api/v3/secrets/raw/A", params=where(project)).json()["secret"]["id"],
        "import_id": _import(member, project, "/"),
        "project_id": project["id"],
    }
    before = _generation(api)
    with api.server.services.database.engine.begin() as connection:
        connection.execute(text(statement), {name: value for name, value in ids.items() if f":{name}" in statement})
    assert _generation(api) > before


def test_token_checks_and_logins_do_not_move_the_read_generation(api: Api, member: Workload,
                                                                 project: dict[str, Any]) -> None:
    _put(member, project, "A", "1")
    before = _generation(api)
    for _ in range(3):
        assert _values(member, project) == {"A": "1"}
    assert _generation(api) == before
