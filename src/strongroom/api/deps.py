"""What routes depend on: the services, a unit of work, the authenticated caller, the client address.

Routes and these dependencies run on the event loop, database work included:
a unit of work is a few short statements, begun and committed with no await
in between, so the requests of one process never interleave inside a
transaction (README, "Performance"). Work that waits on the network or burns
CPU for long (key fetches, password hashing) leaves the loop explicitly, in a
unit of work of its own.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from strongroom.app import Services
from strongroom.auth.throttle import LoginThrottle
from strongroom.auth.tokens import AuthenticatedIdentity
from strongroom.errors import BadRequest, TokenError, Unauthorized
from strongroom.store.unit_of_work import UnitOfWork
from strongroom.web.client_ip import client_ip


async def get_services(request: Request) -> Services:
    # async: a plain def would cost every request a trip through the thread pool.
    return request.app.state.services


_READING_METHODS = frozenset({"GET", "HEAD"})


# Where a request's unit of work is kept while its route runs (see strongroom.api.routing).
UNIT_OF_WORK = "strongroom.unit_of_work"


def open_unit_of_work(request: Request) -> UnitOfWork:
    """The request's one transaction (opened, committed and closed by its route).

    GET and HEAD requests only read, so they get a reading one: on SQLite it does not
    queue behind writers.
    """
    database = request.app.state.services.database
    return database.unit_of_work(database.read_sessions if request.method in _READING_METHODS else database.sessions)


async def unit_of_work_session(request: Request) -> Session:
    return request.scope[UNIT_OF_WORK].session


def bearer_token(request: Request) -> str:
    headers = request.headers
    if "x-api-key" in headers:
        raise BadRequest("API key authentication is not supported anymore. Please switch to identity authentication.")
    authorization = headers.get("authorization")
    if not authorization:
        raise Unauthorized("Token missing")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("The provided access token is malformed. Please use a valid token or generate a new one and try again.")
    return token.strip()


@dataclass(frozen=True)
class CallerContext:
    """What a route acting for an authenticated caller works with, solved as one dependency.

    FastAPI solves every dependency of a route on every request, each at about the cost of a
    database statement: as three dependencies, the caller, the unit of work and the services
    cost a cached secret read 7 % more instructions (bench/instructions.py).
    """

    caller: AuthenticatedIdentity
    work: UnitOfWork
    services: Services

    @property
    def session(self) -> Session:
        return self.work.session

    def now(self) -> datetime:
        return self.services.clock.now()


async def _caller_context(request: Request) -> CallerContext:
    work: UnitOfWork = request.scope[UNIT_OF_WORK]
    services: Services = request.app.state.services
    presented = services.tokens.presented(bearer_token(request))  # no database work for a forged token
    # Then the change counters, awaited: on PostgreSQL the loop serves other requests during the round
    # trip (strongroom.store.generations.SharedGenerationReads). The token check runs on them.
    work.use_generations(await services.database.await_generations())
    caller = services.tokens.authenticate(work, presented, client_address(request))
    if request.method not in _READING_METHODS:
        # A request that writes may still await (its body) before its route runs; on SQLite the token
        # check's write transaction, left open across that await, would hold up every other request.
        work.commit()
    return CallerContext(caller, work, services)


def client_address(request: Request) -> str | None:
    settings = request.app.state.services.settings
    return client_ip(request, settings.trusted_proxies, settings.forwarded_headers)


@dataclass(frozen=True)
class LoginAttempts:
    """The failed-login limits, for the client of this request: ``with attempts.of(identity_id): <login>``."""

    throttle: LoginThrottle
    client_ip: str | None

    def of(self, identity_id: str) -> AbstractContextManager[None]:
        return self.throttle.attempt(identity_id, self.client_ip)


async def _login_attempts(request: Request) -> LoginAttempts:
    # async: no I/O here, and a plain def would cost the login a trip through the thread pool.
    return LoginAttempts(request.app.state.services.login_throttle, client_address(request))


# A route depending on any of these runs in a unit of work (strongroom.api.routing).
NEEDS_UNIT_OF_WORK = (unit_of_work_session, _caller_context)

ServicesDep = Annotated[Services, Depends(get_services)]
# The ORM session of the request's unit of work, for routes that act for no caller.
Db = Annotated[Session, Depends(unit_of_work_session)]
# The authenticated caller, its unit of work and the services.
Context = Annotated[CallerContext, Depends(_caller_context)]
LoginAttemptsDep = Annotated[LoginAttempts, Depends(_login_attempts)]
