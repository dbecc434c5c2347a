"""Infisical's Node SDK (@infisical/sdk 5.0.2), unchanged, against a real server.

The SDK has no OIDC login helper, so the workload logs in over HTTP with its
JWT-SVID and hands the access token to ``sdk.auth().accessToken(...)``, as a
Node workload would. The SDK is installed with npm into the pytest cache once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AUDIENCE, SPIFFE_ID, Api
from tests.projects.workloads import Spire

SDK_VERSION = "5.0.2"

SCRIPT = r"""
const { InfisicalSDK } = require(process.env.SDK_DIR + "/node_modules/@infisical/sdk");

async function main() {
  const sdk = new InfisicalSDK({ siteUrl: process.env.SITE_URL });
  sdk.auth().accessToken(process.env.ACCESS_TOKEN);
  const projectId = process.env.PROJECT_ID;
  const out = {};
  out.list = await sdk.secrets().listSecrets({ environment: "dev", projectId, expandSecretReferences: true });
  out.withImports = await sdk.secrets().listSecretsWithImports({ environment: "dev", projectId, expandSecretReferences: true });
  out.one = await sdk.secrets().getSecret({ secretName: "DB_URL", environment: "dev", projectId, expandSecretReferences: true });
  out.imported = await sdk.secrets().getSecret({ secretName: "SHARED_TOKEN", environment: "dev", projectId, includeImports: true });
  try {
    out.created = await sdk.secrets().createSecret("FROM_NODE", { environment: "dev", projectId, secretValue: "n" });
  } catch (error) {
    out.createError = String(error && error.message || error);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
"""


@pytest.fixture(scope="session")
def node_sdk(request: pytest.FixtureRequest) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the Node SDK")
    directory = Path(request.config.cache.mkdir("infisical-node-sdk"))
    marker = directory / "node_modules" / "@infisical" / "sdk" / "package.json"
    if not marker.exists() or json.loads(marker.read_text()).get("version") != SDK_VERSION:
        installed = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(directory),
             f"@infisical/sdk@{SDK_VERSION}"],
            capture_output=True, text=True, timeout=300,
        )
        if installed.returncode != 0 or not marker.exists():
            pytest.skip(f"npm could not install @infisical/sdk@{SDK_VERSION}: {installed.stderr.strip()[-500:]}")
    return directory


def _run(node_sdk: Path, tmp_path: Path, api: Api, token: str, project_id: str) -> dict[str, Any]:
    script = tmp_path / "client.cjs"
    script.write_text(SCRIPT)
    environment = {**os.environ, "SDK_DIR": str(node_sdk), "SITE_URL": api.server.url, "ACCESS_TOKEN": token,
                   "PROJECT_ID": project_id}
    finished = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120, env=environment)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


def _login(api: Api, spire: Spire, project_id: str, role: str) -> str:
    identity_id = api.create_identity()
    assert api.attach_oidc(identity_id, spire.provider).status_code == 200
    assert api.add_to_project(project_id, identity_id, role).status_code == 200
    response = api.login(identity_id, spire.authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


@pytest.fixture
def project(api: Api) -> dict[str, Any]:
    project = api.create_project()
    where = {"workspaceId": project["id"]}
    api.admin("POST", "/api/v1/folders", json={**where, "environment": "prod", "name": "shared"})
    for environment, path, key, value in (("dev", "/", "DB_USER", "app"), ("dev", "/", "DB_URL", "pg://${DB_USER}@db"),
                                          ("prod", "/shared", "SHARED_TOKEN", "shared-token")):
        assert api.admin("POST", f"/api/v3/secrets/raw/{key}", json={
            **where, "environment": environment, "secretPath": path, "secretValue": value}).status_code == 200
    assert api.admin("POST", "/api/v1/secret-imports", json={
        **where, "environment": "dev", "path": "/", "import": {"environment": "prod", "path": "/shared"}}).status_code == 200
    return project


def test_node_sdk_member_lists_gets_and_creates(node_sdk: Path, tmp_path: Path, api: Api, spire: Spire,
                                                project: dict[str, Any]) -> None:
    token = _login(api, spire, project["id"], "member")
    out = _run(node_sdk, tmp_path, api, token, project["id"])
    assert {s["secretKey"]: s["secretValue"] for s in out["list"]["secrets"]} == {"DB_USER": "app", "DB_URL": "pg://app@db"}
    assert out["list"]["imports"] == []  # the Node SDK's listSecrets sends include_imports=false
    merged = {s["secretKey"]: s["secretValue"] for s in out["withImports"]}
    assert merged == {"DB_USER": "app", "DB_URL": "pg://app@db", "SHARED_TOKEN": "shared-token"}
    assert out["one"]["secretValue"] == "pg://app@db"
    assert out["imported"]["secretValue"] == "shared-token"
    assert out["created"]["secret"]["secretKey"] == "FROM_NODE"


def test_node_sdk_viewer_reads_and_is_refused_writes(node_sdk: Path, tmp_path: Path, api: Api, spire: Spire,
                                                     project: dict[str, Any]) -> None:
    token = _login(api, spire, project["id"], "viewer")
    out = _run(node_sdk, tmp_path, api, token, project["id"])
    assert out["one"]["secretValue"] == "pg://app@db"
    assert "created" not in out
    assert "403" in out["createError"] and "You are not allowed to create on secrets" in out["createError"]
