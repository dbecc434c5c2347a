"""SQLAlchemy models. The schema itself is owned by the Alembic migrations beside this file."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, TypeDecorator, text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    return str(uuid.uuid4())


_UUID7_CLEARED = ~(0xF << 76) & ~(0x3 << 62)
_UUID7_MARKS = 0x7 << 76 | 0x2 << 62  # version 7, RFC 9562 variant


def new_time_ordered_id() -> str:
    """A UUID laid out as version 7 (48 bits of Unix milliseconds, then 74 random bits), for rows
    inserted at a high rate (access tokens): ids made one after another sort together, so each
    insert lands at one end of the primary-key index, in a page already in memory, instead of on a
    random page of an index that grows with the table."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    digits = f"{value & _UUID7_CLEARED | _UUID7_MARKS:032x}"
    # uuid.UUID's canonical text, without building the object (one per login).
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


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
    # Loaded when first used: a login reads only its own method's configuration.
    metadata_items: Mapped[list["IdentityMetadata"]] = relationship(
        cascade="all, delete-orphan", order_by="IdentityMetadata.created_at", lazy="select"
    )
    token_auth: Mapped["IdentityTokenAuth | None"] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="select"
    )
    oidc_auth: Mapped["IdentityOidcAuth | None"] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="select"
    )
    jwt_auth: Mapped["IdentityJwtAuth | None"] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="select"
    )
    spiffe_auth: Mapped["IdentitySpiffeAuth | None"] = relationship(
        cascade="all, delete-orphan", uselist=False, lazy="select"
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


class IdentityJwtAuth(Base, Timestamped, AccessTokenPolicy):
    __tablename__ = "identity_jwt_auths"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), unique=True)
    configuration_type: Mapped[str] = mapped_column(String(16))  # "jwks" or "static"
    jwks_url: Mapped[str] = mapped_column(Text, default="")
    jwks_ca_cert: Mapped[str] = mapped_column(Text, default="")
    public_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    bound_issuer: Mapped[str] = mapped_column(Text, default="")
    bound_audiences: Mapped[str] = mapped_column(Text, default="")
    bound_claims: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    claim_metadata_mapping: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    bound_subject: Mapped[str] = mapped_column(Text, default="")


class IdentitySpiffeAuth(Base, Timestamped, AccessTokenPolicy):
    __tablename__ = "identity_spiffe_auths"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), unique=True)
    trust_domain: Mapped[str] = mapped_column(String(255))
    allowed_spiffe_ids: Mapped[str] = mapped_column(Text)
    allowed_audiences: Mapped[str] = mapped_column(Text)
    bundle_profile: Mapped[str] = mapped_column(String(32))  # "static" or "https_web_bundle"
    bundle: Mapped[str] = mapped_column(Text, default="")
    endpoint_url: Mapped[str] = mapped_column(Text, default="")
    ca_cert: Mapped[str] = mapped_column(Text, default="")
    refresh_hint_seconds: Mapped[int] = mapped_column(Integer, default=3600)


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
        # For the background cleanup (strongroom.store.cleanup): revoked records by age.
        Index(
            "ix_identity_access_tokens_revoked_updated_at", "updated_at",
            postgresql_where=text("is_revoked"), sqlite_where=text("is_revoked = 1"),
        ),
    )


class ReadGeneration(Base):
    """One row (id 1): a counter that database triggers move on every change to what secret reads show.

    See migration 0005 (the triggers) and ``strongroom.secrets.rendered`` (its use).
    """

    __tablename__ = "read_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class AccessGeneration(Base):
    """One row (id 1): a counter that database triggers move on every change to who may do what.

    See migration 0006 (the triggers) and ``strongroom.store.generations`` (its use).
    """

    __tablename__ = "access_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class RootKeyCheck(Base):
    """One row (id 1): a value derived from the root key the database was first used with.

    A replica started with another root key would sign tokens the others refuse
    and seal secrets nobody else can open; it refuses to start instead.
    """

    __tablename__ = "root_key_check"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_value: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# -- projects, environments, folders, project memberships -------------------------


class Project(Base, Timestamped):
    """A project (Infisical's "workspace"): environments of folders of secrets, shared by its members."""

    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    type: Mapped[str] = mapped_column(String(32), default="secret-manager")
    auto_capitalization: Mapped[bool] = mapped_column(Boolean, default=False)
    has_delete_protection: Mapped[bool] = mapped_column(Boolean, default=False)

    environments: Mapped[list["ProjectEnvironment"]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectEnvironment.position", lazy="selectin",
        back_populates="project",
    )

    __table_args__ = (Index("uq_projects_org_slug", "org_id", "slug", unique=True),)


class ProjectEnvironment(Base, Timestamped):
    __tablename__ = "project_environments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)

    project: Mapped[Project] = relationship(back_populates="environments")

    __table_args__ = (Index("uq_project_environments_project_slug", "project_id", "slug", unique=True),)


class SecretFolder(Base, Timestamped):
    """A folder of an environment. Each environment has one root (no parent, name ``root``, path ``/``)."""

    __tablename__ = "secret_folders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    env_id: Mapped[str] = mapped_column(ForeignKey("project_environments.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("secret_folders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("uq_secret_folders_env_parent_name", "env_id", "parent_id", "name", unique=True),)


class IdentityProjectMembership(Base, Timestamped):
    __tablename__ = "identity_project_memberships"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), index=True)

    roles: Mapped[list["IdentityProjectMembershipRole"]] = relationship(
        cascade="all, delete-orphan", order_by="IdentityProjectMembershipRole.created_at", lazy="selectin"
    )

    __table_args__ = (
        Index("uq_identity_project_memberships_project_identity", "project_id", "identity_id", unique=True),
    )


class IdentityProjectMembershipRole(Base, Timestamped):
    """One role of a membership; a temporary one counts only between its start and end."""

    __tablename__ = "identity_project_membership_roles"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    membership_id: Mapped[str] = mapped_column(
        ForeignKey("identity_project_memberships.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(64))
    is_temporary: Mapped[bool] = mapped_column(Boolean, default=False)
    temporary_mode: Mapped[str | None] = mapped_column(String(32), nullable=True)
    temporary_range: Mapped[str | None] = mapped_column(String(64), nullable=True)
    temporary_access_start_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    temporary_access_end_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# -- secrets ------------------------------------------------------------------------


class Secret(Base, Timestamped):
    """A secret's current version. Value and comment are sealed (AES-256-GCM), never stored in the clear."""

    __tablename__ = "secrets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    folder_id: Mapped[str] = mapped_column(ForeignKey("secret_folders.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="shared")
    version: Mapped[int] = mapped_column(Integer, default=1)
    sealed_value: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_comment: Mapped[bytes] = mapped_column(LargeBinary)
    skip_multiline_encoding: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reminder_repeat_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Labels such as {"key": "team", "value": "payments"}; not secret (encrypted metadata is refused).
    secret_metadata: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("uq_secrets_folder_key_type", "folder_id", "key", "type", unique=True),)


class SecretVersion(Base):
    """Every version a secret has had, the current one included, sealed like the secret itself."""

    __tablename__ = "secret_versions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    secret_id: Mapped[str] = mapped_column(ForeignKey("secrets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255))
    sealed_value: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_comment: Mapped[bytes] = mapped_column(LargeBinary)
    skip_multiline_encoding: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reminder_repeat_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    secret_metadata: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("uq_secret_versions_secret_version", "secret_id", "version", unique=True),)


class SecretImport(Base, Timestamped):
    """Folder ``folder_id`` sees the secrets of ``import_path`` in environment ``import_env_id``."""

    __tablename__ = "secret_imports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    folder_id: Mapped[str] = mapped_column(ForeignKey("secret_folders.id", ondelete="CASCADE"), index=True)
    import_env_id: Mapped[str] = mapped_column(ForeignKey("project_environments.id", ondelete="CASCADE"))
    import_path: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
