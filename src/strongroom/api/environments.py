"""``/api/v1/workspace/{projectId}/environments``: a project's environments (Terraform manages these)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from strongroom.api.deps import CallerContext, Context
from strongroom.api.routing import api_router
from strongroom.errors import NotFound
from strongroom.projects import environments
from strongroom.projects.access import ProjectAccess, access_by_id
from strongroom.projects.roles import CREATE_ENVIRONMENTS, DELETE_ENVIRONMENTS, EDIT_ENVIRONMENTS, READ_ENVIRONMENTS
from strongroom.store.models import ProjectEnvironment
from strongroom.web.bodies import body

router = api_router()


def _access(context: CallerContext, project_id: str) -> ProjectAccess:
    return access_by_id(context.work, context.caller, project_id, context.now())


def _answer(message: str, environment: dict[str, Any]) -> dict[str, Any]:
    return {"message": message, "workspace": environment["projectId"], "environment": environment}


@router.get("/api/v1/workspace/environments/{environment_id}")
async def get_environment_by_id(environment_id: str, context: Context) -> dict[str, Any]:
    environment = context.session.get(ProjectEnvironment, environment_id)
    if environment is None:
        raise NotFound(f"Environment with ID '{environment_id}' not found")
    access = _access(context, environment.project_id)
    access.require(READ_ENVIRONMENTS)
    return {"environment": environments.describe(environment)}


@router.get("/api/v1/workspace/{project_id}/environments")
async def list_environments(project_id: str, context: Context) -> dict[str, Any]:
    access = _access(context, project_id)
    access.require(READ_ENVIRONMENTS)
    return {"workspace": project_id, "environments": [environments.describe(e) for e in access.project.environments]}


@router.get("/api/v1/workspace/{project_id}/environments/{environment_id}")
async def get_environment(project_id: str, environment_id: str, context: Context) -> dict[str, Any]:
    access = _access(context, project_id)
    access.require(READ_ENVIRONMENTS)
    return {"environment": environments.describe(environments.in_project(access.project, environment_id))}


@router.post("/api/v1/workspace/{project_id}/environments")
async def add_environment(
    project_id: str,
    fields: Annotated[environments.EnvironmentCreate, Depends(body(environments.EnvironmentCreate))],
    context: Context,
) -> dict[str, Any]:
    access = _access(context, project_id)
    access.require(CREATE_ENVIRONMENTS)
    environment = environments.add(context.session, access.project, fields.name, fields.slug, fields.position)
    return _answer("Successfully created new environment", environments.describe(environment))


@router.patch("/api/v1/workspace/{project_id}/environments/{environment_id}")
async def rename_environment(
    project_id: str,
    environment_id: str,
    fields: Annotated[environments.EnvironmentUpdate, Depends(body(environments.EnvironmentUpdate))],
    context: Context,
) -> dict[str, Any]:
    access = _access(context, project_id)
    access.require(EDIT_ENVIRONMENTS)
    environment = environments.in_project(access.project, environment_id)
    updated = environments.update(context.session, access.project, environment, fields)
    return _answer("Successfully updated environment", environments.describe(updated))


@router.delete("/api/v1/workspace/{project_id}/environments/{environment_id}")
async def remove_environment(project_id: str, environment_id: str, context: Context) -> dict[str, Any]:
    access = _access(context, project_id)
    access.require(DELETE_ENVIRONMENTS)
    environment = environments.in_project(access.project, environment_id)
    removed = environments.remove(context.session, access.project, environment)
    return _answer("Successfully deleted environment", removed)
