"""OIDC login: a workload trades a JWT-SVID for a Strongroom access token.

The checks run top to bottom in this order, and the first failure refuses the
login with a message naming the check (see ``refusals``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from strongroom.auth.oidc import bindings
from strongroom.auth.oidc.config import AUTH_METHOD
from strongroom.auth.oidc.jws import read_jws_header
from strongroom.auth.keys.cache import JwksCache, KeySourceUnavailable
from strongroom.auth.keys.sources import OidcDiscoverySource, discovery_base_url
from strongroom.auth.oidc.refusals import LoginRefused, Refusal
from strongroom.auth.oidc.verify import choose_keys, verify_signature_and_lifetime
from strongroom.auth.tokens import AccessTokens, IssuedToken, TokenPolicy
from strongroom.clock import Clock
from strongroom.errors import NotFound
from strongroom.store.models import Identity, IdentityOidcAuth


@dataclass(frozen=True)
class OidcLogin:
    keys: JwksCache
    tokens: AccessTokens
    clock: Clock
    leeway_seconds: int
    check_discovery_issuer: bool = True

    def key_source(self, config: IdentityOidcAuth) -> OidcDiscoverySource:
        """Where this method's keys come from; the discovery document must name the issuer we expect."""
        expected = None
        if self.check_discovery_issuer:
            expected = config.bound_issuer or discovery_base_url(config.oidc_discovery_url)
        return OidcDiscoverySource(config.oidc_discovery_url, config.ca_cert, expected)

    def __call__(self, session: Session, identity_id: str, token: str) -> IssuedToken:
        # 0. The identity and its OIDC Auth configuration.
        identity = session.get(Identity, identity_id)
        config = identity.oidc_auth if identity is not None else None
        if identity is None or config is None:
            raise NotFound("OIDC auth method not found for identity, did you configure OIDC auth?")

        # 1. A compact JWS of sane size whose alg JWT-SVIDs may use; nothing else is trusted yet.
        header = read_jws_header(token)

        # 2. The issuer's key named by kid, of a type that fits alg.
        source = self.key_source(config)
        # Nothing is written yet: end the read transaction before the key fetch may go to the network.
        # On SQLite an open transaction holds the database's write lock, so a slow issuer would
        # stall every other request (and past busy_timeout, fail them).
        session.commit()
        try:
            candidates = self.keys.signing_keys(source, header.kid)
        except KeySourceUnavailable as exc:
            raise LoginRefused(Refusal.KEY_SOURCE_UNAVAILABLE, source=source.describe(), detail=str(exc)) from None
        keys = choose_keys(candidates, header)

        # 3. Signature, then exp (required), nbf and iat.
        now = self.clock.timestamp()
        claims = verify_signature_and_lifetime(token, header, keys, self.leeway_seconds, now)

        # 4. The method's bindings: issuer, subject, audiences, claims.
        bindings.check_issuer(config.bound_issuer, claims)
        bindings.check_subject(config.bound_subject, claims)
        bindings.check_audiences(config.bound_audiences, claims)
        bindings.check_bound_claims(config.bound_claims, claims)
        metadata = bindings.map_claim_metadata(config.claim_metadata_mapping, claims)

        # 5. Record the login and issue the access token.
        identity.membership.last_login_auth_method = AUTH_METHOD
        identity.membership.last_login_time = self.clock.now()
        return self.tokens.issue(
            session,
            identity_id=identity.id,
            auth_method=AUTH_METHOD,
            policy=TokenPolicy.of(config),
            extra={"oidc": {"claims": metadata}} if metadata else None,
        )
