"""Identity project memberships: which identities belong to a project, and with which roles.

A membership holds one or more roles. A temporary role (``isTemporary``) is in
force from ``temporaryAccessStartTime`` for ``temporaryRange`` (an ``ms``-style
duration such as ``1h`` or ``30m``, the format Infisical's clients send).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.clock import iso
from strongroom.errors import BadRequest, NotFound
from strongroom.identities.identities import auth_methods
from strongroom.projects.roles import ProjectRole
from strongroom.store.models import (
    Identity,
    IdentityProjectMembership,
    IdentityProjectMembershipRole,
    Project,
)

_DURATION = re.compile(
    r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>ms|msecs?|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?"
    r"|d|days?|w|weeks?|y|yrs?|years?)?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}


def parse_duration(text: str) -> timedelta:
    """A duration as the ``ms`` package reads it (``90s``, ``1h``, ``2 days``; a bare number is milliseconds)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration such as 30m, 1h or 2d")
    unit = (match["unit"] or "ms").lower()
    key = "ms" if unit.startswith("ms") or unit.startswith("milli") else unit[0]
    seconds = float(match["amount"]) * _UNIT_SECONDS[key]
    if seconds <= 0:
        raise ValueError("temporaryRange must be longer than zero")
    return timedelta(seconds=seconds)


class RoleAssignment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str = Field(min_length=1)
    isTemporary: bool = False
    temporaryMode: Literal["relative"] | None = None
    temporaryRange: str | None = None
    temporaryAccessStartTime: datetime | None = None

    @model_validator(mode="after")
    def _temporary_fields(self) -> "RoleAssignment":
        if self.isTemporary:
            if self.temporaryMode is None or self.temporaryRange is None or self.temporaryAccessStartTime is None:
                raise ValueError("A temporary role needs temporaryMode, temporaryRange and temporaryAccessStartTime")
            if self.temporaryAccessStartTime.tzinfo is None:
                raise ValueError("temporaryAccessStartTime must carry a time zone (e.g. 2025-01-01T00:00:00Z)")
            parse_duration(self.temporaryRange)
        return self


class MembershipCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str | None = None  # deprecated single role; Terraform sends `roles`
    roles: list[RoleAssignment] | None = Field(default=None, min_length=1)


class MembershipUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    roles: list[RoleAssignment] = Field(min_length=1)


def requested_roles(fields: MembershipCreate) -> list[RoleAssignment]:
    if fields.roles:
        return fields.roles
    if fields.role and fields.role.strip():
        return [RoleAssignment(role=fields.role.strip())]
    raise BadRequest("You must provide either role or roles field")


def _role_rows(assignments: list[RoleAssignment]) -> list[IdentityProjectMembershipRole]:
    rows = []
    for assignment in assignments:
        role = ProjectRole.parse(assignment.role)
        row = IdentityProjectMembershipRole(role=role.value, is_temporary=assignment.isTemporary)
        if assignment.isTemporary:
            assert assignment.temporaryRange is not None and assignment.temporaryAccessStartTime is not None
            row.temporary_mode = assignment.temporaryMode
            row.temporary_range = assignment.temporaryRange
            row.temporary_access_start_time = assignment.temporaryAccessStartTime
            row.temporary_access_end_time = assignment.temporaryAccessStartTime + parse_duration(assignment.temporaryRange)
        rows.append(row)
    return rows


def find(session: Session, project_id: str, identity_id: str) -> IdentityProjectMembership | None:
    return session.scalar(
        select(IdentityProjectMembership).where(
            IdentityProjectMembership.project_id == project_id, IdentityProjectMembership.identity_id == identity_id
        )
    )


def require(session: Session, project_id: str, identity_id: str) -> IdentityProjectMembership:
    membership = find(session, project_id, identity_id)
    if membership is None:
        raise NotFound(f"Project membership for identity with ID '{identity_id}' in project with ID '{project_id}' not found")
    return membership


def add(session: Session, project: Project, identity_id: str, assignments: list[RoleAssignment]) -> IdentityProjectMembership:
    if find(session, project.id, identity_id) is not None:
        raise BadRequest(f"Identity with ID {identity_id} already exists in project with ID {project.id}")
    membership = IdentityProjectMembership(project_id=project.id, identity_id=identity_id, roles=_role_rows(assignments))
    session.add(membership)
    try:
        session.flush()
    except IntegrityError:
        raise BadRequest(f"Identity with ID {identity_id} already exists in project with ID {project.id}") from None
    return membership


def replace_roles(session: Session, membership: IdentityProjectMembership, assignments: list[RoleAssignment]) -> IdentityProjectMembership:
    membership.roles = _role_rows(assignments)
    session.flush()
    return membership


def remove(session: Session, membership: IdentityProjectMembership) -> dict[str, Any]:
    described = describe_created(membership)
    session.delete(membership)
    session.flush()
    return described


def list_in_project(session: Session, project_id: str, offset: int, limit: int) -> tuple[list[IdentityProjectMembership], int]:
    query = select(IdentityProjectMembership).where(IdentityProjectMembership.project_id == project_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(IdentityProjectMembership.created_at, IdentityProjectMembership.id).offset(offset).limit(limit)
    )
    return list(rows), total


# -- shapes --------------------------------------------------------------------------


def describe_role(role: IdentityProjectMembershipRole) -> dict[str, Any]:
    return {
        "id": role.id,
        "role": role.role,
        "customRoleId": None,
        "customRoleName": None,
        "customRoleSlug": None,
        "isTemporary": role.is_temporary,
        "temporaryMode": role.temporary_mode,
        "temporaryRange": role.temporary_range,
        "temporaryAccessStartTime": iso(role.temporary_access_start_time),
        "temporaryAccessEndTime": iso(role.temporary_access_end_time),
        "projectMembershipId": role.membership_id,
        "createdAt": iso(role.created_at),
        "updatedAt": iso(role.updated_at),
    }


def describe_created(membership: IdentityProjectMembership) -> dict[str, Any]:
    """The short form that add and remove answer with."""
    return {
        "id": membership.id,
        "projectId": membership.project_id,
        "identityId": membership.identity_id,
        "createdAt": iso(membership.created_at),
        "updatedAt": iso(membership.updated_at),
        "role": membership.roles[0].role if membership.roles else None,
        "roleId": None,
    }


def describe(membership: IdentityProjectMembership, identity: Identity, project: Project) -> dict[str, Any]:
    """The full form that get and list answer with."""
    return {
        **describe_created(membership),
        "roles": [describe_role(role) for role in membership.roles],
        "identity": {
            "id": identity.id,
            "name": identity.name,
            "orgId": identity.org_id,
            "authMethods": auth_methods(identity),
        },
        "project": {"id": project.id, "name": project.name, "slug": project.slug},
    }
