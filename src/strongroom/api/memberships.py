"""Identity project memberships, on both path styles Infisical serves.

- ``/api/v2/workspace/{projectId}/identity-memberships/{identityId}`` (Terraform)
- ``/api/v1/projects/{projectId}/memberships/identities/{identityId}`` (the API docs)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from strongroom.api.deps import Caller, ServicesDep, Work
from strongroom.api.routing import api_router
from strongroom.app import Services
from strongroom.auth.tokens import AuthenticatedIdentity
from strongroom.errors import NotFound
from strongroom.identities import identities
from strongroom.projects import memberships
from strongroom.projects.access import ProjectAccess, access_by_id
from strongroom.projects.roles import CREATE_IDENTITIES, DELETE_IDENTITIES, EDIT_IDENTITIES, READ_IDENTITIES, Permission
from strongroom.store.models import Identity, IdentityProjectMembership
from strongroom.store.unit_of_work import UnitOfWork
from strongroom.web.bodies import body

router = api_router()

V2 = "/api/v2/workspace/{project_id}/identity-memberships"
V1 = "/api/v1/projects/{project_id}/memberships/identities"

CreateBody = Annotated[memberships.MembershipCreate, Depends(body(memberships.MembershipCreate))]
UpdateBody = Annotated[memberships.MembershipUpdate, Depends(body(memberships.MembershipUpdate))]


def _access(work: UnitOfWork, caller: AuthenticatedIdentity, services: Services, project_id: str,
            permission: Permission) -> ProjectAccess:
    access = access_by_id(work, caller, project_id, services.clock.now())
    access.require(permission)
    return access


def _full(work: UnitOfWork, access: ProjectAccess, membership: IdentityProjectMembership) -> dict[str, Any]:
    identity = work.session.get(Identity, membership.identity_id)
    assert identity is not None  # the membership row is deleted with its identity
    return memberships.describe(membership, identity, access.project)


@router.get("/api/v2/workspace/identity-memberships/{membership_id}")
async def get_membership_by_id(membership_id: str, caller: Caller, work: Work,
                               services: ServicesDep) -> dict[str, Any]:
    membership = work.session.get(IdentityProjectMembership, membership_id)
    if membership is None:
        raise NotFound(f"Identity membership with ID '{membership_id}' not found")
    access = _access(work, caller, services, membership.project_id, READ_IDENTITIES)
    return {"identityMembership": _full(work, access, membership)}


@router.post(V2 + "/{identity_id}")
@router.post(V1 + "/{identity_id}")
async def add_membership(project_id: str, identity_id: str, fields: CreateBody, caller: Caller, work: Work,
                         services: ServicesDep) -> dict[str, Any]:
    access = _access(work, caller, services, project_id, CREATE_IDENTITIES)
    identity = identities.get_in_org(work.session, identity_id, access.project.org_id)
    membership = memberships.add(work.session, access.project, identity.id, memberships.requested_roles(fields))
    return {"identityMembership": memberships.describe_created(membership)}


@router.get(V2 + "/{identity_id}")
@router.get(V1 + "/{identity_id}")
async def get_membership(project_id: str, identity_id: str, caller: Caller, work: Work,
                         services: ServicesDep) -> dict[str, Any]:
    access = _access(work, caller, services, project_id, READ_IDENTITIES)
    return {"identityMembership": _full(work, access, memberships.require(work.session, project_id, identity_id))}


@router.get(V2)
async def list_memberships_v2(
    project_id: str, caller: Caller, work: Work, services: ServicesDep,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=20000)] = 100,
) -> dict[str, Any]:
    access = _access(work, caller, services, project_id, READ_IDENTITIES)
    found, total = memberships.list_in_project(work.session, project_id, offset, limit)
    return {"identityMemberships": [_full(work, access, m) for m in found], "totalCount": total}


@router.get(V1)
async def list_memberships_v1(
    project_id: str, caller: Caller, work: Work, services: ServicesDep,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, Any]:
    access = _access(work, caller, services, project_id, READ_IDENTITIES)
    found, total = memberships.list_in_project(work.session, project_id, offset, limit)
    return {"identityMemberships": [_full(work, access, m) for m in found], "totalCount": total}


@router.patch(V2 + "/{identity_id}")
async def update_membership_v2(project_id: str, identity_id: str, fields: UpdateBody, caller: Caller, work: Work,
                               services: ServicesDep) -> dict[str, Any]:
    _access(work, caller, services, project_id, EDIT_IDENTITIES)
    session = work.session
    membership = memberships.replace_roles(session, memberships.require(session, project_id, identity_id), fields.roles)
    return {"roles": [memberships.describe_role(role) for role in membership.roles]}


@router.patch(V1 + "/{identity_id}")
async def update_membership_v1(project_id: str, identity_id: str, fields: UpdateBody, caller: Caller, work: Work,
                               services: ServicesDep) -> dict[str, Any]:
    access = _access(work, caller, services, project_id, EDIT_IDENTITIES)
    session = work.session
    membership = memberships.replace_roles(session, memberships.require(session, project_id, identity_id), fields.roles)
    return {"identityMembership": _full(work, access, membership)}


@router.delete(V2 + "/{identity_id}")
@router.delete(V1 + "/{identity_id}")
async def remove_membership(project_id: str, identity_id: str, caller: Caller, work: Work,
                            services: ServicesDep) -> dict[str, Any]:
    _access(work, caller, services, project_id, DELETE_IDENTITIES)
    session = work.session
    return {"identityMembership": memberships.remove(session, memberships.require(session, project_id, identity_id))}
