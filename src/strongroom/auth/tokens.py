"""Access tokens: issue, check on every request, renew, revoke.

A token is an HS256 JWT (Infisical's format, which some tools decode) signed
with a key derived from the root key. It carries a random nonce, and the
database keeps only the SHA-256 of the whole token string: a stolen database
cannot mint tokens, and a stolen signing key cannot reproduce a live one.
Every check that matters (revocation, uses, trusted IPs) is made against the
database as it stands at each request, never only against the JWT: the
token's row is read again whenever the access generation has moved since it
was last read (``strongroom.store.generations``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import ColumnElement, Connection, Row, Text, bindparam, case, cast, insert, literal, select, update
from sqlalchemy.orm import Session

from strongroom.auth.token_signing import ALGORITHM as SIGNING_ALGORITHM, Hs256Signer
from strongroom.auth.token_usage import TokenUsage
from strongroom.auth.trusted_ips import ip_allowed
from strongroom.clock import Clock
from strongroom.errors import BadRequest, Forbidden, TokenError, Unauthorized
from strongroom.recent import MostRecentlyUsed
from strongroom.store.generations import ACCESS_GENERATION
from strongroom.store.models import (
    AccessTokenPolicy,
    IdentityAccessToken,
    IdentityJwtAuth,
    IdentityOidcAuth,
    IdentityOrgMembership,
    IdentitySpiffeAuth,
    IdentityTokenAuth,
    UtcDateTime,
    new_time_ordered_id,
)
from strongroom.store.unit_of_work import UnitOfWork

TOKEN_TYPE = "identityAccessToken"

# Which table holds the live policy (trusted IPs) of each auth method.
AUTH_METHOD_CONFIGS: dict[str, type[Any]] = {
    "token-auth": IdentityTokenAuth,
    "oidc-auth": IdentityOidcAuth,
    "jwt-auth": IdentityJwtAuth,
    "spiffe-auth": IdentitySpiffeAuth,
}

def _live_token_query() -> Any:
    token = IdentityAccessToken
    # Columns, not the mapped entity: this runs on every request, and building ORM objects costs more than the query.
    query = select(
        token.id, token.identity_id, token.auth_method, token.token_hash, token.is_revoked, token.expires_at,
        token.access_token_num_uses_limit,
        IdentityOrgMembership.org_id,
        IdentityOrgMembership.role,
        # As the stored JSON text: the check keeps each distinct list parsed (strongroom.auth.trusted_ips),
        # so decoding it on every request would be wasted.
        *(cast(model.access_token_trusted_ips, Text) for model in AUTH_METHOD_CONFIGS.values()),
        ACCESS_GENERATION,  # the row is kept under the generation it was read at (see _live_row)
    ).outerjoin(IdentityOrgMembership, IdentityOrgMembership.identity_id == IdentityAccessToken.identity_id)
    for model in AUTH_METHOD_CONFIGS.values():
        query = query.outerjoin(model, model.identity_id == IdentityAccessToken.identity_id)
    return query.where(IdentityAccessToken.id == bindparam("token_id"))


_LIVE_TOKEN_QUERY = _live_token_query()
# Built once: a statement built per call (``.values(...)``) costs more to build and hash for SQLAlchemy's
# compiled cache than to run.
TOKEN_RECORDS = IdentityAccessToken.__table__
_INSERT_TOKEN = insert(TOKEN_RECORDS)


def _later_of(column: Any, stamp: Any) -> Any:
    """``column`` moved forward to ``stamp``, never backwards (a request that started earlier may commit later)."""
    return case((column.is_(None), stamp), (column < stamp, stamp), else_=column)


EXPIRED_MESSAGE = "Your token has expired. Please re-authenticate."
MALFORMED_MESSAGE = (
    "The provided access token is malformed. Please use a valid token or generate a new one and try again."
)
NOT_FOUND_MESSAGE = "No identity access token found"


@dataclass(frozen=True)
class TokenPolicy:
    ttl: int
    max_ttl: int
    num_uses_limit: int

    @classmethod
    def of(cls, config: AccessTokenPolicy) -> "TokenPolicy":
        return cls(config.access_token_ttl, config.access_token_max_ttl, config.access_token_num_uses_limit)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    access_token_max_ttl: int

    def as_response(self) -> dict[str, Any]:
        return {
            "accessToken": self.access_token,
            "expiresIn": self.expires_in,
            "accessTokenMaxTTL": self.access_token_max_ttl,
            "tokenType": "Bearer",
        }


@dataclass(frozen=True)
class MintedToken:
    """A signed token and its record (a row of TOKEN_RECORDS): the token is good once the record is written."""

    issued: IssuedToken
    record: dict[str, Any]

    def write(self, connection: Connection) -> None:
        # A prebuilt Core INSERT: nothing reads the row back, so the ORM would only cost time. (A caller
        # whose identity is still pending in an ORM session flushes it first: Core does not autoflush.)
        connection.execute(_INSERT_TOKEN, self.record)


@dataclass(frozen=True)
class PresentedToken:
    """A bearer token whose envelope verified (AccessTokens.presented): where the database checks start."""

    digest: bytes  # SHA-256 of the whole token string, as stored
    payload: dict[str, Any]


@dataclass(frozen=True)
class AuthenticatedIdentity:
    identity_id: str
    org_id: str
    org_role: str
    token_id: str
    auth_method: str


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _uses_left() -> ColumnElement[bool]:
    return (IdentityAccessToken.access_token_num_uses_limit == 0) | (
        IdentityAccessToken.access_token_num_uses < IdentityAccessToken.access_token_num_uses_limit
    )


def _lifetime(ttl: int, remaining_budget: float | None) -> int | None:
    """Seconds the next token may live: its TTL, cut to what the max TTL leaves (None: no expiry)."""
    limits = [value for value in (ttl or None, remaining_budget) if value is not None]
    return int(min(limits)) if limits else None


class AccessTokens:
    def __init__(self, signing_key: bytes, clock: Clock, usage: TokenUsage) -> None:
        self.usage = usage
        self._signing_key = signing_key
        self._signer = Hs256Signer(signing_key)
        self._clock = clock
        # Payloads of tokens whose JWT envelope (HS256 signature, claims) verified, by the SHA-256 of the
        # whole token string. A workload presents one token over and over, and the same bytes under the same
        # key verify the same way. Only the envelope: its expiry is checked again on every use, and the
        # database checks (revocation, the current token, expiry, trusted IPs, the identity's organisation)
        # run on every request whatever this holds.
        self._verified: MostRecentlyUsed[bytes, dict[str, Any]] = MostRecentlyUsed(4096)

    # -- the JWT envelope -------------------------------------------------

    def _sign(self, token_id: str, identity_id: str, auth_method: str, now: datetime, lifetime: int | None,
              extra: dict[str, Any] | None) -> str:
        payload: dict[str, Any] = {
            "identityId": identity_id,
            "identityAccessTokenId": token_id,
            "authTokenType": TOKEN_TYPE,
            "authMethod": auth_method,
            "nonce": secrets.token_urlsafe(16),
            "iat": int(now.timestamp()),
        }
        if lifetime is not None:
            payload["exp"] = int(now.timestamp()) + lifetime
        if extra:
            payload["identityAuth"] = extra
        return self._signer.sign(payload)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            payload = jwt.decode(
                token,
                self._signing_key,
                algorithms=[SIGNING_ALGORITHM],  # we only ever sign HS256
                options={"require": ["iat"], "verify_exp": True, "verify_aud": False, "verify_iss": False},
                leeway=0,  # our own tokens: no clock skew between issuer and checker
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError(EXPIRED_MESSAGE) from exc
        except jwt.InvalidAlgorithmError as exc:
            raise TokenError(
                "The access token is signed with an invalid algorithm. Please provide a valid token and try again."
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("invalid signature") from exc
        except jwt.PyJWTError as exc:
            raise TokenError(MALFORMED_MESSAGE) from exc
        if not isinstance(payload.get("identityAccessTokenId"), str):
            raise TokenError(MALFORMED_MESSAGE)
        return payload

    def _load_live_row(self, session: Session, token: str, payload: dict[str, Any]) -> IdentityAccessToken:
        row = session.get(IdentityAccessToken, payload["identityAccessTokenId"])
        # A renewed token replaces its predecessor: only the latest string's hash matches.
        if row is None or row.is_revoked or not hmac.compare_digest(row.token_hash, hash_token(token)):
            raise Unauthorized(NOT_FOUND_MESSAGE)
        return row

    @staticmethod
    def _revoked_or_gone(connection: Connection, token_id: str) -> bool:
        revoked = connection.scalar(select(IdentityAccessToken.is_revoked).where(IdentityAccessToken.id == token_id))
        return revoked is None or revoked

    # -- lifecycle ---------------------------------------------------------

    def mint(self, *, identity_id: str, auth_method: str, policy: TokenPolicy, name: str | None = None,
             extra: dict[str, Any] | None = None) -> MintedToken:
        """A new token and the record to write for it; nothing is written yet."""
        now = self._clock.now()
        lifetime = _lifetime(policy.ttl, policy.max_ttl or None)
        token_id = new_time_ordered_id()
        token = self._sign(token_id, identity_id, auth_method, now, lifetime, extra)
        return MintedToken(IssuedToken(token, lifetime or 0, policy.max_ttl), {
            "id": token_id,
            "identity_id": identity_id,
            "auth_method": auth_method,
            "name": name,
            "token_hash": hash_token(token),
            "access_token_ttl": policy.ttl,
            "access_token_max_ttl": policy.max_ttl,
            "access_token_num_uses": 0,
            "access_token_num_uses_limit": policy.num_uses_limit,
            "expires_at": now + timedelta(seconds=lifetime) if lifetime is not None else None,
            "is_revoked": False,
            "created_at": now,
            "updated_at": now,
        })

    def issue(self, connection: Connection, *, identity_id: str, auth_method: str, policy: TokenPolicy,
              name: str | None = None, extra: dict[str, Any] | None = None) -> IssuedToken:
        """A new token, its record written on ``connection``."""
        minted = self.mint(identity_id=identity_id, auth_method=auth_method, policy=policy, name=name, extra=extra)
        minted.write(connection)
        return minted.issued

    def _verified_envelope(self, token: str, digest: bytes) -> dict[str, Any]:
        payload = self._verified.get(digest)
        if payload is None:
            payload = self._decode(token)
            if payload.get("authTokenType") != TOKEN_TYPE:
                raise TokenError(MALFORMED_MESSAGE)
            self._verified.put(digest, payload)
        # As PyJWT decides it (wall clock, no leeway): a kept payload expires like a fresh one.
        elif "exp" in payload and payload["exp"] <= time.time():
            raise TokenError(EXPIRED_MESSAGE)
        return payload

    def presented(self, token: str) -> PresentedToken:
        """The token's JWT envelope checked (HS256 signature, type, expiry) before any database work:
        a forged or malformed token costs no statement."""
        digest = hash_token(token)
        return PresentedToken(digest, self._verified_envelope(token, digest))

    def authenticate(self, work: UnitOfWork, presented: PresentedToken, client_ip: str | None) -> AuthenticatedIdentity:
        digest, payload = presented.digest, presented.payload
        row = self._live_row(work, payload["identityAccessTokenId"], digest)
        # A renewed token replaces its predecessor: only the latest string's hash matches.
        if row is None or row.is_revoked or not hmac.compare_digest(row.token_hash, digest):
            raise Unauthorized(NOT_FOUND_MESSAGE)
        now = self._clock.now()
        if row.expires_at is not None and now >= row.expires_at:
            raise TokenError(EXPIRED_MESSAGE)
        org_id, org_role, *trusted_ips_by_method = row[7:7 + 2 + len(AUTH_METHOD_CONFIGS)]
        trusted_ips = dict(zip(AUTH_METHOD_CONFIGS, trusted_ips_by_method)).get(row.auth_method)
        if trusted_ips is None:
            # The auth method was removed; its tokens went with it.
            raise Unauthorized("Failed to authorize: auth method has been revoked")
        if not ip_allowed(client_ip, trusted_ips):
            raise Forbidden("You are not allowed to access this resource from the current IP address")
        if org_id is None:
            raise Unauthorized("Failed to authorize: Identity is not a member of the organization")

        if row.access_token_num_uses_limit == 0:
            # Nothing to enforce: the use is counted later, in a batch (see TokenUsage), so a read
            # stays a read. Revocation was checked above, against the database, as for every token.
            self.usage.record(row.id, now)
        else:
            # The write starts a transaction of its own: on SQLite a read transaction may not
            # turn into a write once another writer has committed, but a fresh one waits its turn.
            work.commit()
            self._spend_one_use(work.connection, row.id, now)
            # Committed at once, before the route goes on: a use counts even when the route fails.
            work.commit()
        return AuthenticatedIdentity(
            identity_id=row.identity_id,
            org_id=org_id,
            org_role=org_role,
            token_id=row.id,
            auth_method=row.auth_method,
        )

    @staticmethod
    def _live_row(work: UnitOfWork, token_id: str, digest: bytes) -> Row[Any] | None:
        """The token's record, its identity's organisation membership, and the trusted-IP list of
        each auth method of the identity, as the database holds them now (not copied at issue time).

        One Core query (plain columns need none of the ORM's result processing), or the row it
        returned to an earlier request if nothing that decides access has changed since
        (strongroom.store.generations): the checks that follow are applied to it all the same.
        """
        key = ("live token", digest)
        row = work.kept(key)
        if row is None:
            row = work.connection.execute(_LIVE_TOKEN_QUERY, {"token_id": token_id}).first()
            if row is not None:
                work.keep(key, row.access_generation, row)
        return row

    def _spend_one_use(self, connection: Connection, token_id: str, now: datetime) -> None:
        # One conditional UPDATE is the use check and the count at once, so concurrent requests, on
        # any number of replicas, can never spend more than the limit: PostgreSQL re-checks the WHERE
        # on the row as the previous writer left it; SQLite runs one writer at a time.
        stamp = literal(now, UtcDateTime())
        spent = connection.execute(
            update(IdentityAccessToken)
            .where(
                IdentityAccessToken.id == token_id,
                IdentityAccessToken.is_revoked.is_(False),
                _uses_left(),
            )
            .values(
                access_token_num_uses=IdentityAccessToken.access_token_num_uses + 1,
                access_token_last_used_at=_later_of(IdentityAccessToken.access_token_last_used_at, stamp),
            )
        )
        if spent.rowcount != 1:
            # Revoked, or its identity deleted, while this request was on its way: say so, not "limit reached".
            if self._revoked_or_gone(connection, token_id):
                raise Unauthorized(NOT_FOUND_MESSAGE)
            raise Unauthorized("Failed to authorize: token usage limit reached")

    def renew(self, session: Session, token: str) -> IssuedToken:
        payload = self._decode(token)
        if payload.get("authTokenType") != TOKEN_TYPE:
            raise BadRequest("Only identity access tokens can be renewed")
        row = self._load_live_row(session, token, payload)
        now = self._clock.now()
        limit = row.access_token_num_uses_limit
        if limit > 0 and row.access_token_num_uses >= limit:
            raise Unauthorized("Unable to renew because access token number of uses limit reached")
        budget: float | None = None
        if row.access_token_max_ttl > 0:
            budget = (row.created_at + timedelta(seconds=row.access_token_max_ttl) - now).total_seconds()
            if budget < 1:
                raise Unauthorized("Failed to renew MI access token due to Max TTL expiration")
        lifetime = _lifetime(row.access_token_ttl, budget)
        extra = payload.get("identityAuth")
        renewed = self._sign(row.id, row.identity_id, row.auth_method, now, lifetime, extra)
        # Conditional on the presented string still being the current one: of two renewals of one
        # token racing on two replicas, one wins and the other is refused (not handed a token that
        # its rival's renewal already made void), and a token revoked meanwhile stays revoked.
        replaced = session.execute(
            update(IdentityAccessToken)
            .where(
                IdentityAccessToken.id == row.id,
                IdentityAccessToken.token_hash == hash_token(token),
                IdentityAccessToken.is_revoked.is_(False),
            )
            .values(
                token_hash=hash_token(renewed),
                access_token_last_renewed_at=now,
                expires_at=now + timedelta(seconds=lifetime) if lifetime is not None else None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if replaced.rowcount != 1:
            raise Unauthorized(NOT_FOUND_MESSAGE)
        return IssuedToken(renewed, lifetime or 0, row.access_token_max_ttl)

    def revoke(self, session: Session, token: str) -> None:
        payload = self._decode(token)
        if payload.get("authTokenType") != TOKEN_TYPE:
            raise BadRequest("Only identity access tokens can be revoked")
        row = self._load_live_row(session, token, payload)
        row.is_revoked = True

    @staticmethod
    def revoke_all_for_method(session: Session, identity_id: str, auth_method: str) -> int:
        result = session.execute(
            update(IdentityAccessToken)
            .where(
                IdentityAccessToken.identity_id == identity_id,
                IdentityAccessToken.auth_method == auth_method,
                IdentityAccessToken.is_revoked.is_(False),
            )
            .values(is_revoked=True)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount
