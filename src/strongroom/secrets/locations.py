"""Where a request's secrets are: project, environment, folder (by slug and path, inside one project)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from strongroom.errors import NotFound
from strongroom.projects import environments
from strongroom.secrets import paths
from strongroom.secrets.folders import FolderTree
from strongroom.secrets.sealed_fields import Place
from strongroom.store.models import Project, ProjectEnvironment, SecretFolder


@dataclass
class Location:
    project: Project
    environment: ProjectEnvironment
    tree: FolderTree
    folder: SecretFolder

    @property
    def path(self) -> str:
        return self.tree.path_of(self.folder)

    @property
    def place(self) -> Place:
        return self.tree.place(self.project, self.folder)

    def at(self, folder: SecretFolder) -> "Location":
        return Location(self.project, self.environment, self.tree, folder)


def listing_path_not_found(path: str, environment_slug: str) -> NotFound:
    return NotFound(
        f"Folder with path '{path}' in environment '{environment_slug}' was not found. "
        "Please ensure the environment slug and secret path is correct.",
        error="SecretPathNotFound",
    )


def locate(session: Session, project: Project, environment_slug: str, path: str | None, *, listing: bool = False) -> Location:
    """The folder at ``path`` in the environment ``environment_slug`` of ``project``; 404 when either is missing."""
    environment = environments.by_slug(project, environment_slug)
    tree = FolderTree.load(session, environment)
    normalised = paths.normalise(path)
    folder = tree.find(normalised)
    if folder is None:
        if listing:
            raise listing_path_not_found(normalised, environment_slug)
        tree.require(normalised)
    assert folder is not None
    return Location(project, environment, tree, folder)


def find_location(session: Session, project: Project, environment_slug: str, path: str) -> Location | None:
    """Like ``locate``, but None when the environment or folder does not exist (for references and imports)."""
    environment = next((env for env in project.environments if env.slug == environment_slug), None)
    if environment is None:
        return None
    tree = FolderTree.load(session, environment)
    folder = tree.find(path)
    return Location(project, environment, tree, folder) if folder is not None else None
