"""The end every successful login shares: note it on the identity, then issue the access token."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from strongroom.auth.tokens import AccessTokens, IssuedToken, TokenPolicy
from strongroom.clock import Clock
from strongroom.store.models import AccessTokenPolicy, Identity


def issue_after_login(session: Session, tokens: AccessTokens, clock: Clock, identity: Identity, auth_method: str,
                      config: AccessTokenPolicy, claims_metadata: dict[str, str] | None = None) -> IssuedToken:
    identity.membership.last_login_auth_method = auth_method
    identity.membership.last_login_time = clock.now()
    extra: dict[str, Any] | None = None
    if claims_metadata:
        # Infisical's place for mapped claims: identityAuth.<method>.claims in the token payload.
        extra = {auth_method.removesuffix("-auth"): {"claims": claims_metadata}}
    return tokens.issue(
        session, identity_id=identity.id, auth_method=auth_method, policy=TokenPolicy.of(config), extra=extra
    )
