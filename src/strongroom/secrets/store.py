"""Secret rows and their versions: create, change, delete, with every value sealed.

Each write leaves a version row that matches the secret as written, so any
version can be read back later (``version=`` on get). Values and comments are
sealed for their place before they reach the session; plaintext never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.crypto.sealing import SecretSealer
from strongroom.errors import BadRequest
from strongroom.secrets import records, sealed_fields
from strongroom.secrets.records import SecretRecord
from strongroom.secrets.sealed_fields import Place
from strongroom.store.models import Secret, SecretVersion

SHARED = "shared"


@dataclass(frozen=True)
class SecretOptions:
    """The non-secret settings of a secret; None leaves a setting as it is."""

    skip_multiline_encoding: bool | None = None
    reminder_note: str | None = None
    reminder_repeat_days: int | None = None
    metadata: list[dict[str, Any]] | None = None


def in_folders(session: Session, folder_ids: list[str]) -> list[Secret]:
    query = select(Secret).where(Secret.folder_id.in_(folder_ids), Secret.type == SHARED).order_by(Secret.key)
    return list(session.scalars(query))


# The reads' statements, built once with parameters (see projects.access on why).
_RECORDS_IN_FOLDERS = (
    select(*records.COLUMNS)
    .where(Secret.folder_id.in_(bindparam("folder_ids", expanding=True)), Secret.type == SHARED)
    .order_by(Secret.key)
)
_RECORD_NAMED = select(*records.COLUMNS).where(
    Secret.folder_id == bindparam("folder_id"), Secret.key == bindparam("key"), Secret.type == SHARED
)


def records_in_folders(session: Session, folder_ids: list[str]) -> list[SecretRecord]:
    """The shared secrets of the folders, by key, for reading (see ``records``)."""
    rows = session.connection().execute(_RECORDS_IN_FOLDERS, {"folder_ids": folder_ids})
    return [SecretRecord._make(row) for row in rows]


def record_named(session: Session, folder_id: str, key: str) -> SecretRecord | None:
    row = session.connection().execute(_RECORD_NAMED, {"folder_id": folder_id, "key": key}).first()
    return SecretRecord._make(row) if row is not None else None


def find(session: Session, folder_id: str, key: str) -> Secret | None:
    return session.scalar(
        select(Secret).where(Secret.folder_id == folder_id, Secret.key == key, Secret.type == SHARED)
    )


def version_of(session: Session, secret_id: str, number: int) -> SecretVersion | None:
    return session.scalar(
        select(SecretVersion).where(SecretVersion.secret_id == secret_id, SecretVersion.version == number)
    )


def _apply(secret: Secret, options: SecretOptions) -> None:
    if options.skip_multiline_encoding is not None:
        secret.skip_multiline_encoding = options.skip_multiline_encoding
    if options.reminder_note is not None:
        secret.reminder_note = options.reminder_note
    if options.reminder_repeat_days is not None:
        secret.reminder_repeat_days = options.reminder_repeat_days
    if options.metadata is not None:
        secret.secret_metadata = options.metadata


def _record_version(session: Session, sealer: SecretSealer, place: Place, secret: Secret, value: str, comment: str) -> None:
    version = SecretVersion(
        secret_id=secret.id,
        version=secret.version,
        key=secret.key,
        skip_multiline_encoding=secret.skip_multiline_encoding,
        reminder_note=secret.reminder_note,
        reminder_repeat_days=secret.reminder_repeat_days,
        secret_metadata=list(secret.secret_metadata or []),
    )
    sealed_fields.seal(sealer, version, place, value, comment)
    session.add(version)


def create(
    session: Session, sealer: SecretSealer, place: Place, folder_id: str, key: str, value: str, comment: str,
    options: SecretOptions,
) -> Secret:
    if find(session, folder_id, key) is not None:
        raise BadRequest("Secret already exists")
    secret = Secret(folder_id=folder_id, key=key, type=SHARED, version=1, skip_multiline_encoding=False,
                    secret_metadata=[])
    _apply(secret, options)
    sealed_fields.seal(sealer, secret, place, value, comment)
    session.add(secret)
    try:
        session.flush()
    except IntegrityError:
        raise BadRequest("Secret already exists") from None
    _record_version(session, sealer, place, secret, value, comment)
    session.flush()
    return secret


def change(
    session: Session, sealer: SecretSealer, place: Place, secret: Secret, *,
    new_key: str | None = None, value: str | None = None, comment: str | None = None,
    options: SecretOptions = SecretOptions(),
) -> tuple[str, str]:
    """Apply a change as one new version; returns the secret's value and comment as now stored."""
    if new_key is not None and new_key != secret.key:
        if find(session, secret.folder_id, new_key) is not None:
            raise BadRequest("Secret with the new name already exists")
    # Only columns that are kept need opening: a damaged value can be repaired by writing a new one.
    current_value = value if value is not None else sealed_fields.open_value(sealer, secret, place)
    current_comment = comment if comment is not None else sealed_fields.open_comment(sealer, secret, place)
    if new_key is not None:
        secret.key = new_key
    _apply(secret, options)
    secret.version += 1
    sealed_fields.seal(sealer, secret, place, current_value, current_comment)
    try:
        session.flush()
    except IntegrityError:
        raise BadRequest("Secret with the new name already exists") from None
    _record_version(session, sealer, place, secret, current_value, current_comment)
    session.flush()
    return current_value, current_comment


def delete(session: Session, secret: Secret) -> None:
    # Its versions go with it (ON DELETE CASCADE).
    session.delete(secret)
    session.flush()
