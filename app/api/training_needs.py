"""Training needs: who under a unit misses a title-standard row or an indicator's condition, grouped by need."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import ACTIONS, AnswerRoute, ReadSessionDep, allow
from app.api.params import AsOf, UnitCode
from app.schemas.common import IsoDate
from app.schemas.training_needs import TrainingNeeds
from app.services import training_needs
from app.services.context import Actor

router = APIRouter(tags=["training"], route_class=AnswerRoute)
Before = Annotated[IsoDate | None, Query(
    description="count the enrolments expected to finish on or before this date (YYYY-MM-DD); default the end of as_of's year")]
Indicator = Annotated[str | None, Query(
    max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$",
    description="also the persons of this ratio indicator's population outside its numerator, e.g. ST-2025-PD-STAFF-POSTGRAD")]


@router.get("/training-needs", response_model=TrainingNeeds)
def get_training_needs(org_unit: UnitCode, session: ReadSessionDep, actor: Annotated[Actor, allow("training_needs:read")],
                       as_of: AsOf = None, before: Before = None, indicator: Indicator = None) -> dict[str, Any]:
    """The unit's training needs on a date, grouped by need: persons for the roles that see the persons behind
    indicators, counts (small groups suppressed) for the others."""
    day = as_of or date.today()
    return training_needs.needs(session, actor, org_unit=org_unit, as_of=day, before=before or date(day.year, 12, 31),
                                indicator=indicator, named=actor.role in ACTIONS["indicators:persons"])
