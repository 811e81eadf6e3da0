"""Planning pools (quy hoạch cán bộ): the check of a pool against the rules in force on a date."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path

from app.api.deps import AnswerRoute, ReadSessionDep, allow
from app.api.params import AsOf
from app.schemas.common import CODE_PATTERN
from app.schemas.planning_pool import PoolCheck
from app.services import planning_pools
from app.services.context import Actor

router = APIRouter(prefix="/planning-pools", tags=["planning pools"], route_class=AnswerRoute)
PoolCode = Annotated[str, Path(max_length=64, pattern=CODE_PATTERN, description="the planning pool's org unit code")]


@router.get("/{code}/check", response_model=PoolCheck)
def check_planning_pool(code: PoolCode, session: ReadSessionDep, actor: Annotated[Actor, allow("planning_pools:read")],
                        as_of: AsOf = None) -> dict[str, Any]:
    """The rules in force on `as_of` (default today) that the pool breaks: `violations` is empty when it holds them all."""
    return planning_pools.check(session, actor, code, as_of or date.today())
