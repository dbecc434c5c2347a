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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.auth.tokens import AuthenticatedIdentity
from strongroom.errors import BadRequest, Forbidden, NotFound, PermissionDenied
from strongroom.identities.roles import OrgRole
from strongroom.projects.roles import ORG_ADMIN_GRANTS, Permission, ProjectRole
from strongroom.store.models import IdentityProjectMembership, IdentityProjectMembershipRole, Project


def not_a_member(project_id: str) -> Forbidden:
    # Infisical's wording, as the error name and (here) also as the message clients print.
    text = f"Identity is not a member of the specified project with ID '{project_id}'"
    return Forbidden(text, error=text)


def role_in_force(role: IdentityProjectMembershipRole, now: datetime) -> bool:
    if not role.is_temporary:
        return True
    start, end = role.temporary_access_start_time, role.temporary_access_end_time
    return start is not None and end is not None and start <= now < end


def effective_role(membership: IdentityProjectMembership, now: datetime) -> ProjectRole:
    in_force = [ProjectRole.parse(role.role) for role in membership.roles if role_in_force(role, now)]
    return max(in_force, key=lambda role: role.rank, default=ProjectRole.NO_ACCESS)


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    identity_id: str
    role: ProjectRole | None  # None: not a member (an organisation admin running the project)
    org_admin: bool

    def can(self, permission: Permission) -> bool:
        if self.role is not None and permission in self.role.grants:
            return True
        return self.org_admin and permission in ORG_ADMIN_GRANTS

    def require(self, permission: Permission) -> None:
        if self.can(permission):
            return
        if self.role is None:
            raise not_a_member(self.project.id)
        raise PermissionDenied(f"You are not allowed to {permission.action} on {permission.subject}")


def project_in_org(session: Session, project_id: str, org_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None or project.org_id != org_id:
        raise NotFound(f"Project with ID '{project_id}' not found")
    return project


def project_by_slug(session: Session, slug: str, org_id: str) -> Project:
    project = session.scalar(select(Project).where(Project.org_id == org_id, Project.slug == slug))
    if project is None:
        raise NotFound(f"Project with slug '{slug}' not found")
    return project


def access_to(session: Session, caller: AuthenticatedIdentity, project: Project, now: datetime) -> ProjectAccess:
    membership = session.scalar(
        select(IdentityProjectMembership).where(
            IdentityProjectMembership.project_id == project.id,
            IdentityProjectMembership.identity_id == caller.identity_id,
        )
    )
    org_admin = caller.org_role == OrgRole.ADMIN.value
    if membership is None and not org_admin:
        raise not_a_member(project.id)
    role = effective_role(membership, now) if membership is not None else None
    return ProjectAccess(project=project, identity_id=caller.identity_id, role=role, org_admin=org_admin)


def access_by_id(session: Session, caller: AuthenticatedIdentity, project_id: str, now: datetime) -> ProjectAccess:
    return access_to(session, caller, project_in_org(session, project_id, caller.org_id), now)


def access_by_slug(session: Session, caller: AuthenticatedIdentity, slug: str, now: datetime) -> ProjectAccess:
    return access_to(session, caller, project_by_slug(session, slug, caller.org_id), now)


def access_by_reference(
    session: Session, caller: AuthenticatedIdentity, now: datetime, *, project_id: str | None, project_slug: str | None,
    missing_message: str,
) -> ProjectAccess:
    """The project named by id or by slug (the slug wins when both are given, as in Infisical)."""
    if project_slug:
        return access_by_slug(session, caller, project_slug, now)
    if project_id:
        return access_by_id(session, caller, project_id, now)
    raise BadRequest(missing_message)
