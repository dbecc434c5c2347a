"""``/api/v1/secret-imports``: make a folder show another environment's folder (create, list, delete)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from strongroom.api.deps import CallerContext, Context
from strongroom.api.routing import api_router
from strongroom.errors import BadRequest
from strongroom.projects.access import access_by_id
from strongroom.projects.roles import CREATE_IMPORTS, DELETE_IMPORTS, READ_IMPORTS, Permission
from strongroom.secrets import imports, paths
from strongroom.secrets.imports import SecretImportCreate, SecretImportTarget
from strongroom.secrets.locations import Location, locate
from strongroom.web.bodies import body
from strongroom.web.queries import query

router = api_router("/api/v1/secret-imports")


def _location(context: CallerContext, target: SecretImportCreate | SecretImportTarget,
              permission: Permission) -> Location:
    project_id = target.workspaceId or target.projectId
    if not project_id:
        raise BadRequest("You must provide workspaceId or projectId")
    access = access_by_id(context.work, context.caller, project_id, context.now())
    access.require(permission)
    path = target.path if target.path is not None else target.directory
    return locate(context.session, access.project, target.environment, paths.normalise(path))


@router.post("")
async def create_import(fields: Annotated[SecretImportCreate, Depends(body(SecretImportCreate))],
                        context: Context) -> dict[str, Any]:
    location = _location(context, fields, CREATE_IMPORTS)
    row = imports.create(context.session, location, fields.import_, fields.isReplication)
    return {
        "message": "Successfully created secret import",
        "secretImport": imports.describe(row, imports.environment_of(location.project, row)),
    }


@router.get("")
async def list_imports(fields: Annotated[SecretImportTarget, Depends(query(SecretImportTarget))],
                       context: Context) -> dict[str, Any]:
    location = _location(context, fields, READ_IMPORTS)
    rows = imports.of_folder(context.session, location.folder.id)
    return {"secretImports": [imports.describe(row, imports.environment_of(location.project, row)) for row in rows]}


@router.delete("/{import_id}")
async def delete_import(import_id: str, fields: Annotated[SecretImportTarget, Depends(body(SecretImportTarget))],
                        context: Context) -> dict[str, Any]:
    location = _location(context, fields, DELETE_IMPORTS)
    row = imports.in_folder(context.session, location, import_id)
    described = imports.describe(row, imports.environment_of(location.project, row))
    imports.delete(context.session, row)
    return {"message": "Successfully deleted secret import", "secretImport": described}
