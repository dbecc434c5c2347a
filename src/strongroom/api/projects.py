"""Projects: ``/api/v2/workspace`` (by slug, unwrapped), ``/api/v1/workspace`` (by id, wrapped) and the newer ``/api/v1/projects``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from strongroom.api.deps import Caller, ServicesDep, Work
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
async def create_project(fields: CreateBody, caller: Caller, work: Work) -> dict[str, Any]:
    return {"project": projects.describe(projects.create(work.session, caller, fields))}


# -- v2, by slug, answered unwrapped ----------------------------------------------------------


@router.get("/api/v2/workspace/{slug}")
async def get_project_by_slug(slug: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    return projects.describe(access_by_slug(work, caller, slug, services.clock.now()).project)


@router.patch("/api/v2/workspace/{slug}")
async def update_project_by_slug(slug: str, fields: UpdateBody, caller: Caller, work: Work,
                                 services: ServicesDep) -> dict[str, Any]:
    access = access_by_slug(work, caller, slug, services.clock.now())
    access.require(EDIT_SETTINGS)
    return projects.describe(projects.update(work.session, access.project, fields))


@router.delete("/api/v2/workspace/{slug}")
async def delete_project_by_slug(slug: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    access = access_by_slug(work, caller, slug, services.clock.now())
    access.require(DELETE_PROJECT)
    return projects.delete(work.session, access.project)


# -- v1, by id, wrapped in {workspace} (or {project} on the /projects alias) ---------------------


@router.get("/api/v1/workspace")
async def list_workspaces(caller: Caller, work: Work, type: str | None = None) -> dict[str, Any]:
    return {"workspaces": [projects.describe(p) for p in projects.list_for_identity(work.session, caller, type)]}


@router.get("/api/v1/projects")
async def list_projects(caller: Caller, work: Work, type: str | None = None) -> dict[str, Any]:
    return {"projects": [projects.describe(p) for p in projects.list_for_identity(work.session, caller, type)]}


def _read(project_id: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    return projects.describe(access_by_id(work, caller, project_id, services.clock.now()).project)


def _update(project_id: str, fields: projects.ProjectUpdate, caller: Caller, work: Work,
            services: ServicesDep) -> dict[str, Any]:
    access = access_by_id(work, caller, project_id, services.clock.now())
    access.require(EDIT_SETTINGS)
    return projects.describe(projects.update(work.session, access.project, fields))


def _delete(project_id: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    access = access_by_id(work, caller, project_id, services.clock.now())
    access.require(DELETE_PROJECT)
    return projects.delete(work.session, access.project)


@router.get("/api/v1/workspace/{project_id}")
async def get_workspace(project_id: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    return {"workspace": _read(project_id, caller, work, services)}


@router.get("/api/v1/projects/{project_id}")
async def get_project(project_id: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    return {"project": _read(project_id, caller, work, services)}


@router.patch("/api/v1/workspace/{project_id}")
async def update_workspace(project_id: str, fields: UpdateBody, caller: Caller, work: Work,
                           services: ServicesDep) -> dict[str, Any]:
    return {"workspace": _update(project_id, fields, caller, work, services)}


@router.patch("/api/v1/projects/{project_id}")
async def update_project(project_id: str, fields: UpdateBody, caller: Caller, work: Work,
                         services: ServicesDep) -> dict[str, Any]:
    return {"project": _update(project_id, fields, caller, work, services)}


@router.delete("/api/v1/workspace/{project_id}")
async def delete_workspace(project_id: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    return {"workspace": _delete(project_id, caller, work, services)}


@router.delete("/api/v1/projects/{project_id}")
async def delete_project(project_id: str, caller: Caller, work: Work, services: ServicesDep) -> dict[str, Any]:
    return {"project": _delete(project_id, caller, work, services)}
