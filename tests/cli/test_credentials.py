"""The CLI's token rules, with a fake server and clock: when to renew, when to log in again, when to give up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from strongroom.cli.api_client import AccessGrant, ApiRefused, normalise_api_url
from strongroom.cli.credentials import GivenJwt, TokenKeeper, WorkloadLogin
from strongroom.cli.durations import parse_duration
from strongroom.cli.failures import CliError
from strongroom.spiffe.workload_client import WorkloadApiRefused, endpoint_address


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeServer:
    """Logs in with TTL ``ttl`` and max TTL ``max_ttl``; renewals are cut at the max TTL, as the server does."""

    clock: Clock
    ttl: int = 60
    max_ttl: int = 150
    calls: list[str] = field(default_factory=list)
    login_at: float = 0.0

    def login(self, method: str, identity_id: str, jwt: str) -> AccessGrant:
        self.calls.append("login")
        self.login_at = self.clock.now
        return AccessGrant(f"token-{len(self.calls)}", self.ttl, self.max_ttl, received_at=self.clock.now)

    def renew(self, access_token: str) -> AccessGrant:
        self.calls.append("renew")
        left = self.login_at + self.max_ttl - self.clock.now
        return AccessGrant(f"token-{len(self.calls)}", int(min(self.ttl, left)), self.max_ttl,
                           received_at=self.clock.now)


def keeper(server: FakeServer, clock: Clock) -> TokenKeeper:
    login = WorkloadLogin("oidc-auth", "identity", GivenJwt("svid"))
    return TokenKeeper(server, login=login, clock=clock)  # type: ignore[arg-type]


def test_renews_while_the_max_ttl_lets_a_renewal_extend_the_token_then_logs_in_again() -> None:
    clock = Clock()
    server = FakeServer(clock)
    tokens = keeper(server, clock)
    tokens.token()
    steps = []
    for _ in range(5):
        due = tokens.refresh_due_at()
        assert due is not None
        clock.now = due
        steps.append((round(due - 1000), tokens.refresh()))
    # Login at 0 (60 s tokens, renewable up to 150): renewing at 2/3 of each token's life, at 40 → valid to
    # 100, at 80 → 140, at 120 → 150 (cut by the max TTL); at 140 a renewal cannot pass 150: a fresh login.
    assert steps == [(40, "renewed"), (80, "renewed"), (120, "renewed"), (140, "logged in"), (180, "renewed")]
    assert server.calls == ["login", "renew", "renew", "renew", "login", "renew"]


def test_an_expired_token_is_never_renewed() -> None:
    clock = Clock()
    server = FakeServer(clock, max_ttl=0)
    tokens = keeper(server, clock)
    tokens.token()
    clock.now += 61  # the agent was asleep past the token's expiry
    assert tokens.refresh() == "logged in"


def test_a_token_refused_as_expired_is_replaced_once() -> None:
    clock = Clock()
    tokens = keeper(FakeServer(clock), clock)
    seen: list[str] = []

    def request(token: str) -> str:
        seen.append(token)
        if len(seen) == 1:
            raise ApiRefused(403, "TokenError", "Your token has expired. Please re-authenticate.")
        return "ok"

    assert tokens.call(request) == "ok"
    assert seen == ["token-1", "token-2"]


def test_a_permission_error_is_not_retried_with_a_new_login() -> None:
    clock = Clock()
    server = FakeServer(clock)
    tokens = keeper(server, clock)

    def request(token: str) -> Any:
        raise ApiRefused(403, "PermissionDenied", "You are not allowed to edit on secrets")

    with pytest.raises(ApiRefused):
        tokens.call(request)
    assert server.calls == ["login"]


def test_a_given_token_without_a_way_to_log_in_is_not_replaced() -> None:
    tokens = TokenKeeper(FakeServer(Clock()), token="given")  # type: ignore[arg-type]

    def request(token: str) -> Any:
        raise ApiRefused(401, "UnauthorizedError", "No identity access token found")

    with pytest.raises(ApiRefused):
        tokens.call(request)
    with pytest.raises(CliError, match="no credentials"):
        TokenKeeper(FakeServer(Clock()))  # type: ignore[arg-type]


@pytest.mark.parametrize(("given", "address"), [
    ("/run/spire/api.sock", "unix:///run/spire/api.sock"),
    ("unix:///run/spire/api.sock", "unix:///run/spire/api.sock"),
    ("unix:/run/spire/api.sock", "unix:///run/spire/api.sock"),
])
def test_workload_api_addresses(given: str, address: str) -> None:
    assert endpoint_address(given) == address


@pytest.mark.parametrize("given", ["tcp://127.0.0.1:8081", "unix:relative.sock", "api.sock"])
def test_workload_api_addresses_we_cannot_use(given: str) -> None:
    with pytest.raises(WorkloadApiRefused):
        endpoint_address(given)


def test_durations_and_urls() -> None:
    assert [parse_duration(text) for text in ("90", "90s", "1.5m", "24h", "500ms", 2)] == [90, 90, 90, 86400, 0.5, 2]
    for bad in ("soon", "-1s", "0", "1w"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert normalise_api_url("https://vault.example.org/api/") == "https://vault.example.org"
    with pytest.raises(CliError):
        normalise_api_url("vault.example.org")
