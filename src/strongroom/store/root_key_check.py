"""The database remembers which root key it was first used with, and refuses any other.

Replicas must share one root key. A replica given another one would start and
answer, but every token the others issued would fail its signature check and
every secret they sealed would fail to open: behind a load balancer, a random
share of requests failing. Storing a value derived from the key (never the key,
nor a key derived from it) turns that into a refusal to start, with a message
that says what is wrong.
"""

from __future__ import annotations

import hmac

from sqlalchemy.exc import IntegrityError

from strongroom.crypto.root_key import RootKey
from strongroom.store.db import Database
from strongroom.store.models import RootKeyCheck

_CHECK_ROW_ID = 1


class RootKeyMismatch(RuntimeError):
    pass


def check_value(root_key: RootKey) -> bytes:
    return hmac.digest(root_key.derive("root-key-check"), b"strongroom root key check", "sha256")


def verify_root_key(database: Database, root_key: RootKey) -> None:
    """Record the key's check value on first use; afterwards, raise RootKeyMismatch for any other key."""
    expected = check_value(root_key)
    with database.sessions() as session:
        stored = session.get(RootKeyCheck, _CHECK_ROW_ID)
        if stored is None:
            session.add(RootKeyCheck(id=_CHECK_ROW_ID, check_value=expected))
            try:
                session.commit()
                return
            except IntegrityError:  # another replica recorded its key first: compare with that one
                session.rollback()
                stored = session.get(RootKeyCheck, _CHECK_ROW_ID)
        if stored is None or not hmac.compare_digest(stored.check_value, expected):
            raise RootKeyMismatch(
                "this database was set up with a different root key: give every replica the same "
                "STRONGROOM_ROOT_KEY (or, for the embedded default, the same <DATA_DIR>/root.key)"
            )
