"""login settings watched whole: any change to a login method's settings moves the access generation

Revision ID: 0007
Revises: 0006

Every login reads its method's settings (discovery URL, bound issuer,
subject, audiences and claims, token lifetimes, trusted IPs …), and the
row it read is now kept under the access generation like the token check's
(``strongroom.auth.logins.method_config``). 0006 watched only the columns
the token check reads (``id``, ``identity_id``, ``access_token_trusted_ips``);
from here on an update of any column of the four method tables moves the
counter. Nothing writes these rows but an administrator changing a method.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

METHOD_TABLES = ("identity_token_auths", "identity_oidc_auths", "identity_jwt_auths", "identity_spiffe_auths")
_COLUMNS_WATCHED_BY_0006 = "id, identity_id, access_token_trusted_ips"
_PG_FUNCTION = "strongroom_bump_access_generation"  # made by 0006
_BUMP = "UPDATE access_generation SET value = value + 1 WHERE id = 1"


def _watch(update_event: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in METHOD_TABLES:
            # The same name as 0006's trigger: the order PostgreSQL fires triggers in stays as 0006 set it.
            op.execute(f"DROP TRIGGER watch_access_{table} ON {table}")
            op.execute(
                f"CREATE TRIGGER watch_access_{table} AFTER {update_event} OR DELETE OR TRUNCATE OR INSERT "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
    else:
        for table in METHOD_TABLES:
            op.execute(f"DROP TRIGGER watch_access_{table}_update")
            op.execute(f"CREATE TRIGGER watch_access_{table}_update AFTER {update_event} ON {table} BEGIN {_BUMP}; END")


def upgrade() -> None:
    _watch("UPDATE")


def downgrade() -> None:
    _watch(f"UPDATE OF {_COLUMNS_WATCHED_BY_0006}")
