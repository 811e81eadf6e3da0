"""Reorganisation plans: the operation every province performed on 1 July 2025."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import AnswerRoute, SessionDep, allow
from app.schemas.reorg import ReorgPlan, ReorgResult
from app.services import history, reorg
from app.services.context import Actor

router = APIRouter(prefix="/reorganisations", tags=["reorganisation"], route_class=AnswerRoute)


@router.post("", response_model=ReorgResult)
def run_reorganisation(
    payload: ReorgPlan,
    session: SessionDep,
    actor: Annotated[Actor, allow("reorganisations:run")],
    dry_run: Annotated[bool, Query(description="preview only (the default); false applies the plan")] = True,
) -> dict[str, Any]:
    """Preview (the default) or apply a plan: close, create, re-parent and move persons, in one transaction."""
    return reorg.run(session, actor, payload, dry_run=dry_run) | {"recorded_at": history.recorded_at(session)}
