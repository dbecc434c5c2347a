"""identities, auth methods and access tokens

Revision ID: 0001
Revises:
Create Date: 2026-11-25 23:40:06.240709
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organizations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('server_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initialized', sa.Boolean(), nullable=False),
    sa.Column('admin_identity_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('username', sa.String(length=320), nullable=False),
    sa.Column('first_name', sa.String(length=255), nullable=False),
    sa.Column('last_name', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('super_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    sa.UniqueConstraint('username')
    )
    op.create_table('identities',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('has_delete_protection', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identities_org_id'), ['org_id'], unique=False)

    op.create_table('org_user_memberships',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('org_user_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_user_memberships_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_user_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('identity_access_tokens',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('auth_method', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('access_token_ttl', sa.Integer(), nullable=False),
    sa.Column('access_token_max_ttl', sa.Integer(), nullable=False),
    sa.Column('access_token_num_uses', sa.Integer(), nullable=False),
    sa.Column('access_token_num_uses_limit', sa.Integer(), nullable=False),
    sa.Column('access_token_last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('access_token_last_renewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_revoked', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('identity_access_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_identity_access_tokens_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_identity_access_tokens_identity_method', ['identity_id', 'auth_method'], unique=False)

    op.create_table('identity_metadata',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('identity_metadata', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_metadata_identity_id'), ['identity_id'], unique=False)

    op.create_table('identity_oidc_auths',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('oidc_discovery_url', sa.Text(), nullable=False),
    sa.Column('ca_cert', sa.Text(), nullable=False),
    sa.Column('bound_issuer', sa.Text(), nullable=False),
    sa.Column('bound_audiences', sa.Text(), nullable=False),
    sa.Column('bound_claims', sa.JSON(), nullable=False),
    sa.Column('claim_metadata_mapping', sa.JSON(), nullable=True),
    sa.Column('bound_subject', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('access_token_ttl', sa.Integer(), nullable=False),
    sa.Column('access_token_max_ttl', sa.Integer(), nullable=False),
    sa.Column('access_token_num_uses_limit', sa.Integer(), nullable=False),
    sa.Column('access_token_trusted_ips', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identity_id')
    )
    op.create_table('identity_org_memberships',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('last_login_auth_method', sa.String(length=64), nullable=True),
    sa.Column('last_login_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identity_id')
    )
    with op.batch_alter_table('identity_org_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_org_memberships_org_id'), ['org_id'], unique=False)

    op.create_table('identity_token_auths',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('access_token_ttl', sa.Integer(), nullable=False),
    sa.Column('access_token_max_ttl', sa.Integer(), nullable=False),
    sa.Column('access_token_num_uses_limit', sa.Integer(), nullable=False),
    sa.Column('access_token_trusted_ips', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identity_id')
    )


def downgrade() -> None:
    op.drop_table('identity_token_auths')
    with op.batch_alter_table('identity_org_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_org_memberships_org_id'))

    op.drop_table('identity_org_memberships')
    op.drop_table('identity_oidc_auths')
    with op.batch_alter_table('identity_metadata', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_metadata_identity_id'))

    op.drop_table('identity_metadata')
    with op.batch_alter_table('identity_access_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_access_tokens_identity_method')
        batch_op.drop_index('ix_identity_access_tokens_expires_at')

    op.drop_table('identity_access_tokens')
    with op.batch_alter_table('org_user_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_user_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_org_user_memberships_org_id'))

    op.drop_table('org_user_memberships')
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identities_org_id'))

    op.drop_table('identities')
    op.drop_table('users')
    op.drop_table('server_config')
    op.drop_table('organizations')
