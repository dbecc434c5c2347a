"""The scenarios: what each one loads, with which Lua script and which values.

Each scenario also knows how to send its request once from Python (``probe``):
the harness checks every scenario answers 2xx before loading it, so a
misconfigured one is reported instead of benchmarking a 401, and re-sends it
after a run that had errors to show what the server said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import httpx

from provision import ENVIRONMENT, SECRET_PATH, Instance, SecretsProject

HELLO = "hello"
STRONGROOM = "strongroom"


@dataclass(frozen=True)
class Scenario:
    name: str  # the key in the JSON results
    title: str  # the row in the table
    server: str  # HELLO or STRONGROOM: which process is loaded and measured
    script: str  # file in bench/lua/
    probe: Callable[[httpx.Client], httpx.Response]
    values: dict[str, str] = field(default_factory=dict)  # environment of the Lua script


@dataclass(frozen=True)
class Skipped:
    name: str
    title: str
    note: str


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def hello_world() -> Scenario:
    return Scenario(
        name="hello_status", title="hello-world GET /api/status", server=HELLO, script="status.lua",
        probe=lambda client: client.get("/api/status"),
    )


def strongroom_scenarios(instance: Instance, project: SecretsProject | None) -> list[Scenario]:
    token, identity_id = instance.admin_token, instance.identity_id
    found = [
        Scenario(
            name="status", title="GET /api/status", server=STRONGROOM, script="status.lua",
            probe=lambda client: client.get("/api/status"),
        ),
        Scenario(
            name="oidc_login", title="OIDC login (JWT-SVID)", server=STRONGROOM, script="oidc_login.lua",
            values={"BENCH_IDENTITY_ID": identity_id, "BENCH_JWT_SVID": instance.jwt_svid},
            probe=lambda client: client.post(
                "/api/v1/auth/oidc-auth/login", json={"identityId": identity_id, "jwt": instance.jwt_svid}
            ),
        ),
    ]
    if instance.fresh_svids is not None:
        fresh = instance.fresh_svids
        # The last line: the load starts at the first, and would find this one verified already.
        probe_svid = fresh.read_text().split()[-1]
        found.append(Scenario(
            name="oidc_login_fresh", title="OIDC login (new JWT-SVIDs)", server=STRONGROOM,
            script="oidc_login_fresh.lua",
            values={"BENCH_IDENTITY_ID": identity_id, "BENCH_JWT_SVID_FILE": str(fresh)},
            probe=lambda client: client.post(
                "/api/v1/auth/oidc-auth/login", json={"identityId": identity_id, "jwt": probe_svid}
            ),
        ))
    found += [
        # For now with the admin's token: it has no use limit, so millions of requests never exhaust it.
        Scenario(
            name="get_identity", title="GET identity (bearer)", server=STRONGROOM, script="get_identity.lua",
            values={"BENCH_IDENTITY_ID": identity_id, "BENCH_ACCESS_TOKEN": token},
            probe=lambda client: client.get(f"/api/v1/identities/{identity_id}", headers=_bearer(token)),
        ),
    ]
    if project is not None:
        where = {"workspaceId": project.project_id, "environment": ENVIRONMENT, "secretPath": SECRET_PATH}
        name = project.secret_names[0]
        found += [
            Scenario(
                name="list_secrets", title=f"list {project.listed} secrets", server=STRONGROOM,
                script="list_secrets.lua",
                values={"BENCH_PROJECT_ID": project.project_id, "BENCH_ACCESS_TOKEN": token},
                probe=lambda client: client.get("/api/v3/secrets/raw", params=where, headers=_bearer(token)),
            ),
            Scenario(
                name="get_secret", title="get 1 secret by name", server=STRONGROOM, script="get_secret.lua",
                values={"BENCH_PROJECT_ID": project.project_id, "BENCH_SECRET_NAME": name, "BENCH_ACCESS_TOKEN": token},
                probe=lambda client: client.get(f"/api/v3/secrets/raw/{name}", params=where, headers=_bearer(token)),
            ),
        ]
    return found


def secrets_skipped(note: str) -> list[Skipped]:
    return [
        Skipped("list_secrets", "list 50 secrets", note),
        Skipped("get_secret", "get 1 secret by name", note),
    ]
