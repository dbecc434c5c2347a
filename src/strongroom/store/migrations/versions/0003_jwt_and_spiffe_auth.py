"""jwt and spiffe auth

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 00:02:31.891325
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op




revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_jwt_auths',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('configuration_type', sa.String(length=16), nullable=False),
    sa.Column('jwks_url', sa.Text(), nullable=False),
    sa.Column('jwks_ca_cert', sa.Text(), nullable=False),
    sa.Column('public_keys', sa.JSON(), nullable=False),
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
    op.create_table('identity_spiffe_auths',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('trust_domain', sa.String(length=255), nullable=False),
    sa.Column('allowed_spiffe_ids', sa.Text(), nullable=False),
    sa.Column('allowed_audiences', sa.Text(), nullable=False),
    sa.Column('bundle_profile', sa.String(length=32), nullable=False),
    sa.Column('bundle', sa.Text(), nullable=False),
    sa.Column('endpoint_url', sa.Text(), nullable=False),
    sa.Column('ca_cert', sa.Text(), nullable=False),
    sa.Column('refresh_hint_seconds', sa.Integer(), nullable=False),
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
    op.drop_table('identity_spiffe_auths')
    op.drop_table('identity_jwt_auths')
