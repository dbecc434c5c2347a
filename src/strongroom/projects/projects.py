"""Projects (Infisical's "workspaces"): create, read, list, update, delete."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.auth.tokens import AuthenticatedIdentity
from strongroom.clock import iso
from strongroom.errors import BadRequest, Forbidden, PermissionDenied
from strongroom.identities.roles import OrgRole
from strongroom.projects import environments, memberships
from strongroom.projects.environments import SLUG
from strongroom.projects.roles import ProjectRole
from strongroom.store.models import IdentityProjectMembership, Project

PROJECT_TYPES = ("secret-manager", "cert-manager", "kms", "ssh", "secret-scanning", "pam")


def _project_slug(text: str) -> str:
    text = text.strip()
    if not SLUG.match(text):
        raise ValueError("Slug must contain only lowercase letters, digits and single hyphens or underscores")
    return text


class ProjectCreate(BaseModel):
    # Terraform also sends organizationSlug and slug-like extras; the project always goes to the caller's org.
    model_config = ConfigDict(extra="ignore")

    projectName: str = Field(min_length=1, max_length=255)
    projectDescription: str | None = None
    slug: str | None = Field(default=None, min_length=5, max_length=36)
    kmsKeyId: str | None = None
    template: str = "default"
    type: str = "secret-manager"
    shouldCreateDefaultEnvs: bool = True
    hasDeleteProtection: bool = False

    _slug_rule = field_validator("slug")(lambda text: None if text is None else _project_slug(text))

    @field_validator("projectName")
    @classmethod
    def _trimmed(cls, text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError("must not be empty")
        return text

    @field_validator("type")
    @classmethod
    def _known_type(cls, text: str) -> str:
        if text not in PROJECT_TYPES:
            raise ValueError(f"Invalid enum value. Expected {' | '.join(repr(t) for t in PROJECT_TYPES)}")
        return text


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=256)
    autoCapitalization: bool | None = None
    enforceCapitalization: bool | None = None  # the newer spelling of autoCapitalization
    hasDeleteProtection: bool | None = None
    slug: str | None = Field(default=None, min_length=5, max_length=36)

    _slug_rule = field_validator("slug")(lambda text: None if text is None else _project_slug(text))


def generated_slug(name: str) -> str:
    # Infisical's default: the name, slugified, plus 4 random characters.
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:31] or "project"
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(4))
    return f"{base}-{suffix}"


def describe(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "_id": project.id,
        "name": project.name,
        "description": project.description,
        "type": project.type,
        "defaultProduct": project.type,
        "slug": project.slug,
        "autoCapitalization": project.auto_capitalization,
        "enforceCapitalization": project.auto_capitalization,
        "orgId": project.org_id,
        "createdAt": iso(project.created_at),
        "updatedAt": iso(project.updated_at),
        "version": 3,
        "upgradeStatus": None,
        "pitVersionLimit": 10,
        "kmsCertificateKeyId": None,
        "auditLogsRetentionDays": None,
        "hasDeleteProtection": project.has_delete_protection,
        "secretSharing": True,
        "showSnapshotsLegacy": False,
        "secretDetectionIgnoreValues": [],
        "environments": [
            {"id": environment.id, "name": environment.name, "slug": environment.slug}
            for environment in project.environments
        ],
    }


def _duplicate_slug(slug: str) -> BadRequest:
    return BadRequest(
        f'A project with the slug "{slug}" already exists in your organization. Please choose a different name or slug.'
    )


def _slug_taken(session: Session, org_id: str, slug: str) -> bool:
    return session.scalar(select(Project.id).where(Project.org_id == org_id, Project.slug == slug)) is not None


def create(session: Session, caller: AuthenticatedIdentity, fields: ProjectCreate) -> Project:
    if OrgRole.parse(caller.org_role).rank < OrgRole.MEMBER.rank:
        raise PermissionDenied("You don't have permission to create a project")
    slug = fields.slug or generated_slug(fields.projectName)
    if _slug_taken(session, caller.org_id, slug):
        raise _duplicate_slug(slug)
    project = Project(
        org_id=caller.org_id,
        name=fields.projectName,
        slug=slug,
        description=fields.projectDescription,
        type=fields.type,
        has_delete_protection=fields.hasDeleteProtection,
    )
    session.add(project)
    try:
        session.flush()
    except IntegrityError:
        raise _duplicate_slug(slug) from None
    if fields.shouldCreateDefaultEnvs:
        for name, env_slug in environments.DEFAULT_ENVIRONMENTS:
            environments.add(session, project, name, env_slug)
    memberships.add(session, project, caller.identity_id, [memberships.RoleAssignment(role=ProjectRole.ADMIN.value)])
    return project


def list_for_identity(session: Session, caller: AuthenticatedIdentity, project_type: str | None = None) -> list[Project]:
    query = (
        select(Project)
        .join(IdentityProjectMembership, IdentityProjectMembership.project_id == Project.id)
        .where(IdentityProjectMembership.identity_id == caller.identity_id, Project.org_id == caller.org_id)
        .order_by(Project.created_at, Project.id)
    )
    if project_type:
        query = query.where(Project.type == project_type)
    return list(session.scalars(query))


def update(session: Session, project: Project, fields: ProjectUpdate) -> Project:
    if fields.name is not None:
        name = fields.name.strip()
        if not name:
            raise BadRequest("Project name must not be empty")
        project.name = name
    if fields.description is not None:
        project.description = fields.description
    capitalization = fields.autoCapitalization if fields.autoCapitalization is not None else fields.enforceCapitalization
    if capitalization is not None:
        project.auto_capitalization = capitalization
    if fields.hasDeleteProtection is not None:
        project.has_delete_protection = fields.hasDeleteProtection
    if fields.slug is not None and fields.slug != project.slug:
        if _slug_taken(session, project.org_id, fields.slug):
            raise _duplicate_slug(fields.slug)
        project.slug = fields.slug
    session.flush()
    return project


def delete(session: Session, project: Project) -> dict[str, Any]:
    if project.has_delete_protection:
        raise Forbidden("Project delete protection is enabled")
    described = describe(project)
    # Environments, folders, secrets, versions, imports and memberships go with it (ON DELETE CASCADE).
    session.delete(project)
    session.flush()
    return described
