"""Where the CLI's access token comes from, and how it is kept valid.

A token is given (``--token``/``STRONGROOM_TOKEN``), or obtained by logging in
with a JWT-SVID: one given on the command line, one read from a file (which
SPIRE's helpers rewrite as the SVID rotates, so it is read afresh each time),
or one fetched from the SPIFFE Workload API. ``TokenKeeper`` holds the token,
renews it before it expires while its max TTL allows, logs in again with a
fresh JWT-SVID when it does not, and, when the server says a token is
expired or gone, logs in again and repeats the request once: the user does
not notice an expired token as long as a way to log in is configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from strongroom.cli.api_client import AccessGrant, ApiRefused, StrongroomClient
from strongroom.cli.failures import CliError
from strongroom.spiffe import workload_client

DEFAULT_AUDIENCE = "strongroom"
# Renew when this share of a token's lifetime has passed, leaving the rest as margin for a slow
# server or a retry (Vault Agent and Infisical's agent renew at about the same point).
RENEW_AT_FRACTION = 2 / 3

_T = TypeVar("_T")


class SvidSource(Protocol):
    def fetch(self) -> str: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class GivenJwt:
    token: str

    def fetch(self) -> str:
        return self.token

    def describe(self) -> str:
        return "the JWT-SVID given with --jwt"


@dataclass(frozen=True)
class JwtFile:
    path: Path

    def fetch(self) -> str:
        try:
            token = self.path.read_text().strip()
        except OSError as exc:
            raise CliError(f"cannot read the JWT-SVID file {self.path}: {exc.strerror or exc}") from None
        if not token:
            raise CliError(f"the JWT-SVID file {self.path} is empty")
        return token

    def describe(self) -> str:
        return f"the JWT-SVID file {self.path}"


@dataclass(frozen=True)
class WorkloadApiSvid:
    socket: str | None
    audience: str = DEFAULT_AUDIENCE

    def fetch(self) -> str:
        return workload_client.fetch_jwt_svid(self.audience, socket=self.socket)

    def describe(self) -> str:
        return f"the SPIFFE Workload API ({workload_client.endpoint_address(self.socket)})"


def svid_source(*, jwt: str | None, jwt_file: Path | None, spiffe_socket: str | None,
                audience: str) -> SvidSource:
    """The one JWT-SVID source the options name: --jwt, else --jwt-file, else the Workload API."""
    if jwt and jwt_file:
        raise CliError("give the JWT-SVID with --jwt or with --jwt-file, not both")
    if not audience.strip():
        raise CliError("the audience must not be empty")
    if jwt:
        return GivenJwt(jwt.strip())
    if jwt_file:
        return JwtFile(jwt_file)
    return WorkloadApiSvid(spiffe_socket, audience.strip())


@dataclass(frozen=True)
class WorkloadLogin:
    """How to log in: an auth method, an identity, and a source of JWT-SVIDs."""

    method: str
    identity_id: str
    svids: SvidSource

    def perform(self, client: StrongroomClient) -> AccessGrant:
        return client.login(self.method, self.identity_id, self.svids.fetch())


class TokenKeeper:
    """Holds an access token and keeps it usable."""

    def __init__(self, client: StrongroomClient, *, login: WorkloadLogin | None = None, token: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if login is None and not token:
            raise CliError(
                "no credentials: pass --token (or set STRONGROOM_TOKEN), or --identity-id with a JWT-SVID from "
                "the Workload API (SPIFFE_ENDPOINT_SOCKET or --spiffe-socket), --jwt or --jwt-file"
            )
        self.client = client
        self.login = login
        self.clock = clock
        self._token = token or None
        self._grant: AccessGrant | None = None
        self._deadline: float | None = None  # when the max TTL ends every renewal of this login
        self._ttl = 0
        self.logins = 0
        self.renewals = 0

    # -- the token -------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None:
            self.log_in()
        assert self._token is not None
        return self._token

    def log_in(self) -> AccessGrant:
        if self.login is None:
            raise CliError("the access token was refused and there is no way to log in again (no --identity-id)")
        grant = self.login.perform(self.client)
        self._take(grant)
        self._ttl = grant.expires_in
        self._deadline = grant.received_at + grant.max_ttl if grant.max_ttl else None
        self.logins += 1
        return grant

    def _take(self, grant: AccessGrant) -> None:
        self._grant = grant
        self._token = grant.access_token

    def refresh_due_at(self) -> float | None:
        """When (monotonic seconds) ``refresh`` should run next; None if the token never needs it."""
        if self._grant is None or not self._grant.expires_in:
            return None
        return self._grant.received_at + self._grant.expires_in * RENEW_AT_FRACTION

    def refresh(self) -> str:
        """Renew the token if that extends it; log in again with a fresh JWT-SVID if not. Returns "renewed"/"logged in"."""
        grant = self._grant
        if grant is not None and self._renewal_extends(grant):
            try:
                self._take(self.client.renew(grant.access_token))
                self.renewals += 1
                return "renewed"
            except ApiRefused as exc:
                if self.login is None:
                    raise
                del exc  # an unrenewable token (revoked, max TTL reached): a fresh login replaces it
        self.log_in()
        return "logged in"

    def _renewal_extends(self, grant: AccessGrant) -> bool:
        """Would a renewal now yield a token living longer than the current one (by more than a second)?"""
        if grant.expires_at is None:
            return False
        now = self.clock()
        if now >= grant.expires_at:
            return False  # an expired token cannot be renewed
        renewed_until = now + self._ttl
        if self._deadline is not None:
            renewed_until = min(renewed_until, self._deadline)
        return renewed_until > grant.expires_at + 1

    # -- requests --------------------------------------------------------------------

    def call(self, request: Callable[[str], _T]) -> _T:
        """``request(token)``; if the token is expired or gone and we can log in, log in and try once more."""
        token = self.token()
        try:
            return request(token)
        except ApiRefused as exc:
            if not exc.is_token_problem or self.login is None:
                raise
        self.log_in()
        return request(self.token())
