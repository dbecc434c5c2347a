"""``/api/v1/auth/spiffe-auth``: SPIFFE Auth on an identity, and login with it."""

from __future__ import annotations

from typing import Any

import anyio

from strongroom.api.auth_methods import AuthMethodApi, auth_method_router
from strongroom.api.deps import Context
from strongroom.auth.spiffe_auth import config
from strongroom.identities import identities
from strongroom.identities.roles import OrgRole, require_org_role

router = auth_method_router(
    AuthMethodApi(
        path="spiffe-auth",
        response_key="identitySpiffeAuth",
        display_name="SPIFFE Auth",
        config=config,
        attach_model=config.SpiffeAuthAttach,
        update_model=config.SpiffeAuthUpdate,
        login=lambda services: services.spiffe_login,
        key_source=lambda _services, method: config.key_source(method),
    )
)


@router.post("/identities/{identity_id}/refresh-bundle")
async def refresh_bundle(identity_id: str, context: Context) -> dict[str, Any]:
    """Infisical's name for a forced bundle refresh; answers with the configuration, as Infisical does."""
    require_org_role(context.caller.org_role, OrgRole.ADMIN, "edit")
    identity = identities.get_in_org(context.session, identity_id, context.caller.org_id)
    method = config.require(identity, missing_message="The identity does not have SPIFFE Auth attached")
    context.work.commit()  # a read so far: no transaction stays open while the fetch leaves the loop
    status = await anyio.to_thread.run_sync(context.services.jwks.refresh, config.key_source(method))
    return {"identitySpiffeAuth": {**config.describe(method), "keySet": status.as_response()}}
