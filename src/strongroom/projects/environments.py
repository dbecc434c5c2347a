"""A project's environments (dev, staging, prod, ...), each with its root folder."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.clock import iso
from strongroom.errors import BadRequest, NotFound
from strongroom.store.models import Project, ProjectEnvironment, SecretFolder

SLUG = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
ROOT_FOLDER_NAME = "root"  # Infisical's internal name for an environment's "/"

# What every new project starts with (Infisical's defaults, in this order).
DEFAULT_ENVIRONMENTS = (("Development", "dev"), ("Staging", "staging"), ("Production", "prod"))


def _slug(text: str) -> str:
    text = text.strip()
    if not SLUG.match(text):
        raise ValueError("Slug must contain only lowercase letters, digits and single hyphens or underscores")
    return text


class EnvironmentCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    slug: str = Field(min_length=1, max_length=64)
    position: int | None = Field(default=None, ge=1)

    _slug_rule = field_validator("slug")(_slug)

    @field_validator("name")
    @classmethod
    def _trimmed(cls, text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError("must not be empty")
        return text


class EnvironmentUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    slug: str | None = Field(default=None, min_length=1, max_length=64)
    position: int | None = Field(default=None, ge=1)

    @field_validator("slug")
    @classmethod
    def _slug_rule(cls, text: str | None) -> str | None:
        return None if text is None else _slug(text)


def describe(environment: ProjectEnvironment) -> dict[str, Any]:
    return {
        "id": environment.id,
        "name": environment.name,
        "slug": environment.slug,
        "position": environment.position,
        "projectId": environment.project_id,
        "createdAt": iso(environment.created_at),
        "updatedAt": iso(environment.updated_at),
    }


def add(session: Session, project: Project, name: str, slug: str, position: int | None = None) -> ProjectEnvironment:
    if any(environment.slug == slug for environment in project.environments):
        raise BadRequest(f"Environment with slug '{slug}' already exists")
    if position is None:
        last = session.scalar(select(func.max(ProjectEnvironment.position)).where(ProjectEnvironment.project_id == project.id))
        position = (last or 0) + 1
    environment = ProjectEnvironment(project_id=project.id, name=name, slug=slug, position=position)
    project.environments.append(environment)
    try:
        session.flush()
    except IntegrityError:
        # Two concurrent requests added the same slug; the database's unique index decided.
        raise BadRequest(f"Environment with slug '{slug}' already exists") from None
    session.add(SecretFolder(env_id=environment.id, parent_id=None, name=ROOT_FOLDER_NAME))
    session.flush()
    return environment


def in_project(project: Project, environment_id: str) -> ProjectEnvironment:
    for environment in project.environments:
        if environment.id == environment_id:
            return environment
    raise NotFound(f"Environment with ID '{environment_id}' not found")


def by_slug(project: Project, slug: str) -> ProjectEnvironment:
    for environment in project.environments:
        if environment.slug == slug:
            return environment
    raise NotFound(f"Environment with slug '{slug}' in project with ID '{project.id}' not found")


def update(session: Session, project: Project, environment: ProjectEnvironment, fields: EnvironmentUpdate) -> ProjectEnvironment:
    if fields.slug is not None and fields.slug != environment.slug:
        if any(other.slug == fields.slug for other in project.environments):
            raise BadRequest(f"Environment with slug '{fields.slug}' already exists")
        environment.slug = fields.slug
    if fields.name is not None:
        environment.name = fields.name.strip() or environment.name
    if fields.position is not None:
        environment.position = fields.position
    session.flush()
    return environment


def remove(session: Session, project: Project, environment: ProjectEnvironment) -> dict[str, Any]:
    described = describe(environment)
    # Its folders, secrets and versions go with it (ON DELETE CASCADE), as do imports that point at it.
    project.environments.remove(environment)
    session.delete(environment)
    session.flush()
    return described
