"""Secret imports: a folder that also shows the secrets of another environment's folder.

Imports of imported folders are followed too (flattened into the first
import's entry), to a depth of 10, never visiting a folder twice, so an
import cycle ends instead of looping. Creating an import that would close a
cycle is refused outright.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.clock import iso
from strongroom.errors import BadRequest, NotFound
from strongroom.projects import environments
from strongroom.secrets import paths
from strongroom.secrets.locations import Location, find_location
from strongroom.secrets.records import SecretRecord
from strongroom.store.models import Project, ProjectEnvironment, SecretImport

MAX_DEPTH = 10


class ImportSource(BaseModel):
    model_config = ConfigDict(extra="ignore")

    environment: str = Field(min_length=1)
    path: str = Field(min_length=1)


class SecretImportCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    workspaceId: str | None = None
    projectId: str | None = None
    environment: str = Field(min_length=1)
    path: str | None = None
    directory: str | None = None  # the CLI's name for path
    import_: ImportSource = Field(alias="import")
    isReplication: bool = False

    @model_validator(mode="after")
    def _project_named(self) -> "SecretImportCreate":
        if not (self.workspaceId or self.projectId):
            raise ValueError("workspaceId or projectId is required")
        return self


class SecretImportTarget(BaseModel):
    """Which folder's imports a request is about (the query of GET, the body of DELETE)."""

    model_config = ConfigDict(extra="ignore")

    workspaceId: str | None = None
    projectId: str | None = None
    environment: str = Field(min_length=1)
    path: str | None = None
    directory: str | None = None


def of_folder(session: Session, folder_id: str) -> list[SecretImport]:
    return list(session.scalars(
        select(SecretImport).where(SecretImport.folder_id == folder_id).order_by(SecretImport.position, SecretImport.id)
    ))


def describe(secret_import: SecretImport, environment: ProjectEnvironment) -> dict[str, Any]:
    return {
        "id": secret_import.id,
        "version": secret_import.version,
        "importPath": secret_import.import_path,
        "importEnv": {"id": environment.id, "name": environment.name, "slug": environment.slug},
        "position": secret_import.position,
        "folderId": secret_import.folder_id,
        "isReplication": False,
        "isReserved": False,
        "createdAt": iso(secret_import.created_at),
        "updatedAt": iso(secret_import.updated_at),
    }


def environment_of(project: Project, secret_import: SecretImport) -> ProjectEnvironment:
    return next(env for env in project.environments if env.id == secret_import.import_env_id)


def create(session: Session, location: Location, source: ImportSource, replication: bool) -> SecretImport:
    if replication:
        raise BadRequest("Replicated secret imports are not supported; create a plain import")
    source_environment = environments.by_slug(location.project, source.environment)
    source_path = paths.normalise(source.path)
    source_location = find_location(session, location.project, source_environment.slug, source_path)
    if source_location is None:
        raise NotFound(f"Folder with path '{source_path}' in environment with slug '{source_environment.slug}' not found")
    if source_location.folder.id == location.folder.id:
        raise BadRequest("Cannot import the same path into itself")
    existing = of_folder(session, location.folder.id)
    if any(row.import_env_id == source_environment.id and row.import_path == source_path for row in existing):
        raise BadRequest("Secret import already exists")
    if _reaches(session, location.project, source_location, location.folder.id):
        raise BadRequest("Cyclic import is not allowed: the imported folder already imports this folder")
    last = session.scalar(select(func.max(SecretImport.position)).where(SecretImport.folder_id == location.folder.id))
    row = SecretImport(
        folder_id=location.folder.id, import_env_id=source_environment.id, import_path=source_path,
        position=(last or 0) + 1,
    )
    session.add(row)
    session.flush()
    return row


def _reaches(session: Session, project: Project, start: Location, folder_id: str) -> bool:
    """Whether ``start``, through its imports, already sees the folder ``folder_id``."""
    seen, frontier = {start.folder.id}, [start]
    while frontier:
        current = frontier.pop()
        for row in of_folder(session, current.folder.id):
            target = find_location(session, project, environment_of(project, row).slug, row.import_path)
            if target is None or target.folder.id in seen:
                continue
            if target.folder.id == folder_id:
                return True
            seen.add(target.folder.id)
            frontier.append(target)
    return False


def in_folder(session: Session, location: Location, import_id: str) -> SecretImport:
    row = session.get(SecretImport, import_id)
    if row is None or row.folder_id != location.folder.id:
        raise NotFound(f"Secret import with ID '{import_id}' not found")
    return row


def delete(session: Session, row: SecretImport) -> None:
    session.delete(row)
    session.flush()


# -- reading through imports -----------------------------------------------------------


@dataclass
class ImportedFolder:
    """One import of a folder, with the secrets it brings (those of nested imports flattened in)."""

    secret_import: SecretImport
    environment: ProjectEnvironment
    location: Location
    secrets: list[tuple[SecretRecord, Location]] = field(default_factory=list)


class FolderSource(Protocol):
    """What import resolution needs from a reader: folders by place, and their secrets."""

    def location(self, environment_slug: str, path: str) -> Location | None: ...

    def secrets_in(self, location: Location) -> list[SecretRecord]: ...

    def imports_of(self, location: Location) -> list[SecretImport]: ...


def resolve(source: FolderSource, location: Location) -> list[ImportedFolder]:
    resolved = []
    for row in source.imports_of(location):
        environment = environment_of(location.project, row)
        target = source.location(environment.slug, row.import_path)
        if target is None:
            continue  # the imported folder was deleted after the import was made
        entry = ImportedFolder(row, environment, target)
        _collect(source, target, entry.secrets, {location.folder.id, target.folder.id}, depth=1)
        resolved.append(entry)
    return resolved


def _collect(source: FolderSource, location: Location, out: list[tuple[SecretRecord, Location]], seen: set[str], depth: int) -> None:
    out.extend((secret, location) for secret in source.secrets_in(location))
    if depth >= MAX_DEPTH:
        return
    for row in source.imports_of(location):
        target = source.location(environment_of(location.project, row).slug, row.import_path)
        if target is None or target.folder.id in seen:
            continue
        seen.add(target.folder.id)
        _collect(source, target, out, seen, depth + 1)
