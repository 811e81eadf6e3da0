"""the access log sealed in batches: a chain position (`seq`) given when an entry is sealed

Readers append entries unsealed (`seq` NULL, empty hashes) without any lock; whoever holds the sealer's
lock at that moment (a reader that gets it without waiting, or the server's background sealer) chains
every unsealed entry in id order, giving each the next `seq` (app/services/audit.py `seal`). The chain
is walked by `seq`. Entries written before this revision were chained in id order: their `seq` is their
id. A partial index finds the unsealed entries. Added in place on both engines (a batch rebuild on
SQLite would drop the append-only trigger of 2026-11-22-0031_history_guards).

Revision ID: 7a3c5e1f0b28
Revises: 5e2b7c0d9a14
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a3c5e1f0b28"
down_revision: str | None = "5e2b7c0d9a14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("access_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.execute("UPDATE access_log SET seq = id")
    op.create_index("ux_access_log_seq", "access_log", ["seq"], unique=True)
    op.create_index("ix_access_log_unsealed", "access_log", ["id"], postgresql_where=sa.text("seq IS NULL"),
                    sqlite_where=sa.text("seq IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_access_log_unsealed", table_name="access_log")
    op.drop_index("ux_access_log_seq", table_name="access_log")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("access_log", "seq")
    else:
        op.execute("ALTER TABLE access_log DROP COLUMN seq")
