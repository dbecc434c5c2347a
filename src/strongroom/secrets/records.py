"""A secret's current version as the read routes see it: the row's values, without ORM state.

Listing a folder is the call every workload makes at start-up, and building
ORM objects (identity map, change tracking) for rows that are only shown cost
more than reading them. Reads therefore select these columns as plain tuples;
writes keep working on ``Secret`` objects. Both are a secret's current
version, and its sealed columns are bound the same way (see
``sealed_fields.Place.binding``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from strongroom.store.models import Secret


class SecretRecord(NamedTuple):
    id: str
    folder_id: str
    key: str
    type: str
    version: int
    sealed_value: bytes
    sealed_comment: bytes
    skip_multiline_encoding: bool
    reminder_note: str | None
    reminder_repeat_days: int | None
    secret_metadata: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


# The columns to select, in the record's order.
COLUMNS = tuple(getattr(Secret, name) for name in SecretRecord._fields)
