"""A SPIRE key rotation seen from the CLI: the next SVID from the Workload API is signed by a key the server
has not fetched yet, and the login still works."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from strongroom.spiffe.workload_api import WorkloadApiServer
from tests.cli.conftest import new_workload, strongroom
from tests.conftest import Api, bootstrap, make_settings, start_server


@pytest.fixture(scope="module")
def quick_refetch_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server that may refetch a key set for an unknown kid at once (the default waits 10 s between two)."""
    settings = make_settings(tmp_path_factory.mktemp("rotation"), None)
    server = start_server(replace(settings, jwks_refresh_cooldown_seconds=0.0))
    api = bootstrap(server)
    yield api
    api.client.close()
    server.stop()


def test_a_rotated_spire_key_is_picked_up(quick_refetch_api: Api, authority: JwtSvidAuthority,
                                          provider: DiscoveryProvider, workload_api: WorkloadApiServer) -> None:
    workload = new_workload(quick_refetch_api, provider, workload_api.endpoint)
    first = strongroom("login", "--identity-id", workload.identity_id, "--plain", env=workload.env())
    assert first.returncode == 0, first.stderr
    keys_fetched = provider.fetches("/keys")

    # SPIRE rotates: the next key is published, then signs. The Workload API's next SVID carries its kid,
    # which the server's cached key set lacks: it refetches the key set once and accepts the login.
    old_key = authority.active
    authority.activate(authority.prepare_key())
    second = strongroom("secrets", "list", "--json", *workload.args(), env=workload.env())
    assert second.returncode == 0, second.stderr
    assert provider.fetches("/keys") == keys_fetched + 1

    # And once the old key is pruned, logins go on with the new one.
    assert old_key is not None
    authority.prune(old_key)
    third = strongroom("login", "--identity-id", workload.identity_id, "--plain", env=workload.env())
    assert third.returncode == 0, third.stderr
