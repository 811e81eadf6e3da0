"""Training records (planning.md, 'Training'): courses, enrolments, annual training plans; transaction-time history."""

from datetime import date
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SysVersioned, current_index

CURRENT = text("sys_to IS NULL")


class Course(SysVersioned, Base):
    """A course (khóa, lớp đào tạo, bồi dưỡng), keyed by `code`; `org_unit` places it in the scope of tokens.

    `awards` is the qualification it leads to, as an interchange item under its list name
    (`{"political_theory": {"level": "cao_cap"}}`), or None.
    """

    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str | None] = mapped_column(String(300))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    hours: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(2))
    cost_per_person: Mapped[int | None] = mapped_column(BigInteger)
    funding: Mapped[str | None] = mapped_column(String(40))
    awards: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("uq_course_current", "code", unique=True, sqlite_where=CURRENT, postgresql_where=CURRENT),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="date_range"),
        current_index("ix_course_current_unit", "org_unit_id"),
    )


class Enrolment(SysVersioned, Base):
    """A person sent to a course (cử đi đào tạo, bồi dưỡng), keyed by (person, course code).

    The course is named by its code, as in the interchange record: an enrolment survives a new
    version of its course, and a completed one awards what the course's current version awards.
    """

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    course: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date | None] = mapped_column(Date)
    expected_completion: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    decision: Mapped[str | None] = mapped_column(String(100))
    cost: Mapped[int | None] = mapped_column(BigInteger)
    commitment_until: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("uq_enrolment_current", "person_id", "course", unique=True, sqlite_where=CURRENT,
              postgresql_where=CURRENT),
        current_index("ix_enrolment_current_course", "course"),
        CheckConstraint("status <> 'completed' OR completed_on IS NOT NULL", name="completed_needs_date"),
        CheckConstraint("completed_on IS NULL OR start_date IS NULL OR completed_on >= start_date",
                        name="completed_after_start"),
    )


class TrainingPlan(SysVersioned, Base):
    """A unit's annual training plan (kế hoạch đào tạo, bồi dưỡng hằng năm), keyed by (org unit, year).

    `lines` as the record gives them: [{"kind", "awards", "seats", "budget"}], `awards` the level a line's
    courses lead to as an interchange item (or None); the plan is versioned as a whole.
    """

    __tablename__ = "training_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    __table_args__ = (
        Index("uq_training_plan_current", "org_unit_id", "year", unique=True, sqlite_where=CURRENT,
              postgresql_where=CURRENT),
    )
