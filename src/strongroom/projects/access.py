"""Who may do what in a project: the caller's project role, decided once per request.

The rules, in the order they are applied:
1. The project must exist in the caller's organisation. A project of another
   organisation is reported missing, exactly like one that does not exist.
2. A member's role is the highest of its roles that is in force now (a
   temporary role counts only between its start and end; a membership with
   none in force is no-access).
3. An organisation admin that is not a member may run the project (settings,
   environments, memberships) but gets nothing of its secrets: the secrets of
   a project are read only by the identities that belong to it.
4. Anyone else is refused with 403, as Infisical refuses non-members.

Every request that touches a project starts here, so the project, the
caller's membership and its roles come back in one query (outer joins: a
project the caller is not in still comes back, with no membership). The
rules above are then applied to those rows in the same order as before.
The query reads plain columns, not ORM entities: on a secret read served
from the rendered-read cache the decision is all that is needed, and the
ORM's result processing would cost more than the query. The project's row
becomes a ``Project`` in the session only when something asks for it, and
its environments are loaded only when something asks for those. The rows
are kept under the access generation (``strongroom.store.generations``), so
the next request of the same caller on the same project runs no query while
no membership, role or project has changed, and applies the rules afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, select
from sqlalchemy.orm import make_transient_to_detached

from strongroom.auth.tokens import AuthenticatedIdentity
from strongroom.errors import BadRequest, Forbidden, NotFound, PermissionDenied
from strongroom.identities.roles import OrgRole
from strongroom.projects.roles import ORG_ADMIN_GRANTS, Permission, ProjectRole
from strongroom.store.generations import ACCESS_GENERATION
from strongroom.store.models import IdentityProjectMembership, IdentityProjectMembershipRole, Project
from strongroom.store.unit_of_work import UnitOfWork


def not_a_member(project_id: str) -> Forbidden:
    # Infisical's wording, as the error name and (here) also as the message clients print.
    text = f"Identity is not a member of the specified project with ID '{project_id}'"
    return Forbidden(text, error=text)


@dataclass(frozen=True)
class RoleGrant:
    """One role of a membership, as the access decision needs it."""

    role: str
    is_temporary: bool
    start: datetime | None
    end: datetime | None

    def in_force(self, now: datetime) -> bool:
        if not self.is_temporary:
            return True
        return self.start is not None and self.end is not None and self.start <= now < self.end


def highest_role_in_force(grants: Iterable[RoleGrant], now: datetime) -> ProjectRole:
    in_force = [ProjectRole.parse(grant.role) for grant in grants if grant.in_force(now)]
    return max(in_force, key=lambda role: role.rank, default=ProjectRole.NO_ACCESS)


# The project's own columns come first in each row of the access query, in the mapper's order.
_PROJECT_ATTRIBUTES = tuple(Project.__mapper__.column_attrs)


@dataclass(frozen=True)
class ProjectAccess:
    project_id: str
    identity_id: str
    role: ProjectRole | None  # None: not a member (an organisation admin running the project)
    org_admin: bool
    _work: UnitOfWork = field(repr=False, compare=False)
    _project_row: Row[Any] = field(repr=False, compare=False)

    @property
    def read_generation(self) -> int:
        """Of the whole instance, read first in the unit of work, before anything a secret read shows
        (strongroom.secrets.rendered); only routes that keep rendered answers ask for it."""
        return self._work.generations.read

    @cached_property
    def project(self) -> Project:
        """The project, as a persistent object of the unit of work's session, made from the row already read."""
        session = self._work.session
        already = session.identity_map.get(Project.__mapper__.identity_key_from_primary_key((self.project_id,)))
        if already is not None:
            return already  # as this unit of work left it: the row must not overwrite its changes
        loaded = Project(**{attribute.key: self._project_row[index]
                            for index, attribute in enumerate(_PROJECT_ATTRIBUTES)})
        # As if a query had just loaded it: no pending changes, environments loaded on first use.
        make_transient_to_detached(loaded)
        return session.merge(loaded, load=False)

    def can(self, permission: Permission) -> bool:
        if self.role is not None and permission in self.role.grants:
            return True
        return self.org_admin and permission in ORG_ADMIN_GRANTS

    def require(self, permission: Permission) -> None:
        if self.can(permission):
            return
        if self.role is None:
            raise not_a_member(self.project_id)
        raise PermissionDenied(f"You are not allowed to {permission.action} on {permission.subject}")


def _project_with_roles() -> Select[Any]:
    membership, grant = IdentityProjectMembership, IdentityProjectMembershipRole
    return (
        select(*(attribute.columns[0] for attribute in _PROJECT_ATTRIBUTES),
               membership.id.label("membership_id"), grant.role, grant.is_temporary,
               grant.temporary_access_start_time, grant.temporary_access_end_time,
               ACCESS_GENERATION)  # the rows are kept under the generation they were read at (_access_where)
        .outerjoin(membership, and_(membership.project_id == Project.id,
                                    membership.identity_id == bindparam("identity_id")))
        .outerjoin(grant, grant.membership_id == membership.id)
        # Rule 1: only the caller's organisation is searched, so another's project is "not found".
        .where(Project.org_id == bindparam("org_id"))
    )


# Built once, with parameters: building and hashing (for SQLAlchemy's compiled cache) a statement of
# this size costs several times more than running it.
_BY_ID = _project_with_roles().where(Project.id == bindparam("project"))
_BY_SLUG = _project_with_roles().where(Project.slug == bindparam("project"))


def _access_where(work: UnitOfWork, caller: AuthenticatedIdentity, now: datetime, query: Select[Any],
                  project: str) -> ProjectAccess | None:
    """The caller's access to the project of the caller's organisation that ``query`` finds; None if none."""
    # The rows an earlier request read, if nothing that decides access has changed since
    # (strongroom.store.generations); the rules below are applied to them all the same.
    key = ("project access", query, project, caller.identity_id, caller.org_id)
    rows = work.kept(key)
    if rows is None:
        # Core, not the ORM: plain columns need none of its result processing. Core does not flush the
        # session first, so access is decided before a route changes anything through the ORM.
        rows = work.connection.execute(
            query, {"identity_id": caller.identity_id, "org_id": caller.org_id, "project": project}
        ).all()
        if rows:
            work.keep(key, rows[0].access_generation, rows)
    if not rows:
        return None
    first = rows[0]
    member = first.membership_id is not None
    org_admin = caller.org_role == OrgRole.ADMIN.value
    if not member and not org_admin:  # rule 4
        raise not_a_member(first.id)
    # Rule 2; rule 3 is ProjectAccess.can (role None: an organisation admin that is not a member).
    grants = [RoleGrant(row.role, row.is_temporary, row.temporary_access_start_time, row.temporary_access_end_time)
              for row in rows if row.role is not None]
    role = highest_role_in_force(grants, now) if member else None
    return ProjectAccess(project_id=first.id, identity_id=caller.identity_id, role=role, org_admin=org_admin,
                         _work=work, _project_row=first)


def access_by_id(work: UnitOfWork, caller: AuthenticatedIdentity, project_id: str, now: datetime) -> ProjectAccess:
    access = _access_where(work, caller, now, _BY_ID, project_id)
    if access is None:
        raise NotFound(f"Project with ID '{project_id}' not found")
    return access


def access_by_slug(work: UnitOfWork, caller: AuthenticatedIdentity, slug: str, now: datetime) -> ProjectAccess:
    access = _access_where(work, caller, now, _BY_SLUG, slug)
    if access is None:
        raise NotFound(f"Project with slug '{slug}' not found")
    return access


def access_by_reference(
    work: UnitOfWork, caller: AuthenticatedIdentity, now: datetime, *, project_id: str | None, project_slug: str | None,
    missing_message: str,
) -> ProjectAccess:
    """The project named by id or by slug (the slug wins when both are given, as in Infisical)."""
    if project_slug:
        return access_by_slug(work, caller, project_slug, now)
    if project_id:
        return access_by_id(work, caller, project_id, now)
    raise BadRequest(missing_message)
