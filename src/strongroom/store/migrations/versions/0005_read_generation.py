"""read generation: one counter that every change to what secret reads show moves forward

Revision ID: 0005
Revises: 0004

Rendered secret reads are reused while this counter stands still
(``strongroom.secrets.rendered``). Database triggers move it, not the code
that writes, so no write path (ORM, Core statement, cascade, a later
feature, an operator's SQL) can change secrets without invalidating them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Every table whose rows a secret read shows or follows (values, versions, folders, imports,
# environments, projects). Memberships and roles are not here: they are checked on every request.
WATCHED_TABLES = ("secrets", "secret_versions", "secret_folders", "secret_imports", "project_environments", "projects")
_BUMP = "UPDATE read_generation SET value = value + 1 WHERE id = 1"
_PG_FUNCTION = "strongroom_bump_read_generation"


def upgrade() -> None:
    op.create_table(
        "read_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO read_generation (id, value) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table in WATCHED_TABLES:
            # Once per statement, not per row: a batch of 100 secrets moves the counter once.
            op.execute(
                f"CREATE TRIGGER read_generation_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
    else:
        for table in WATCHED_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER read_generation_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"BEGIN {_BUMP}; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED_TABLES:
            op.execute(f"DROP TRIGGER read_generation_{table} ON {table}")
        op.execute(f"DROP FUNCTION {_PG_FUNCTION}()")
    else:
        for table in WATCHED_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER read_generation_{table}_{event}")
    op.drop_table("read_generation")
