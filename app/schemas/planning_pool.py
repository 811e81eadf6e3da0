"""The answer of GET /planning-pools/{code}/check: the violations of the rules in force on a date."""

from pydantic import Field

from app.schemas.read import Day, JsonObject, ReadSchema


class PoolViolation(ReadSchema):
    """One rule broken: by a candidate (external_id, for roles that see persons) or by the pool or its unit (null)."""

    rule: str = Field(description="stable code: max_candidates_per_title, max_pools_per_level, serves_full_term, "
                      "sixty_months_before_retirement, no_discipline, composition_women, composition_young")
    source: str = Field(description="the document that sets the rule, in force on as_of")
    external_id: str | None = Field(description="the candidate's external id; null for a rule of the pool or its unit, "
                                    "and for roles that do not see persons")
    message: str


class PoolTitle(ReadSchema):
    org_unit: str
    rank: str | None


class PoolCheck(ReadSchema):
    """The check of one planning pool on one date."""

    pool: str
    as_of: Day
    pool_for: PoolTitle | None = Field(description="the title the pool is for")
    term: list[Day] | None = Field(description="[start, end] of the term")
    candidates: int = Field(description="candidates (role candidate) in the pool on as_of")
    rules_applied: list[JsonObject] = Field(description="the rules in force on as_of that were judged, with source and figures")
    rules_not_applied: list[JsonObject] = Field(description="rules not in force, without a figure, or not applicable, and why")
    violations: list[PoolViolation] = Field(description="empty when the pool holds every rule applied")
