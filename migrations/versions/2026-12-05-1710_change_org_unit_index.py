"""the tree's version in one index row: a partial index on the org-unit changes' seq

A scoped caller's reach is cached per tree version (app/services/tree.py `reach`): the seq and hash of
the last `org_unit` change, read on every scoped request from this index.

Revision ID: 8b4d6f2a1c39
Revises: 7a3c5e1f0b28
Create Date: 2026-12-05 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b4d6f2a1c39"
down_revision: str | None = "7a3c5e1f0b28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_change_org_unit_seq", "change", ["seq"], postgresql_where=sa.text("entity = 'org_unit'"),
                    sqlite_where=sa.text("entity = 'org_unit'"))


def downgrade() -> None:
    op.drop_index("ix_change_org_unit_seq", table_name="change")
