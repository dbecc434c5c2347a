"""SPIFFE Auth login: a JWT-SVID verified against the trust domain's bundle, then the SPIFFE rules.

After the signature: ``sub`` must be a well-formed SPIFFE ID of the configured
trust domain (a token from another trust domain is refused even when signed
by a key in the bundle), it must match an allowed SPIFFE ID pattern (``*`` one
path segment, ``**`` several), and an ``aud`` value must be an allowed audience.
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.auth.keys.cache import JwksCache
from strongroom.auth.verify.bindings import audiences_of
from strongroom.auth.verify.globs import matches, split_patterns
from strongroom.auth.verify.refusals import LoginRefused, Refusal
from strongroom.auth.verify.signature import VerifiedJwts, verify_presented_jwt
from strongroom.auth.spiffe_auth.config import AUTH_METHOD, key_source
from strongroom.auth.last_logins import LastLogins
from strongroom.auth.logins import method_config, mint_after_login
from strongroom.auth.tokens import AccessTokens, MintedToken
from strongroom.clock import Clock
from strongroom.errors import NotFound
from strongroom.spiffe.ids import InvalidSpiffeId, SpiffeId
from strongroom.store.models import IdentitySpiffeAuth
from strongroom.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SpiffeLogin:
    keys: JwksCache
    verified: VerifiedJwts  # shared by the login methods
    tokens: AccessTokens
    last_logins: LastLogins
    clock: Clock
    leeway_seconds: int

    def __call__(self, work: UnitOfWork, identity_id: str, token: str, *,
                 keys_may_block: bool = True) -> MintedToken:
        # 0. The identity and its SPIFFE Auth configuration.
        config = method_config(work, IdentitySpiffeAuth, identity_id)
        if config is None:
            raise NotFound("SPIFFE auth method not found for identity, did you configure SPIFFE auth?")

        if keys_may_block:
            work.commit()  # nothing written yet; don't hold SQLite's write lock across a key fetch

        # 1–3. Header and alg, the bundle key by kid, signature and lifetime.
        claims = verify_presented_jwt(token, key_source(config), self.keys, self.verified, self.leeway_seconds,
                                      self.clock.timestamp(), keys_may_block=keys_may_block)

        # 4. The subject: a valid SPIFFE ID, of our trust domain, matching an allowed ID.
        try:
            spiffe_id = SpiffeId.parse(claims.get("sub"))  # type: ignore[arg-type]
        except InvalidSpiffeId as exc:
            raise LoginRefused(Refusal.SPIFFE_ID_INVALID, detail=str(exc)) from None
        if spiffe_id.trust_domain != config.trust_domain:
            raise LoginRefused(Refusal.WRONG_TRUST_DOMAIN, actual=spiffe_id.trust_domain, expected=config.trust_domain)
        if not any(matches(str(spiffe_id), pattern) for pattern in split_patterns(config.allowed_spiffe_ids)):
            raise LoginRefused(Refusal.SPIFFE_ID_NOT_ALLOWED)

        # 5. The audience: required, and one of ours (exact: JWT-SVID audiences are names, not patterns).
        audiences = audiences_of(claims)
        if not audiences:
            raise LoginRefused(Refusal.AUDIENCE_MISSING)
        if not set(audiences) & set(split_patterns(config.allowed_audiences)):
            raise LoginRefused(Refusal.AUDIENCE_NOT_ALLOWED)

        # 6. The access token to hand out; run_login writes its record and notes the login.
        return mint_after_login(self.tokens, identity_id, AUTH_METHOD, config)
