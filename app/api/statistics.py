"""Reported statistics: list, record, withdraw."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import ReadSessionDep, SessionDep, allow
from app.schemas.common import DB_INT_MAX, IsoDateTime
from app.schemas.interchange import StatisticRecord
from app.services import history, statistics
from app.services.context import Actor

router = APIRouter(prefix="/statistics", tags=["statistics"])


@router.get("")
def list_statistics(
    session: ReadSessionDep,
    actor: Annotated[Actor, allow("statistics:read")],
    code: str | None = None,
    org_unit: str | None = None,
    known_at: IsoDateTime | None = None,
    after: Annotated[int | None, Query(ge=0, le=DB_INT_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Figures in recording order, filtered by code and unit."""
    items, nxt = statistics.list_page(
        session, actor, code=code, org_unit=org_unit, cut=history.txn_cut(session, known_at), after=after, limit=limit
    )
    return {"items": items, "next": nxt}


@router.put("")
def put_statistic(
    payload: StatisticRecord, session: SessionDep, actor: Annotated[Actor, allow("statistics:write")]
) -> dict[str, Any]:
    """Record a figure for (code, org unit, period); a new value replaces the old (kept in history)."""
    outcome = statistics.upsert(session, actor, payload)
    return {"status": outcome.status, **outcome.record, "recorded_at": history.recorded_at(session)}


@router.delete("")
def withdraw_statistic(
    code: str, org_unit: str, period: str, session: SessionDep, actor: Annotated[Actor, allow("statistics:write")]
) -> dict[str, Any]:
    """Withdraw a figure from now on; it stays readable with known_at."""
    statistics.withdraw(session, actor, code=code, org_unit=org_unit, period=period)
    return {"withdrawn": {"code": code, "org_unit": org_unit, "period": period}, "recorded_at": history.recorded_at(session)}
