"""Training needs: who under a unit misses a title-standard row or an indicator's condition, grouped by need; and
the same answer as the workbook an HR office sends up."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from app.api.deps import AnswerRoute, ReadSessionDep, allow
from app.api.params import AsOf, UnitCode
from app.api.xlsx import XlsxResponse, attachment, xlsx_responses
from app.schemas.common import IsoDate
from app.schemas.training_needs import TrainingNeeds
from app.services import training_needs, training_needs_xlsx
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
    return _needs(session, actor, org_unit, as_of, before, indicator)


@router.get("/training-needs.xlsx", response_class=XlsxResponse, responses=xlsx_responses(
    "The needs as a workbook: sheet 'Tổng hợp' (one row per need) and, for the roles that see persons, "
    "'Danh sách' (one row per person and need); Vietnamese headers then English"))
def get_training_needs_xlsx(org_unit: UnitCode, session: ReadSessionDep,
                            actor: Annotated[Actor, allow("training_needs:read")], as_of: AsOf = None,
                            before: Before = None, indicator: Indicator = None) -> XlsxResponse:
    """The answer of GET /training-needs as a workbook (same scope and suppression; text a spreadsheet would
    evaluate is quoted)."""
    answer = _needs(session, actor, org_unit, as_of, before, indicator)
    body = training_needs_xlsx.workbook(session, answer, produced_at=datetime.now(UTC))
    # org_unit is a known code here (CODE_PATTERN, [A-Za-z0-9_.-]), safe in the header
    return XlsxResponse(body, headers=attachment(f"nhu-cau-dao-tao-{org_unit}-{answer['as_of']}.xlsx"))


def _needs(session: Session, actor: Actor, org_unit: str, as_of: date | None, before: date | None,
           indicator: str | None) -> dict[str, Any]:
    day = as_of or date.today()
    return training_needs.needs(session, actor, org_unit=org_unit, as_of=day, before=before or date(day.year, 12, 31),
                                indicator=indicator, named=training_needs.names_persons(actor))
