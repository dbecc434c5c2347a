"""OIDC login: a workload trades a JWT-SVID for a Strongroom access token.

The checks run top to bottom in this order, and the first failure refuses the
login with a message naming the check (see ``refusals``).
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.auth.verify import bindings
from strongroom.auth.oidc.config import AUTH_METHOD
from strongroom.auth.keys.cache import JwksCache
from strongroom.auth.keys.sources import OidcDiscoverySource, configured_source, discovery_base_url
from strongroom.auth.last_logins import LastLogins
from strongroom.auth.logins import method_config, mint_after_login
from strongroom.auth.verify.signature import VerifiedJwts, verify_presented_jwt
from strongroom.auth.tokens import AccessTokens, MintedToken
from strongroom.clock import Clock
from strongroom.errors import NotFound
from strongroom.store.models import IdentityOidcAuth
from strongroom.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OidcLogin:
    keys: JwksCache
    verified: VerifiedJwts  # shared by the login methods
    tokens: AccessTokens
    last_logins: LastLogins
    clock: Clock
    leeway_seconds: int
    check_discovery_issuer: bool = True

    def key_source(self, config: IdentityOidcAuth) -> OidcDiscoverySource:
        """Where this method's keys come from; the discovery document must name the issuer we expect."""
        expected = None
        if self.check_discovery_issuer:
            expected = config.bound_issuer or discovery_base_url(config.oidc_discovery_url)
        return configured_source(OidcDiscoverySource, config.oidc_discovery_url, config.ca_cert, expected)

    def __call__(self, work: UnitOfWork, identity_id: str, token: str, *,
                 keys_may_block: bool = True) -> MintedToken:
        # 0. The identity and its OIDC Auth configuration.
        config = method_config(work, IdentityOidcAuth, identity_id)
        if config is None:
            raise NotFound("OIDC auth method not found for identity, did you configure OIDC auth?")

        if keys_may_block:
            # Nothing is written yet: end the read transaction before the key fetch may go to the network.
            # On SQLite an open transaction holds the database's write lock, so a slow issuer would
            # stall every other request (and past busy_timeout, fail them).
            work.commit()

        # 1–3. A compact JWS of sane size whose alg JWT-SVIDs may use; the issuer's key named by
        # kid (from the discovery document's jwks_uri), of a type that fits alg; the signature,
        # then exp (required), nbf and iat.
        claims = verify_presented_jwt(token, self.key_source(config), self.keys, self.verified, self.leeway_seconds,
                                      self.clock.timestamp(), keys_may_block=keys_may_block)

        # 4. The method's bindings: issuer, subject, audiences, claims.
        bindings.check_issuer(config.bound_issuer, claims)
        bindings.check_subject(config.bound_subject, claims)
        bindings.check_audiences(config.bound_audiences, claims)
        bindings.check_bound_claims(config.bound_claims, claims)
        metadata = bindings.map_claim_metadata(config.claim_metadata_mapping, claims)

        # 5. The access token to hand out; run_login writes its record and notes the login.
        return mint_after_login(self.tokens, identity_id, AUTH_METHOD, config, metadata)
