"""Instance bootstrap: the first admin user, the organisation and an instance-admin machine identity."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from strongroom.auth.tokens import AccessTokens, TokenPolicy
from strongroom.auth.trusted_ips import DEFAULT_TRUSTED_IPS, parse_trusted_ips
from strongroom.crypto.passwords import hash_password
from strongroom.errors import BadRequest
from strongroom.identities.roles import OrgRole
from strongroom.store.models import (
    Identity,
    IdentityOrgMembership,
    IdentityTokenAuth,
    Organization,
    OrgUserMembership,
    ServerConfig,
    User,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INSTANCE_ADMIN_IDENTITY = "Instance Admin Identity"


def _trimmed_non_empty(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("must not be empty")
    return text


class BootstrapRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str = Field(min_length=1)
    password: str = Field(min_length=1)
    organization: str = Field(min_length=1, max_length=255)

    _trim = field_validator("password", "organization")(_trimmed_non_empty)

    @field_validator("email")
    @classmethod
    def _email(cls, text: str) -> str:
        text = text.strip().lower()
        if not _EMAIL.match(text):
            raise ValueError("Invalid email")
        return text


@dataclass(frozen=True)
class BootstrapResult:
    user: User
    organization: Organization
    identity: Identity
    token: str

    def as_response(self) -> dict[str, Any]:
        return {
            "message": "Successfully bootstrapped instance",
            "user": {
                "username": self.user.username,
                "firstName": self.user.first_name,
                "lastName": self.user.last_name,
                "email": self.user.email,
                "id": self.user.id,
                "superAdmin": self.user.super_admin,
            },
            "organization": {"id": self.organization.id, "name": self.organization.name, "slug": self.organization.slug},
            "identity": {
                "id": self.identity.id,
                "name": self.identity.name,
                "credentials": {"token": self.token},
            },
        }


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "org"
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(4))
    return f"{slug}-{suffix}"


def is_initialized(session: Session) -> bool:
    config = session.get(ServerConfig, 1)
    return config is not None and config.initialized


def bootstrap(session: Session, request: BootstrapRequest, tokens: AccessTokens) -> BootstrapResult:
    if is_initialized(session):
        raise BadRequest("Instance has already been set up", error="Instance initialization")
    try:
        return _create_instance(session, request, tokens)
    except IntegrityError:
        # A concurrent bootstrap won the race (unique email, or server_config row 1).
        raise BadRequest("Instance has already been set up", error="Instance initialization") from None


def _create_instance(session: Session, request: BootstrapRequest, tokens: AccessTokens) -> BootstrapResult:
    user = User(
        email=request.email,
        username=request.email,
        first_name="Admin",
        last_name="User",
        password_hash=hash_password(request.password),
        super_admin=True,
    )
    organization = Organization(name=request.organization, slug=slugify(request.organization))
    session.add_all([user, organization])
    session.flush()
    session.add(OrgUserMembership(org_id=organization.id, user_id=user.id, role=OrgRole.ADMIN.value))

    identity = Identity(org_id=organization.id, name=INSTANCE_ADMIN_IDENTITY)
    identity.membership = IdentityOrgMembership(org_id=organization.id, role=OrgRole.ADMIN.value)
    # As Infisical: the admin token never expires and is not use-limited; it is
    # meant to configure the instance, then be revoked or kept in a vault.
    identity.token_auth = IdentityTokenAuth(
        access_token_ttl=0,
        access_token_max_ttl=0,
        access_token_num_uses_limit=0,
        access_token_trusted_ips=parse_trusted_ips(DEFAULT_TRUSTED_IPS),
    )
    session.add(identity)
    session.flush()
    issued = tokens.issue(
        session.connection(),  # after the flush above: the identity's row is there for the token's to point at
        identity_id=identity.id,
        auth_method="token-auth",
        policy=TokenPolicy(ttl=0, max_ttl=0, num_uses_limit=0),
        name="Instance Admin Token",
    )
    # Primary key 1: of two concurrent bootstraps, exactly one can insert this row.
    session.add(ServerConfig(id=1, initialized=True, admin_identity_ids=[identity.id]))
    session.flush()
    return BootstrapResult(user=user, organization=organization, identity=identity, token=issued.access_token)
