"""Thin routers, one per resource, mirroring the URL tree."""

from strongroom.api import (
    admin,
    environments,
    folders,
    identities,
    jwt_auth,
    memberships,
    oidc_auth,
    projects,
    secret_imports,
    secrets,
    spiffe_auth,
    status,
    tokens,
)

routers = [
    status.router, admin.router, identities.router, oidc_auth.router, jwt_auth.router, spiffe_auth.router,
    tokens.router,
    projects.router, environments.router, folders.router, memberships.router, secrets.router, secret_imports.router,
]
