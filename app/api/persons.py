"""Persons with their nested records: list, read (now or at a past moment), create, replace, patch, close."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import ReadSessionDep, SessionDep, allow, etag, parse_if_match
from app.errors import InvalidInput
from app.schemas.common import AppSchema, IfMatch, IsoDate, IsoDateTime
from app.schemas.interchange import PersonPatch, PersonRecord
from app.services import codelists, history, persons
from app.services.context import Actor

router = APIRouter(prefix="/persons", tags=["persons"])
Reader = Annotated[Actor, allow("persons:read")]
Writer = Annotated[Actor, allow("persons:write")]


class CloseRequest(AppSchema):
    on: IsoDate


@router.get("")
def list_persons(session: ReadSessionDep, actor: Reader, org_unit: str | None = None, as_of: IsoDate | None = None,
                 category: str | None = None, occupation: str | None = None, rank: str | None = None,
                 q: str | None = None, after: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Persons in external-id order; `org_unit` = employed in its subtree; `q` ignores diacritics."""
    items, nxt = persons.list_page(session, actor, org_unit=org_unit, as_of=as_of, category=category,
                                   occupation=occupation, rank=rank, q=q, after=after, limit=limit)
    return {"items": items, "next": nxt}


@router.post("", status_code=201)
def create_person(payload: PersonRecord, session: SessionDep, actor: Writer, response: Response) -> dict[str, Any]:
    """Register a person; 409 if the external id exists (PUT replaces), decided under the write lock."""
    outcome = persons.upsert(session, actor, payload, codelists.load(session), create_only=True)
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record


@router.get("/{external_id}")
def get_person(external_id: str, session: ReadSessionDep, actor: Reader, response: Response,
               known_at: IsoDateTime | None = None) -> dict[str, Any]:
    """One person, now or as the registry recorded them at `known_at`."""
    record, rev = persons.read(session, actor, external_id, cut=history.txn_cut(session, known_at))
    response.headers["ETag"] = etag(rev)
    return record


@router.put("/{external_id}")
def replace_person(external_id: str, payload: PersonRecord, session: SessionDep, actor: Writer,
                   response: Response, if_match: IfMatch = None) -> dict[str, Any]:
    """Create or fully replace a person: a missing list means none (412 on a stale If-Match)."""
    if payload.external_id != external_id:
        raise InvalidInput("external_id mismatch", errors=[
            {"field": "external_id", "message": f"body says {payload.external_id!r}, URL says {external_id!r}"}])
    outcome = persons.upsert(session, actor, payload, codelists.load(session), if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record


@router.patch("/{external_id}")
def patch_person(external_id: str, payload: PersonPatch, session: SessionDep, actor: Writer,
                 response: Response, if_match: IfMatch = None) -> dict[str, Any]:
    """Change some fields or lists; what is left out keeps its value (412 on a stale If-Match)."""
    outcome = persons.patch(session, actor, external_id, payload, codelists.load(session),
                            if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record


@router.post("/{external_id}/close")
def close_person(external_id: str, payload: CloseRequest, session: SessionDep, actor: Writer,
                 response: Response, if_match: IfMatch = None) -> dict[str, Any]:
    """The person leaves: every employment, position and seat ends on `on` (history is kept)."""
    outcome = persons.close(session, actor, external_id, payload.on, if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record
