"""database guards: no overlapping primary employments, append-only history

Revision ID: a1c0guards001
Revises: 39bfbd14a621
Create Date: 2026-11-22 00:31:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a1c0guards001"
down_revision: str | None = "39bfbd14a621"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = (
    "txn", "change", "person_version", "employment", "position", "membership", "qualification",
    "org_unit_version", "org_unit_parent", "statistic", "title_standard", "indicator_definition",
    "access_log",
)

SQLITE_OVERLAP = """
CREATE TRIGGER employment_primary_no_overlap BEFORE INSERT ON employment
WHEN NEW.is_primary AND NEW.sys_to IS NULL
BEGIN
  SELECT RAISE(ABORT, 'overlapping primary employment')
  WHERE EXISTS (
    SELECT 1 FROM employment e
    WHERE e.person_id = NEW.person_id AND e.is_primary AND e.sys_to IS NULL
      AND e.start_date <= COALESCE(NEW.end_date, '9999-12-31')
      AND NEW.start_date <= COALESCE(e.end_date, '9999-12-31'));
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE employment ADD CONSTRAINT ex_employment_primary_overlap EXCLUDE USING gist "
            "(person_id WITH =, daterange(start_date, end_date, '[]') WITH &&) "
            "WHERE (is_primary AND sys_to IS NULL)"
        )
        op.execute(
            "CREATE FUNCTION registry_forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'history is append-only: no DELETE on %', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f'CREATE TRIGGER {table}_no_delete BEFORE DELETE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION registry_forbid_delete()"
            )
    else:
        op.execute(SQLITE_OVERLAP)
        for table in APPEND_ONLY:
            op.execute(
                f'CREATE TRIGGER {table}_no_delete BEFORE DELETE ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, 'history is append-only: no DELETE on {table}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_delete ON "{table}"')
        op.execute("DROP FUNCTION IF EXISTS registry_forbid_delete()")
        op.execute("ALTER TABLE employment DROP CONSTRAINT IF EXISTS ex_employment_primary_overlap")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute("DROP TRIGGER IF EXISTS employment_primary_no_overlap")
