"""Writing secrets: create, update (rename included), delete, one at a time or in batches.

A batch is checked whole before anything is written, and runs in the
request's single transaction, so it lands entirely or not at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from strongroom.crypto.sealing import SecretSealer
from strongroom.errors import BadRequest, NotFound
from strongroom.projects.access import ProjectAccess
from strongroom.projects.roles import CREATE_SECRETS, DELETE_SECRETS, EDIT_SECRETS
from strongroom.secrets import locations, sealed_fields, store
from strongroom.secrets.folders import FolderTree
from strongroom.secrets.locations import Location
from strongroom.secrets.references import SecretAddress, references_in, rewrite_renamed
from strongroom.secrets.requests import (
    BatchCreate,
    BatchDelete,
    BatchUpdate,
    BatchUpdateItem,
    SecretCreate,
    SecretUpdate,
    metadata_list,
)
from strongroom.secrets.rules import checked_key, require_capitalised
from strongroom.secrets.sealed_fields import SecretUnreadable
from strongroom.secrets.shape import HIDDEN_VALUE, SecretView, describe
from strongroom.secrets.store import SecretOptions
from strongroom.store.models import Secret


def _no_tags(tag_ids: list[str] | None) -> None:
    # Tags are not supported yet; an id can therefore never name one (Infisical answers unknown ids with 404).
    if tag_ids:
        raise NotFound(f"Tag not found. Found none of {', '.join(tag_ids)}")


def _view(location: Location, secret: Secret, value: str, comment: str, hidden: bool = False) -> dict[str, Any]:
    return describe(SecretView(secret, secret, location.environment.slug, location.path, location.project.id,
                               value, comment, hidden))


def _duplicates(keys: list[str]) -> list[str]:
    return sorted(key for key, count in Counter(keys).items() if count > 1)


# -- one secret ----------------------------------------------------------------------------


def create(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location, key: str,
           fields: SecretCreate) -> dict[str, Any]:
    access.require(CREATE_SECRETS)
    if fields.type != store.SHARED:
        raise BadRequest("Must be user to create personal secret")
    require_capitalised(key, access.project.auto_capitalization)
    _no_tags(fields.tagIds)
    comment = fields.secretComment or ""
    options = SecretOptions(
        skip_multiline_encoding=bool(fields.skipMultilineEncoding),
        reminder_note=fields.secretReminderNote,
        reminder_repeat_days=fields.secretReminderRepeatDays,
        metadata=metadata_list(fields.secretMetadata),
    )
    secret = store.create(session, sealer, location.place, location.folder.id, key, fields.secretValue, comment, options)
    return {"secret": _view(location, secret, fields.secretValue, comment)}


def _existing(session: Session, location: Location, key: str, secret_type: str, message: str) -> Secret:
    secret = store.find(session, location.folder.id, key) if secret_type == store.SHARED else None
    if secret is None:
        raise NotFound(message)
    return secret


def update(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location, key: str,
           fields: SecretUpdate) -> dict[str, Any]:
    access.require(EDIT_SECRETS)
    secret = _existing(session, location, key, fields.type, f"Secret with name {key} not found")
    _no_tags(fields.tagIds)
    new_key = _new_key(fields.newSecretName, access)
    options = SecretOptions(
        skip_multiline_encoding=fields.skipMultilineEncoding,
        reminder_note=fields.secretReminderNote,
        reminder_repeat_days=fields.secretReminderRepeatDays,
        metadata=metadata_list(fields.secretMetadata),
    )
    _, comment = _change(session, sealer, location, secret, new_key, fields.secretValue, fields.secretComment, options)
    # As Infisical: the answer echoes the value that was sent, or "" when none was.
    return {"secret": _view(location, secret, fields.secretValue or "", comment)}


def _new_key(text: str | None, access: ProjectAccess) -> str | None:
    if text is None:
        return None
    if not text.strip():
        raise BadRequest("New secret name cannot be empty")
    try:
        key = checked_key(text)
    except ValueError as problem:
        raise BadRequest(str(problem)) from None
    require_capitalised(key, access.project.auto_capitalization)
    return key


def _change(session: Session, sealer: SecretSealer, location: Location, secret: Secret, new_key: str | None,
            value: str | None, comment: str | None, options: SecretOptions) -> tuple[str, str]:
    old_key = secret.key
    stored = store.change(session, sealer, location.place, secret, new_key=new_key, value=value, comment=comment,
                          options=options)
    if new_key is not None and new_key != old_key:
        # As Infisical does on rename: references to the old name now point at the new one.
        _rewrite_references(session, sealer, location, SecretAddress(location.environment.slug, location.path, old_key),
                            new_key)
    return stored


def _rewrite_references(session: Session, sealer: SecretSealer, location: Location, renamed: SecretAddress,
                        new_key: str) -> None:
    project = location.project
    for environment in project.environments:
        tree = location.tree if environment.id == location.environment.id else FolderTree.load(session, environment)
        folder_ids = list(tree.by_id)
        for secret in store.in_folders(session, folder_ids):
            here = Location(project, environment, tree, tree.by_id[secret.folder_id])
            try:
                value = sealed_fields.open_value(sealer, secret, here.place)
            except SecretUnreadable:
                continue  # a damaged secret is left for its owner to repair; the rename still happens
            if not references_in(value):
                continue
            rewritten = rewrite_renamed(value, SecretAddress(environment.slug, here.path, secret.key), renamed, new_key)
            if rewritten != value:
                store.change(session, sealer, here.place, secret, value=rewritten)


def delete(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location, key: str,
           secret_type: str) -> dict[str, Any]:
    access.require(DELETE_SECRETS)
    secret = _existing(session, location, key, secret_type, "Secret not found")
    return {"secret": _delete(session, sealer, location, secret)}


def _delete(session: Session, sealer: SecretSealer, location: Location, secret: Secret) -> dict[str, Any]:
    try:
        shown = _view(location, secret, sealed_fields.open_value(sealer, secret, location.place),
                      sealed_fields.open_comment(sealer, secret, location.place))
    except SecretUnreadable:
        # A damaged secret can still be deleted; its value is simply not shown.
        shown = _view(location, secret, HIDDEN_VALUE, "", hidden=True)
    store.delete(session, secret)
    return shown


# -- batches ---------------------------------------------------------------------------------


def batch_create(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location,
                 fields: BatchCreate) -> dict[str, Any]:
    access.require(CREATE_SECRETS)
    keys = [item.secretKey for item in fields.secrets]
    if duplicates := _duplicates(keys):
        raise BadRequest(f"Duplicate secret keys in request: {', '.join(duplicates)}")
    for item in fields.secrets:
        require_capitalised(item.secretKey, access.project.auto_capitalization)
        _no_tags(item.tagIds)
    existing = [key for key in keys if store.find(session, location.folder.id, key) is not None]
    if existing:
        raise BadRequest(f"Secret already exists: {','.join(existing)}")
    created = []
    for item in fields.secrets:
        options = SecretOptions(skip_multiline_encoding=bool(item.skipMultilineEncoding),
                                metadata=metadata_list(item.secretMetadata))
        comment = item.secretComment or ""
        secret = store.create(session, sealer, location.place, location.folder.id, item.secretKey, item.secretValue,
                              comment, options)
        created.append(_view(location, secret, item.secretValue, comment))
    return {"secrets": created}


def batch_update(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location,
                 fields: BatchUpdate) -> dict[str, Any]:
    access.require(EDIT_SECRETS)
    if fields.mode == "upsert":
        access.require(CREATE_SECRETS)
    items_by_path: dict[str, list[BatchUpdateItem]] = {}
    for item in fields.secrets:
        items_by_path.setdefault(item.secretPath or location.path, []).append(item)
        _no_tags(item.tagIds)
        _new_key(item.newSecretName, access)
    # Check everything first: which folders, which secrets are missing, which keys repeat.
    plan: list[tuple[Location, BatchUpdateItem, Secret | None]] = []
    for path, items in items_by_path.items():
        here = location if path == location.path else locations.locate(session, location.project,
                                                                        location.environment.slug, path)
        if duplicates := _duplicates([item.secretKey for item in items]):
            raise BadRequest(f"Duplicate secret keys in request: {', '.join(duplicates)}")
        found = {item.secretKey: store.find(session, here.folder.id, item.secretKey) for item in items}
        missing = [key for key, secret in found.items() if secret is None]
        if missing and fields.mode == "failOnNotFound":
            raise NotFound(f"Secret does not exist: {', '.join(missing)} in path {path}")
        plan.extend((here, item, found[item.secretKey]) for item in items)
    written = []
    for here, item, secret in plan:
        if secret is None:
            if fields.mode == "ignore":
                continue
            require_capitalised(item.secretKey, access.project.auto_capitalization)
            value, comment = item.secretValue or "", item.secretComment or ""
            options = SecretOptions(skip_multiline_encoding=bool(item.skipMultilineEncoding),
                                    reminder_note=item.secretReminderNote,
                                    reminder_repeat_days=item.secretReminderRepeatDays,
                                    metadata=metadata_list(item.secretMetadata))
            created = store.create(session, sealer, here.place, here.folder.id, item.newSecretName or item.secretKey,
                                   value, comment, options)
            written.append(_view(here, created, value, comment))
            continue
        options = SecretOptions(skip_multiline_encoding=item.skipMultilineEncoding,
                                reminder_note=item.secretReminderNote,
                                reminder_repeat_days=item.secretReminderRepeatDays,
                                metadata=metadata_list(item.secretMetadata))
        new_key = _new_key(item.newSecretName, access)
        value, comment = _change(session, sealer, here, secret, new_key, item.secretValue, item.secretComment, options)
        written.append(_view(here, secret, value, comment))
    return {"secrets": written}


def batch_delete(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location,
                 fields: BatchDelete) -> dict[str, Any]:
    access.require(DELETE_SECRETS)
    keys = [item.secretKey for item in fields.secrets]
    if duplicates := _duplicates(keys):
        raise BadRequest(f"Duplicate secret keys in request: {', '.join(duplicates)}")
    found = {item.secretKey: store.find(session, location.folder.id, item.secretKey)
             if item.type == store.SHARED else None for item in fields.secrets}
    missing = [key for key, secret in found.items() if secret is None]
    if missing:
        raise NotFound(f"Secret does not exist: {', '.join(missing)} in path {location.path}")
    return {"secrets": [_delete(session, sealer, location, secret) for secret in found.values() if secret is not None]}
