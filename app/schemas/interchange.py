"""The interchange records of spec/interchange.md: org units, persons, reported statistics."""

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.schemas.common import AppSchema, Code, IsoDate, Text

OptText = Annotated[str, StringConstraints(strict=True, max_length=300)] | None
LanguageCode = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]{2,3}$")]
CountryCode = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{2}$")]
_PERIOD = re.compile(r"^(\d{4})$|^(\d{4}-\d{2}-\d{2})$|^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")


class Dated(AppSchema):
    start: IsoDate
    end: IsoDate | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> "Dated":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class ParentLink(Dated):
    code: Code


class OrgUnitRecord(AppSchema):
    code: Code
    name: Text
    kind: Code
    tier: Code
    sector: Code
    ethnic_contact: StrictBool = False
    valid_from: IsoDate
    valid_to: IsoDate | None = None
    parents: list[ParentLink] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid_range(self) -> "OrgUnitRecord":
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self


class EmploymentItem(Dated):
    org_unit: Code
    category: Code
    occupation: Code | None = None
    primary: StrictBool = True


class PositionItem(Dated):
    org_unit: Code
    title: OptText = None
    rank: Code
    key_leader: StrictBool = False


class MembershipItem(Dated):
    body: Code
    role: Code = "member"


class DegreeItem(AppSchema):
    level: Code
    field: OptText = None
    institution: OptText = None
    country: CountryCode | None = None
    awarded_on: IsoDate


class LanguageItem(AppSchema):
    language: LanguageCode
    kind: Literal["foreign", "ethnic_minority"]
    level: Annotated[StrictInt, Field(ge=1, le=6)] | None = None
    fluent: StrictBool | None = None
    certificate: OptText = None
    awarded_on: IsoDate

    @model_validator(mode="after")
    def _level_or_fluent(self) -> "LanguageItem":
        if self.kind == "foreign" and self.level is None:
            raise ValueError("a foreign language needs a level from 1 to 6")
        if self.kind == "foreign" and self.fluent is not None:
            raise ValueError("'fluent' applies to ethnic-minority languages; foreign ones have a level")
        if self.kind == "ethnic_minority" and self.fluent is None:
            raise ValueError("an ethnic-minority language needs 'fluent' (true or false)")
        if self.kind == "ethnic_minority" and self.level is not None:
            raise ValueError("'level' applies to foreign languages; ethnic-minority ones have 'fluent'")
        return self


class LevelItem(AppSchema):
    level: Code
    awarded_on: IsoDate


class SpecialtyItem(AppSchema):
    level: Code
    field: OptText = None
    awarded_on: IsoDate


class AcademicTitleItem(AppSchema):
    title: Code = Field(validation_alias="title")
    field: OptText = None
    awarded_on: IsoDate

    @model_validator(mode="before")
    @classmethod
    def _accept_level(cls, data: object) -> object:
        if isinstance(data, dict) and "level" in data and "title" not in data:
            data = {("title" if k == "level" else k): v for k, v in data.items()}
        return data


class ItSkillItem(AppSchema):
    level: Code
    certificate: OptText = None
    awarded_on: IsoDate


class TrainingItem(AppSchema):
    course: Text
    hours: Annotated[StrictInt, Field(ge=0, le=100000)] | None = None
    completed_on: IsoDate


PERSON_LISTS = (
    "employments", "positions", "memberships", "degrees", "languages", "political_theory",
    "state_management", "specialties", "academic_titles", "it_skills", "trainings",
)


class PersonFields(AppSchema):
    """The person's own attributes."""

    full_name: Text
    birth_date: IsoDate
    gender: Code
    ethnicity: Code | None = None
    national_id: Annotated[str, StringConstraints(strict=True, pattern=r"^(\d{9}|\d{12})$")] | None = None
    party_member_since: IsoDate | None = None
    general_education: Annotated[str, StringConstraints(strict=True, pattern=r"^\d{1,2}/(10|12)$")] | None = None

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth(cls, value: date) -> date:
        if value.year < 1900:
            raise ValueError(f"birth date {value} is before 1900")
        if value > date.today():
            raise ValueError(f"birth date {value} is in the future")
        return value


class PersonLists(AppSchema):
    employments: list[EmploymentItem] | None = None
    positions: list[PositionItem] | None = None
    memberships: list[MembershipItem] | None = None
    degrees: list[DegreeItem] | None = None
    languages: list[LanguageItem] | None = None
    political_theory: list[LevelItem] | None = None
    state_management: list[LevelItem] | None = None
    specialties: list[SpecialtyItem] | None = None
    academic_titles: list[AcademicTitleItem] | None = None
    it_skills: list[ItSkillItem] | None = None
    trainings: list[TrainingItem] | None = None


class PersonRecord(PersonFields, PersonLists):
    """A full person record: a missing list means 'none'."""

    external_id: Code


class PersonPatch(PersonLists):
    """A partial update: a missing field or list means 'no change'."""

    full_name: Text | None = None
    birth_date: IsoDate | None = None
    gender: Code | None = None
    ethnicity: Code | None = None
    national_id: Annotated[str, StringConstraints(strict=True, pattern=r"^(\d{9}|\d{12})$")] | None = None
    party_member_since: IsoDate | None = None
    general_education: Annotated[str, StringConstraints(strict=True, pattern=r"^\d{1,2}/(10|12)$")] | None = None


class StatisticRecord(AppSchema):
    code: Code
    org_unit: Code
    period: Annotated[str, StringConstraints(strict=True, max_length=30)]
    value: StrictInt | StrictFloat
    source: OptText = None

    @field_validator("period")
    @classmethod
    def _period_form(cls, value: str) -> str:
        period_bounds(value)
        return value


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a period: a year, a date, or a range `start/end`."""
    match = _PERIOD.match(period)
    if not match:
        raise ValueError(f"period {period!r} is not a year, a date or a range YYYY-MM-DD/YYYY-MM-DD")
    try:
        if match.group(1):
            year = int(match.group(1))
            return date(year, 1, 1), date(year, 12, 31)
        if match.group(2):
            day = date.fromisoformat(match.group(2))
            return day, day
        start, end = date.fromisoformat(match.group(3)), date.fromisoformat(match.group(4))
    except ValueError as exc:
        raise ValueError(f"period {period!r} holds an impossible date ({exc})") from None
    if end < start:
        raise ValueError(f"period {period!r} ends before it starts")
    return start, end
