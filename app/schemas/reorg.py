"""A reorganisation plan: close, create, re-parent, and move the persons of closed units."""

from datetime import date

from pydantic import Field, model_validator

from app.schemas.common import AppSchema, Code, IsoDate, Text
from app.schemas.interchange import OrgUnitRecord, Successors
from app.schemas.read import Day, Moment, ReadSchema


class CloseUnit(AppSchema):
    code: Code
    successor: Code | None = None  # where its persons go, unless `move` says otherwise
    successors: Successors | None = None  # the units that continue it (a split names several); default [successor]
    end_assignments: bool = False  # no successor: its employments, positions and seats simply end


class Reparent(AppSchema):
    code: Code
    parent: Code


class Move(AppSchema):
    """Every employment, position and seat at `from_` in force after the closing day continues at `to`."""

    from_: Code = Field(alias="from")
    to: Code


class ReorgPlan(AppSchema):
    name: Text
    effective: IsoDate  # first day of the new structure; closings take effect the day before
    close: list[CloseUnit] = Field(default_factory=list)
    create: list[OrgUnitRecord] = Field(default_factory=list)
    reparent: list[Reparent] = Field(default_factory=list)
    move: list[Move] = Field(default_factory=list)
    category_map: dict[Code, Code] = Field(default_factory=dict)  # e.g. cap_xa_cong_chuc -> cong_chuc from the effective day

    @model_validator(mode="after")
    def _new_units_start_on_the_effective_day(self) -> "ReorgPlan":
        for unit in self.create:
            if unit.valid_from < self.effective:
                raise ValueError(f"new unit {unit.code} starts {unit.valid_from}, before the plan takes effect {self.effective}")
        return self

    @property
    def last_day(self) -> date:
        from datetime import timedelta

        return self.effective - timedelta(days=1)


class Reparented(ReadSchema):
    code: str
    parent: str


class Assignment(ReadSchema):
    """An employment, position or seat at a closing unit that runs past the last day."""

    external_id: str
    list: str = Field(description="employments, positions or memberships")
    unit: str
    to: str | None = Field(None, description="where it continues (null: it ends on the last day)")


class ReorgResult(ReadSchema):
    """What the plan does (a preview) or did."""

    plan: str
    effective: Day
    last_day: Day
    close: list[str]
    successors: dict[str, list[str]]
    create: list[str]
    reparent: list[Reparented]
    moves: list[Assignment]
    dangling: list[Assignment] = Field(description="assignments the plan leaves at a closed unit (the plan is refused)")
    persons_affected: int
    dry_run: bool
    recorded_at: Moment | None = Field(description="the moment the plan was applied: the `known_at` that includes it "
                                                   "(null for a preview)")
