"""Everything a scenario needs, set up through Strongroom's public API as an operator would.

- the instance, bootstrapped: an organisation and the instance admin's token;
- a workload identity with OIDC Auth trusting the benchmark's key server,
  bound to ``spiffe://example.org/workload/*`` and the audience ``strongroom``;
- one long-lived JWT-SVID for that workload, reused by every login (SPIRE's
  agent hands a workload the same JWT-SVID until half of its life is gone);
- a file of FRESH_SVIDS other JWT-SVIDs of the workload, one per line, for
  logins that each present one Strongroom has not verified lately;
- when the server has the secrets API: a project whose dev environment holds 50 secrets.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx

from strongroom.spiffe.dev_spire import JwtSvidAuthority

WORKLOAD_SPIFFE_ID = "spiffe://example.org/workload/bench"
BOUND_SUBJECT = "spiffe://example.org/workload/*"
AUDIENCE = "strongroom"
# Outlives any run, so no login is refused for an expired JWT-SVID mid-benchmark.
JWT_SVID_TTL_SECONDS = 24 * 3600
SECRET_COUNT = 50
# More than Strongroom keeps verified (strongroom.auth.verify.signature.VerifiedJwts, 4096): cycled through,
# each is gone from what is kept before it comes round again.
FRESH_SVIDS = 20_000
ENVIRONMENT = "dev"
SECRET_PATH = "/"


class ApiCallFailed(RuntimeError):
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        request = response.request
        super().__init__(f"{request.method} {request.url.path} answered {response.status_code}: {response.text[:500]}")


def _ok(response: httpx.Response) -> dict:
    if response.status_code // 100 != 2:
        raise ApiCallFailed(response)
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Instance:
    admin_token: str
    org_id: str
    identity_id: str
    jwt_svid: str
    fresh_svids: Path | None  # FRESH_SVIDS distinct JWT-SVIDs, one per line


@dataclass(frozen=True)
class SecretsProject:
    project_id: str
    secret_names: tuple[str, ...]
    listed: int  # how many secrets the list answered with after they were created (should be SECRET_COUNT)


def set_up_instance(client: httpx.Client, authority: JwtSvidAuthority, discovery_url: str,
                    fresh_svids: Path | None = None) -> Instance:
    admin = _ok(client.post("/api/v1/admin/bootstrap", json={
        "email": "bench@example.org",
        "password": secrets.token_urlsafe(24),
        "organization": "Benchmark",
    }))
    token, org_id = admin["identity"]["credentials"]["token"], admin["organization"]["id"]

    identity = _ok(client.post("/api/v1/identities", headers=_bearer(token), json={
        "name": "bench-workload", "organizationId": org_id, "role": "no-access",
    }))["identity"]
    _ok(client.post(f"/api/v1/auth/oidc-auth/identities/{identity['id']}", headers=_bearer(token), json={
        "oidcDiscoveryUrl": discovery_url,
        "boundIssuer": authority.issuer or "",
        "boundAudiences": AUDIENCE,
        "boundSubject": BOUND_SUBJECT,
        "boundClaims": {},
        "accessTokenTTL": 600,
        "accessTokenMaxTTL": 3600,
    }))
    svid = authority.mint(WORKLOAD_SPIFFE_ID, [AUDIENCE], ttl_seconds=JWT_SVID_TTL_SECONDS)
    if fresh_svids is not None:
        write_fresh_svids(authority, fresh_svids)
    return Instance(admin_token=token, org_id=org_id, identity_id=identity["id"], jwt_svid=svid,
                    fresh_svids=fresh_svids)


def write_fresh_svids(authority: JwtSvidAuthority, path: Path) -> None:
    # Each differs from the others in its jti (SPIRE adds one when the entry asks for it), not only in
    # its ECDSA signature's random nonce: distinct whatever the signer.
    svids = [authority.mint(WORKLOAD_SPIFFE_ID, [AUDIENCE], ttl_seconds=JWT_SVID_TTL_SECONDS,
                            extra_claims={"jti": f"bench-{number}"}) for number in range(FRESH_SVIDS)]
    path.write_text("\n".join(svids) + "\n")


class SecretsApiUnavailable(RuntimeError):
    """The server cannot take the secrets scenarios; the message says why, for the report."""


def set_up_secrets_project(client: httpx.Client, token: str) -> SecretsProject:
    """A project with ``SECRET_COUNT`` secrets in dev at ``/``, or SecretsApiUnavailable."""
    probe = client.get("/api/v3/secrets/raw", headers=_bearer(token))
    if probe.status_code == 404:
        raise SecretsApiUnavailable("GET /api/v3/secrets/raw answered 404: this server has no secrets API yet")
    try:
        created = _ok(client.post("/api/v2/workspace", headers=_bearer(token), json={"projectName": "bench"}))
        project = created.get("project") or created.get("workspace") or {}
        project_id = project.get("id") or project.get("_id")
        if not project_id:
            raise SecretsApiUnavailable(f"POST /api/v2/workspace answered without a project id: {created}")
        names = tuple(f"BENCH_SECRET_{index:02d}" for index in range(SECRET_COUNT))
        for name in names:
            _ok(client.post(f"/api/v3/secrets/raw/{name}", headers=_bearer(token), json={
                "workspaceId": project_id,
                "environment": ENVIRONMENT,
                "secretPath": SECRET_PATH,
                "secretValue": secrets.token_urlsafe(24),
                "type": "shared",
            }))
        listed = _ok(client.get("/api/v3/secrets/raw", headers=_bearer(token), params={
            "workspaceId": project_id, "environment": ENVIRONMENT, "secretPath": SECRET_PATH,
        })).get("secrets", [])
    except ApiCallFailed as exc:
        raise SecretsApiUnavailable(f"setting up the secrets project failed: {exc}") from None
    return SecretsProject(project_id=project_id, secret_names=names, listed=len(listed))
