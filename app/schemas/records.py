"""The records as the registry answers them: org units, persons (with their nested lists) and statistics.

The same fields as the interchange records of app/schemas/interchange.py, read back: every list present, dates as
ISO text, a person's sensitive fields (ethnicity, national id, party membership) left out for aggregate-only roles,
which `redacted` then names.
"""

from pydantic import Field

from app.schemas.read import Day, Moment, Number, ReadSchema

FromEnrolment = Field(None, description="the course whose completed enrolment awarded it (absent: recorded on the person)")


class ParentLinkRead(ReadSchema):
    code: str
    start: Day
    end: Day | None


class OrgUnitRead(ReadSchema):
    """An org unit: an area, an agency, a public service unit or a body (party committee, council)."""

    code: str
    name: str
    kind: str
    tier: str
    sector: str
    ethnic_contact: bool
    valid_from: Day
    valid_to: Day | None
    parents: list[ParentLinkRead]
    successors: list[str] = Field(description="the units that continue it from the day after valid_to")
    local_languages: list[str] = Field(description="ethnic-minority languages (ISO 639), inherited by sub-units")


class OrgUnitPage(ReadSchema):
    items: list[OrgUnitRead]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


class OrgUnitChildren(ReadSchema):
    as_of: Day
    items: list[OrgUnitRead]


class DatedRead(ReadSchema):
    start: Day
    end: Day | None = None


class EmploymentRead(DatedRead):
    org_unit: str
    category: str
    occupation: str | None = None
    primary: bool


class PositionRead(DatedRead):
    org_unit: str
    title: str | None = None
    rank: str
    key_leader: bool


class MembershipRead(DatedRead):
    body: str
    role: str


class DegreeRead(ReadSchema):
    level: str
    field: str | None = None
    institution: str | None = None
    country: str | None = None
    awarded_on: Day
    from_enrolment: str | None = FromEnrolment


class LanguageRead(ReadSchema):
    language: str
    kind: str
    level: int | None = None
    fluent: bool | None = None
    certificate: str | None = None
    score: str | None = None
    awarded_on: Day
    from_enrolment: str | None = FromEnrolment


class LevelRead(ReadSchema):
    level: str
    awarded_on: Day
    from_enrolment: str | None = FromEnrolment


class PoliticalTheoryRead(LevelRead):
    equivalent: bool | None = None


class SpecialtyRead(LevelRead):
    field: str | None = None


class AcademicTitleRead(ReadSchema):
    title: str
    field: str | None = None
    awarded_on: Day


class ItSkillRead(LevelRead):
    certificate: str | None = None


class TrainingRead(ReadSchema):
    course: str
    hours: int | None = None
    completed_on: Day


class SeparationRead(ReadSchema):
    on: Day
    reason: str


class DisciplineRead(DatedRead):
    form: str


class PersonRead(ReadSchema):
    """A person with every nested list (a list the person has nothing in is empty)."""

    external_id: str
    full_name: str
    birth_date: Day
    gender: str
    ethnicity: str | None = None
    national_id: str | None = None
    party_member_since: Day | None = None
    party_member_until: Day | None = None
    general_education: str | None = None
    employments: list[EmploymentRead]
    positions: list[PositionRead]
    memberships: list[MembershipRead]
    degrees: list[DegreeRead]
    languages: list[LanguageRead]
    political_theory: list[PoliticalTheoryRead]
    state_management: list[LevelRead]
    specialties: list[SpecialtyRead]
    academic_titles: list[AcademicTitleRead]
    it_skills: list[ItSkillRead]
    trainings: list[TrainingRead]
    separations: list[SeparationRead]
    disciplines: list[DisciplineRead]
    redacted: list[str] | None = Field(None, description="the fields withheld from an aggregate-only role, when they are")


class PersonPage(ReadSchema):
    items: list[PersonRead]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


class StatisticRead(ReadSchema):
    """A reported figure for a code, an org unit and a period (a year, a date or a range of dates)."""

    code: str
    org_unit: str
    period: str
    value: Number
    source: str | None = None


RECORDED = "the moment the write was recorded: the `known_at` that includes it (null when nothing was written)"


class StatisticWritten(StatisticRead):
    status: str = Field(description="created, updated or unchanged")
    recorded_at: Moment | None = Field(description=RECORDED)


class StatisticPage(ReadSchema):
    items: list[StatisticRead]
    next: int | None = Field(description="pass as `after` for the next page; null on the last")


class StatisticKey(ReadSchema):
    code: str
    org_unit: str
    period: str


class StatisticWithdrawn(ReadSchema):
    withdrawn: StatisticKey
    recorded_at: Moment | None = Field(description=RECORDED)


class CourseRead(ReadSchema):
    """A course (khóa, lớp đào tạo, bồi dưỡng), as spec/interchange.md gives it."""

    code: str
    name: str
    kind: str = Field(description="code list course_kind")
    provider: str | None
    org_unit: str = Field(description="the unit that organises or sends: it places the course in scope")
    start: Day | None
    end: Day | None
    hours: int | None
    mode: str | None = Field(description="code list training_mode")
    country: str | None
    cost_per_person: int | None = Field(description="VND")
    funding: str | None = Field(description="code list funding_source")
    awards: dict[str, dict[str, str | int | bool | None]] | None = Field(
        description='the qualification it leads to under its list name, e.g. {"political_theory": {"level": "cao_cap"}}')


class CourseWritten(CourseRead):
    status: str = Field(description="created, updated or unchanged")
    recorded_at: Moment | None = Field(description=RECORDED)


class CoursePage(ReadSchema):
    items: list[CourseRead]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


class EnrolmentRead(ReadSchema):
    """A person sent to a course, identified by (person, course)."""

    person: str = Field(description="the person's external id")
    course: str = Field(description="the course's code")
    status: str = Field(description="code list enrolment_status: planned, enrolled, completed, failed, withdrawn")
    start: Day | None
    expected_completion: Day | None
    completed_on: Day | None
    decision: str | None = Field(description="the number of the decision that sends the person")
    cost: int | None = Field(description="VND")
    commitment_until: Day | None = Field(description="the end of the service the person commits to in return")


class EnrolmentWritten(EnrolmentRead):
    write: str = Field(description="what the write did: created, updated or unchanged (`status` is the enrolment's)")
    recorded_at: Moment | None = Field(description=RECORDED)


class EnrolmentPage(ReadSchema):
    items: list[EnrolmentRead]
    next: str | None = Field(description="pass as `after` for the next page (`person|course`); null on the last")
