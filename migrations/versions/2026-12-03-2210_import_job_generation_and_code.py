"""import jobs: the lease's generation (fences a runner that lost its lease) and a failure code

Revision ID: 7c1e0a9f4b21
Revises: c4f1secflag01
Create Date: 2026-12-03 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c1e0a9f4b21'
down_revision: str | None = 'c4f1secflag01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('generation', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_column('generation')
        batch_op.drop_column('code')
