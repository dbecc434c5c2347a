"""The change counters are read on a connection of their own, which may break or be busy without a wrong answer."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from strongroom.store.db import Database, normalise_database_url
from strongroom.store.generations import READ_GENERATIONS, GenerationReader, Generations
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
