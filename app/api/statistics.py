"""Reported statistics: list, record, withdraw."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import AnswerRoute, ReadSessionDep, SessionDep, allow
from app.api.params import KnownAt, page_size
from app.schemas.common import DB_INT_MAX
from app.schemas.interchange import StatisticRecord
from app.schemas.records import StatisticPage, StatisticWithdrawn, StatisticWritten
from app.services import history, statistics
from app.services.context import Actor

router = APIRouter(prefix="/statistics", tags=["statistics"], route_class=AnswerRoute)


@router.get("", response_model=StatisticPage)
def list_statistics(
    session: ReadSessionDep,
    actor: Annotated[Actor, allow("statistics:read")],
    code: Annotated[str | None, Query(description="only figures of this statistic code, e.g. population")] = None,
    org_unit: Annotated[str | None, Query(description="only figures reported for this org unit")] = None,
    known_at: KnownAt = None,
    after: Annotated[int | None, Query(ge=0, le=DB_INT_MAX, description="the previous page's `next`; omit for the first")] = None,
    limit: Annotated[int, page_size(1000)] = 100,
) -> dict[str, Any]:
    """Figures in recording order, filtered by code and unit."""
    items, nxt = statistics.list_page(
        session, actor, code=code, org_unit=org_unit, cut=history.txn_cut(session, known_at), after=after, limit=limit
    )
    return {"items": items, "next": nxt}


@router.put("", response_model=StatisticWritten)
def put_statistic(
    payload: StatisticRecord, session: SessionDep, actor: Annotated[Actor, allow("statistics:write")]
) -> dict[str, Any]:
    """Record a figure for (code, org unit, period); a new value replaces the old (kept in history)."""
    outcome = statistics.upsert(session, actor, payload)
    return {"status": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}


@router.delete("", response_model=StatisticWithdrawn)
def withdraw_statistic(
    code: Annotated[str, Query(description="the statistic code")],
    org_unit: Annotated[str, Query(description="the org unit it was reported for")],
    period: Annotated[str, Query(description="the period as recorded: a year, a date or a range YYYY-MM-DD/YYYY-MM-DD")],
    session: SessionDep, actor: Annotated[Actor, allow("statistics:write")]
) -> dict[str, Any]:
    """Withdraw a figure from now on; it stays readable with known_at."""
    statistics.withdraw(session, actor, code=code, org_unit=org_unit, period=period)
    return {"withdrawn": {"code": code, "org_unit": org_unit, "period": period}, "recorded_at": history.recorded_at(session)}
