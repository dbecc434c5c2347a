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
from strongroom.auth.oidc.keys import JwksCache, KeySource, KeySourceUnavailable
from strongroom.auth.oidc.refusals import LoginRefused, Refusal
from strongroom.auth.oidc.verify import choose_keys, verify_signature_and_lifetime
from strongroom.auth.tokens import AccessTokens, IssuedToken, TokenPolicy
from strongroom.clock import Clock
from strongroom.errors import NotFound
from strongroom.store.models import Identity


@dataclass(frozen=True)
class OidcLogin:
    keys: JwksCache
    tokens: AccessTokens
    clock: Clock
    leeway_seconds: int

    def __call__(self, session: Session, identity_id: str, token: str) -> IssuedToken:
        # 0. The identity and its OIDC Auth configuration.
        identity = session.get(Identity, identity_id)
        config = identity.oidc_auth if identity is not None else None
        if identity is None or config is None:
            raise NotFound("OIDC auth method not found for identity, did you configure OIDC auth?")

        # 1. A compact JWS of sane size whose alg JWT-SVIDs may use; nothing else is trusted yet.
        header = read_jws_header(token)

        # 2. The issuer's key named by kid, of a type that fits alg.
        source = KeySource(config.oidc_discovery_url, config.ca_cert)
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
