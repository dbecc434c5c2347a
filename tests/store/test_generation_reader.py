"""The change counters are read on a connection of their own, which may break or be busy without a wrong answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from strongroom.store.db import Database, normalise_database_url
from strongroom.store.generations import (
    READ_GENERATIONS, GenerationReader, Generations, SharedGenerationReads, generations_sql, libpq_conninfo,
)
from tests.conftest import Api


def _committed(database: Database) -> Generations:
    with database.engine.connect() as connection:
        return Generations(*connection.execute(READ_GENERATIONS).one())


def _move_access_generation(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE access_generation SET value = value + 1"))


def _backends_named(engine: Engine, application_name: str) -> set[int]:
    with engine.connect() as connection:
        return set(connection.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                      {"name": application_name}))


def test_it_reads_what_was_last_committed(api: Api) -> None:
    database = api.server.services.database
    reader = GenerationReader(database.engine)
    try:
        assert reader() == _committed(database)
        _move_access_generation(database)
        assert reader() == _committed(database)  # the kept connection is not stuck in an old snapshot
        assert reader().access == reader().access
    finally:
        reader.close()


def test_a_busy_reader_answers_from_the_pool(api: Api) -> None:
    database = api.server.services.database
    reader = GenerationReader(database.engine)
    try:
        reader()  # its own connection is open
        with reader._lock:  # another thread is reading on it
            _move_access_generation(database)
            assert reader() == _committed(database)
        assert database.engine.pool.checkedout() == 0
    finally:
        reader.close()


def test_a_cut_connection_costs_no_wrong_answer_and_is_replaced(api: Api) -> None:
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("an embedded database has no connection to cut")
    name = "strongroom-counters-test"
    url = make_url(api.server.services.settings.database_url).update_query_dict({"application_name": name})
    engine = create_engine(normalise_database_url(url.render_as_string(hide_password=False)),
                           isolation_level="AUTOCOMMIT")
    reader = GenerationReader(engine)
    try:
        reader()
        (own,) = _backends_named(database.engine, name)
        with database.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": own})
        _move_access_generation(database)
        assert reader() == _committed(database)  # the cut is noticed; the read goes through the pool
        assert reader() == _committed(database)  # and a new connection of its own serves the next
        assert len(_backends_named(database.engine, name) - {own}) == 1
    finally:
        reader.close()
        engine.dispose()


def test_threads_reading_at_once_all_get_committed_values(api: Api) -> None:
    database = api.server.services.database
    reader = GenerationReader(database.engine)
    seen: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def read(into: list[int]) -> None:
        try:
            for _ in range(200):
                into.append(reader().access)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        start = _committed(database).access
        threads = [threading.Thread(target=read, args=(into,)) for into in seen]
        for thread in threads:
            thread.start()
        for _ in range(5):
            _move_access_generation(database)
        for thread in threads:
            thread.join()
        assert errors == []
        end = _committed(database).access
        for values in seen:
            assert values == sorted(values)  # never backwards
            assert start <= values[0] and values[-1] <= end
        assert reader().access == end
    finally:
        reader.close()


# -- shared reads on the event loop (PostgreSQL) -----------------------------------------------


def _shared_reads(database: Database, application_name: str | None = None) -> SharedGenerationReads:
    engine = database.read_sessions.kw["bind"]
    if application_name is not None:
        engine = create_engine(engine.url.update_query_dict({"application_name": application_name}))
    return SharedGenerationReads(libpq_conninfo(engine), generations_sql(engine), database.read_generations)


def _run(reads: SharedGenerationReads, scenario: Callable[[], Awaitable[None]]) -> None:
    """``scenario`` on an event loop of its own, the reads' async connection closed after it."""
    async def run() -> None:
        try:
            await scenario()
        finally:
            await reads.close()

    asyncio.run(run())


def _postgresql(api: Api) -> Database:
    database = api.server.services.database
    if database.is_sqlite:
        pytest.skip("SQLite's counters are read synchronously: there is no round trip to share")
    return database


def test_requests_asking_at_once_share_reads_and_see_what_was_committed(api: Api) -> None:
    database = _postgresql(api)
    reads = _shared_reads(database)

    async def ask(times: int) -> list[Generations]:
        return list(await asyncio.gather(*[reads() for _ in range(times)]))

    async def scenario() -> None:
        answers = await ask(50)
        assert set(answers) == {_committed(database)}
        assert reads.statements < 50  # shared: 50 requests, a few statements

    _run(reads, scenario)


def test_a_request_never_gets_a_read_issued_before_it_asked(api: Api) -> None:
    # The one rule that makes sharing safe: a commit made before a request asks is in its answer, though
    # a read issued earlier (and blind to that commit) is still on the wire when it asks.
    database = _postgresql(api)
    reads = _shared_reads(database)

    async def scenario() -> None:
        for _ in range(100):
            earlier = asyncio.ensure_future(reads())
            await asyncio.sleep(0)  # its read is issued now
            _move_access_generation(database)  # committed before the next request asks
            committed = _committed(database)
            later = await reads()
            assert later.access >= committed.access
            assert (await earlier).access <= later.access

    _run(reads, scenario)


def test_a_cancelled_request_leaves_the_others_answered(api: Api) -> None:
    database = _postgresql(api)
    reads = _shared_reads(database)

    async def scenario() -> None:
        for cancel in range(6):  # the one reading, then each of those waiting, in turn
            asks = [asyncio.ensure_future(reads()) for _ in range(6)]
            await asyncio.sleep(0)
            asks[cancel].cancel()
            answers = await asyncio.wait_for(
                asyncio.gather(*[ask for number, ask in enumerate(asks) if number != cancel]), timeout=10)
            assert set(answers) == {_committed(database)}
        assert await reads() == _committed(database)  # nothing is left waiting or reading

    _run(reads, scenario)


def test_a_cut_async_connection_costs_no_wrong_answer(api: Api) -> None:
    database = _postgresql(api)
    name = "strongroom-shared-reads-test"
    reads = _shared_reads(database, application_name=name)

    async def scenario() -> None:
        await reads()
        (own,) = _backends_named(database.engine, name)
        with database.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": own})
        _move_access_generation(database)
        assert await reads() == _committed(database)  # the synchronous reader answered
        assert await reads() == _committed(database)  # and a new async connection the next
        assert len(_backends_named(database.engine, name) - {own}) == 1

    _run(reads, scenario)


def test_reads_go_over_one_kept_cursor_until_its_connection_is_dropped(api: Api) -> None:
    database = _postgresql(api)
    reads = _shared_reads(database)

    async def scenario() -> None:
        await reads()
        cursor = await reads._connection.cursor()
        _move_access_generation(database)
        assert await reads() == _committed(database)  # the kept cursor answers a new read with new values
        assert await reads._connection.cursor() is cursor
        await reads._connection.drop()
        assert await reads() == _committed(database)
        fresh = await reads._connection.cursor()
        assert fresh is not cursor and fresh.connection is not cursor.connection

    _run(reads, scenario)


def test_a_call_from_another_event_loop_reads_synchronously(api: Api) -> None:
    database = _postgresql(api)
    reads = _shared_reads(database)

    async def first() -> None:
        await reads()
        await reads.close()

    asyncio.run(first())  # the async connection belonged to that loop, which is closed now
    statements = reads.statements
    assert asyncio.run(reads()) == _committed(database)
    assert reads.statements == statements


def test_when_the_shared_read_fails_each_waiting_request_reads_on_its_own(api: Api) -> None:
    database = _postgresql(api)
    failures: list[RuntimeError] = []

    def failing_fallback() -> Generations:
        failures.append(RuntimeError(f"database down ({len(failures)})"))
        raise failures[-1]

    engine = database.read_sessions.kw["bind"]
    # A statement the server refuses sends the read to the synchronous reader, which fails too.
    reads = SharedGenerationReads(libpq_conninfo(engine), "SELECT * FROM no_such_table", failing_fallback)

    async def scenario() -> None:
        asks = [asyncio.ensure_future(reads()) for _ in range(5)]
        answers = await asyncio.wait_for(asyncio.gather(*asks, return_exceptions=True), timeout=10)
        # Each met an error of its own, from a read made after it asked: no exception object (and so no
        # traceback) is shared between requests.
        assert all(isinstance(answer, RuntimeError) for answer in answers), answers
        assert len({id(answer) for answer in answers}) == 5

    _run(reads, scenario)


def test_a_forged_token_is_refused_before_any_database_work(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    database = api.server.services.database

    async def no_database_work() -> Generations:
        raise AssertionError("the counters were read for a forged token")

    monkeypatch.setattr(database, "await_generations", no_database_work)
    forged = api.as_token("eyJhbGciOiJIUzI1NiJ9.eyJmb3JnZWQiOnRydWV9.c2lnbmF0dXJl", "GET", "/api/v3/secrets/raw",
                          params={"workspaceId": "p", "environment": "dev"})
    assert forged.status_code == 403, forged.text  # Infisical's answer to a bad signature
    assert forged.json()["message"] == "invalid signature"
