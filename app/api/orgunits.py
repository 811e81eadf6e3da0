"""Org units: list, read (now or as recorded at a past moment), create, replace, patch, close."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import AnswerRoute, ReadSessionDep, SessionDep, allow, etag, parse_if_match
from app.api.params import AsOf, KnownAt, Search, UnitPath, cursor_after, page_size
from app.errors import Conflict, InvalidInput
from app.schemas.common import AppSchema, IfMatch, IsoDate
from app.schemas.interchange import OrgUnitRecord, Successors
from app.schemas.records import OrgUnitChildren, OrgUnitPage, OrgUnitRead
from app.services import codelists, history, orgunits, tree
from app.services.context import Actor

router = APIRouter(prefix="/org-units", tags=["org units"], route_class=AnswerRoute)
Reader = Annotated[Actor, allow("org_units:read")]
Writer = Annotated[Actor, allow("org_units:write")]


class OrgUnitCloseRequest(AppSchema):
    on: IsoDate
    successors: Successors | None = None  # the units that continue it; None keeps those recorded


def _rev(session: SessionDep, code: str) -> int:
    from sqlalchemy import select

    from app.models import OrgUnit

    return session.scalar(select(OrgUnit.rev).where(OrgUnit.code == code)) or 0


@router.get("", response_model=OrgUnitPage)
def list_org_units(session: ReadSessionDep, actor: Reader,
                   under: Annotated[str | None, Query(description="only this unit's subtree on `as_of`")] = None,
                   as_of: AsOf = None,
                   kind: Annotated[str | None, Query(description="unit kind code (code list org_unit_kind)")] = None,
                   tier: Annotated[str | None, Query(description="tier code (code list tier)")] = None, q: Search = None,
                   after: Annotated[str | None, cursor_after("a unit code")] = None,
                   limit: Annotated[int, page_size(1000)] = 100) -> dict[str, Any]:
    """Units in code order; `under` = the subtree on `as_of` (default today); `q` ignores diacritics."""
    items, nxt = orgunits.list_page(session, actor, under=under, as_of=as_of, kind=kind, tier=tier, q=q,
                                    after=after, limit=limit)
    return {"items": items, "next": nxt}


@router.post("", status_code=201, response_model=OrgUnitRead)
def create_org_unit(payload: OrgUnitRecord, session: SessionDep, actor: Writer, response: Response) -> dict[str, Any]:
    """Create a unit; 409 if the code exists (codes are never reused)."""
    if tree.unit_ids(session, {payload.code}):
        raise Conflict(f"org unit {payload.code!r} exists; codes are never reused (PUT replaces)", code="duplicate_code")
    outcome = orgunits.upsert(session, actor, payload, codelists.load(session))
    response.headers["ETag"] = etag(_rev(session, payload.code))
    return outcome.record


@router.get("/{code}", response_model=OrgUnitRead)
def get_org_unit(code: UnitPath, session: ReadSessionDep, actor: Reader, response: Response,
                 known_at: KnownAt = None) -> dict[str, Any]:
    """One unit, now or as the registry recorded it at `known_at`."""
    record = orgunits.get_record(session, code, history.txn_cut(session, known_at))
    response.headers["ETag"] = etag(_rev(session, code))
    return record


@router.get("/{code}/children", response_model=OrgUnitChildren)
def list_children(code: UnitPath, session: ReadSessionDep, actor: Reader, as_of: AsOf = None) -> dict[str, Any]:
    """The unit's children in the tree as it stood on `as_of` (default today)."""
    day = as_of or date.today()
    snapshot = tree.Tree(session)
    root = tree.unit_id(session, code)
    kids = sorted((u for u in snapshot.units if u != root and snapshot.parent_on(u, day) == root),
                  key=lambda u: snapshot.units[u].code)
    recs = orgunits.records(session, kids)
    return {"as_of": day.isoformat(), "items": [recs[k] for k in kids]}


@router.put("/{code}", response_model=OrgUnitRead)
def replace_org_unit(code: UnitPath, payload: OrgUnitRecord, session: SessionDep, actor: Writer, response: Response,
                     if_match: IfMatch = None) -> dict[str, Any]:
    """Create or replace a unit (the previous state stays in the history)."""
    if payload.code != code:
        raise InvalidInput("code mismatch", errors=[
            {"field": "code", "message": f"body says {payload.code!r}, URL says {code!r}"}])
    outcome = orgunits.upsert(session, actor, payload, codelists.load(session), if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(_rev(session, code))
    return outcome.record


@router.patch("/{code}", response_model=OrgUnitRead)
def patch_org_unit(code: UnitPath, payload: dict[str, Any], session: SessionDep, actor: Writer, response: Response,
                   if_match: IfMatch = None) -> dict[str, Any]:
    """Change some fields of a unit; fields left out keep their value."""
    outcome = orgunits.patch(session, actor, code, payload, if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(_rev(session, code))
    return outcome.record


@router.post("/{code}/close", response_model=OrgUnitRead)
def close_org_unit(code: UnitPath, payload: OrgUnitCloseRequest, session: SessionDep, actor: Writer,
                   if_match: IfMatch = None) -> dict[str, Any]:
    """Close a unit on a date (its last day), optionally naming its successors; history is kept, nothing is deleted."""
    return orgunits.close(session, actor, code, payload.on, successors=payload.successors,
                          if_match=parse_if_match(if_match)).record

