"""Thin routers, one per resource, mirroring the URL tree."""

from strongroom.api import admin, identities, oidc_auth, status, tokens

routers = [status.router, admin.router, identities.router, oidc_auth.router, tokens.router]
