"""Requests and answers of the indicator endpoints."""

from typing import Any

from pydantic import Field

from app.schemas.common import AppSchema, Code, IsoDate
from app.schemas.read import Day, JsonObject, Moment, Names, Number, ReadSchema


class RunRequest(AppSchema):
    """Publish a run: every indicator of resolution `doc` for a unit on a date."""

    doc: Code
    org_unit: Code
    as_of: IsoDate


class Target(ReadSchema):
    """The band a value must reach: [low, high], either end open (null)."""

    band: list[float | None]
    strict: bool
    direction: str = Field(description="at_least, at_most or between")
    deadline: Day | None = None


class SourceClause(ReadSchema):
    doc: str = Field(description="the resolution: CT (the party committee's) or ST (the People's Council's)")
    clause: str


class DefinitionVersion(ReadSchema):
    version: int
    sha256: str


class IndicatorSummary(ReadSchema):
    """A definition in force: what it counts, against which band, by when, under which clause."""

    code: str
    names: Names
    kind: str = Field(description="ratio, flow_count, per_capita, coverage, reported or qualitative")
    source_kind: str
    source: SourceClause
    target: Target | None
    deadline: Day | None
    period: list[int | str] | None
    per_year: list[int] | None
    aggregate: str | None
    same_as: str | None
    wider_reading_of: str | None
    version: int


class IndicatorList(ReadSchema):
    items: list[IndicatorSummary]
    total: int


class IndicatorPublished(IndicatorSummary):
    status: str = Field(description="created, updated or unchanged")


class PublishedVersion(DefinitionVersion):
    published_at: Moment
    published_by: str
    current: bool


class Method(ReadSchema):
    """How the value is computed, in plain words."""

    vi: str
    en: str
    rules: str | None = None


class IndicatorDetail(IndicatorSummary):
    definition: JsonObject = Field(description="the definition as published (the indicator language of app/data/targets.yaml)")
    sha256: str
    method: Method
    versions: list[PublishedVersion]


class StatisticUsed(ReadSchema):
    code: str
    period: str
    value: Number
    source: str | None = None


class IndicatorValue(ReadSchema):
    """A unit's value on a date: the counts, the value, where it stands against the target, and why."""

    indicator: str
    org_unit: str
    as_of: Day
    requested_as_of: Day | None = Field(None, description="the date asked for, when the answer is at another one")
    numerator: Number | None
    denominator: Number | None
    value: Number | None
    target: Target | None
    status: str = Field(description="met, not_met, no_data, ...")
    band_position: str | None
    kind: str | None = None
    names: Names | None = None
    definition: DefinitionVersion | None = None
    known_at: Moment | None = None
    data_version: int | None = None
    note: str | None = None
    statistic: StatisticUsed | None = None
    coverage: str | None = None
    suppressed: bool | None = None
    suppression: str | None = None


class UnitValue(ReadSchema):
    """One unit's value in the all-units pass."""

    org_unit: str
    numerator: Number | None
    denominator: Number | None
    value: Number | None
    status: str
    band_position: str | None = None
    scope: str | None = None
    coverage: str | None = None


class IndicatorValues(ReadSchema):
    indicator: str
    as_of: Day
    requested_as_of: Day | None = None
    items: list[UnitValue]


class PopulationPlace(ReadSchema):
    subject: str
    org_unit: str


class CountedPerson(ReadSchema):
    """A person of the population: in the numerator or not, and the facts that decided it."""

    external_id: str
    full_name: str
    in_numerator: bool
    why: JsonObject
    in_population_by: list[PopulationPlace] | None = Field(None, description="where the person is in the population (not flows)")


class IndicatorPersons(ReadSchema):
    indicator: str
    org_unit: str
    as_of: Day
    persons: list[CountedPerson]
    numerator: Number | None = None
    denominator: Number | None = None


class TrendPoint(ReadSchema):
    as_of: Day
    numerator: Number | None
    denominator: Number | None
    value: Number | None
    status: str
    note: str | None = None


class IndicatorTrend(ReadSchema):
    indicator: str
    org_unit: str
    points: list[TrendPoint]


class Statement(ReadSchema):
    purpose: str = Field(description="which figures of the answer it gives")
    sql: str


class IndicatorSql(ReadSchema):
    indicator: str
    org_unit: str
    as_of: Day
    requested_as_of: Day | None = None
    known_at: Moment | None = Field(None, description="the moment the statements read the registry as of (null: now)")
    dialect: str = Field(description="postgresql or sqlite")
    sql: str = Field(description="the whole script, to paste into psql or sqlite3")
    statements: list[Statement]


class BreakdownCell(ReadSchema):
    key: str | None
    numerator: Number | None
    denominator: Number | None
    value: Number | None
    status: str
    band_position: str | None = None
    suppressed: bool | None = None
    suppression: str | None = None
    coverage: str | None = None


class IndicatorBreakdown(ReadSchema):
    indicator: str
    org_unit: str
    as_of: Day
    by: str
    cells: list[BreakdownCell]


class ResolutionReport(ReadSchema):
    doc: str
    org_unit: str
    as_of: Day
    items: list[IndicatorValue]


class RunResult(ReadSchema):
    indicator: str
    numerator: Number | None = None
    denominator: Number | None = None
    value: Number | None = None
    target: Target | None = None
    status: str
    band_position: str | None = None
    definition: DefinitionVersion | None = None
    note: str | None = None


class Run(ReadSchema):
    """A published run: a resolution's values for a unit and date, frozen with the versions used."""

    id: int
    doc: str
    org_unit: str
    as_of: Day
    data_version: int
    created_at: Moment
    created_by: str
    results: list[RunResult] | None = Field(description="null in a diff's `from` and `to`")


class RunChange(ReadSchema):
    indicator: str
    before: RunResult | None
    after: RunResult
    definition_changed: bool


class WriteBetween(ReadSchema):
    seq: int
    entity: str
    key: str
    op: str
    at: Moment
    actor: str


class RunDiff(ReadSchema):
    from_: Run = Field(alias="from")
    to: Run
    changed: list[RunChange]
    writes_between: list[WriteBetween]


class ProjectionPoint(ReadSchema):
    """The indicator on one date of a projection (D0, each 31 December, D1)."""

    as_of: Day
    numerator: Number | None
    denominator: Number | None
    value: Number | None
    status: str
    band_position: str | None


class ProjectionEvent(ReadSchema):
    """A dated event that moves a figure: the person's change between two points is on their last event."""

    point: Day = Field(description="the point whose figure it moves")
    date: Day | None = Field(None, description="the first day the figure reflects it (not given in counts)")
    kind: str = Field(description="age, retirement, record_start, record_end, training, org_unit")
    person: str | None = Field(None, description="the person's external id (roles that see persons)")
    persons: int | None = Field(None, description="how many persons (roles that see counts; null when suppressed)")
    numerator: Number | None
    denominator: Number | None


class IndicatorProjection(ReadSchema):
    indicator: str
    org_unit: str
    from_: Day = Field(alias="from")
    to: Day
    training: str = Field(description="none, expected or completion_rate")
    target: Target | None
    points: list[ProjectionPoint]
    events: list[ProjectionEvent]
    assumptions: list[str]


class Lack(ReadSchema):
    field: str
    held: Any = None
    required: Any = None
    short_by: int
    covered_by: JsonObject | None = Field(description="the enrolment due by the date that gives it, if any")


class GapCandidate(ReadSchema):
    external_id: str
    full_name: str
    rank: int
    enrolled: bool
    lacks: list[Lack]


class IndicatorGap(ReadSchema):
    indicator: str
    org_unit: str
    from_: Day = Field(alias="from")
    as_of: Day
    training: str
    numerator: Number | None
    denominator: Number | None
    value: Number | None
    status: str
    target: Target | None
    needed: int | None = Field(description="how many more persons must meet the condition (null: no floor to reach)")
    needed_note: str | None = Field(None, description="a target set at every level whose tiers fall short: `needed` "
                                                      "sums each tier's own lack, named here")
    closable_by_training: bool
    candidates: list[GapCandidate] | None = Field(description="ranked; null for roles that see counts only")
    candidates_count: int | None
    beyond_training: int | None = Field(description="outside the numerator for a reason training cannot change")


class UnitProjection(ReadSchema):
    """One unit's figures at the answer's `dates`, column by column (a unit not there on a date has null)."""

    org_unit: str
    numerator: list[Number | None]
    denominator: list[Number | None]
    value: list[Number | None]
    status: list[str | None]
    band_position: list[str | None]


class IndicatorProjections(ReadSchema):
    indicator: str
    under: str | None
    from_: Day = Field(alias="from")
    to: Day
    training: str
    target: Target | None
    dates: list[Day]
    units: list[UnitProjection]
    assumptions: list[str]
