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
    tree = FolderTree.load_by_slug(session, project, environment_slug)
    if tree is None:
        # No such environment: the same 404 as everywhere else (it names the environment and the project).
        tree = FolderTree(environments.by_slug(project, environment_slug))
    normalised = paths.normalise(path)
    folder = tree.find(normalised)
    if folder is None:
        if listing:
            raise listing_path_not_found(normalised, environment_slug)
        tree.require(normalised)
    assert folder is not None
    return Location(project, tree.environment, tree, folder)


def find_location(session: Session, project: Project, environment_slug: str, path: str) -> Location | None:
    """Like ``locate``, but None when the environment or folder does not exist (for references and imports)."""
    tree = FolderTree.load_by_slug(session, project, environment_slug)
    folder = tree.find(path) if tree is not None else None
    if tree is None or folder is None:
        return None
    return Location(project, tree.environment, tree, folder)
