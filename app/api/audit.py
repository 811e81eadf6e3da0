"""The audit log, for auditors: who wrote or read what, when, through which request."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import SessionDep, allow
from app.schemas.common import IsoDateTime
from app.services import audit
from app.services.context import Actor

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def query_audit_log(session: SessionDep, actor: Annotated[Actor, allow("audit:read")], person: str | None = None,
                    org_unit: str | None = None, who: str | None = None, since: IsoDateTime | None = None,
                    until: IsoDateTime | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Writes and sensitive reads by person, org unit, actor and time (newest first), each with its chain hash."""
    return audit.query(session, actor, person=person, org_unit=org_unit, who=who, since=since, until=until, limit=limit)


@router.get("/verify")
def verify_audit_log(session: SessionDep, actor: Annotated[Actor, allow("audit:read")]) -> dict[str, Any]:
    """Recompute both hash chains; `intact` is false and `findings` name the entries that fail."""
    findings = audit.verify(session)
    return {"intact": not findings, "findings": [f.__dict__ for f in findings]}
