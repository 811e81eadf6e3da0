"""audit log: hash chain on the change feed and the access log; index for change lookups by key

Revision ID: b2d1audit002
Revises: d07ecd60b2a1
Create Date: 2026-11-22 01:00:00
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "b2d1audit002"
down_revision: str | None = "d07ecd60b2a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def _digest(prev: str, content: dict) -> str:
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


def _at(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def upgrade() -> None:
    for table in ("change", "access_log"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
            batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    op.create_index("ix_change_entity_key_seq", "change", ["entity", "key", "seq"])
    _backfill()


def _backfill() -> None:
    """Seal the rows written before this revision, in order (the same formula as app/services/audit.py)."""
    conn = op.get_bind()
    prev = GENESIS
    rows = conn.execute(sa.text(
        'SELECT c.seq, c.txn_id, t.at, t.actor, t.source, t.request_id, c.entity, c."key", c.op, c.record '
        'FROM "change" c JOIN txn t ON t.id = c.txn_id ORDER BY c.seq')).all()
    for r in rows:
        record = json.loads(r.record) if isinstance(r.record, str) else r.record
        content = {"seq": r.seq, "txn": r.txn_id, "at": _at(r.at), "actor": r.actor, "source": r.source,
                   "request_id": r.request_id, "entity": r.entity, "key": r.key, "op": r.op, "record": record}
        digest = _digest(prev, content)
        conn.execute(sa.text('UPDATE "change" SET prev_hash = :p, hash = :h WHERE seq = :s'), {"p": prev, "h": digest, "s": r.seq})
        prev = digest
    prev = GENESIS
    for r in conn.execute(sa.text("SELECT id, at, actor, request_id, person_id, fields, action, detail FROM access_log "
                                  "ORDER BY id")).all():
        content = {"id": r.id, "at": _at(r.at), "actor": r.actor, "request_id": r.request_id, "person_id": r.person_id,
                   "fields": r.fields, "action": r.action, "detail": r.detail}
        digest = _digest(prev, content)
        conn.execute(sa.text("UPDATE access_log SET prev_hash = :p, hash = :h WHERE id = :i"), {"p": prev, "h": digest, "i": r.id})
        prev = digest


def downgrade() -> None:
    op.drop_index("ix_change_entity_key_seq", table_name="change")
    for table in ("change", "access_log"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("hash")
            batch.drop_column("prev_hash")
