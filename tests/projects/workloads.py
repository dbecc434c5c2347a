"""Workloads for the project and secret tests: identities that log in with JWT-SVIDs from one SPIRE stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import Api


@dataclass
class Spire:
    authority: JwtSvidAuthority
    provider: DiscoveryProvider


@dataclass
class Workload:
    """A logged-in machine identity, making requests with its own access token."""

    api: Api
    identity_id: str
    token: str

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.call(self.token, method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="module")
def spire() -> Iterator[Spire]:
    """One SPIRE stand-in per test module (a discovery provider is a thread and a socket)."""
    authority = JwtSvidAuthority(trust_domain="example.org")
    with DiscoveryProvider(authority) as provider:
        authority.issuer = provider.url
        yield Spire(authority, provider)


def new_workload(api: Api, spire: Spire, org_role: str = "no-access") -> Workload:
    identity_id, token = api.workload_login(spire.provider, spire.authority, org_role)
    return Workload(api, identity_id, token)


def member_of(api: Api, spire: Spire, project_id: str, role: str) -> Workload:
    workload = new_workload(api, spire)
    added = api.add_to_project(project_id, workload.identity_id, role)
    assert added.status_code == 200, added.text
    return workload

