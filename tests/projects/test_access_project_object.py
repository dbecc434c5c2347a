"""The project an access decision hands a route is the request's own copy of it, never a stale one."""

from __future__ import annotations

import jwt

from strongroom.auth.tokens import AuthenticatedIdentity
from strongroom.projects.access import access_by_id
from strongroom.store.models import Project
from tests.conftest import Api


def _admin(api: Api) -> AuthenticatedIdentity:
    # The instance admin, as the token check would describe it (its token is ours, read without checks).
    payload = jwt.decode(api.admin_token, options={"verify_signature": False})
    return AuthenticatedIdentity(identity_id=payload["identityId"], org_id=api.org_id, org_role="admin",
                                 token_id=payload["identityAccessTokenId"], auth_method="token-auth")


def test_the_project_is_made_from_the_access_row(api: Api) -> None:
    created = api.create_project(name="made from the row")
    services = api.server.services
    with services.database.unit_of_work() as work:
        access = access_by_id(work, _admin(api), created["id"], services.clock.now())
        project = access.project
        assert project.name == "made from the row"
        assert project.slug == created["slug"]
        assert [environment.slug for environment in project.environments] == ["dev", "staging", "prod"]
        assert work.session.get(Project, created["id"]) is project


def test_a_copy_the_session_already_holds_keeps_its_changes(api: Api) -> None:
    created = api.create_project(name="as stored")
    services = api.server.services
    with services.database.unit_of_work() as work:
        held = work.session.get(Project, created["id"])
        assert held is not None
        held.name = "changed, not yet flushed"
        access = access_by_id(work, _admin(api), created["id"], services.clock.now())
        assert access.project is held
        assert access.project.name == "changed, not yet flushed"
