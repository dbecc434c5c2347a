"""``/api/v1/auth/oidc-auth``: OIDC Auth on an identity, and login with it (a SPIRE JWT-SVID)."""

from __future__ import annotations

from strongroom.api.auth_methods import AuthMethodApi, auth_method_router
from strongroom.auth.oidc import config

router = auth_method_router(
    AuthMethodApi(
        path="oidc-auth",
        response_key="identityOidcAuth",
        display_name="OIDC Auth",
        config=config,
        attach_model=config.OidcAuthAttach,
        update_model=config.OidcAuthUpdate,
        login=lambda services: services.oidc_login,
        key_source=lambda services, method: services.oidc_login.key_source(method),
    )
)
