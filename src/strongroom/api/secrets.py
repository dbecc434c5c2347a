"""Secrets: the v3 raw API (SDKs, CLI writes, Terraform) and ``GET /api/v4/secrets`` (the CLI's reads)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from strongroom.api.deps import CallerContext, Context
from strongroom.api.routing import api_router
from strongroom.errors import BadRequest
from strongroom.projects.access import ProjectAccess, access_by_reference
from strongroom.projects.roles import CREATE_SECRETS, DELETE_SECRETS, EDIT_SECRETS, Permission
from strongroom.secrets import reads, writes
from strongroom.secrets.locations import Location, locate
from strongroom.secrets.reads import ReadOptions
from strongroom.secrets.requests import (
    BatchCreate,
    BatchDelete,
    BatchUpdate,
    SecretCreate,
    SecretDelete,
    SecretGetQuery,
    SecretListQuery,
    SecretListQueryV4,
    SecretUpdate,
)
from strongroom.secrets.rules import key_from_path
from strongroom.web.bodies import body
from strongroom.web.etag import json_with_etag
from strongroom.web.queries import query

router = api_router()

WRITE_PROJECT_MISSING = "You must provide either workspaceId or projectSlug"


def _access(context: CallerContext, *, project_id: str | None, project_slug: str | None,
            missing: str) -> ProjectAccess:
    return access_by_reference(context.work, context.caller, context.now(), project_id=project_id,
                               project_slug=project_slug, missing_message=missing)


def _write_target(context: CallerContext,
                  fields: SecretCreate | SecretUpdate | SecretDelete | BatchCreate | BatchUpdate | BatchDelete,
                  permission: Permission) -> tuple[ProjectAccess, Location]:
    access = _access(context, project_id=fields.workspaceId or fields.projectId,
                     project_slug=fields.projectSlug, missing=WRITE_PROJECT_MISSING)
    # Permission before lookup: a caller who may not write learns nothing about which folders exist.
    access.require(permission)
    return access, locate(context.session, access.project, fields.environment, fields.secretPath)


def _read_options(fields: SecretListQuery | SecretListQueryV4 | SecretGetQuery) -> ReadOptions:
    return ReadOptions(
        view_values=fields.viewSecretValue,
        expand_references=fields.expandSecretReferences,
        include_imports=fields.imports_included,
        recursive=fields.recursive,
    )


def _list(request: Request, context: CallerContext, fields: SecretListQuery | SecretListQueryV4,
          project_id: str | None, project_slug: str | None) -> Response:
    if not (project_id or project_slug) or not fields.environment:
        raise BadRequest("Missing project id or environment")
    access = _access(context, project_id=project_id, project_slug=project_slug,
                     missing="Missing project id or environment")
    options = _read_options(fields)
    reads.require_read(access, options)  # before any lookup: nothing leaks to a caller who may not read

    def render() -> dict[str, Any]:
        location = locate(context.session, access.project, fields.environment, fields.secretPath, listing=True)
        return reads.list_secrets(context.session, context.services.sealer, access, location, options, fields.tag_slugs)

    key = ("list", access.project_id, fields.environment, fields.secretPath, options, tuple(fields.tag_slugs))
    return context.services.rendered_reads.respond(request, access.read_generation, key, render)


# -- reads ---------------------------------------------------------------------------------


@router.get("/api/v3/secrets/raw")
async def list_secrets(request: Request, fields: Annotated[SecretListQuery, Depends(query(SecretListQuery))],
                       context: Context) -> Response:
    return _list(request, context, fields, fields.workspaceId, fields.workspaceSlug)


@router.get("/api/v4/secrets")
async def list_secrets_v4(request: Request, fields: Annotated[SecretListQueryV4, Depends(query(SecretListQueryV4))],
                          context: Context) -> Response:
    return _list(request, context, fields, fields.projectId, None)


# Routes are tried in the order declared: reads by name, the most frequent, come before reads by id
# (each route tried first costs a request about 1 % of a cached read). No path matches both: an id
# route has one more segment.
@router.get("/api/v3/secrets/raw/{secret_name}")
@router.get("/api/v4/secrets/{secret_name}")
async def get_secret(request: Request, secret_name: str,
                     fields: Annotated[SecretGetQuery, Depends(query(SecretGetQuery))],
                     context: Context) -> Response:
    key = key_from_path(secret_name)
    if not fields.environment:
        raise BadRequest("Missing environment")
    access = _access(context, project_id=fields.workspaceId or fields.projectId,
                     project_slug=fields.workspaceSlug, missing="You must provide workspaceSlug or workspaceId")
    options = _read_options(fields)
    reads.require_read(access, options)

    def render() -> dict[str, Any]:
        location = locate(context.session, access.project, fields.environment, fields.secretPath)
        return reads.get_by_name(context.session, context.services.sealer, access, location, key, options,
                                 fields.version,
                                 fields.type)

    cache_key = ("get", access.project_id, fields.environment, fields.secretPath, key, options, fields.version,
                 fields.type)
    return context.services.rendered_reads.respond(request, access.read_generation, cache_key, render)


@router.get("/api/v3/secrets/raw/id/{secret_id}")
@router.get("/api/v4/secrets/id/{secret_id}")
async def get_secret_by_id(request: Request, secret_id: str, context: Context) -> Response:
    return json_with_etag(request, reads.get_by_id(context.work, context.services.sealer, context.caller, secret_id,
                                                   context.now()))


# -- writes --------------------------------------------------------------------------------


@router.post("/api/v3/secrets/raw/{secret_name}")
async def create_secret(secret_name: str, fields: Annotated[SecretCreate, Depends(body(SecretCreate))],
                        context: Context) -> dict[str, Any]:
    key = key_from_path(secret_name)
    access, location = _write_target(context, fields, CREATE_SECRETS)
    return writes.create(context.session, context.services.sealer, access, location, key, fields)


@router.patch("/api/v3/secrets/raw/{secret_name}")
async def update_secret(secret_name: str, fields: Annotated[SecretUpdate, Depends(body(SecretUpdate))],
                        context: Context) -> dict[str, Any]:
    key = key_from_path(secret_name)
    access, location = _write_target(context, fields, EDIT_SECRETS)
    return writes.update(context.session, context.services.sealer, access, location, key, fields)


@router.delete("/api/v3/secrets/raw/{secret_name}")
async def delete_secret(secret_name: str, fields: Annotated[SecretDelete, Depends(body(SecretDelete))],
                        context: Context) -> dict[str, Any]:
    key = key_from_path(secret_name)
    access, location = _write_target(context, fields, DELETE_SECRETS)
    return writes.delete(context.session, context.services.sealer, access, location, key, fields.type)


@router.post("/api/v3/secrets/batch/raw")
async def create_secrets(fields: Annotated[BatchCreate, Depends(body(BatchCreate))],
                         context: Context) -> dict[str, Any]:
    access, location = _write_target(context, fields, CREATE_SECRETS)
    return writes.batch_create(context.session, context.services.sealer, access, location, fields)


@router.patch("/api/v3/secrets/batch/raw")
async def update_secrets(fields: Annotated[BatchUpdate, Depends(body(BatchUpdate))],
                         context: Context) -> dict[str, Any]:
    access, location = _write_target(context, fields, EDIT_SECRETS)
    return writes.batch_update(context.session, context.services.sealer, access, location, fields)


@router.delete("/api/v3/secrets/batch/raw")
async def delete_secrets(fields: Annotated[BatchDelete, Depends(body(BatchDelete))],
                         context: Context) -> dict[str, Any]:
    access, location = _write_target(context, fields, DELETE_SECRETS)
    return writes.batch_delete(context.session, context.services.sealer, access, location, fields)
