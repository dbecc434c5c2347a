"""An access token's promises hold across replicas: exact use limits, revocation everywhere at once, one renewal."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID
from tests.replicas.conftest import REPLICA_COUNT, ReplicaSet, client_for
from tests.support import assert_api_error, unverified_payload

CLIENTS = 24
REQUESTS_PER_CLIENT = 7  # 168 attempts at a token good for 100


def test_a_token_limited_to_100_uses_is_accepted_exactly_100_times_across_the_replicas(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider, accessTokenNumUsesLimit=100)
    issued_at = datetime.now(timezone.utc)
    token = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    start = threading.Barrier(CLIENTS)

    def spend(client_number: int) -> list[int]:
        # Each client has its own connections to all three replicas and takes turns between them.
        clients = [client_for(server.url) for server in replicas.servers]
        try:
            start.wait()
            return [
                replicas.probe(0, token, client=clients[(client_number + attempt) % REPLICA_COUNT]).status_code
                for attempt in range(REQUESTS_PER_CLIENT)
            ]
        finally:
            for client in clients:
                client.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [status for answers in pool.map(spend, range(CLIENTS)) for status in answers]

    assert statuses.count(200) == 100, sorted(set(statuses))
    assert statuses.count(401) == CLIENTS * REQUESTS_PER_CLIENT - 100, sorted(set(statuses))
    assert_api_error(replicas.probe(1, token), 401, "UnauthorizedError", "usage limit")
    token_id = unverified_payload(token)["identityAccessTokenId"]
    uses, last_used = replicas.row(
        "SELECT access_token_num_uses, access_token_last_used_at FROM identity_access_tokens WHERE id = :id",
        id=token_id,
    )
    assert uses == 100
    assert issued_at <= last_used <= datetime.now(timezone.utc)


def test_a_token_revoked_on_one_replica_is_refused_at_once_by_the_others(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    token = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    for index in range(REPLICA_COUNT):
        assert replicas.probe(index, token).status_code == 200

    revoked = replicas.replica(0).post("/api/v1/auth/token/revoke", json={"accessToken": token})
    assert revoked.status_code == 200, revoked.text
    for index in (1, 2, 0):
        assert_api_error(replicas.probe(index, token), 401, "UnauthorizedError", "No identity access token found")


def test_revoking_an_auth_method_on_one_replica_ends_its_tokens_on_the_others(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    tokens = [replicas.access_token(index, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
              for index in range(REPLICA_COUNT)]
    assert all(replicas.probe(2, token).status_code == 200 for token in tokens)

    removed = replicas.admin(1, "DELETE", f"/api/v1/auth/oidc-auth/identities/{identity_id}")
    assert removed.status_code == 200, removed.text
    for token in tokens:
        for index in (2, 0):
            assert_api_error(replicas.probe(index, token), 401, "UnauthorizedError")


def test_deleting_an_identity_on_one_replica_ends_its_tokens_on_the_others(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider)
    token = replicas.access_token(1, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert replicas.probe(2, token).status_code == 200

    deleted = replicas.admin(0, "DELETE", f"/api/v1/identities/{identity_id}")
    assert deleted.status_code == 200, deleted.text
    for index in (1, 2):
        assert_api_error(replicas.probe(index, token), 401, "UnauthorizedError")


def test_of_two_renewals_of_one_token_racing_on_two_replicas_exactly_one_wins(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider, accessTokenTTL=600, accessTokenMaxTTL=3600)
    outcomes: list[int] = []
    for _ in range(5):  # several rounds, so the race is really run
        token = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
        start = threading.Barrier(2)

        def renew(index: int, token: str = token) -> httpx.Response:
            start.wait()
            return replicas.replica(index).post("/api/v1/auth/token/renew", json={"accessToken": token})

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(renew, (1, 2)))
        winners = [answer for answer in answers if answer.status_code == 200]
        assert len(winners) == 1, [answer.text for answer in answers]
        loser = next(answer for answer in answers if answer.status_code != 200)
        assert_api_error(loser, 401, "UnauthorizedError", "No identity access token found")
        renewed = winners[0].json()["accessToken"]
        assert replicas.probe(0, renewed).status_code == 200
        assert_api_error(replicas.probe(0, token), 401, "UnauthorizedError")
        outcomes.append(len(winners))
    assert outcomes == [1] * 5
