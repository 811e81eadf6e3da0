"""security flags kept in the database (the bootstrap token disabled), so every app server obeys them;
idempotency records of the old kind dropped (they were keyed by the raw credential and held token secrets in clear)

Revision ID: c4f1secflag01
Revises: f37ddc332980
Create Date: 2026-12-03 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4f1secflag01"
down_revision: str | None = "f37ddc332980"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "security_flag",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_security_flag")),
    )
    # Keyed by a hash of the Authorization header, no retry can match them any more; and an answer of
    # POST /tokens among them holds the new token's secret in clear.
    op.execute("DELETE FROM idempotency_record")


def downgrade() -> None:
    op.drop_table("security_flag")
