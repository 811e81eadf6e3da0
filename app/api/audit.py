"""The audit log, for auditors: who wrote or read what, when, through which request."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from app.api.deps import SessionDep, allow
from app.config import get_settings
from app.errors import InvalidInput
from app.schemas.common import AppSchema, IsoDateTime
from app.services import audit, checkpoint
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


class CheckpointCheck(AppSchema):
    checkpoint: dict[str, Any]
    public_key: Annotated[str, Field(max_length=200)] | None = None


@router.post("/verify")
def verify_against_checkpoint(payload: CheckpointCheck, session: SessionDep,
                              actor: Annotated[Actor, allow("audit:read")]) -> dict[str, Any]:
    """Hold both logs to a signed checkpoint (as `registry audit verify --checkpoint`): `findings` name each rewrite,
    deletion or truncation of what it covers. The public key is the caller's (base64), else the server's signing key's.
    """
    try:
        if payload.public_key:
            public = checkpoint.load_public(payload.public_key, files=False)
        elif get_settings().audit_signing_key_file:
            public = checkpoint.load_private(str(get_settings().audit_signing_key_file)).public_key()
        else:
            raise checkpoint.CheckpointError("give the signer's public_key (base64): this server has no signing key")
        checkpoint.check_signature(payload.checkpoint, public)
    except (checkpoint.CheckpointError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"the checkpoint cannot be used: {exc}", code="invalid_checkpoint",
                           errors=[{"field": "checkpoint", "message": str(exc)}]) from None
    chain = audit.verify(session)
    against, appended = checkpoint.compare(session, payload.checkpoint)
    return {"intact": not chain and not against, "timestamp": payload.checkpoint["timestamp"],
            "findings": [f.__dict__ for f in chain + against], "appended_since": appended}
