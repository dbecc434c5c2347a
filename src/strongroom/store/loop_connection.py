"""An async PostgreSQL connection owned by one event loop: what the shared counter reads and grouped inserts go over."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any


class LoopConnection:
    """A psycopg ``AsyncConnection`` in autocommit, opened on first use, by and for the first event loop
    that asks (an async connection cannot move between loops); dropped on any doubt about its state.

    Its one user runs one statement at a time on it, so one cursor serves them all: making a cursor
    for each statement (``AsyncConnection.execute``) cost a fifth of a counter read's CPU.
    """

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection: Any = None
        self._cursor: Any = None

    def serves_this_loop(self) -> bool:
        """True on the loop the connection belongs to (the first to ask); a caller on another answers otherwise."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        return loop is self._loop

    async def get(self) -> Any:
        """The connection, opened now if need be (on the running loop, which it then belongs to)."""
        if self._connection is None:
            import psycopg

            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._connection

    async def cursor(self) -> Any:
        """The connection's kept cursor (the connection opened now if need be)."""
        if self._cursor is None:
            self._cursor = (await self.get()).cursor()
        return self._cursor

    @property
    def current(self) -> Any:
        """The open connection, if any (no connection is opened)."""
        return self._connection

    async def drop(self) -> None:
        """Close it (errors ignored: it may be broken already); the next ``get`` opens a new one."""
        connection, self._connection, self._cursor = self._connection, None, None
        if connection is not None:
            with suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        """Close it, on the loop it belongs to (at shutdown); on any other loop there is nothing to close."""
        if self._loop is asyncio.get_running_loop():
            await self.drop()
