"""Folders of an environment: the tree, and create / list / rename / delete.

An environment's folders are few, so the whole tree is loaded at once and
paths are worked out in memory rather than with recursive SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.clock import iso
from strongroom.crypto.sealing import SecretSealer
from strongroom.errors import BadRequest, NotFound
from strongroom.secrets import paths, sealed_fields
from strongroom.secrets.sealed_fields import Place
from strongroom.store.models import Project, ProjectEnvironment, Secret, SecretFolder, SecretVersion


# Built once, with parameters: every secret read runs it (see projects.access on why).
_TREE_BY_SLUG = (
    select(ProjectEnvironment, SecretFolder)
    .join(SecretFolder, SecretFolder.env_id == ProjectEnvironment.id)
    .where(ProjectEnvironment.project_id == bindparam("project_id"), ProjectEnvironment.slug == bindparam("slug"))
)


def missing_path(path: str, environment_slug: str) -> NotFound:
    return NotFound(f"Folder with path '{path}' in environment with slug '{environment_slug}' not found")


@dataclass
class FolderTree:
    environment: ProjectEnvironment
    by_id: dict[str, SecretFolder] = field(default_factory=dict)
    path_by_id: dict[str, str] = field(default_factory=dict)
    by_path: dict[str, SecretFolder] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, environment: ProjectEnvironment) -> "FolderTree":
        return cls._of(environment, session.scalars(select(SecretFolder).where(SecretFolder.env_id == environment.id)))

    @classmethod
    def load_by_slug(cls, session: Session, project: Project, environment_slug: str) -> "FolderTree | None":
        """The tree of ``project``'s environment ``environment_slug``, found and loaded in one query.

        None when the project has no such environment (every environment has at least its root folder).
        """
        rows = session.execute(_TREE_BY_SLUG, {"project_id": project.id, "slug": environment_slug}).all()
        if not rows:
            return None
        return cls._of(rows[0][0], (folder for _environment, folder in rows))

    @classmethod
    def _of(cls, environment: ProjectEnvironment, folders: Iterable[SecretFolder]) -> "FolderTree":
        tree = cls(environment)
        tree.by_id = {folder.id: folder for folder in folders}
        for folder in tree.by_id.values():
            tree._index(folder)
        return tree

    def _index(self, folder: SecretFolder) -> str:
        if folder.id in self.path_by_id:
            return self.path_by_id[folder.id]
        if folder.parent_id is None:
            path = paths.ROOT
        else:
            path = paths.join(self._index(self.by_id[folder.parent_id]), folder.name)
        self.path_by_id[folder.id] = path
        self.by_path[path] = folder
        return path

    def reindexed(self) -> "FolderTree":
        """The same folders with their paths worked out again (after a rename)."""
        tree = FolderTree(self.environment, by_id=dict(self.by_id))
        for folder in tree.by_id.values():
            tree._index(folder)
        return tree

    def add(self, folder: SecretFolder) -> str:
        self.by_id[folder.id] = folder
        return self._index(folder)

    def find(self, path: str) -> SecretFolder | None:
        return self.by_path.get(paths.normalise(path))

    def require(self, path: str) -> SecretFolder:
        folder = self.find(path)
        if folder is None:
            raise missing_path(paths.normalise(path), self.environment.slug)
        return folder

    def path_of(self, folder: SecretFolder) -> str:
        return self.path_by_id[folder.id]

    def children(self, folder: SecretFolder) -> list[SecretFolder]:
        return sorted((f for f in self.by_id.values() if f.parent_id == folder.id), key=lambda f: f.name)

    def subtree(self, folder: SecretFolder) -> list[SecretFolder]:
        """The folder and everything below it, parents before children, in path order."""
        base = self.path_of(folder)
        inside = [f for f in self.by_id.values() if _is_within(self.path_of(f), base)]
        return sorted(inside, key=self.path_of)

    def place(self, project: Project, folder: SecretFolder) -> Place:
        return Place(project.id, self.environment.id, self.environment.slug, self.path_of(folder))


def _is_within(path: str, base: str) -> bool:
    return base == paths.ROOT or path == base or path.startswith(base + "/")


def describe(folder: SecretFolder, path: str | None = None) -> dict[str, Any]:
    described: dict[str, Any] = {
        "id": folder.id,
        "name": folder.name,
        "envId": folder.env_id,
        "parentId": folder.parent_id,
        "version": folder.version,
        "isReserved": False,
        "description": folder.description,
        "createdAt": iso(folder.created_at),
        "updatedAt": iso(folder.updated_at),
    }
    if path is not None:
        described["path"] = path
    return described


def validate_name(name: str) -> str:
    name = name.strip()
    if not paths.FOLDER_NAME.match(name):
        raise BadRequest(paths.FOLDER_NAME_RULE)
    return name


def create(session: Session, tree: FolderTree, parent_path: str, name: str, description: str | None) -> SecretFolder:
    """Create ``name`` under ``parent_path``, creating missing parents on the way (as Infisical does)."""
    parent = tree.find(paths.ROOT)
    assert parent is not None, "every environment has a root folder"
    for segment in paths.segments(parent_path):
        existing = tree.find(paths.join(tree.path_of(parent), segment))
        parent = existing or _new_folder(session, tree, parent, validate_name(segment), None)
    if tree.find(paths.join(tree.path_of(parent), name)) is not None:
        raise BadRequest(f"Folder with name '{name}' already exists in path '{tree.path_of(parent)}'")
    return _new_folder(session, tree, parent, name, description)


def _new_folder(session: Session, tree: FolderTree, parent: SecretFolder, name: str, description: str | None) -> SecretFolder:
    folder = SecretFolder(env_id=tree.environment.id, parent_id=parent.id, name=name, description=description)
    session.add(folder)
    try:
        session.flush()
    except IntegrityError:
        raise BadRequest(f"Folder with name '{name}' already exists in path '{tree.path_of(parent)}'") from None
    tree.add(folder)
    return folder


def by_id_in(tree: FolderTree, folder_id: str) -> SecretFolder:
    folder = tree.by_id.get(folder_id)
    if folder is None or folder.parent_id is None:
        raise NotFound(f"Folder with ID '{folder_id}' not found")
    return folder


def rename(
    session: Session, sealer: SecretSealer, project: Project, tree: FolderTree, folder: SecretFolder,
    name: str, description: str | None,
) -> SecretFolder:
    if folder.parent_id is None:
        raise BadRequest("The root folder cannot be renamed")
    if name != folder.name:
        parent = tree.by_id[folder.parent_id]
        if tree.find(paths.join(tree.path_of(parent), name)) is not None:
            raise BadRequest(f"Folder with name '{name}' already exists in path '{tree.path_of(parent)}'")
        old_places = {f.id: tree.place(project, f) for f in tree.subtree(folder)}
        folder.name = name
        folder.version += 1
        renamed = tree.reindexed()
        new_places = {folder_id: renamed.place(project, renamed.by_id[folder_id]) for folder_id in old_places}
        _rebind_secrets(session, sealer, old_places, new_places)
        tree.path_by_id, tree.by_path = renamed.path_by_id, renamed.by_path
    if description is not None:
        folder.description = description
    session.flush()
    return folder


def _rebind_secrets(session: Session, sealer: SecretSealer, old: dict[str, Place], new: dict[str, Place]) -> None:
    """Values are bound to their folder path: a renamed path means resealing everything below it."""
    secrets = session.scalars(select(Secret).where(Secret.folder_id.in_(list(old))))
    for secret in secrets:
        before, after = old[secret.folder_id], new[secret.folder_id]
        sealed_fields.rebind(sealer, secret, before, after)
        for version in session.scalars(select(SecretVersion).where(SecretVersion.secret_id == secret.id)):
            sealed_fields.rebind(sealer, version, before, after)


def delete(session: Session, folder: SecretFolder) -> None:
    if folder.parent_id is None:
        raise BadRequest("The root folder cannot be deleted")
    # Sub-folders, secrets, versions and imports inside go with it (ON DELETE CASCADE).
    session.delete(folder)
    session.flush()
