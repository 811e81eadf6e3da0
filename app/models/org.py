"""Org units: identity, effective-dated attribute versions and effective-dated parent links."""

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SysVersioned, current_index

CURRENT = text("sys_to IS NULL")


class OrgUnit(Base):
    """A node of the organisation tree; `code` is unique and never reused."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    rev: Mapped[int] = mapped_column(Integer, default=1)


class OrgUnitVersion(SysVersioned, Base):
    """The attributes of an org unit as recorded from one transaction to another."""

    __tablename__ = "org_unit_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    name_search: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    tier: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str] = mapped_column(String(20))
    ethnic_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # a planning pool (kind planning_pool) is for a title: the unit and the leadership rank, over a term of dates
    pool_for_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    pool_rank: Mapped[str | None] = mapped_column(String(40))
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        Index("uq_org_unit_version_current", "org_unit_id", unique=True,
              sqlite_where=CURRENT, postgresql_where=CURRENT),
    )


class OrgUnitParent(SysVersioned, Base):
    """`parent_id` is the parent of `org_unit_id` from `start_date` to `end_date` (inclusive)."""

    __tablename__ = "org_unit_parent"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="date_range"),
        CheckConstraint("parent_id <> org_unit_id", name="not_own_parent"),
        current_index("ix_org_unit_parent_current_unit", "org_unit_id"),
        current_index("ix_org_unit_parent_current_parent", "parent_id"),
    )


class OrgUnitSuccessor(SysVersioned, Base):
    """`successor_id` continues the closed unit `org_unit_id` from the day after its `valid_to`."""

    __tablename__ = "org_unit_successor"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    successor_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))

    __table_args__ = (
        CheckConstraint("successor_id <> org_unit_id", name="not_own_successor"),
        current_index("ix_org_unit_successor_current_unit", "org_unit_id"),
        current_index("ix_org_unit_successor_current_successor", "successor_id"),
    )


class OrgUnitLanguage(SysVersioned, Base):
    """An ethnic-minority language of the unit's area (ISO 639, lower case), inherited by its sub-units."""

    __tablename__ = "org_unit_language"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    language: Mapped[str] = mapped_column(String(16))

    __table_args__ = (current_index("ix_org_unit_language_current_unit", "org_unit_id"),)
