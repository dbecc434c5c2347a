"""Reading secrets: list a folder (recursively, with imports), get one by name, version or id.

One ``SecretReader`` serves one request. It opens each sealed value at most
once and caches each folder it visits, because references and imports come
back to the same folders again and again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from strongroom.auth.tokens import AuthenticatedIdentity
from strongroom.crypto.sealing import SecretSealer
from strongroom.errors import BadRequest, Forbidden, NotFound
from strongroom.projects import access as project_access
from strongroom.projects.access import ProjectAccess
from strongroom.projects.roles import DESCRIBE_SECRETS, READ_SECRET_VALUES
from strongroom.secrets import imports, sealed_fields, store
from strongroom.secrets.folders import FolderTree
from strongroom.secrets.locations import Location
from strongroom.secrets.references import ReferenceExpander, ReferenceProblem, SecretAddress, encode_multiline
from strongroom.secrets.records import SecretRecord
from strongroom.secrets.sealed_fields import Place, SealedRow
from strongroom.secrets.shape import SecretView, describe
from strongroom.store.models import ProjectEnvironment, Secret, SecretFolder, SecretImport, SecretVersion
from strongroom.store.unit_of_work import UnitOfWork

EXPANSION_FAILED = "Failed to expand one or more secret references"


@dataclass(frozen=True)
class ReadOptions:
    view_values: bool = True
    expand_references: bool = False
    include_imports: bool = False
    recursive: bool = False

    @property
    def expands(self) -> bool:
        # Hidden values are never expanded (there is nothing to show).
        return self.expand_references and self.view_values


class SecretReader:
    def __init__(self, session: Session, sealer: SecretSealer, location: Location) -> None:
        self._session = session
        self._sealer = sealer
        self.project = location.project
        self._trees: dict[str, FolderTree] = {location.environment.id: location.tree}
        self._secrets: dict[str, list[SecretRecord]] = {}
        self._imports: dict[str, list[SecretImport]] = {}
        self._opened: dict[tuple[str, int, str], str] = {}
        self._places: dict[str, Place] = {}  # by folder id: what the folder's sealed columns are bound to
        self._expander = ReferenceExpander(self._folder_values)

    # -- folders -------------------------------------------------------------------

    def _tree(self, environment: ProjectEnvironment) -> FolderTree:
        if environment.id not in self._trees:
            self._trees[environment.id] = FolderTree.load(self._session, environment)
        return self._trees[environment.id]

    def location(self, environment_slug: str, path: str) -> Location | None:
        environment = next((env for env in self.project.environments if env.slug == environment_slug), None)
        if environment is None:
            return None
        tree = self._tree(environment)
        folder = tree.find(path)
        return Location(self.project, environment, tree, folder) if folder is not None else None

    def secrets_in(self, location: Location) -> list[SecretRecord]:
        folder_id = location.folder.id
        if folder_id not in self._secrets:
            self._secrets[folder_id] = store.records_in_folders(self._session, [folder_id])
        return self._secrets[folder_id]

    def imports_of(self, location: Location) -> list[SecretImport]:
        folder_id = location.folder.id
        if folder_id not in self._imports:
            self._imports[folder_id] = imports.of_folder(self._session, folder_id)
        return self._imports[folder_id]

    # -- values --------------------------------------------------------------------

    def _place(self, location: Location) -> Place:
        place = self._places.get(location.folder.id)
        if place is None:
            place = self._places[location.folder.id] = location.place
        return place

    def _open(self, row: SealedRow, location: Location, column: str) -> str:
        secret_id = row.secret_id if isinstance(row, SecretVersion) else row.id
        cache_key = (secret_id, row.version, column)
        opened = self._opened.get(cache_key)
        if opened is None:
            opened = self._opened[cache_key] = sealed_fields.open_column(self._sealer, row, self._place(location), column)
        return opened

    def _folder_values(self, environment_slug: str, path: str) -> dict[str, Callable[[], str]] | None:
        location = self.location(environment_slug, path)
        if location is None:
            return None
        return {
            secret.key: (lambda secret=secret: self._open(secret, location, sealed_fields.VALUE))
            for secret in self.secrets_in(location)
        }

    def view(self, secret: Secret | SecretRecord, location: Location, options: ReadOptions, *,
             row: SealedRow | None = None, workspace: str | None = None) -> SecretView:
        """The secret ready to show; expansion problems raise ReferenceProblem."""
        row = row or secret
        comment = self._open(row, location, sealed_fields.COMMENT)
        value = self._open(row, location, sealed_fields.VALUE) if options.view_values else ""
        if options.expands and "${" in value:
            expanded = self._expander.expand(value, SecretAddress(location.environment.slug, location.path, row.key))
            if row.skip_multiline_encoding and "\n" in expanded:
                expanded = encode_multiline(expanded)
            value = expanded
        return SecretView(
            secret=secret, row=row, environment_slug=location.environment.slug, path=location.path,
            workspace=self.project.id if workspace is None else workspace, value=value, comment=comment,
            hidden=not options.view_values,
        )


def require_read(access: ProjectAccess, options: ReadOptions) -> None:
    access.require(DESCRIBE_SECRETS)
    if options.view_values:
        access.require(READ_SECRET_VALUES)


def _views(reader: SecretReader, pairs: list[tuple[SecretRecord, Location]], options: ReadOptions, problems: list[str],
           workspace: str | None = None) -> list[dict[str, Any]]:
    shown = []
    for secret, location in pairs:
        try:
            shown.append(describe(reader.view(secret, location, options, workspace=workspace)))
        except ReferenceProblem as problem:
            problems.append(str(problem))
    return shown


def list_secrets(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location,
                 options: ReadOptions, tag_slugs: list[str]) -> dict[str, Any]:
    require_read(access, options)
    reader = SecretReader(session, sealer, location)
    folders = location.tree.subtree(location.folder) if options.recursive else [location.folder]
    locations = [location.at(folder) for folder in folders]
    problems: list[str] = []
    pairs = [(secret, here) for here in locations for secret in reader.secrets_in(here)]
    if tag_slugs:
        pairs = []  # tags are not supported, so no secret carries any of the requested tags
    listed = _views(reader, pairs, options, problems)
    imported = []
    if options.include_imports:
        for here in locations:
            for entry in imports.resolve(reader, here):
                entry_pairs = entry.secrets
                if options.expands:
                    entry_pairs = _first_of_each_key(entry_pairs)
                imported.append({
                    "secretPath": entry.secret_import.import_path,
                    "environment": entry.environment.slug,
                    "folderId": entry.location.folder.id,
                    "secrets": _views(reader, entry_pairs, options, problems, workspace=""),
                })
    if problems:
        raise BadRequest(f"{EXPANSION_FAILED}: " + "; ".join(problems))
    return {"secrets": listed, "imports": imported}


def _first_of_each_key(pairs: list[tuple[SecretRecord, Location]]) -> list[tuple[SecretRecord, Location]]:
    seen: set[str] = set()
    kept = []
    for secret, location in pairs:
        if secret.key not in seen:
            seen.add(secret.key)
            kept.append((secret, location))
    return kept


def secret_not_found(key: str) -> NotFound:
    return NotFound(f"Secret with name '{key}' not found")


def get_by_name(session: Session, sealer: SecretSealer, access: ProjectAccess, location: Location, key: str,
                options: ReadOptions, version: int | None, secret_type: str) -> dict[str, Any]:
    require_read(access, options)
    if secret_type != store.SHARED:
        raise secret_not_found(key)  # machine identities have no personal secrets
    reader = SecretReader(session, sealer, location)
    found: tuple[SecretRecord, Location] | None = None
    secret = store.record_named(session, location.folder.id, key)
    if secret is not None:
        found = (secret, location)
    elif options.include_imports:
        # The last import wins; within one import, the first secret with the key.
        for entry in reversed(imports.resolve(reader, location)):
            found = next(((s, here) for s, here in entry.secrets if s.key == key), None)
            if found is not None:
                break
    if found is None:
        raise secret_not_found(key)
    secret, where = found
    row: SealedRow = secret
    if version is not None and version != secret.version:
        history = store.version_of(session, secret.id, version)
        if history is None:
            raise NotFound(f"Secret with name '{key}' has no version {version}")
        row = history
    try:
        view = reader.view(secret, where, options, row=row)
    except ReferenceProblem as problem:
        raise BadRequest(f"{EXPANSION_FAILED}: {problem}") from None
    return {"secret": describe(view)}


def get_by_id(work: UnitOfWork, sealer: SecretSealer, caller: AuthenticatedIdentity, secret_id: str,
              now: datetime) -> dict[str, Any]:
    not_found = NotFound(f"Secret with ID '{secret_id}' not found")
    session = work.session
    secret = session.get(Secret, secret_id)
    if secret is None or secret.type != store.SHARED:
        raise not_found
    folder = session.get(SecretFolder, secret.folder_id)
    environment = session.get(ProjectEnvironment, folder.env_id) if folder else None
    if folder is None or environment is None:
        raise not_found
    try:
        access = project_access.access_by_id(work, caller, environment.project_id, now)
    except (NotFound, Forbidden):
        raise not_found from None  # a secret of a project the caller is not in: its existence is not ours to show
    if access.role is None:
        raise not_found
    options = ReadOptions(view_values=True)
    require_read(access, options)
    tree = FolderTree.load(session, environment)
    location = Location(access.project, environment, tree, tree.by_id[folder.id])
    return {"secret": describe(SecretReader(session, sealer, location).view(secret, location, options))}

