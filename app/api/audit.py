"""The audit log, for auditors: who wrote or read what, when, through which request."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from app.api.deps import AnswerRoute, SessionDep, allow
from app.config import get_settings
from app.errors import InvalidInput
from app.schemas.audit import AuditLog, AuditVerification, CheckpointVerification
from app.schemas.common import AppSchema, IsoDateTime
from app.services import audit, checkpoint
from app.services.context import Actor

router = APIRouter(prefix="/audit", tags=["audit"], route_class=AnswerRoute)
Since = Annotated[IsoDateTime | None, Query(description="only entries at or after this moment (ISO 8601)")]
Until = Annotated[IsoDateTime | None, Query(description="only entries at or before this moment (ISO 8601)")]


@router.get("", response_model=AuditLog)
def query_audit_log(session: SessionDep, actor: Annotated[Actor, allow("audit:read")],
                    person: Annotated[str | None, Query(description="only entries about this person (external id)")] = None,
                    org_unit: Annotated[str | None, Query(description="only entries touching this org unit's subtree")] = None,
                    who: Annotated[str | None, Query(description="only entries by this actor (a token's name)")] = None,
                    since: Since = None, until: Until = None,
                    limit: Annotated[int, Query(ge=1, le=1000, description="entries of each log (at most 1000)")] = 100,
                    ) -> dict[str, Any]:
    """Writes and sensitive reads by person, org unit, actor and time (newest first), each with its chain hash."""
    return audit.query(session, actor, person=person, org_unit=org_unit, who=who, since=since, until=until, limit=limit)


@router.get("/verify", response_model=AuditVerification)
def verify_audit_log(session: SessionDep, actor: Annotated[Actor, allow("audit:read")]) -> dict[str, Any]:
    """Recompute both hash chains; `intact` is false and `findings` name the entries that fail.

    Access-log entries appended in the last moments are sealed first (`unsealed`: those another sealer
    was still sealing, covered by the next verification).
    """
    audit.seal_pending(wait=False)
    findings = audit.verify(session)
    return {"intact": not findings, "findings": [f.__dict__ for f in findings], "unsealed": audit.unsealed(session)}


class CheckpointCheck(AppSchema):
    checkpoint: dict[str, Any]
    public_key: Annotated[str, Field(max_length=200)] | None = None


@router.post("/verify", response_model=CheckpointVerification)
def verify_against_checkpoint(payload: CheckpointCheck, session: SessionDep,
                              actor: Annotated[Actor, allow("audit:read")]) -> dict[str, Any]:
    """Hold both logs to a signed checkpoint (as `registry audit verify --checkpoint`): `findings` name each rewrite,
    deletion or truncation of what it covers. The public key is the caller's (base64), else the server's signing key's;
    an auditor (shown records without their sensitive fields) may use the server's only, since a checkpoint of its
    own making would confirm guesses of what it is not shown.
    """
    try:
        if payload.public_key and not actor.sees_sensitive:
            # a checkpoint the caller signs with a key of its own states any leaf it likes: the answer, entry by
            # entry, would confirm a guess of the fields withheld from this role (the review's oracle)
            raise checkpoint.CheckpointError("your role checks checkpoints signed with this server's key only: "
                                             "leave public_key out")
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
    audit.seal_pending(wait=False)
    chain = audit.verify(session)
    against, appended = checkpoint.compare(session, payload.checkpoint)
    return {"intact": not chain and not against, "timestamp": payload.checkpoint["timestamp"],
            "findings": [f.__dict__ for f in chain + against], "appended_since": appended,
            "unsealed": audit.unsealed(session)}
