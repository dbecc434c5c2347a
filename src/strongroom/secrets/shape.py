"""The secret object as Infisical's clients read it (``secretRawSchema`` plus the per-route extensions).

The Python SDK requires id, _id, workspace, environment, version, type,
secretKey, secretValue, secretComment (a string, never null), createdAt and
updatedAt; every response carries all of them and the optional ones too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strongroom.clock import iso
from strongroom.secrets.records import SecretRecord
from strongroom.store.models import Secret, SecretVersion

HIDDEN_VALUE = "<hidden-by-infisical>"


@dataclass
class SecretView:
    """One secret (at one of its versions) as it is about to be shown."""

    secret: Secret | SecretRecord
    row: Secret | SecretRecord | SecretVersion  # the version shown: the secret itself, or a row of its history
    environment_slug: str
    path: str
    workspace: str  # the project id; Infisical leaves it "" on imported secrets
    value: str
    comment: str
    hidden: bool = False


def describe(view: SecretView) -> dict[str, Any]:
    row = view.row
    updated_at = row.created_at if isinstance(row, SecretVersion) else row.updated_at
    return {
        "id": view.secret.id,
        "_id": view.secret.id,
        "workspace": view.workspace,
        "environment": view.environment_slug,
        "version": row.version,
        "type": view.secret.type,
        "secretKey": row.key,
        "secretValue": HIDDEN_VALUE if view.hidden else view.value,
        "secretComment": view.comment,
        "secretReminderNote": row.reminder_note,
        "secretReminderRepeatDays": row.reminder_repeat_days,
        "skipMultilineEncoding": bool(row.skip_multiline_encoding),
        "createdAt": iso(view.secret.created_at),
        "updatedAt": iso(updated_at),
        "isRotatedSecret": False,
        "rotationId": None,
        "secretPath": view.path,
        "secretValueHidden": view.hidden,
        "tags": [],
        "secretMetadata": list(row.secret_metadata or []),
    }
