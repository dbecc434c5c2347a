"""``/api/v1/auth/jwt-auth``: JWT Auth on an identity, and login with it."""

from __future__ import annotations

from strongroom.api.auth_methods import AuthMethodApi, auth_method_router
from strongroom.auth.jwt_auth import config

router = auth_method_router(
    AuthMethodApi(
        path="jwt-auth",
        response_key="identityJwtAuth",
        display_name="JWT Auth",
        config=config,
        attach_model=config.JwtAuthAttach,
        update_model=config.JwtAuthUpdate,
        login=lambda services: services.jwt_login,
        key_source=lambda _services, method: config.key_source(method),
    )
)
