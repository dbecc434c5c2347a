"""Sealing and opening the sealed columns of secrets and their versions.

Each column is bound to its place (project, environment, folder path), the
secret's key and the column's name; a version row's columns also name the
version. So a value copied to any other row or column fails to open, and the
API then refuses that secret with a 409 that names it, instead of showing
another secret's value. The value itself never reaches a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from strongroom.crypto.sealing import SealBinding, SealBroken, SecretSealer
from strongroom.errors import ApiError
from strongroom.secrets.records import SecretRecord
from strongroom.store.models import Secret, SecretVersion

# A row with sealed columns: a secret's current version (as written, or as read) or one of its past versions.
SealedRow = Secret | SecretRecord | SecretVersion

log = logging.getLogger("strongroom.secrets")

VALUE = "value"
COMMENT = "comment"


class SecretUnreadable(ApiError):
    """A sealed value failed its integrity check: it was altered, or moved from another secret."""

    status_code = 409
    error = "SecretIntegrityError"


@dataclass(frozen=True)
class Place:
    """Where a secret lives: what its sealed columns are bound to, besides its key."""

    project_id: str
    environment_id: str
    environment_slug: str
    path: str

    def binding(self, row: SealedRow, key: str, column: str) -> SealBinding:
        # Version rows name their version, so one version's value cannot stand in for another's.
        label = f"version:{row.version}:{column}" if isinstance(row, SecretVersion) else column
        return SealBinding(self.project_id, self.environment_id, self.path, key, label)


def seal(sealer: SecretSealer, row: Secret | SecretVersion, place: Place, value: str, comment: str) -> None:
    row.sealed_value = sealer.seal(value, place.binding(row, row.key, VALUE))
    row.sealed_comment = sealer.seal(comment, place.binding(row, row.key, COMMENT))


def open_column(sealer: SecretSealer, row: SealedRow, place: Place, column: str) -> str:
    sealed = row.sealed_value if column == VALUE else row.sealed_comment
    try:
        return sealer.open(sealed, place.binding(row, row.key, column))
    except SealBroken:
        secret_id = row.secret_id if isinstance(row, SecretVersion) else row.id
        log.warning(
            "sealed %s of secret %s (project %s, environment %s, path %s) failed its integrity check",
            column, secret_id, place.project_id, place.environment_slug, place.path,
        )
        raise SecretUnreadable(
            f"The stored {column} of secret '{row.key}' in environment '{place.environment_slug}' at path "
            f"'{place.path}' failed its integrity check and cannot be read. Set the secret again or restore it "
            "from a backup."
        ) from None


def open_value(sealer: SecretSealer, row: SealedRow, place: Place) -> str:
    return open_column(sealer, row, place, VALUE)


def open_comment(sealer: SecretSealer, row: SealedRow, place: Place) -> str:
    return open_column(sealer, row, place, COMMENT)


def rebind(sealer: SecretSealer, row: Secret | SecretVersion, old: Place, new: Place, new_key: str | None = None) -> None:
    """Reseal a row for a new place or key (a folder renamed, a secret renamed)."""
    value = open_value(sealer, row, old)
    comment = open_comment(sealer, row, old)
    if new_key is not None:
        row.key = new_key
    seal(sealer, row, new, value, comment)
