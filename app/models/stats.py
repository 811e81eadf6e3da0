"""Reported statistics, title standards and indicator definitions: data, versioned."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SysVersioned, UTCDateTime, current_index

CURRENT = text("sys_to IS NULL")


class Statistic(SysVersioned, Base):
    """A figure not about registered persons (population of an area, ...) for a unit and period."""

    __tablename__ = "statistic"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(30))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        Index("uq_statistic_current", "code", "org_unit_id", "period", unique=True,
              sqlite_where=CURRENT, postgresql_where=CURRENT),
        CheckConstraint("period_end >= period_start", name="period_range"),
        current_index("ix_statistic_current_unit_code", "org_unit_id", "code", "period_start"),
    )


class TitleStandard(SysVersioned, Base):
    """Minimum qualifications for a leadership rank, an occupation or a category, effective-dated."""

    __tablename__ = "title_standard"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(20))  # rank | occupation | category
    subject_code: Mapped[str] = mapped_column(String(40))
    min_degree: Mapped[str | None] = mapped_column(String(40))
    min_political_theory: Mapped[str | None] = mapped_column(String(40))
    min_state_management: Mapped[str | None] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("subject IN ('rank', 'occupation', 'category')", name="subject_kind"),
    )


class IndicatorDefinition(SysVersioned, Base):
    """One published version of an indicator definition; a new meaning is a new version."""

    __tablename__ = "indicator_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("uq_indicator_definition_current", "code", unique=True,
              sqlite_where=CURRENT, postgresql_where=CURRENT),
        Index("uq_indicator_definition_version", "code", "version", unique=True),
    )


class IndicatorRun(Base):
    """A published run: the values of a resolution's indicators for a unit and date, frozen for audit."""

    __tablename__ = "indicator_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc: Mapped[str] = mapped_column(String(40))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    data_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
