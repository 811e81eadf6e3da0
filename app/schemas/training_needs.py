"""The answer of GET /training-needs: a unit's needs on a date, grouped by need."""

from pydantic import Field

from app.schemas.read import Day, JsonObject, Names, ReadSchema


class NeedRow(ReadSchema):
    """A job record whose title-standard row requires the level."""

    subject: str = Field(description="rank (a leadership position), occupation or category (of the primary employment)")
    code: str = Field(description="the rank, occupation or category code")
    org_unit: str | None = Field(description="the record's unit")


class NeedMember(ReadSchema):
    """A person with the need (roles that may see the persons behind indicators only)."""

    external_id: str
    full_name: str
    held: str | None = Field(None, description="title standard: the highest level held of the qualification (null: none)")
    rows: list[NeedRow] | None = Field(None, description="title standard: the job records whose row requires the level")
    why: JsonObject | None = Field(None, description="indicator: the person's value of every field of the definition")
    org_units: list[str] | None = Field(None, description="indicator: where the person is in the population")


class Need(ReadSchema):
    """What is lacking: a title-standard level, or an indicator's share condition."""

    kind: str = Field(description="title_standard or indicator")
    qualification: str | None = Field(None, description="degrees, political_theory or state_management")
    level: str | None = Field(None, description="the level the row requires (code of the qualification's list)")
    indicator: str | None = None
    condition: Names | None = Field(None, description="the indicator's share condition, in words")


class NeedGroup(ReadSchema):
    """The persons with one need, and how many are already enrolled to meet it before the date."""

    need: Need
    persons: int | None = Field(description="how many persons have the need (null: suppressed)")
    enrolled_before: int | None = Field(
        description="of them, enrolled (planned or enrolled) in a course awarding the need, expected to finish by `before` "
                    "(null: suppressed, or no course can meet the condition)")
    members: list[NeedMember] | None = Field(None, description="the persons (roles that see persons only)")
    suppressed: bool | None = None
    suppression: str | None = None


class TrainingNeeds(ReadSchema):
    org_unit: str
    as_of: Day
    before: Day
    persons_named: bool = Field(description="whether the groups list their persons (else counts only)")
    groups: list[NeedGroup]
    not_listed_outside_your_units: int | None = None
