"""The access generation moves with every change to who may do what, and only then; kept rows never outlive one."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Column, Table, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.visitors import iterate

from strongroom.auth.logins import _config_query
from strongroom.auth.tokens import _LIVE_TOKEN_QUERY
from strongroom.projects.access import _BY_ID, _BY_SLUG
from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from strongroom.store.generations import READ_GENERATIONS, Generations, KeptAtGeneration
from strongroom.store.models import (
    AccessGeneration, IdentityAccessToken, IdentityJwtAuth, IdentityOidcAuth, IdentityProjectMembership,
    IdentityProjectMembershipRole, IdentitySpiffeAuth, Project,
)
from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.support import statements_run
from tests.secrets.conftest import where
from tests.store.notes import database_with_notes

GENERATION_TABLES = {"access_generation", "read_generation"}


def _access_generation(api: Api) -> int:
    with api.server.services.database.engine.connect() as connection:
        return connection.scalar(select(AccessGeneration.value))


def _columns_read(statement: Any) -> set[tuple[str, str]]:
    """Every (table, column) a statement reads: selected, joined on or filtered by."""
    return {(element.table.name, element.name) for element in iterate(statement)
            if isinstance(element, Column) and isinstance(element.table, Table)
            and element.table.name not in GENERATION_TABLES}


def _run(api: Api, sql: str, **parameters: Any) -> None:
    with api.server.services.database.engine.begin() as connection:
        connection.execute(text(sql), parameters)


def _public_pem(authority: JwtSvidAuthority) -> str:
    public_key = authority.active.private_key.public_key()  # type: ignore[union-attr]
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def workload(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> dict[str, Any]:
    """An identity with three auth methods and a live token, a member of a project with a role.

    (Token Auth is the instance admin's; its table has that row.)
    """
    identity_id = api.identity_with_oidc(provider)
    bundle = {"profile": "static", "bundle": json.dumps(authority.spiffe_bundle())}
    attached = [
        api.admin("POST", f"/api/v1/auth/spiffe-auth/identities/{identity_id}", json={
            "trustDomain": "example.org", "allowedSpiffeIds": "spiffe://example.org/**",
            "allowedAudiences": AUDIENCE, "trustBundleDistribution": bundle}),
        api.admin("POST", f"/api/v1/auth/jwt-auth/identities/{identity_id}", json={
            "configurationType": "static", "publicKeys": [_public_pem(authority)], "boundAudiences": AUDIENCE}),
    ]
    assert all(response.status_code == 200 for response in attached), [r.text for r in attached]
    token = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    project = api.create_project()
    assert api.add_to_project(project["id"], identity_id, "viewer").status_code == 200
    return {"identity_id": identity_id, "token": token, "project": project}


def _read(api: Api, workload: dict[str, Any]) -> int:
    return api.call(workload["token"], "GET", "/api/v3/secrets/raw",
                    params=where(workload["project"])).status_code


# -- what moves the counter --------------------------------------------------------------------


def test_the_decisions_read_columns_of_every_watched_table() -> None:
    read = {table for table, _ in _columns_read(_LIVE_TOKEN_QUERY) | _columns_read(_BY_ID)}
    assert read == {
        "identity_access_tokens", "identity_org_memberships", "identity_token_auths", "identity_oidc_auths",
        "identity_jwt_auths", "identity_spiffe_auths", "projects", "identity_project_memberships",
        "identity_project_membership_roles",
    }


# What is kept under the access generation: the token check, the access decision, each login method's settings.
KEPT_QUERIES = {
    "token": _LIVE_TOKEN_QUERY, "by id": _BY_ID, "by slug": _BY_SLUG,
    "oidc login": _config_query(IdentityOidcAuth), "jwt login": _config_query(IdentityJwtAuth),
    "spiffe login": _config_query(IdentitySpiffeAuth),
}


@pytest.mark.parametrize("statement", list(KEPT_QUERIES.values()), ids=list(KEPT_QUERIES))
def test_writing_any_column_a_decision_reads_moves_the_counter(api: Api, workload: dict[str, Any],
                                                                statement: Any) -> None:
    for table, column in sorted(_columns_read(statement)):
        before = _access_generation(api)
        # The same value back: a trigger cannot tell, and a kept row must not outlive any write.
        _run(api, f"UPDATE {table} SET {column} = {column}")
        assert _access_generation(api) > before, f"{table}.{column}"


def test_inserting_and_deleting_what_decides_access_moves_the_counter(api: Api, workload: dict[str, Any],
                                                                        provider: DiscoveryProvider) -> None:
    identity_id, project_id = workload["identity_id"], workload["project"]["id"]
    changes = [
        lambda: api.admin("POST", "/api/v1/auth/token/revoke", json={"accessToken": workload["token"]}),
        lambda: api.admin("DELETE", f"/api/v1/auth/oidc-auth/identities/{identity_id}"),
        lambda: api.attach_oidc(identity_id, provider),
        lambda: api.admin("DELETE", f"/api/v2/workspace/{project_id}/identity-memberships/{identity_id}"),
        lambda: api.add_to_project(project_id, identity_id, "admin"),
        lambda: api.admin("POST", "/api/v2/workspace", json={"projectName": f"another-{project_id[:8]}"}),
        lambda: api.admin("DELETE", f"/api/v1/identities/{identity_id}"),
    ]
    for number, change in enumerate(changes):
        before = _access_generation(api)
        assert change().status_code == 200, number
        assert _access_generation(api) > before, number


def test_writes_that_decide_nothing_leave_the_counter_alone(api: Api, workload: dict[str, Any],
                                                             provider: DiscoveryProvider,
                                                             authority: JwtSvidAuthority) -> None:
    limited = api.identity_with_oidc(provider, role="member", accessTokenNumUsesLimit=5)
    limited_token = api.access_token(limited, authority.mint(SPIFFE_ID, [AUDIENCE]))
    before = _access_generation(api)
    api.access_token(workload["identity_id"], authority.mint(SPIFFE_ID, [AUDIENCE]))  # a new token record
    assert _read(api, workload) == 200  # a use, counted later
    assert api.probe(limited_token).status_code == 200  # a use of a limited token, counted at once
    written = api.call(workload["token"], "POST", "/api/v3/secrets/raw/NOT_ACCESS",
                       json=where(workload["project"], secretValue="x"))
    assert written.status_code == 403  # a viewer: nothing written, but the attempt reads as usual
    api.server.services.flush_bookkeeping()  # token uses and last logins
    assert _access_generation(api) == before


# -- kept rows ---------------------------------------------------------------------------------


def test_a_repeated_read_runs_one_statement_while_nothing_changes(api: Api, workload: dict[str, Any]) -> None:
    assert _read(api, workload) == 200
    with statements_run(api) as first:
        assert _read(api, workload) == 200
    # Only the counters, which go straight to the driver (read_generations): the token check and
    # the access decision were kept.
    assert first == []
    # A change of access only: the rendered answer stays good (the read generation stands still).
    _run(api, "UPDATE identity_org_memberships SET role = role WHERE identity_id = :id", id=workload["identity_id"])
    with statements_run(api) as after_a_change:
        assert _read(api, workload) == 200
    assert len(after_a_change) == 2, after_a_change  # both queries again


@pytest.mark.parametrize("change", ["revoke", "leave the project", "trusted ips", "org membership gone"])
def test_a_change_shows_on_the_next_request_though_the_rows_were_kept(
        api: Api, workload: dict[str, Any], change: str) -> None:
    assert _read(api, workload) == 200
    assert _read(api, workload) == 200  # answered from the kept rows
    identity_id, project_id = workload["identity_id"], workload["project"]["id"]
    if change == "revoke":
        response = api.admin("POST", "/api/v1/auth/token/revoke", json={"accessToken": workload["token"]})
        refused = 401
    elif change == "leave the project":
        response = api.admin("DELETE", f"/api/v2/workspace/{project_id}/identity-memberships/{identity_id}")
        refused = 403
    elif change == "trusted ips":
        response = api.admin("PATCH", f"/api/v1/auth/oidc-auth/identities/{identity_id}",
                             json={"accessTokenTrustedIps": [{"ipAddress": "10.0.0.0/8"}]})
        refused = 403
    else:
        response = api.admin("DELETE", f"/api/v1/identities/{identity_id}")
        refused = 401
    assert response.status_code == 200, response.text
    assert _read(api, workload) == refused


def _login(api: Api, workload: dict[str, Any], authority: JwtSvidAuthority, subject: str = SPIFFE_ID) -> int:
    return api.login(workload["identity_id"], authority.mint(subject, [AUDIENCE])).status_code


def test_a_repeated_login_reads_no_settings_while_nothing_changes(api: Api, workload: dict[str, Any],
                                                                  authority: JwtSvidAuthority) -> None:
    assert _login(api, workload, authority) == 200
    tokens_before = api.count_rows(IdentityAccessToken, identity_id=workload["identity_id"])
    with statements_run(api) as second:
        assert _login(api, workload, authority) == 200
    assert [sql for sql in second if "identity_oidc_auths" in sql] == []  # the settings were kept
    # A token record all the same (on PostgreSQL written outside the engine: strongroom.store.grouped_inserts).
    assert api.count_rows(IdentityAccessToken, identity_id=workload["identity_id"]) == tokens_before + 1


@pytest.mark.parametrize("change", ["bound subject", "token lifetime", "method removed"])
def test_a_settings_change_shows_on_the_next_login_though_they_were_kept(
        api: Api, workload: dict[str, Any], authority: JwtSvidAuthority, change: str) -> None:
    identity_id = workload["identity_id"]
    assert _login(api, workload, authority) == 200
    assert _login(api, workload, authority) == 200  # from the kept settings
    path = f"/api/v1/auth/oidc-auth/identities/{identity_id}"
    if change == "bound subject":
        response = api.admin("PATCH", path, json={"boundSubject": "spiffe://example.org/other"})
        assert response.status_code == 200, response.text
        assert _login(api, workload, authority) == 403  # the subject is no longer bound
        assert _login(api, workload, authority, subject="spiffe://example.org/other") == 200
    elif change == "token lifetime":
        response = api.admin("PATCH", path, json={"accessTokenTTL": 77, "accessTokenMaxTTL": 77})
        assert response.status_code == 200, response.text
        issued = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
        assert issued.status_code == 200 and issued.json()["expiresIn"] == 77
    else:
        assert api.admin("DELETE", path).status_code == 200
        assert _login(api, workload, authority) == 404


def test_a_login_refused_on_settings_since_fixed_is_decided_again(api: Api, workload: dict[str, Any],
                                                                  authority: JwtSvidAuthority) -> None:
    # On PostgreSQL a login first decides on the counters the last read found; a refusal stands only if
    # they have not moved since.
    path = f"/api/v1/auth/oidc-auth/identities/{workload['identity_id']}"
    assert api.admin("PATCH", path, json={"boundSubject": "spiffe://example.org/other"}).status_code == 200
    assert _login(api, workload, authority) == 403
    assert _login(api, workload, authority) == 403  # from the kept settings
    assert api.admin("PATCH", path, json={"boundSubject": SPIFFE_ID}).status_code == 200
    assert _login(api, workload, authority) == 200


def test_on_postgresql_a_repeated_login_reads_no_counters(api: Api, workload: dict[str, Any],
                                                          authority: JwtSvidAuthority) -> None:
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("SQLite's counters are read in place, with no round trip to save")
    assert _login(api, workload, authority) == 200
    assert _login(api, workload, authority) == 200
    reads = database._shared_reads
    assert reads is not None
    before = reads.statements
    tokens_before = api.count_rows(IdentityAccessToken, identity_id=workload["identity_id"])
    for _ in range(3):
        assert _login(api, workload, authority) == 200
    assert reads.statements == before
    assert api.count_rows(IdentityAccessToken, identity_id=workload["identity_id"]) == tokens_before + 3


def test_a_role_that_ends_ends_on_time_though_the_rows_were_kept(api: Api, workload: dict[str, Any]) -> None:
    # Roles in force are decided against the clock on every request, not when the rows were read.
    roles = IdentityProjectMembershipRole.__table__
    memberships = IdentityProjectMembership.__table__
    of_the_workload = roles.c.membership_id.in_(select(memberships.c.id).where(
        memberships.c.identity_id == workload["identity_id"], memberships.c.project_id == workload["project"]["id"]))
    now = datetime.now(timezone.utc)
    with api.server.services.database.engine.begin() as connection:
        connection.execute(update(roles).where(of_the_workload).values(
            is_temporary=True, temporary_access_start_time=now - timedelta(hours=1),
            temporary_access_end_time=now + timedelta(seconds=2)))
    assert _read(api, workload) == 200
    assert _read(api, workload) == 200  # answered from the kept rows
    time.sleep(2.1)
    assert _read(api, workload) == 403


def test_with_a_counter_row_missing_nothing_kept_is_reused(api: Api, workload: dict[str, Any]) -> None:
    before = _access_generation(api)
    _run(api, "DELETE FROM access_generation")
    try:
        assert _read(api, workload) == 200
        assert _read(api, workload) == 200  # would keep the rows under a missing counter, if anything did
        revoked = api.admin("POST", "/api/v1/auth/token/revoke", json={"accessToken": workload["token"]})
        assert revoked.status_code == 200  # its trigger finds no counter to move
        assert _read(api, workload) == 401
    finally:
        _run(api, "INSERT INTO access_generation (id, value) VALUES (1, :value)", value=before + 1)


def test_a_counter_that_went_backwards_empties_what_was_kept() -> None:
    kept = KeptAtGeneration()
    kept.keep("row", 7, "read at 7")
    assert kept.get("row", 7) == "read at 7"
    assert kept.get("row", 6) is None  # a restore from a backup, say
    # 7 may be reached again by other changes: what was read at the first 7 proves nothing.
    assert kept.get("row", 7) is None and len(kept) == 0


def test_on_postgresql_a_write_to_projects_takes_the_read_counter_before_the_access_counter(api: Api) -> None:
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: no two transactions wait on each other's counter")
    with database.engine.connect() as connection:
        names = list(connection.scalars(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'projects'::regclass AND NOT tgisinternal "
            "ORDER BY tgname")))
    # Fired in name order; deleting a project writes environments (read counter) before projects.
    assert names.index("read_generation_projects") < names.index("watch_access_projects")


# -- what a unit of work may keep ----------------------------------------------------------------


def test_rows_read_after_a_change_of_the_same_transaction_are_not_kept(api: Api, workload: dict[str, Any]) -> None:
    database = api.server.services.database
    project_id = workload["project"]["id"]
    generation_now = select(AccessGeneration.value).scalar_subquery()
    touch = text("UPDATE projects SET name = name WHERE id = :id")

    with database.unit_of_work() as work:  # the counters, then a change, then a read
        assert work.generations
        work.connection.execute(touch, {"id": project_id})
        read = work.connection.execute(select(Project.name, generation_now).where(Project.id == project_id)).one()
        work.keep("after a change", read[1], read[0])
        # rolled back: the change never happened, and what was read after it may not be taken later
    # The rolled-back change's generation, reached again by a change that did happen.
    _run(api, "UPDATE identity_org_memberships SET role = role WHERE identity_id = :id", id=workload["identity_id"])
    with database.unit_of_work() as work:
        assert work.kept("after a change") is None

    with database.unit_of_work(database.read_sessions) as work:  # nothing but reads: kept, and taken later
        name = work.connection.execute(select(Project.name, generation_now).where(Project.id == project_id)).one()
        work.keep("read only", name[1], name[0])
    with database.unit_of_work() as work:
        assert work.kept("read only") == workload["project"]["name"]
        work.connection.execute(touch, {"id": project_id})
        # A unit that may write decides on rows read in its own transaction, which show its own changes.
        assert work.kept("read only") is None


# -- reading the counters ----------------------------------------------------------------------


def test_the_counters_are_read_as_last_committed(api: Api, workload: dict[str, Any]) -> None:
    database = api.server.services.database
    committed = database.read_generations()
    with database.engine.connect() as connection:
        assert committed == Generations(*connection.execute(READ_GENERATIONS).one())
        connection.execute(text("UPDATE identity_org_memberships SET role = role WHERE identity_id = :id"),
                           {"id": workload["identity_id"]})
        assert database.read_generations() == committed  # not yet committed
        connection.commit()
    assert database.read_generations().access == committed.access + 1


def test_a_driver_error_reading_the_counters_is_reported_as_sqlalchemy_reports_it(tmp_path: Path) -> None:
    with database_with_notes(f"sqlite:///{tmp_path / 'notes.db'}") as database:  # no counters here
        with pytest.raises(DBAPIError, match="no such table"):
            database.read_generations()
        assert database.engine.pool.checkedout() == 0
