"""Folders: ``/api/v1/folders`` (workspaceId; CLI, Node SDK, Terraform) and ``/api/v2/folders`` (projectId; Python SDK)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from strongroom.api.deps import CallerContext, Context
from strongroom.api.routing import api_router
from strongroom.errors import BadRequest, Forbidden, NotFound
from strongroom.projects.access import ProjectAccess, access_by_id
from strongroom.projects.roles import CREATE_FOLDERS, DELETE_FOLDERS, EDIT_FOLDERS, READ_FOLDERS, Permission
from strongroom.secrets import folders, paths
from strongroom.secrets.folders import FolderTree
from strongroom.secrets.locations import Location, locate
from strongroom.secrets.requests import FolderCreate, FolderDelete, FolderListQuery, FolderUpdate, FolderTarget
from strongroom.store.models import ProjectEnvironment, SecretFolder
from strongroom.web.bodies import body
from strongroom.web.queries import query

router = api_router()

PREFIXES = ("/api/v1/folders", "/api/v2/folders")


def _access(context: CallerContext, target: FolderTarget, permission: Permission) -> ProjectAccess:
    if not target.project:
        raise BadRequest("You must provide workspaceId or projectId")
    access = access_by_id(context.work, context.caller, target.project, context.now())
    # Permission before lookup: a caller who may not see folders learns nothing about which exist.
    access.require(permission)
    return access


def _located(context: CallerContext, target: FolderTarget, permission: Permission,
             path: str | None = None) -> Location:
    access = _access(context, target, permission)
    return locate(context.session, access.project, target.environment, target.folder_path if path is None else path)


def _folder_by_id(context: CallerContext, folder_id: str,
                  permission: Permission) -> tuple[FolderTree, SecretFolder, ProjectAccess]:
    not_found = NotFound(f"Folder with ID '{folder_id}' not found")
    folder = context.session.get(SecretFolder, folder_id)
    environment = context.session.get(ProjectEnvironment, folder.env_id) if folder is not None else None
    if folder is None or environment is None or folder.parent_id is None:
        raise not_found
    try:
        access = access_by_id(context.work, context.caller, environment.project_id, context.now())
    except (NotFound, Forbidden):
        raise not_found from None  # another project's folder: not ours to confirm
    if access.role is None:
        raise not_found
    access.require(permission)
    tree = FolderTree.load(context.session, environment)
    return tree, tree.by_id[folder.id], access


@router.post(PREFIXES[0])
@router.post(PREFIXES[1])
async def create_folder(fields: Annotated[FolderCreate, Depends(body(FolderCreate))],
                        context: Context) -> dict[str, Any]:
    # From the root: missing parents of the new folder are created on the way.
    location = _located(context, fields, CREATE_FOLDERS, path=paths.ROOT)
    folder = folders.create(context.session, location.tree, fields.folder_path, fields.name, fields.description)
    return {"folder": folders.describe(folder, location.tree.path_of(folder))}


@router.get(PREFIXES[0])
@router.get(PREFIXES[1])
async def list_folders(fields: Annotated[FolderListQuery, Depends(query(FolderListQuery))],
                       context: Context) -> dict[str, Any]:
    location = _located(context, fields, READ_FOLDERS)
    tree, base = location.tree, location.path
    if not fields.recursive:
        return {"folders": [folders.describe(child) for child in tree.children(location.folder)]}
    below = [folder for folder in tree.subtree(location.folder) if folder.id != location.folder.id]
    return {"folders": [
        {**folders.describe(folder), "relativePath": paths.relative(tree.path_of(folder), base)} for folder in below
    ]}


@router.get(PREFIXES[0] + "/{folder_id}")
@router.get(PREFIXES[1] + "/{folder_id}")
async def get_folder(folder_id: str, context: Context) -> dict[str, Any]:
    tree, folder, access = _folder_by_id(context, folder_id, READ_FOLDERS)
    environment = tree.environment
    return {"folder": {
        **folders.describe(folder, tree.path_of(folder)),
        "projectId": access.project_id,
        "environment": {"envId": environment.id, "envName": environment.name, "envSlug": environment.slug},
    }}


@router.patch(PREFIXES[0] + "/{folder_id}")
@router.patch(PREFIXES[1] + "/{folder_id}")
async def rename_folder(folder_id: str, fields: Annotated[FolderUpdate, Depends(body(FolderUpdate))],
                        context: Context) -> dict[str, Any]:
    # The folder is looked up by id within the environment the body names; its path in the body is not needed.
    location = _located(context, fields, EDIT_FOLDERS, path=paths.ROOT)
    tree = location.tree
    folder = folders.by_id_in(tree, folder_id)
    folders.rename(context.session, context.services.sealer, location.project, tree, folder, fields.name,
                   fields.description)
    return {"folder": folders.describe(folder, tree.path_of(folder))}


@router.delete(PREFIXES[0] + "/{folder_id_or_name}")
@router.delete(PREFIXES[1] + "/{folder_id_or_name}")
async def delete_folder(folder_id_or_name: str, fields: Annotated[FolderDelete, Depends(body(FolderDelete))],
                        context: Context) -> dict[str, Any]:
    location = _located(context, fields, DELETE_FOLDERS)
    tree = location.tree
    folder = tree.by_id.get(folder_id_or_name)
    if folder is None or folder.parent_id is None:
        by_name = paths.FOLDER_NAME.match(folder_id_or_name)
        folder = tree.find(paths.join(location.path, folder_id_or_name)) if by_name else None
    if folder is None or folder.parent_id is None:
        raise NotFound(f"Folder with ID '{folder_id_or_name}' not found")
    described = folders.describe(folder, tree.path_of(folder))
    folders.delete(context.session, folder)
    return {"folder": described}
