"""JWT Auth login: a JWT verified against the configured keys, then OIDC Auth's bindings."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.auth.jwt_auth.config import AUTH_METHOD, key_source
from strongroom.auth.keys.cache import JwksCache
from strongroom.auth.verify import bindings
from strongroom.auth.verify.signature import VerifiedJwts, verify_presented_jwt
from strongroom.auth.last_logins import LastLogins
from strongroom.auth.logins import method_config, mint_after_login
from strongroom.auth.tokens import AccessTokens, MintedToken
from strongroom.clock import Clock
from strongroom.errors import NotFound
from strongroom.store.models import IdentityJwtAuth
from strongroom.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class JwtLogin:
    keys: JwksCache
    verified: VerifiedJwts  # shared by the login methods
    tokens: AccessTokens
    last_logins: LastLogins
    clock: Clock
    leeway_seconds: int

    def __call__(self, work: UnitOfWork, identity_id: str, token: str, *,
                 keys_may_block: bool = True) -> MintedToken:
        # 0. The identity and its JWT Auth configuration.
        config = method_config(work, IdentityJwtAuth, identity_id)
        if config is None:
            raise NotFound("JWT auth method not found for identity, did you configure JWT auth?")

        if keys_may_block:
            work.commit()  # nothing written yet; don't hold SQLite's write lock across a key fetch

        # 1–3. Header and alg, the key by kid, signature and lifetime.
        claims = verify_presented_jwt(token, key_source(config), self.keys, self.verified, self.leeway_seconds,
                                      self.clock.timestamp(), keys_may_block=keys_may_block)

        # 4. The bindings, as OIDC Auth's.
        bindings.check_issuer(config.bound_issuer, claims)
        bindings.check_subject(config.bound_subject, claims)
        bindings.check_audiences(config.bound_audiences, claims)
        bindings.check_bound_claims(config.bound_claims, claims)
        metadata = bindings.map_claim_metadata(config.claim_metadata_mapping, claims)

        # 5. The access token to hand out; run_login writes its record and notes the login.
        return mint_after_login(self.tokens, identity_id, AUTH_METHOD, config, metadata)
