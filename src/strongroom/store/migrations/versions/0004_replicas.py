"""replicas: an index for the token cleanup, and the root key's check value

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The cleanup finds revoked records by age; live tokens (nearly all rows) stay out of this index.
    op.create_index(
        "ix_identity_access_tokens_revoked_updated_at",
        "identity_access_tokens",
        ["updated_at"],
        postgresql_where=sa.text("is_revoked"),
        sqlite_where=sa.text("is_revoked = 1"),
    )
    op.create_table(
        "root_key_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_value", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("root_key_check")
    op.drop_index("ix_identity_access_tokens_revoked_updated_at", table_name="identity_access_tokens")
