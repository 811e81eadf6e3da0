"""Annual training plans: record, list, read with actuals and need, and the XLSX an HR office sends up."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.api.deps import AnswerRoute, ReadSessionDep, SessionDep, allow
from app.api.params import KnownAt, page_size
from app.api.xlsx import XlsxResponse, attachment, xlsx_responses
from app.schemas.common import DB_INT_MAX
from app.schemas.training_plan import TrainingPlanPage, TrainingPlanProgress, TrainingPlanRecord, TrainingPlanWritten
from app.services import history, training_needs, training_plan_progress, training_plan_xlsx, training_plans
from app.services.context import Actor

router = APIRouter(prefix="/training-plans", tags=["training"], route_class=AnswerRoute)
PlanUnit = Annotated[str, Path(description="the org unit's code (the plan covers its whole subtree)")]
PlanYear = Annotated[int, Path(ge=2000, le=2100, description="the plan's calendar year, e.g. 2026")]


@router.get("", response_model=TrainingPlanPage)
def list_training_plans(
    session: ReadSessionDep,
    actor: Annotated[Actor, allow("training_plans:read")],
    org_unit: Annotated[str | None, Query(description="only the plans of this org unit")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="only the plans of this year")] = None,
    known_at: KnownAt = None,
    after: Annotated[int | None, Query(ge=0, le=DB_INT_MAX, description="the previous page's `next`; omit for the first")] = None,
    limit: Annotated[int, page_size(1000)] = 100,
) -> dict[str, Any]:
    """Plans of the units within your reach, in recording order, without their actuals."""
    items, nxt = training_plans.list_page(session, actor, org_unit=org_unit, year=year,
                                          cut=history.txn_cut(session, known_at), after=after, limit=limit)
    return {"items": items, "next": nxt}


def _progress(session: ReadSessionDep, actor: Actor, org_unit: str, year: int, known_at: Any) -> dict[str, Any]:
    cut = history.txn_cut(session, known_at)
    uid, plan = training_plans.get_or_raise(session, actor, org_unit, year, cut)
    return training_plan_progress.progress(session, plan, uid, cut, date.today(),
                                           named=training_needs.names_persons(actor))


# `{year:int}`: digits only, so that `2026.xlsx` is never taken for a year (a PUT there is a 405, not a 422).
@router.get("/{org_unit}/{year:int}.xlsx", response_class=XlsxResponse, responses=xlsx_responses(
    "The plan with actuals and need: one sheet, Vietnamese headers then English"))
def get_training_plan_xlsx(
    org_unit: PlanUnit, year: PlanYear, session: ReadSessionDep,
    actor: Annotated[Actor, allow("training_plans:read")], known_at: KnownAt = None,
) -> XlsxResponse:
    """The plan with actuals and need as a workbook (text that a spreadsheet would evaluate is quoted)."""
    # org_unit is a known code here (pattern [A-Za-z0-9_.-]), safe in the header
    body = training_plan_xlsx.workbook(session, _progress(session, actor, org_unit, year, known_at))
    return XlsxResponse(body, headers=attachment(f"training-plan-{org_unit}-{year}.xlsx"))


@router.get("/{org_unit}/{year:int}", response_model=TrainingPlanProgress)
def get_training_plan(
    org_unit: PlanUnit, year: PlanYear, session: ReadSessionDep,
    actor: Annotated[Actor, allow("training_plans:read")], known_at: KnownAt = None,
) -> dict[str, Any]:
    """The plan with, beside each line, enrolled, completed and spent in the year under the unit, and the need."""
    return _progress(session, actor, org_unit, year, known_at)


@router.put("/{org_unit}/{year:int}", response_model=TrainingPlanWritten)
def put_training_plan(
    org_unit: PlanUnit, year: PlanYear, payload: TrainingPlanRecord, session: SessionDep,
    actor: Annotated[Actor, allow("training_plans:write")],
) -> dict[str, Any]:
    """Create or replace the unit's plan for the year (the replaced plan stays readable with known_at)."""
    outcome = training_plans.upsert(session, actor, org_unit, year, payload)
    return {"status": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}
