"""The definition format: an indicator as validated data (no free SQL)."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is")


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Atom(Spec):
    """`{field: person.age, lt: 40}`: one comparison on a registered field."""

    field: str
    eq: Any = None
    ne: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    not_in: list[Any] | None = None
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None
    is_: bool | None = Field(None, alias="is")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_op(self) -> "Atom":
        given = [op for op in OPS if self.value(op) is not None]
        if len(given) != 1:
            raise ValueError(f"field {self.field!r}: give exactly one of {', '.join(OPS)} (got {given or 'none'})")
        return self

    def value(self, op: str) -> Any:
        return getattr(self, {"in": "in_", "is": "is_"}.get(op, op))

    @property
    def op(self) -> str:
        return next(op for op in OPS if self.value(op) is not None)


class AllOf(Spec):
    all: list["Filter"]


class AnyOf(Spec):
    any: list["Filter"]


class NotOf(Spec):
    not_: "Filter" = Field(alias="not")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Filter = Annotated[AllOf | AnyOf | NotOf | Atom, Field(union_mode="left_to_right")]


class Anchor(Spec):
    """Which records put a person in the population, and where they are anchored in the tree.

    employment: the primary employment active on D (unit = its unit); position: a position active
    on D, the person employed on D (unit = the position's unit); membership: a seat active on D,
    the person employed on D (unit = the body).
    """

    subject: Literal["employment", "position", "membership"]
    where: Filter | None = None


class Population(Spec):
    anchors: list[Anchor] = Field(min_length=1)
    where: Filter | None = None


class Coverage(Spec):
    unit_kind: str
    each_has: Anchor


class Flow(Spec):
    """Persons with a qualifying event inside the period (CT-2025-MASTERS-PHD-INFLOW's rule)."""

    event: Literal["postgraduate_inflow"] = "postgraduate_inflow"
    degree_levels: list[str]
    period: tuple[date, date]
    excluded_categories: list[str] = ["doanh_nghiep", "hop_dong"]  # not the public sector (revision 2, point 11)


class Target(Spec):
    """A target band `[min, max]` (domain.md, 'target band'): `min` is the floor to reach, `max` the level aimed
    for; `direction: at_most` caps a figure instead (met when value <= max)."""

    band: tuple[float | None, float | None]
    strict: bool = False
    direction: Literal["at_least", "at_most"] = "at_least"


class Source(Spec):
    doc: str
    clause: str


class Policy(Spec):
    """Editable policy choices used by some fields (domain.md defaults)."""

    postgraduate_degrees: list[str] = ["master", "doctor", "doctor_science"]
    postgraduate_specialties: list[str] = ["ck1", "ck2", "noi_tru"]  # noi_tru: medical residency (revision 2, point 13)
    international_min_foreign_level: int = 4
    international_degree_abroad: bool = True
    home_country: str = "VN"


class IndicatorSpec(Spec):
    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)
    names: dict[Literal["vi", "en"], str]
    source: Source
    source_kind: Literal["registry", "reported", "qualitative"]
    kind: Literal["ratio", "per_capita", "coverage", "flow_count", "reported", "qualitative"]
    population: Population | None = None
    share: Filter | None = None
    coverage: Coverage | None = None
    flow: Flow | None = None
    per: int | None = None
    statistic: str | None = None
    numerator_statistic: str | None = None  # per_capita: the area's reported count when there is one (revision 2, point 9)
    target: Target | None = None
    deadline: date | None = None
    period: tuple[date, date] | None = None
    aggregate: Literal["period_average"] | None = None  # reported: the average of the yearly figures of `period`
    per_year: list[int] | None = None
    policy: Policy = Policy()
    same_as: str | None = None
    wider_reading_of: str | None = None
    note: str | None = None
    words: dict[str, str] | None = None
    breakdown: str | None = None
    disaggregate_by: str | None = None
    also: date | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _years_as_dates(cls, value: Any) -> Any:
        """A period of years (`[2021, 2025]`) runs from the first one's 1 January to the last one's 31 December."""
        if isinstance(value, list | tuple) and len(value) == 2 and all(type(v) is int for v in value):
            return (date(value[0], 1, 1), date(value[1], 12, 31))
        return value

    @model_validator(mode="after")
    def _parts_for_kind(self) -> "IndicatorSpec":
        need = {
            "ratio": ("population", "share"),
            "per_capita": ("population", "per", "statistic"),
            "coverage": ("coverage",),
            "flow_count": ("flow",),
            "reported": ("statistic",),
            "qualitative": (),
        }
        missing = [part for part in need[self.kind] if getattr(self, part) is None]
        if missing:
            raise ValueError(f"a {self.kind} indicator needs {', '.join(missing)}")
        if self.aggregate == "period_average" and (self.kind != "reported" or self.period is None):
            raise ValueError("aggregate: period_average is for a reported indicator with a period of years")
        if self.numerator_statistic is not None and self.kind != "per_capita":
            raise ValueError("numerator_statistic is for a per_capita indicator")
        return self


AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def atoms(flt: Filter | None) -> list[Atom]:
    """Every atom of a filter, in order."""
    if flt is None:
        return []
    if isinstance(flt, Atom):
        return [flt]
    if isinstance(flt, AllOf):
        return [a for f in flt.all for a in atoms(f)]
    if isinstance(flt, AnyOf):
        return [a for f in flt.any for a in atoms(f)]
    return atoms(flt.not_)
