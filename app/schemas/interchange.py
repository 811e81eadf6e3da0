"""The interchange records of spec/interchange.md: org units, persons, reported statistics."""

import math
import re
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.schemas.common import AppSchema, Code, IsoDate, Text

OptText = Annotated[str, StringConstraints(strict=True, max_length=300)] | None
# Lengths of the columns the texts are stored in (a longer text must be a 422, not a database error).
Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
OptText200 = Annotated[str, StringConstraints(strict=True, max_length=200)] | None
OptText100 = Annotated[str, StringConstraints(strict=True, max_length=100)] | None
LanguageCode = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]{2,3}$")]
CountryCode = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{2}$")]
_ISO639 = re.compile(r"[a-z]{2,3}")
MAX_LINEAGE = 100  # successors and local languages a unit may list (a split names several, not thousands)
_PERIOD = re.compile(r"^(\d{4})$|^(\d{4}-\d{2}-\d{2})$|^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")


def _not_before(earlier: str) -> Any:
    """A field validator: the date may not lie before the (already validated) field `earlier`."""

    def check(value: date | None, info: ValidationInfo) -> date | None:
        first = info.data.get(earlier)
        if value is not None and first is not None and value < first:
            raise ValueError(f"{info.field_name} {value} is before {earlier} {first}")
        return value

    return check


FromEnrolment = Annotated[Code | None, Field(description=(
    "set by the registry on a qualification awarded by a completed enrolment: the code of its course. Such an item "
    "is the enrolment's to change; in a person record sent to the registry it is ignored (the enrolment gives it)"))]


class Dated(AppSchema):
    start: IsoDate
    end: IsoDate | None = None

    _end_after_start = field_validator("end")(_not_before("start"))


class ParentLink(Dated):
    code: Code


def _iso639(value: str) -> str:
    if not _ISO639.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 639 language code: two or three lower-case letters, e.g. 'km'")
    return value


LocalLanguage = Annotated[str, StringConstraints(strict=True, max_length=16), AfterValidator(_iso639)]


def _each_once(values: list[str], info: ValidationInfo) -> list[str]:
    """A list of codes names each code once."""
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            raise ValueError(f"{value!r} is listed twice ({info.field_name}[{first[value]}] and "
                             f"{info.field_name}[{i}]): list each code once")
        first[value] = i
    return values


Successors = Annotated[list[Code], Field(max_length=MAX_LINEAGE), AfterValidator(_each_once)]
LocalLanguages = Annotated[list[LocalLanguage], Field(max_length=MAX_LINEAGE), AfterValidator(_each_once)]


class PoolFor(AppSchema):
    """The title a planning pool is for: the unit whose post it is, and the leadership rank of the post."""

    org_unit: Code
    rank: Code


_TERM_YEAR = re.compile(r"^\d{4}$")
_TERM_YEARS = re.compile(r"^(\d{4})\s*[-/\u2013]\s*(\d{4})$")
_TERM_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _term_day(value: Any, *, last: bool) -> date:
    """A term bound: an ISO date, or a year (2026 or "2026"), read as its first day (start) or last day (end)."""
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and _TERM_YEAR.match(value):
        year = int(value)
        if not 1900 <= year <= 2200:
            raise ValueError(f"year {year} is out of range (1900-2200)")
        return date(year, 12, 31) if last else date(year, 1, 1)
    if isinstance(value, str) and _TERM_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date") from None
    raise ValueError(f"{str(value)[:40]!r} is neither a date YYYY-MM-DD nor a year YYYY")


def _term(value: Any) -> Any:
    """`[start, end]`: dates, or years (the first day of the start year to the last day of the end year)."""
    if value is None:
        return None
    if isinstance(value, str) and (years := _TERM_YEARS.match(value)):
        value = list(years.groups())  # "2026-2031", as planning.md writes a term
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError("term is a list of two items [start, end], e.g. [\"2026-01-01\", \"2031-12-31\"] or [2026, 2031]")
    try:
        return (_term_day(value[0], last=False), _term_day(value[1], last=True))
    except ValueError as exc:
        raise ValueError(f"term: {exc}") from None


Term = Annotated[tuple[date, date], PlainValidator(_term)]


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
    successors: Successors = Field(default_factory=list)  # continue it from the day after valid_to
    local_languages: LocalLanguages = Field(default_factory=list)  # ethnic-minority languages, inherited by sub-units
    pool_for: PoolFor | None = None  # planning pools only: the title the pool is for
    term: Term | None = None  # planning pools only: [start, end] as dates (years are read as 1 Jan / 31 Dec)

    _valid_range = field_validator("valid_to")(_not_before("valid_from"))


class EmploymentItem(Dated):
    org_unit: Code
    category: Code
    occupation: Code | None = None
    primary: StrictBool = True


class PositionItem(Dated):
    org_unit: Code
    title: OptText200 = None
    rank: Code
    key_leader: StrictBool = False


class MembershipItem(Dated):
    body: Code
    role: Code = "member"


class DegreeItem(AppSchema):
    level: Code
    field: OptText200 = None
    institution: OptText = None
    country: CountryCode | None = None
    awarded_on: IsoDate
    from_enrolment: FromEnrolment = None


class LanguageItem(AppSchema):
    language: LanguageCode
    kind: Literal["foreign", "ethnic_minority"]
    level: Annotated[StrictInt, Field(ge=1, le=6)] | None = None
    fluent: StrictBool | None = None
    certificate: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100)] | None = None
    score: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=20,
                                            pattern=r"^[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$")] | None = None
    # the score as on the paper ("6.0", "N3"): no control characters, no space at either end
    awarded_on: IsoDate
    from_enrolment: FromEnrolment = None

    @model_validator(mode="after")
    def _level_or_fluent(self) -> "LanguageItem":
        if self.kind == "foreign" and self.level is None and self.certificate is None:
            raise ValueError("a foreign language needs a level from 1 to 6, or the certificate as written "
                             "(e.g. certificate IELTS, score 6.0) to derive it from the equivalence table")
        if self.score is not None and (self.kind != "foreign" or self.certificate is None):
            raise ValueError("'score' goes with the certificate of a foreign language")
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
    from_enrolment: FromEnrolment = None


class PoliticalTheoryItem(LevelItem):
    equivalent: StrictBool | None = None  # held by a certificate of equivalence (tương đương), counted as the level


class SpecialtyItem(AppSchema):
    level: Code
    field: OptText200 = None
    awarded_on: IsoDate
    from_enrolment: FromEnrolment = None


class AcademicTitleItem(AppSchema):
    title: Code = Field(validation_alias="title")
    field: OptText200 = None
    awarded_on: IsoDate

    @model_validator(mode="before")
    @classmethod
    def _accept_level(cls, data: object) -> object:
        if isinstance(data, dict) and "level" in data and "title" not in data:
            data = {("title" if k == "level" else k): v for k, v in data.items()}
        return data


class ItSkillItem(AppSchema):
    level: Code
    certificate: OptText100 = None
    awarded_on: IsoDate
    from_enrolment: FromEnrolment = None


class TrainingItem(AppSchema):
    course: Text
    hours: Annotated[StrictInt, Field(ge=0, le=100000)] | None = None
    completed_on: IsoDate


class SeparationItem(AppSchema):
    """The person leaves the public service on `on` (retirement, resignation, transfer out, dismissal, death):
    every employment, position and seat in force that day ends that day."""

    on: IsoDate
    reason: Code


class DisciplineItem(Dated):
    """A disciplinary measure (code list `discipline_form`) in force from `start` to `end`."""

    form: Code


MAX_ITEMS = 1000  # items of one list of one person (a career of thousands of records is an attack, not a career)
T = TypeVar("T")
Items = Annotated[list[T], Field(max_length=MAX_ITEMS)]

PERSON_LISTS = (
    "employments", "positions", "memberships", "degrees", "languages", "political_theory",
    "state_management", "specialties", "academic_titles", "it_skills", "trainings",
    "separations", "disciplines",
)


class PersonFields(AppSchema):
    """The person's own attributes."""

    full_name: Name
    birth_date: IsoDate
    gender: Code
    ethnicity: Code | None = None
    national_id: Annotated[str, StringConstraints(strict=True, pattern=r"^(\d{9}|\d{12})$")] | None = None
    party_member_since: IsoDate | None = None
    party_member_until: IsoDate | None = None  # the last day of party membership
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
    employments: Items[EmploymentItem] | None = None
    positions: Items[PositionItem] | None = None
    memberships: Items[MembershipItem] | None = None
    degrees: Items[DegreeItem] | None = None
    languages: Items[LanguageItem] | None = None
    political_theory: Items[PoliticalTheoryItem] | None = None
    state_management: Items[LevelItem] | None = None
    specialties: Items[SpecialtyItem] | None = None
    academic_titles: Items[AcademicTitleItem] | None = None
    it_skills: Items[ItSkillItem] | None = None
    trainings: Items[TrainingItem] | None = None
    separations: Items[SeparationItem] | None = None
    disciplines: Items[DisciplineItem] | None = None


class PersonRecord(PersonFields, PersonLists):
    """A full person record: a missing list means 'none'."""

    external_id: Code


class PersonPatch(PersonLists):
    """A partial update: a missing field or list means 'no change'."""

    full_name: Name | None = None
    birth_date: IsoDate | None = None
    gender: Code | None = None
    ethnicity: Code | None = None
    national_id: Annotated[str, StringConstraints(strict=True, pattern=r"^(\d{9}|\d{12})$")] | None = None
    party_member_since: IsoDate | None = None
    party_member_until: IsoDate | None = None
    general_education: Annotated[str, StringConstraints(strict=True, pattern=r"^\d{1,2}/(10|12)$")] | None = None


EXACT_INT = 2**53  # integers beyond this do not survive the float column unchanged


def _figure(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    if isinstance(value, int) and abs(value) > EXACT_INT:
        raise ValueError(f"integer {value} is too large to keep exactly (at most {EXACT_INT} in size)")
    return value


Figure = Annotated[int | float, PlainValidator(_figure, json_schema_input_type=int | float)]


class StatisticRecord(AppSchema):
    code: Code
    org_unit: Code
    period: Annotated[str, StringConstraints(strict=True, max_length=30)]
    value: Figure
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


# ───────────────────────── training records (planning.md 'Training') ─────────────────────────
Money = Annotated[StrictInt, Field(ge=0, le=10**15, description="an amount in VND (đồng), a whole number")]
AWARD_LISTS = ("degrees", "languages", "political_theory", "state_management", "specialties", "it_skills")


class CourseRecord(AppSchema):
    """A course (khóa, lớp đào tạo, bồi dưỡng); `org_unit` (the unit that organises or sends) places it in scope.

    `awards`: the qualification it leads to, as an interchange item under its list name without its date (the
    enrolment's `completed_on` is the date), e.g. {"political_theory": {"level": "cao_cap"}}; null when none."""

    code: Code
    name: Text
    kind: Code
    provider: OptText = None
    org_unit: Code
    start: IsoDate | None = None
    end: IsoDate | None = None
    hours: Annotated[StrictInt, Field(ge=0, le=100000)] | None = None
    mode: Code | None = None
    country: CountryCode | None = None
    cost_per_person: Money | None = None
    funding: Code | None = None
    awards: dict[str, Any] | None = None

    _end_after_start = field_validator("end")(_not_before("start"))

    @field_validator("awards")
    @classmethod
    def _one_award(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if len(value) != 1:
            raise ValueError(f"awards names one qualification, under one of {', '.join(AWARD_LISTS)}; got {len(value)}")
        (name, item), = value.items()
        if name not in AWARD_LISTS:
            raise ValueError(f"a course awards no {name!r}: one of {', '.join(AWARD_LISTS)}")
        if not isinstance(item, dict):
            raise ValueError(f"awards.{name} is an item of the list {name} (an object), not {type(item).__name__}")
        if "awarded_on" in item or "from_enrolment" in item:
            raise ValueError(f"awards.{name} has no date and no origin: the enrolment's completed_on dates it")
        item_model = _item_model(name)
        try:
            parsed = item_model.model_validate({**item, "awarded_on": "2000-01-01"})
        except ValueError as exc:
            raise ValueError(f"awards.{name}: {_first_error(exc)}") from None
        return {name: parsed.model_dump(mode="json", exclude={"awarded_on", "from_enrolment"}, exclude_unset=True)}


def _item_model(name: str) -> Any:
    return {"degrees": DegreeItem, "languages": LanguageItem, "political_theory": PoliticalTheoryItem,
            "state_management": LevelItem, "specialties": SpecialtyItem, "it_skills": ItSkillItem}[name]


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg'].removeprefix('Value error, ')}" if where else first["msg"].removeprefix("Value error, ")
    return str(exc)


class EnrolmentRecord(AppSchema):
    """A person sent to a course (cử đi đào tạo, bồi dưỡng), identified by (`person`, `course`).

    `completed` needs `completed_on`; a completed enrolment whose course awards a qualification gives the person
    that qualification from `completed_on`."""

    person: Code
    course: Code
    status: Code
    start: IsoDate | None = None
    expected_completion: IsoDate | None = None
    completed_on: Annotated[IsoDate | None, Field(validate_default=True)] = None
    decision: OptText100 = None
    cost: Money | None = None
    commitment_until: IsoDate | None = None

    _expected_after_start = field_validator("expected_completion")(_not_before("start"))
    _completed_after_start = field_validator("completed_on")(_not_before("start"))

    @field_validator("completed_on")
    @classmethod
    def _completed_dated(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None and info.data.get("status") == "completed":
            raise ValueError("a completed enrolment needs completed_on (the day the course was completed)")
        return value
