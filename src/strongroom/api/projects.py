"""Projects: ``/api/v2/workspace`` (by slug, unwrapped), ``/api/v1/workspace`` (by id, wrapped) and the newer ``/api/v1/projects``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from strongroom.api.deps import CallerContext, Context
from strongroom.api.routing import api_router
from strongroom.projects import projects
from strongroom.projects.access import access_by_id, access_by_slug
from strongroom.projects.roles import DELETE_PROJECT, EDIT_SETTINGS
from strongroom.web.bodies import body

router = api_router()

CreateBody = Annotated[projects.ProjectCreate, Depends(body(projects.ProjectCreate))]
UpdateBody = Annotated[projects.ProjectUpdate, Depends(body(projects.ProjectUpdate))]


@router.post("/api/v2/workspace")
@router.post("/api/v1/projects")
async def create_project(fields: CreateBody, context: Context) -> dict[str, Any]:
    return {"project": projects.describe(projects.create(context.session, context.caller, fields))}


# -- v2, by slug, answered unwrapped ----------------------------------------------------------


@router.get("/api/v2/workspace/{slug}")
async def get_project_by_slug(slug: str, context: Context) -> dict[str, Any]:
    return projects.describe(access_by_slug(context.work, context.caller, slug, context.now()).project)


@router.patch("/api/v2/workspace/{slug}")
async def update_project_by_slug(slug: str, fields: UpdateBody, context: Context) -> dict[str, Any]:
    access = access_by_slug(context.work, context.caller, slug, context.now())
    access.require(EDIT_SETTINGS)
    return projects.describe(projects.update(context.session, access.project, fields))


@router.delete("/api/v2/workspace/{slug}")
async def delete_project_by_slug(slug: str, context: Context) -> dict[str, Any]:
    access = access_by_slug(context.work, context.caller, slug, context.now())
    access.require(DELETE_PROJECT)
    return projects.delete(context.session, access.project)


# -- v1, by id, wrapped in {workspace} (or {project} on the /projects alias) ---------------------


@router.get("/api/v1/workspace")
async def list_workspaces(context: Context, type: str | None = None) -> dict[str, Any]:
    found = projects.list_for_identity(context.session, context.caller, type)
    return {"workspaces": [projects.describe(project) for project in found]}


@router.get("/api/v1/projects")
async def list_projects(context: Context, type: str | None = None) -> dict[str, Any]:
    found = projects.list_for_identity(context.session, context.caller, type)
    return {"projects": [projects.describe(project) for project in found]}


def _read(project_id: str, context: CallerContext) -> dict[str, Any]:
    return projects.describe(access_by_id(context.work, context.caller, project_id, context.now()).project)


def _update(project_id: str, fields: projects.ProjectUpdate, context: CallerContext) -> dict[str, Any]:
    access = access_by_id(context.work, context.caller, project_id, context.now())
    access.require(EDIT_SETTINGS)
    return projects.describe(projects.update(context.session, access.project, fields))


def _delete(project_id: str, context: CallerContext) -> dict[str, Any]:
    access = access_by_id(context.work, context.caller, project_id, context.now())
    access.require(DELETE_PROJECT)
    return projects.delete(context.session, access.project)


@router.get("/api/v1/workspace/{project_id}")
async def get_workspace(project_id: str, context: Context) -> dict[str, Any]:
    return {"workspace": _read(project_id, context)}


@router.get("/api/v1/projects/{project_id}")
async def get_project(project_id: str, context: Context) -> dict[str, Any]:
    return {"project": _read(project_id, context)}


@router.patch("/api/v1/workspace/{project_id}")
async def update_workspace(project_id: str, fields: UpdateBody, context: Context) -> dict[str, Any]:
    return {"workspace": _update(project_id, fields, context)}


@router.patch("/api/v1/projects/{project_id}")
async def update_project(project_id: str, fields: UpdateBody, context: Context) -> dict[str, Any]:
    return {"project": _update(project_id, fields, context)}


@router.delete("/api/v1/workspace/{project_id}")
async def delete_workspace(project_id: str, context: Context) -> dict[str, Any]:
    return {"workspace": _delete(project_id, context)}


@router.delete("/api/v1/projects/{project_id}")
async def delete_project(project_id: str, context: Context) -> dict[str, Any]:
    return {"project": _delete(project_id, context)}
