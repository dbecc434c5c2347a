"""When, and with which method, each identity last logged in: noted in memory, written in batches.

``lastLoginTime`` and ``lastLoginAuthMethod`` are for people to read; they may
lag by a second. Writing them in the login's own transaction cost every login
a second statement (on PostgreSQL also ``BEGIN`` and ``COMMIT`` round trips);
written here, a login's only write is the one INSERT of its token record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, update

from strongroom.background import BatchedWrites
from strongroom.clock import Clock
from strongroom.store.db import Database
from strongroom.store.models import IdentityOrgMembership, UtcDateTime

LastLogin = tuple[datetime, str]  # when, and the auth method

_membership = IdentityOrgMembership.__table__
_time = _membership.c.last_login_time
_stamp = bindparam("login_time", type_=UtcDateTime())
_later = (_time.is_(None)) | (_time < _stamp)  # never backwards: another replica may have written a later login
_RECORD = (
    update(_membership)
    .where(_membership.c.identity_id == bindparam("login_identity"))
    .values(
        last_login_time=case((_later, _stamp), else_=_time),
        last_login_auth_method=case((_later, bindparam("login_method")), else_=_membership.c.last_login_auth_method),
    )
)


def _latest(pending: LastLogin | None, login: LastLogin) -> LastLogin:
    return login if pending is None or login[0] >= pending[0] else pending


class LastLogins(BatchedWrites[str, LastLogin]):
    def __init__(self, database: Database, clock: Clock) -> None:
        super().__init__(_latest)
        self._database = database
        self._clock = clock

    def record(self, identity_id: str, auth_method: str) -> None:
        self._record(identity_id, (self._clock.now(), auth_method))

    def _write(self, pending: dict[str, LastLogin]) -> None:
        rows = [{"login_identity": identity_id, "login_time": moment, "login_method": method}
                for identity_id, (moment, method) in sorted(pending.items())]  # sorted: no deadlock between replicas
        with self._database.engine.begin() as connection:
            connection.execute(_RECORD, rows)
