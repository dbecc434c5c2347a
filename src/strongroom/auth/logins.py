"""How every login runs, and how every successful one ends: a token minted, its record written, the login noted."""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol, TypeVar, cast

import anyio
from sqlalchemy import Select, bindparam, select

from strongroom.auth.keys.cache import KeysNotAtHand
from strongroom.auth.last_logins import LastLogins
from strongroom.auth.tokens import TOKEN_RECORDS, AccessTokens, IssuedToken, MintedToken, TokenPolicy
from strongroom.store.db import Database
from strongroom.store.generations import ACCESS_GENERATION, Generations
from strongroom.store.models import AccessTokenPolicy
from strongroom.store.unit_of_work import NotKept, UnitOfWork


C = TypeVar("C")


@cache
def _config_query(model: type[Any]) -> Select[Any]:
    table = model.__table__
    return select(*table.columns, ACCESS_GENERATION).where(table.c.identity_id == bindparam("identity_id"))


def method_config(work: UnitOfWork, model: type[C], identity_id: str) -> C | None:
    """The identity's configuration of one login method, for reading only.

    Every login reads it, so the statement is prebuilt and its row is not loaded
    as an ORM object (identity map, instance state: more than the query itself
    costs). The row's attributes are the model's columns, so it reads like one.
    Any change to a method's settings moves the access generation (migration
    0007), so the row is kept under it, as the token check's is, and the next
    login of the identity takes it instead of running the query again.
    """
    key = ("login method", model.__tablename__, identity_id)
    row = work.kept(key)
    if row is None:
        row = work.connection.execute(_config_query(model), {"identity_id": identity_id}).first()
        if row is not None:
            work.keep(key, row.access_generation, row)
    return cast("C | None", row)


class Login(Protocol):
    last_logins: LastLogins

    def __call__(self, work: UnitOfWork, identity_id: str, token: str, *,
                 keys_may_block: bool = True) -> MintedToken: ...


def _login_in_unit_of_work(database: Database, login: Login, identity_id: str, token: str, keys_may_block: bool,
                           generations: Generations | None = None, write: bool = True,
                           kept_only: bool = False) -> MintedToken:
    # A login reads, then writes one row (its token record): no transaction needs to span the two, and
    # without ``write`` this unit only reads (on SQLite, then, it takes no write lock).
    # Core statements only, so no ORM session is ever made on this unit of work.
    sessions = database.autocommit_sessions if write else database.read_sessions
    with database.unit_of_work(sessions, kept_only=kept_only) as work:
        if generations is not None:
            work.use_generations(generations)
        minted = login(work, identity_id, token, keys_may_block=keys_may_block)
        if write:
            minted.write(work.connection)
        work.commit()
        return minted


async def run_login(database: Database, login: Login, identity_id: str, token: str) -> IssuedToken:
    """Run ``login`` on the counters the last read found, if it can be decided on them alone; else on
    counters read now. Only a login whose token record was written counts; it is noted now, and
    written within a second (strongroom.auth.last_logins)."""
    minted = await _login_on_counters_last_read(database, login, identity_id, token)
    if minted is None:
        minted = await _login_on_counters_read_now(database, login, identity_id, token)
    login.last_logins.record(identity_id, minted.record["auth_method"])
    return minted.issued


async def _login_on_counters_last_read(database: Database, login: Login, identity_id: str,
                                       token: str) -> MintedToken | None:
    """On PostgreSQL: the login decided without reading the change counters, or None if it cannot be.

    A login's decision rests on one row of the database, its method's settings, kept under the
    access generation (``method_config``). Under load the counters were read a round trip ago for
    another request; the row kept under the access generation that read found decides the login,
    on the event loop, with no statement at all (UnitOfWork's ``kept_only``: anything else raises
    NotKept). Its token record is then written on condition that the access generation is still
    the same when the statement runs (strongroom.store.grouped_inserts): the token is handed out
    only if the settings it was decided on are those in force as it is committed. Otherwise, or
    if the row is not kept, or the keys must be fetched, None: the caller decides again on counters
    read now. A refusal stands only if the counters, read now, have not moved since: settings
    fixed meanwhile get their login.

    This halves a login's round trips on PostgreSQL; on SQLite the counters cost no round trip, and
    there is nothing to save.
    """
    seen = database.generations_last_read()
    # A generation below one already asked for would read as the database restored from a backup.
    if seen is None or seen.access < database.kept.highest:
        return None
    try:
        minted = _login_in_unit_of_work(database, login, identity_id, token, keys_may_block=False,
                                        generations=seen, write=False, kept_only=True)
    except (NotKept, KeysNotAtHand):
        return None
    except Exception:
        if (await database.await_generations()).access == seen.access:
            raise
        return None
    written = await database.grouped_inserts(TOKEN_RECORDS).insert(minted.record, if_access_generation=seen.access)
    return minted if written else None


async def _login_on_counters_read_now(database: Database, login: Login, identity_id: str,
                                      token: str) -> MintedToken:
    """Run ``login`` on the event loop while the issuer's keys are cached (the usual case: no thread
    hand-off); when they must be fetched first, run it again, whole, in a worker thread, so that a
    slow or unreachable issuer never holds up other requests. Each run is its own unit of work,
    begun and committed in one place; the first stops before writing anything."""
    # The change counters awaited first (strongroom.store.generations.SharedGenerationReads).
    generations = await database.await_generations()
    try:
        minted = _login_in_unit_of_work(database, login, identity_id, token, keys_may_block=False,
                                        generations=generations, write=False)
    except KeysNotAtHand:
        minted = await anyio.to_thread.run_sync(_login_in_unit_of_work, database, login, identity_id, token, True)
    else:
        # The token record is awaited too, in one statement and commit with those of the logins finishing
        # at about the same time (strongroom.store.grouped_inserts).
        await database.grouped_inserts(TOKEN_RECORDS).insert(minted.record)
    return minted


def mint_after_login(tokens: AccessTokens, identity_id: str, auth_method: str, config: AccessTokenPolicy,
                     claims_metadata: dict[str, str] | None = None) -> MintedToken:
    """The token a successful login hands out, with the policy of the method's settings."""
    extra: dict[str, Any] | None = None
    if claims_metadata:
        # Infisical's place for mapped claims: identityAuth.<method>.claims in the token payload.
        extra = {auth_method.removesuffix("-auth"): {"claims": claims_metadata}}
    return tokens.mint(identity_id=identity_id, auth_method=auth_method, policy=TokenPolicy.of(config), extra=extra)
