"""OIDC login with SPIRE JWT-SVIDs, against a real server and a local discovery provider."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from strongroom.spiffe.dev_spire import AuthorityKey, DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID, Api


def test_login_with_spire_jwt_svid_returns_access_token(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, accessTokenTTL=600, accessTokenMaxTTL=3600)

    response = api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expiresIn"] == 600
    assert body["accessTokenMaxTTL"] == 3600
    assert body["tokenType"] == "Bearer"
    whoami = api.client.get(f"/api/v1/identities/{identity_id}", headers={"Authorization": f"Bearer {body['accessToken']}"})
    # The workload's identity has org role no-access: authenticated, but not allowed to read identities.
    assert whoami.status_code == 403
    assert whoami.json()["error"] == "PermissionDenied"
