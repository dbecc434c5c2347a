"""Built-in project roles and the permissions each grants (Infisical's admin, member, viewer, no-access).

Permissions are named as Infisical names them (an action on a subject), so a
refusal reads as Infisical's does: ``You are not allowed to create on secrets``.
Custom roles are not supported: the role is data, and these four are all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from strongroom.errors import BadRequest


@dataclass(frozen=True)
class Permission:
    action: str
    subject: str


# Secrets: "describe" lets a caller see that a secret exists, "readValue" lets it see the value.
DESCRIBE_SECRETS = Permission("describeSecret", "secrets")
READ_SECRET_VALUES = Permission("readValue", "secrets")
CREATE_SECRETS = Permission("create", "secrets")
EDIT_SECRETS = Permission("edit", "secrets")
DELETE_SECRETS = Permission("delete", "secrets")

READ_FOLDERS = Permission("read", "secret-folders")
CREATE_FOLDERS = Permission("create", "secret-folders")
EDIT_FOLDERS = Permission("edit", "secret-folders")
DELETE_FOLDERS = Permission("delete", "secret-folders")

READ_IMPORTS = Permission("read", "secret-imports")
CREATE_IMPORTS = Permission("create", "secret-imports")
EDIT_IMPORTS = Permission("edit", "secret-imports")
DELETE_IMPORTS = Permission("delete", "secret-imports")

READ_ENVIRONMENTS = Permission("read", "environments")
CREATE_ENVIRONMENTS = Permission("create", "environments")
EDIT_ENVIRONMENTS = Permission("edit", "environments")
DELETE_ENVIRONMENTS = Permission("delete", "environments")

READ_IDENTITIES = Permission("read", "identity")
CREATE_IDENTITIES = Permission("create", "identity")
EDIT_IDENTITIES = Permission("edit", "identity")
DELETE_IDENTITIES = Permission("delete", "identity")

READ_SETTINGS = Permission("read", "settings")
EDIT_SETTINGS = Permission("edit", "settings")
DELETE_PROJECT = Permission("delete", "workspace")

_SECRET_READS = frozenset({DESCRIBE_SECRETS, READ_SECRET_VALUES})
_SECRET_WRITES = frozenset({CREATE_SECRETS, EDIT_SECRETS, DELETE_SECRETS})
_FOLDER_WRITES = frozenset({CREATE_FOLDERS, EDIT_FOLDERS, DELETE_FOLDERS})
_IMPORT_WRITES = frozenset({CREATE_IMPORTS, EDIT_IMPORTS, DELETE_IMPORTS})
_ENVIRONMENT_WRITES = frozenset({CREATE_ENVIRONMENTS, EDIT_ENVIRONMENTS, DELETE_ENVIRONMENTS})
_IDENTITY_WRITES = frozenset({CREATE_IDENTITIES, EDIT_IDENTITIES, DELETE_IDENTITIES})
_PROJECT_READS = frozenset({READ_FOLDERS, READ_IMPORTS, READ_ENVIRONMENTS, READ_IDENTITIES, READ_SETTINGS})

_VIEWER = _SECRET_READS | _PROJECT_READS
_MEMBER = _VIEWER | _SECRET_WRITES | _FOLDER_WRITES | _IMPORT_WRITES | _ENVIRONMENT_WRITES
_ADMIN = _MEMBER | _IDENTITY_WRITES | frozenset({EDIT_SETTINGS, DELETE_PROJECT})

# What an organisation admin may do in a project it is not a member of: run the
# project (settings, environments, who is in it), never read or write its secrets.
ORG_ADMIN_GRANTS = frozenset(
    {READ_SETTINGS, EDIT_SETTINGS, DELETE_PROJECT, READ_IDENTITIES, READ_ENVIRONMENTS}
) | _ENVIRONMENT_WRITES | _IDENTITY_WRITES


class ProjectRole(str, Enum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"
    NO_ACCESS = "no-access"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def grants(self) -> frozenset[Permission]:
        return _GRANTS[self]

    @classmethod
    def parse(cls, text: str) -> "ProjectRole":
        try:
            return cls(text.strip())
        except ValueError:
            raise BadRequest(
                f"Project role '{text}' not found; use one of admin, member, viewer, no-access"
            ) from None


_RANKS = {ProjectRole.NO_ACCESS: 0, ProjectRole.VIEWER: 1, ProjectRole.MEMBER: 2, ProjectRole.ADMIN: 3}
_GRANTS = {
    ProjectRole.NO_ACCESS: frozenset(),
    ProjectRole.VIEWER: _VIEWER,
    ProjectRole.MEMBER: _MEMBER,
    ProjectRole.ADMIN: _ADMIN,
}
