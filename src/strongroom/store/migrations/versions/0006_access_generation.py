"""access generation: one counter that every change to who may do what moves forward

Revision ID: 0006
Revises: 0005

The token check and the project access decision are reused while this
counter stands still (``strongroom.store.generations``). As for the read
generation (0005), database triggers move it, in the transaction of the
change, so no write path can revoke a token, change a trusted-IP list, a
membership or a role without every replica seeing it on its next request.

Only the columns those decisions read are watched: spending a token's use,
its last-used time and an identity's last login are written all the time and
decide nothing, so they leave the counter alone. New token records do not
move it either: nothing kept can depend on a record that did not exist.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ALL_COLUMNS = None
_AUTH_METHOD_COLUMNS = ("id", "identity_id", "access_token_trusted_ips")

# table -> (watch inserts, the columns whose updates count (None: any column))
WATCHED: dict[str, tuple[bool, tuple[str, ...] | None]] = {
    "identity_access_tokens": (
        False,
        ("id", "identity_id", "auth_method", "token_hash", "is_revoked", "expires_at", "access_token_num_uses_limit"),
    ),
    "identity_org_memberships": (True, ("id", "identity_id", "org_id", "role")),
    "identity_token_auths": (True, _AUTH_METHOD_COLUMNS),
    "identity_oidc_auths": (True, _AUTH_METHOD_COLUMNS),
    "identity_jwt_auths": (True, _AUTH_METHOD_COLUMNS),
    "identity_spiffe_auths": (True, _AUTH_METHOD_COLUMNS),
    "projects": (True, _ALL_COLUMNS),
    "identity_project_memberships": (True, _ALL_COLUMNS),
    "identity_project_membership_roles": (True, _ALL_COLUMNS),
}
_BUMP = "UPDATE access_generation SET value = value + 1 WHERE id = 1"
_PG_FUNCTION = "strongroom_bump_access_generation"


def _update_event(columns: tuple[str, ...] | None) -> str:
    return "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"


def upgrade() -> None:
    op.create_table(
        "access_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO access_generation (id, value) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        for table, (inserts, columns) in WATCHED.items():
            events = ([_update_event(columns), "DELETE", "TRUNCATE"]) + (["INSERT"] if inserts else [])
            # Once per statement, not per row: revoking all of a method's tokens moves the counter once.
            # Named to sort after read_generation_<table>: PostgreSQL fires one event's triggers in name
            # order, so a write to projects takes the read counter's row lock, then this one's, the
            # order every other transaction takes them in (secrets and environments, then memberships):
            # two transactions never wait on each other's counter.
            op.execute(
                f"CREATE TRIGGER watch_access_{table} AFTER {' OR '.join(events)} ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
    else:
        for table, (inserts, columns) in WATCHED.items():
            events = {"update": _update_event(columns), "delete": "DELETE"} | ({"insert": "INSERT"} if inserts else {})
            for name, event in events.items():
                op.execute(f"CREATE TRIGGER watch_access_{table}_{name} AFTER {event} ON {table} BEGIN {_BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER watch_access_{table} ON {table}")
        op.execute(f"DROP FUNCTION {_PG_FUNCTION}()")
    else:
        for table, (inserts, _columns) in WATCHED.items():
            for name in ("update", "delete") + (("insert",) if inserts else ()):
                op.execute(f"DROP TRIGGER watch_access_{table}_{name}")
    op.drop_table("access_generation")
