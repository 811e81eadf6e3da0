"""Annual training plans (planning.md, 'Training'): the record a unit writes, and the plan read with its actuals."""

from typing import Annotated, Any

from pydantic import Field, StrictInt, model_validator

from app.schemas.common import AppSchema, Code
from app.schemas.read import Day, Moment, ReadSchema

MAX_LINES = 200  # a plan lists course kinds and levels: tens of lines, not thousands
MAX_SEATS = 1_000_000
MAX_BUDGET = 10**15  # VND: a thousand trillion, far above any unit's budget and exact in a float (JSON clients)
Seats = Annotated[StrictInt, Field(ge=0, le=MAX_SEATS, description="planned seats (persons sent)")]
Budget = Annotated[StrictInt, Field(ge=0, le=MAX_BUDGET, description="planned budget in VND")]
Year = Annotated[StrictInt, Field(ge=2000, le=2100, description="the plan's calendar year")]


class CodedLevel(AppSchema):
    """The level a course leads to, a code of the list's code list (e.g. cao_cap of political_theory)."""

    level: Code


class LanguageLevel(AppSchema):
    """A foreign-language level of the 6-level framework (foreign_language_level)."""

    level: Annotated[StrictInt, Field(ge=1, le=6)]


AWARD_LISTS = ("degrees", "languages", "political_theory", "state_management", "specialties", "it_skills")


class Awards(AppSchema):
    """What the line's courses award: exactly one list name with the level, e.g. {"political_theory": {"level": "cao_cap"}}."""

    degrees: CodedLevel | None = None
    languages: LanguageLevel | None = None
    political_theory: CodedLevel | None = None
    state_management: CodedLevel | None = None
    specialties: CodedLevel | None = None
    it_skills: CodedLevel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Awards":
        given = [name for name in AWARD_LISTS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"name exactly one of {', '.join(AWARD_LISTS)} (given: {', '.join(given) or 'none'})")
        return self

    def key(self) -> tuple[str, str]:
        """(list name, level code) of the award, as code lists and title standards name it."""
        name = next(n for n in AWARD_LISTS if getattr(self, n) is not None)
        return name, str(getattr(self, name).level)


class PlanLine(AppSchema):
    kind: Code = Field(description="a course_kind code, e.g. political_theory")
    awards: Awards | None = Field(None, description="the level the line's courses award; null: any course of the kind")
    seats: Seats
    budget: Budget


class TrainingPlanRecord(AppSchema):
    """A unit's plan for a year; `org_unit` and `year`, when given, must be those of the path."""

    org_unit: Code | None = None
    year: Year | None = None
    lines: Annotated[list[PlanLine], Field(max_length=MAX_LINES)]


class PlanLineRead(ReadSchema):
    kind: str
    awards: dict[str, Any] | None
    seats: int
    budget: int


class TrainingPlanRead(ReadSchema):
    """A plan as recorded."""

    org_unit: str
    year: int
    lines: list[PlanLineRead]
    recorded_at: Moment = Field(description="when this version of the plan was recorded")


class TrainingPlanWritten(ReadSchema):
    org_unit: str
    year: int
    lines: list[PlanLineRead]
    status: str = Field(description="created, updated or unchanged")
    recorded_at: Moment | None = Field(description="the moment the write was recorded: the `known_at` that includes it "
                                                   "(null when nothing was written)")


class TrainingPlanPage(ReadSchema):
    items: list[TrainingPlanRead]
    next: int | None = Field(description="pass as `after` for the next page; null on the last")


class LineProgress(PlanLineRead):
    enrolled: int = Field(description="enrolments under the unit started in the year, any status but planned")
    completed: int = Field(description="enrolments under the unit completed in the year")
    spent: int = Field(description="VND: the cost of the enrolments started in the year (the course's cost per "
                                   "person where the enrolment gives none)")
    need: int | None = Field(description="persons under the unit missing the title-standard row the line's award "
                                         "meets, on `need_on`; null for a line without an award, or withheld")
    need_suppressed: bool | None = Field(None, description="true when `need` is withheld from a role that gets counts "
                                                           "only (fewer persons than SUPPRESSION_THRESHOLD)")


class Totals(ReadSchema):
    seats: int
    budget: int
    enrolled: int
    completed: int
    spent: int


class TrainingPlanProgress(ReadSchema):
    """A plan with, beside each line, what was done in the year and what is still needed."""

    org_unit: str
    year: int
    lines: list[LineProgress]
    totals: Totals
    unmatched: Totals = Field(description="enrolments of the year under the unit that no line plans (seats and "
                                          "budget 0)")
    need_on: Day = Field(description="the date the need is counted on: 31 December, or today in the current year")
    recorded_at: Moment = Field(description="when this version of the plan was recorded")
