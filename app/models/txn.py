"""Transactions (who wrote, when, through which request), the change feed and the access log."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class Txn(Base):
    """One write transaction; its id orders every write (ids are handed out in commit order)."""

    __tablename__ = "txn"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))


class Change(Base):
    """One write of one record, with the record as it stood after the write (interchange form)."""

    __tablename__ = "change"

    seq: Mapped[int] = mapped_column(primary_key=True)
    txn_id: Mapped[int] = mapped_column(ForeignKey("txn.id"), index=True)
    entity: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    op: Mapped[str] = mapped_column(String(20))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_change_entity_key_seq", "entity", "key", "seq"),
        # the tree's version (app/services/tree.py `version`): the last org-unit change in one index row
        Index("ix_change_org_unit_seq", "seq", postgresql_where=text("entity = 'org_unit'"),
              sqlite_where=text("entity = 'org_unit'")),
    )


class ChangeUnit(Base):
    """The org units a change concerns, for scoping the feed by a token's units."""

    __tablename__ = "change_unit"

    change_seq: Mapped[int] = mapped_column(ForeignKey("change.seq"), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)

    __table_args__ = (Index("ix_change_unit_org_unit_seq", "org_unit_id", "change_seq"),)


class AccessLog(Base):
    """Every read of a named person's sensitive fields: who, when, which person, which fields."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    fields: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    prev_hash: Mapped[str] = mapped_column(String(64))  # "" until sealed
    hash: Mapped[str] = mapped_column(String(64))  # "" until sealed
    # the entry's place in the chain, given when it is sealed (app/services/audit.py `seal`); NULL: not sealed yet
    seq: Mapped[int | None] = mapped_column()

    __table_args__ = (
        Index("ux_access_log_seq", "seq", unique=True),
        Index("ix_access_log_unsealed", "id", postgresql_where=text("seq IS NULL"), sqlite_where=text("seq IS NULL")),
    )
