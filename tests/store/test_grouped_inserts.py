"""Token records inserted at about the same time share a statement; no row is lost or refused for another's sake."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from strongroom.auth.tokens import TOKEN_RECORDS, MintedToken, TokenPolicy
from strongroom.store.db import Database
from strongroom.store.generations import libpq_conninfo
from strongroom.store.grouped_inserts import GroupedInserts, PostgresqlGroupedInserts, grouped_inserts, insert_alone
from strongroom.store.models import IdentityAccessToken
from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID, Api


def _grouped(database: Database) -> GroupedInserts:
    return grouped_inserts(database.autocommit_sessions.kw["bind"], TOKEN_RECORDS)


def _named(database: Database, application_name: str) -> PostgresqlGroupedInserts:
    """Inserts over an async connection that pg_stat_activity shows under ``application_name``."""
    engine = database.autocommit_sessions.kw["bind"]
    named = create_engine(engine.url.update_query_dict({"application_name": application_name}),
                          isolation_level="AUTOCOMMIT")
    return PostgresqlGroupedInserts(named, TOKEN_RECORDS)


def _on_postgresql_named(api: Api, application_name: str) -> tuple[Database, PostgresqlGroupedInserts]:
    """The server's database and inserts over a connection named for pg_stat_activity; skipped on SQLite
    (its write connection is checked in a test of its own)."""
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("the async PostgreSQL connection, found by name in pg_stat_activity")
    return database, _named(database, application_name)


def _backends_named(database: Database, application_name: str) -> list[int]:
    with database.engine.connect() as connection:
        return list(connection.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                       {"name": application_name}))


def _run(grouped: GroupedInserts, scenario: Callable[[], Awaitable[None]]) -> None:
    """``scenario`` on an event loop of its own, the async connection closed after it."""
    async def run() -> None:
        try:
            await scenario()
        finally:
            await grouped.close()

    asyncio.run(run())


def _minted(api: Api, identity_id: str) -> MintedToken:
    return api.server.services.tokens.mint(identity_id=identity_id, auth_method="token-auth",
                                           policy=TokenPolicy(ttl=60, max_ttl=600, num_uses_limit=0))


def _written(api: Api, minted: list[MintedToken]) -> int:
    return sum(api.count_rows(IdentityAccessToken, id=token.record["id"]) for token in minted)


def test_rows_handed_in_at_once_share_statements_and_all_land(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    minted = [_minted(api, identity_id) for _ in range(50)]

    async def scenario() -> None:
        await asyncio.gather(*[grouped.insert(token.record) for token in minted])

    _run(grouped, scenario)
    assert _written(api, minted) == 50
    assert grouped.statements < 50  # grouped: 50 rows, a few statements
    with database.engine.connect() as connection:
        stored = connection.execute(TOKEN_RECORDS.select().where(TOKEN_RECORDS.c.id == minted[7].record["id"])).one()
    assert stored._asdict() == {**minted[7].record, "access_token_last_used_at": None,
                                "access_token_last_renewed_at": None}  # every value as SQLAlchemy writes it


@pytest.mark.parametrize("rows", [3, 12], ids=["values-list", "arrays"])
def test_values_an_array_would_mangle_come_back_as_written(api: Api, rows: int) -> None:
    # On PostgreSQL a larger group travels as one array per column: NULL beside the text "NULL", braces,
    # quotes, commas, backslashes and text outside ASCII must each land as the value it was.
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    names = ([None, "NULL", '{a,"b"}\\', "", "Zahlungsverkehr – Köln ✓", None] * 2)[:rows]
    minted = [api.server.services.tokens.mint(identity_id=identity_id, auth_method="token-auth", name=name,
                                              policy=TokenPolicy(ttl=0, max_ttl=0, num_uses_limit=3))
              for name in names]

    async def scenario() -> None:
        await asyncio.gather(*[grouped.insert(token.record) for token in minted])

    _run(grouped, scenario)
    assert grouped.statements == 1
    with database.engine.connect() as connection:
        stored = {row.id: row for row in connection.execute(TOKEN_RECORDS.select().where(
            TOKEN_RECORDS.c.id.in_([token.record["id"] for token in minted])))}
    for token in minted:
        assert stored[token.record["id"]]._asdict() == {**token.record, "access_token_last_used_at": None,
                                                        "access_token_last_renewed_at": None}


def test_a_refused_row_fails_its_own_request_and_no_other(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    good = [_minted(api, identity_id) for _ in range(4)]
    orphan = _minted(api, "no-such-identity")  # its foreign key fails the statement it is in

    async def scenario() -> list[Any]:
        rows = [good[0], good[1], orphan, good[2], good[3]]
        return list(await asyncio.gather(*[grouped.insert(token.record) for token in rows], return_exceptions=True))

    outcomes: list[Any] = []
    _run(grouped, lambda: _collect(scenario, outcomes))
    assert [isinstance(outcome, IntegrityError) for outcome in outcomes] == [False, False, True, False, False]
    assert _written(api, good) == 4
    assert _written(api, [orphan]) == 0


async def _collect(scenario: Callable[[], Awaitable[list[Any]]], into: list[Any]) -> None:
    into.extend(await scenario())


def test_a_row_already_in_is_written_not_refused(api: Api) -> None:
    # A statement that broke off after its commit left its rows in: written alone again, they are no conflict.
    database = api.server.services.database
    grouped = _grouped(database)
    minted = _minted(api, api.create_identity())
    insert_alone(database.engine, TOKEN_RECORDS)(minted.record)

    async def scenario() -> None:
        await grouped.insert(minted.record)

    _run(grouped, scenario)
    assert _written(api, [minted]) == 1


def test_a_cancelled_request_strands_nobody(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()

    async def scenario() -> None:
        for cancel in range(6):  # the first handed in, then each of the others, in turn
            minted = [_minted(api, identity_id) for _ in range(6)]
            inserts = [asyncio.ensure_future(grouped.insert(token.record)) for token in minted]
            await asyncio.sleep(0)
            inserts[cancel].cancel()
            await asyncio.wait_for(
                asyncio.gather(*[insert for number, insert in enumerate(inserts) if number != cancel]), timeout=10)
            assert _written(api, [token for number, token in enumerate(minted) if number != cancel]) == 5
        last = _minted(api, identity_id)
        await asyncio.wait_for(grouped.insert(last.record), timeout=10)  # nothing is left waiting or writing
        assert _written(api, [last]) == 1

    _run(grouped, scenario)


def test_a_cut_connection_loses_no_row_and_is_replaced(api: Api) -> None:
    name = "strongroom-grouped-inserts-test"
    database, grouped = _on_postgresql_named(api, name)
    identity_id = api.create_identity()
    minted = [_minted(api, identity_id) for _ in range(3)]

    async def scenario() -> None:
        await grouped.insert(minted[0].record)
        (own,) = _backends_named(database, name)
        with database.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": own})
        await grouped.insert(minted[1].record)  # the statement fails; the row is written alone
        statements = grouped.statements
        await grouped.insert(minted[2].record)  # and the next goes over a new connection
        assert grouped.statements == statements + 1

    _run(grouped, scenario)
    assert _written(api, minted) == 3


def test_a_call_from_another_event_loop_writes_synchronously(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    minted = [_minted(api, identity_id) for _ in range(2)]

    async def scenario() -> None:
        await grouped.insert(minted[0].record)  # the writes belong to this loop from now on
        statements = grouped.statements
        # Another loop, in another thread, while this one still runs.
        await asyncio.to_thread(asyncio.run, grouped.insert(minted[1].record))
        assert grouped.statements == statements  # written by the fallback, not by this loop's writer

    _run(grouped, scenario)
    assert _written(api, minted) == 2


def test_closing_closes_the_async_connection(api: Api) -> None:
    name = "strongroom-grouped-inserts-close-test"
    database, grouped = _on_postgresql_named(api, name)

    async def scenario() -> None:
        await grouped.insert(_minted(api, api.create_identity()).record)
        assert len(_backends_named(database, name)) == 1

    _run(grouped, scenario)
    assert _backends_named(database, name) == []


def test_closing_closes_the_sqlite_connection(api: Api) -> None:
    database = api.server.services.database
    if not database.is_sqlite:
        pytest.skip("the PostgreSQL connection is checked by name in pg_stat_activity")
    grouped = _grouped(database)
    opened: list[Any] = []

    async def scenario() -> None:
        await grouped.insert(_minted(api, api.create_identity()).record)
        opened.append(grouped._connection)  # type: ignore[attr-defined]

    _run(grouped, scenario)
    with pytest.raises(sqlite3.ProgrammingError):
        opened[0].execute("SELECT 1")


def test_a_failed_group_leaves_the_connection_fit_for_the_next(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    # The refused statement's transaction is rolled back: the next group goes through in one statement.
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    refused = [_minted(api, identity_id), _minted(api, "no-such-identity")]
    following = [_minted(api, identity_id) for _ in range(3)]

    async def scenario() -> None:
        await asyncio.gather(*[grouped.insert(token.record) for token in refused], return_exceptions=True)
        statements = grouped.statements
        await asyncio.gather(*[grouped.insert(token.record) for token in following])
        assert grouped.statements == statements + 1

    with caplog.at_level(logging.WARNING, logger="strongroom.store.grouped_inserts"):
        _run(grouped, scenario)
    assert len([record for record in caplog.records if "failed" in record.getMessage()]) == 1
    assert _written(api, following) == 3 and _written(api, refused) == 1


def test_a_group_waits_for_another_writer_on_sqlite(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    # The connection came with the pool's busy_timeout: a write lock held elsewhere is waited for, not an error.
    database = api.server.services.database
    if not database.is_sqlite:
        pytest.skip("SQLite's write lock")
    grouped = _grouped(database)
    minted = _minted(api, api.create_identity())
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with closing(sqlite3.connect(database.engine.url.database, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(5)
            other.execute("COMMIT")

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    locked.wait(5)
    threading.Timer(0.3, release.set).start()

    async def scenario() -> None:
        await grouped.insert(minted.record)

    with caplog.at_level(logging.WARNING, logger="strongroom.store.grouped_inserts"):
        _run(grouped, scenario)
    holder.join()
    assert not [record for record in caplog.records if "failed" in record.getMessage()]
    assert _written(api, [minted]) == 1


def test_a_writer_cancelled_mid_write_leaves_nobody_waiting(api: Api) -> None:
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("SQLite's write has no await to be cancelled at")
    grouped = _grouped(database)
    identity_id = api.create_identity()
    minted = [_minted(api, identity_id) for _ in range(300)]  # two statements: 256 rows, then 44

    async def scenario() -> None:
        inserts = [asyncio.ensure_future(grouped.insert(token.record)) for token in minted]
        await asyncio.sleep(0)  # the writer starts, and its first statement goes on the wire
        await asyncio.sleep(0)
        assert grouped._writer is not None
        grouped._writer.cancel()  # as the loop's shutdown would
        await asyncio.wait_for(asyncio.gather(*inserts), timeout=30)  # every row written, alone if need be

    _run(grouped, scenario)
    assert _written(api, minted) == 300


def test_closing_writes_what_is_pending_first(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    minted = [_minted(api, identity_id) for _ in range(10)]

    async def scenario() -> None:
        inserts = [asyncio.ensure_future(grouped.insert(token.record)) for token in minted]
        await asyncio.sleep(0)
        await grouped.close()
        assert all(insert.done() for insert in inserts)
        await asyncio.gather(*inserts)

    asyncio.run(scenario())
    assert _written(api, minted) == 10


def test_a_row_lacking_a_column_without_default_is_refused(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    record = dict(_minted(api, api.create_identity()).record)
    del record["created_at"]

    async def scenario() -> None:
        with pytest.raises(ValueError, match="created_at"):
            await grouped.insert(record)

    _run(grouped, scenario)
    assert grouped.statements == 0


def test_logins_write_their_token_records_grouped(
        api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    grouped = api.server.services.database.grouped_inserts(TOKEN_RECORDS)
    identity_id = api.identity_with_oidc(provider, role="member")
    # The first login fetches the issuer's keys, so it runs in a worker thread and writes its record there.
    assert api.probe(api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))).status_code == 200
    statements = grouped.statements
    for _ in range(3):
        token = api.access_token(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
        assert api.probe(token).status_code == 200  # the record, written through the group, makes it live
    assert grouped.statements == statements + 3


# -- rows written on a condition: the access generation still where it was -------------------------


@pytest.mark.parametrize("rows", [3, 12], ids=["values-list", "arrays"])
def test_a_conditional_row_is_written_only_if_the_access_generation_stands(api: Api, rows: int) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    now = database.read_generations().access
    conditions = ([now, now - 1, None, now + 1] * rows)[:rows]
    minted = [_minted(api, identity_id) for _ in conditions]

    async def scenario() -> list[bool]:
        return list(await asyncio.gather(*[grouped.insert(token.record, if_access_generation=condition)
                                           for token, condition in zip(minted, conditions)]))

    answers: list[bool] = []
    _run(grouped, lambda: _collect(scenario, answers))
    assert grouped.statements == 1
    assert answers == [condition in (now, None) for condition in conditions]
    assert [_written(api, [token]) for token in minted] == [int(answer) for answer in answers]


def test_a_conditional_row_whose_group_failed_is_not_written_again(api: Api) -> None:
    # Only its statement checked its condition, and that statement rolled back: the caller decides again.
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    now = database.read_generations().access
    conditional, unconditional = _minted(api, identity_id), _minted(api, identity_id)
    orphan = _minted(api, "no-such-identity")  # its foreign key fails the statement

    async def scenario() -> list[Any]:
        return list(await asyncio.gather(grouped.insert(conditional.record, if_access_generation=now),
                                         grouped.insert(orphan.record), grouped.insert(unconditional.record),
                                         return_exceptions=True))

    answers: list[Any] = []
    _run(grouped, lambda: _collect(scenario, answers))
    assert answers[0] is False and isinstance(answers[1], IntegrityError) and answers[2] is True
    assert _written(api, [conditional, orphan, unconditional]) == 1


def test_a_conditional_row_a_failed_group_committed_counts_as_written(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    minted = _minted(api, api.create_identity())
    insert_alone(database.engine, TOKEN_RECORDS)(minted.record)  # in, as a group that broke off after its commit

    async def scenario() -> list[bool]:
        # The same row again fails its group on the primary key; it is found written.
        return [await grouped.insert(minted.record, if_access_generation=database.read_generations().access)]

    answers: list[bool] = []
    _run(grouped, lambda: _collect(scenario, answers))
    assert answers == [True]


def test_a_conditional_row_from_another_event_loop_is_left_to_its_caller(api: Api) -> None:
    database = api.server.services.database
    grouped = _grouped(database)
    identity_id = api.create_identity()
    first, second = _minted(api, identity_id), _minted(api, identity_id)
    now = database.read_generations().access

    async def scenario() -> None:
        assert await grouped.insert(first.record, if_access_generation=now) is True
        elsewhere = await asyncio.to_thread(asyncio.run, grouped.insert(second.record, if_access_generation=now))
        assert elsewhere is False  # not written: no statement on this loop checks its condition

    _run(grouped, scenario)
    assert _written(api, [first, second]) == 1


@pytest.mark.parametrize("rows", [1, 12], ids=["values-list", "arrays"])
def test_a_text_too_long_for_its_column_is_refused_not_cut_to_fit(api: Api, rows: int) -> None:
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("SQLite keeps a text of any length whatever the column's declared one")
    grouped = _grouped(database)
    identity_id = api.create_identity()
    minted = [api.server.services.tokens.mint(identity_id=identity_id, auth_method="token-auth",
                                              name="n" * (300 if number == 0 else 10),
                                              policy=TokenPolicy(ttl=60, max_ttl=600, num_uses_limit=0))
              for number in range(rows)]

    async def scenario() -> list[Any]:
        return list(await asyncio.gather(*[grouped.insert(token.record) for token in minted], return_exceptions=True))

    answers: list[Any] = []
    _run(grouped, lambda: _collect(scenario, answers))
    assert isinstance(answers[0], DBAPIError) and answers[1:] == [True] * (rows - 1)
    assert _written(api, minted[:1]) == 0 and _written(api, minted[1:]) == rows - 1


def test_a_change_not_yet_committed_holds_a_conditional_row_until_it_commits(api: Api) -> None:
    # The condition must hold when the row commits, not only when its statement began.
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("SQLite's writers queue at BEGIN IMMEDIATE, and the counter is read under that lock")
    import psycopg

    grouped = _grouped(database)
    minted = _minted(api, api.create_identity())
    now = database.read_generations().access

    async def scenario() -> None:
        with psycopg.connect(libpq_conninfo(database.engine)) as change:  # a transaction, not autocommit
            change.execute("UPDATE access_generation SET value = value + 1 WHERE id = 1")
            insert = asyncio.ensure_future(grouped.insert(minted.record, if_access_generation=now))
            await asyncio.sleep(0.5)
            assert not insert.done()  # waiting for the change to end
            change.commit()
        assert await asyncio.wait_for(insert, timeout=10) is False

    _run(grouped, scenario)
    assert _written(api, [minted]) == 0
