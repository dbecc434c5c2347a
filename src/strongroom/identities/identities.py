"""Machine identities: create, read, update, delete, list; each belongs to one organisation with a role."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from strongroom.clock import iso
from strongroom.errors import BadRequest, NotFound
from strongroom.identities.roles import OrgRole
from strongroom.store.models import Identity, IdentityMetadata, IdentityOrgMembership, ServerConfig


class MetadataEntry(BaseModel):
    key: str = Field(min_length=1)
    value: str = Field(min_length=1)

    @field_validator("key", "value")
    @classmethod
    def _trimmed(cls, text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError("must not be empty")
        return text


class IdentityCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    organizationId: str = Field(min_length=1)
    role: str = Field(default="no-access", min_length=1)
    hasDeleteProtection: bool = False
    metadata: list[MetadataEntry] | None = None

    @field_validator("name")
    @classmethod
    def _name_trimmed(cls, text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError("must not be empty")
        return text


class IdentityUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    role: str | None = Field(default=None, min_length=1)
    hasDeleteProtection: bool | None = None
    metadata: list[MetadataEntry] | None = None


def auth_methods(identity: Identity) -> list[str]:
    configured = {
        "token-auth": identity.token_auth,
        "oidc-auth": identity.oidc_auth,
        "jwt-auth": identity.jwt_auth,
        "spiffe-auth": identity.spiffe_auth,
    }
    return [method for method, config in configured.items() if config is not None]


def _metadata(identity: Identity) -> list[dict[str, str]]:
    return [{"id": item.id, "key": item.key, "value": item.value} for item in identity.metadata_items]


def describe(identity: Identity) -> dict[str, Any]:
    """The plain identity object (create, update and delete answer with this)."""
    return {
        "id": identity.id,
        "name": identity.name,
        "authMethod": None,
        "authMethods": auth_methods(identity),
        "hasDeleteProtection": identity.has_delete_protection,
        "orgId": identity.org_id,
        "projectId": None,
        "createdAt": iso(identity.created_at),
        "updatedAt": iso(identity.updated_at),
        "metadata": _metadata(identity),
    }


def describe_membership(identity: Identity) -> dict[str, Any]:
    """The org-membership view (get and list answer with this)."""
    membership = identity.membership
    return {
        "id": membership.id,
        "role": membership.role,
        "roleId": None,
        "orgId": membership.org_id,
        "identityId": identity.id,
        "createdAt": iso(membership.created_at),
        "updatedAt": iso(membership.updated_at),
        "lastLoginAuthMethod": membership.last_login_auth_method,
        "lastLoginTime": iso(membership.last_login_time),
        "metadata": _metadata(identity),
        "identity": {
            "id": identity.id,
            "name": identity.name,
            "hasDeleteProtection": identity.has_delete_protection,
            "orgId": identity.org_id,
            "authMethods": auth_methods(identity),
            "activeLockoutAuthMethods": [],
        },
    }


def create(session: Session, org_id: str, fields: IdentityCreate, role: OrgRole) -> Identity:
    identity = Identity(org_id=org_id, name=fields.name, has_delete_protection=fields.hasDeleteProtection)
    identity.membership = IdentityOrgMembership(org_id=org_id, role=role.value)
    identity.metadata_items = [IdentityMetadata(key=m.key, value=m.value) for m in fields.metadata or []]
    session.add(identity)
    session.flush()
    return identity


# What describing an identity reads: loaded with it (one query, and one for its metadata) instead of lazily,
# one query per relationship.
_DESCRIBED = (
    joinedload(Identity.membership), joinedload(Identity.token_auth), joinedload(Identity.oidc_auth),
    joinedload(Identity.jwt_auth), joinedload(Identity.spiffe_auth), selectinload(Identity.metadata_items),
)


def get_in_org(session: Session, identity_id: str, org_id: str) -> Identity:
    identity = session.get(Identity, identity_id, options=_DESCRIBED)
    # Another organisation's identity is reported as missing: its existence is not ours to reveal.
    if identity is None or identity.org_id != org_id:
        raise NotFound(f"Failed to find identity with ID {identity_id}")
    return identity


def list_in_org(session: Session, org_id: str, offset: int = 0, limit: int = 100) -> tuple[list[Identity], int]:
    query = select(Identity).where(Identity.org_id == org_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    identities = session.scalars(query.order_by(Identity.created_at, Identity.id).offset(offset).limit(limit)).unique()
    return list(identities), total


def is_instance_admin(session: Session, identity_id: str) -> bool:
    config = session.get(ServerConfig, 1)
    return config is not None and identity_id in (config.admin_identity_ids or [])


def update(session: Session, identity: Identity, fields: IdentityUpdate, role: OrgRole | None) -> Identity:
    if fields.name is not None:
        name = fields.name.strip()
        if not name:
            raise BadRequest("name must not be empty")
        identity.name = name
    if role is not None:
        identity.membership.role = role.value
    if fields.hasDeleteProtection is not None:
        identity.has_delete_protection = fields.hasDeleteProtection
    if fields.metadata is not None:
        identity.metadata_items = [IdentityMetadata(key=m.key, value=m.value) for m in fields.metadata]
    session.flush()
    return identity


def delete(session: Session, identity: Identity) -> dict[str, Any]:
    if identity.has_delete_protection:
        raise BadRequest("Identity has delete protection enabled; turn it off before deleting")
    if is_instance_admin(session, identity.id):
        raise BadRequest("The instance admin identity cannot be deleted")
    described = describe(identity)
    session.delete(identity)
    session.flush()
    return described
