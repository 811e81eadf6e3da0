"""Persons: identity, attribute versions, employments, positions, memberships, qualifications, career events."""

from datetime import date

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SysVersioned, current_index

CURRENT = text("sys_to IS NULL")
DATE_RANGE = "end_date IS NULL OR end_date >= start_date"


class Person(Base):
    """A person, identified across systems by `external_id`; `rev` backs the ETag."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    rev: Mapped[int] = mapped_column(Integer, default=1)


class PersonVersion(SysVersioned, Base):
    """A person's own attributes as recorded from one transaction to another."""

    __tablename__ = "person_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    ethnicity: Mapped[str | None] = mapped_column(String(4))
    national_id: Mapped[str | None] = mapped_column(String(20))
    party_member_since: Mapped[date | None] = mapped_column(Date)
    party_member_until: Mapped[date | None] = mapped_column(Date)  # last day of party membership
    general_education: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (
        Index("uq_person_version_current", "person_id", unique=True,
              sqlite_where=CURRENT, postgresql_where=CURRENT),
    )


class Employment(SysVersioned, Base):
    """An effective-dated employment in a unit (primary or concurrent)."""

    __tablename__ = "employment"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    occupation: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(Boolean)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (CheckConstraint(DATE_RANGE, name="date_range"),
                      current_index("ix_employment_current_person", "person_id"),
                      current_index("ix_employment_current_unit", "org_unit_id", "start_date"))


class Position(SysVersioned, Base):
    """An effective-dated leadership position in a unit."""

    __tablename__ = "position"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    rank: Mapped[str] = mapped_column(String(40))
    key_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (CheckConstraint(DATE_RANGE, name="date_range"),
                      current_index("ix_position_current_person", "person_id"),
                      current_index("ix_position_current_unit", "org_unit_id"))


class Membership(SysVersioned, Base):
    """An effective-dated seat in a body (committee, council, management list, planning pool)."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (CheckConstraint(DATE_RANGE, name="date_range"),
                      current_index("ix_membership_current_person", "person_id"),
                      current_index("ix_membership_current_body", "body_id"))


class Qualification(SysVersioned, Base):
    """A dated qualification of one kind (degree, language, political theory, ...).

    `code` holds the coded level of the kind (degree level, political-theory level, specialist
    level, academic title, IT skill); `level_num` the foreign-language level 1-6.
    """

    __tablename__ = "qualification"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    code: Mapped[str | None] = mapped_column(String(40))
    level_num: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(8))
    language_kind: Mapped[str | None] = mapped_column(String(20))
    is_fluent: Mapped[bool | None] = mapped_column(Boolean)
    field: Mapped[str | None] = mapped_column(String(200))
    institution: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    certificate: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[str | None] = mapped_column(String(20))  # a language certificate's score as on the paper
    is_equivalent: Mapped[bool | None] = mapped_column(Boolean)  # political theory held by a certificate of equivalence
    course: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[int | None] = mapped_column(Integer)
    awarded_on: Mapped[date] = mapped_column(Date)
    # awarded by the completed enrolment of this person in the course of this code (None: recorded on the person)
    from_course: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_qualification_person_kind", "person_id", "kind"),
        current_index("ix_qualification_current_person_kind", "person_id", "kind"),
        CheckConstraint("level_num IS NULL OR (level_num BETWEEN 1 AND 6)", name="level_range"),
    )


class Separation(SysVersioned, Base):
    """A dated separation (retirement, resignation, transfer out, dismissal, death).

    Every employment, position and seat in force on `on_date` ends that day: the write path
    (`persons.canonical`) closes them, so the stored assignments already say so.
    """

    __tablename__ = "separation"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    on_date: Mapped[date] = mapped_column(Date)

    __table_args__ = (current_index("ix_separation_current_person", "person_id"),)


class Discipline(SysVersioned, Base):
    """A disciplinary measure (form from the code list `discipline_form`) in force from `start_date` to `end_date`."""

    __tablename__ = "discipline"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    form: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (CheckConstraint(DATE_RANGE, name="date_range"),
                      current_index("ix_discipline_current_person", "person_id"))
