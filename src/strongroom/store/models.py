"""SQLAlchemy models. The schema itself is owned by the Alembic migrations beside this file."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored and returned as aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ServerConfig(Base, Timestamped):
    """One row (id 1): its existence means the instance has been bootstrapped."""

    __tablename__ = "server_config"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initialized: Mapped[bool] = mapped_column(Boolean, default=False)
    admin_identity_ids: Mapped[list[str]] = mapped_column(JSON, default=list)


class Organization(Base, Timestamped):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(64), unique=True)


class User(Base, Timestamped):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    super_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class OrgUserMembership(Base, Timestamped):
    __tablename__ = "org_user_memberships"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))


class Identity(Base, Timestamped):
    __tablename__ = "identities"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    has_delete_protection: Mapped[bool] = mapped_column(Boolean, default=False)

    membership: Mapped["IdentityOrgMembership"] = relationship(
        back_populates="identity", uselist=False, cascade="all, delete-orphan", lazy="joined"
    )
    metadata_items: Mapped[list["IdentityMetadata"]] = relationship(
        cascade="all, delete-orphan", order_by="IdentityMetadata.created_at", lazy="selectin"
    )
    token_auth: Mapped["IdentityTokenAuth | None"] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="selectin"
    )
    oidc_auth: Mapped["IdentityOidcAuth | None"] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="selectin"
    )


class IdentityOrgMembership(Base, Timestamped):
    __tablename__ = "identity_org_memberships"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    last_login_auth_method: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_login_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    identity: Mapped[Identity] = relationship(back_populates="membership")


class IdentityMetadata(Base, Timestamped):
    __tablename__ = "identity_metadata"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)


class AccessTokenPolicy:
    """The token lifetime fields every auth method carries."""

    access_token_ttl: Mapped[int] = mapped_column(Integer, default=2592000)
    access_token_max_ttl: Mapped[int] = mapped_column(Integer, default=2592000)
    access_token_num_uses_limit: Mapped[int] = mapped_column(Integer, default=0)
    access_token_trusted_ips: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class IdentityTokenAuth(Base, Timestamped, AccessTokenPolicy):
    __tablename__ = "identity_token_auths"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), unique=True)


class IdentityOidcAuth(Base, Timestamped, AccessTokenPolicy):
    __tablename__ = "identity_oidc_auths"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), unique=True)
    oidc_discovery_url: Mapped[str] = mapped_column(Text)
    # A CA certificate is public material; it is stored as given.
    ca_cert: Mapped[str] = mapped_column(Text, default="")
    bound_issuer: Mapped[str] = mapped_column(Text)
    bound_audiences: Mapped[str] = mapped_column(Text, default="")
    bound_claims: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    claim_metadata_mapping: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    bound_subject: Mapped[str] = mapped_column(Text, default="")


class IdentityAccessToken(Base, Timestamped):
    """An issued access token. Only a SHA-256 of the token string is kept: a database leak grants nothing."""

    __tablename__ = "identity_access_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    auth_method: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    access_token_ttl: Mapped[int] = mapped_column(Integer)
    access_token_max_ttl: Mapped[int] = mapped_column(Integer)
    access_token_num_uses: Mapped[int] = mapped_column(Integer, default=0)
    access_token_num_uses_limit: Mapped[int] = mapped_column(Integer, default=0)
    access_token_last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    access_token_last_renewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    is_revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_identity_access_tokens_identity_method", "identity_id", "auth_method"),
        Index("ix_identity_access_tokens_expires_at", "expires_at"),
    )
