"""a planning pool's title and term (planning.md 'Planning pools'): four nullable columns on org_unit_version

`pool_for_id` and `pool_rank` name the title (the unit and the leadership rank), `term_start` and `term_end`
the term as dates. Added in place (ALTER TABLE ... ADD COLUMN) on both engines: a batch rebuild of the
table on SQLite would drop its append-only trigger (2026-11-22-0031_history_guards).

Revision ID: 5e2b7c0d9a14
Revises: bf9acedb9bc7
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5e2b7c0d9a14'
down_revision: str | None = 'bf9acedb9bc7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_org_unit_version_pool_for_id_org_unit"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("org_unit_version", sa.Column("pool_for_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "org_unit_version", "org_unit", ["pool_for_id"], ["id"])
    else:  # SQLite adds a column with its reference in place (a named column constraint)
        op.execute(f"ALTER TABLE org_unit_version ADD COLUMN pool_for_id INTEGER CONSTRAINT {FK} REFERENCES org_unit (id)")
    op.add_column("org_unit_version", sa.Column("pool_rank", sa.String(length=40), nullable=True))
    op.add_column("org_unit_version", sa.Column("term_start", sa.Date(), nullable=True))
    op.add_column("org_unit_version", sa.Column("term_end", sa.Date(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FK, "org_unit_version", type_="foreignkey")
    for column in ("term_end", "term_start", "pool_rank", "pool_for_id"):
        op.drop_column("org_unit_version", column)  # SQLite >= 3.35 drops a column in place
