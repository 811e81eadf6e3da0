"""Persons with their nested records: list, read (now or at a past moment), create, replace, patch, close."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import AnswerRoute, ReadSessionDep, SessionDep, allow, etag, parse_if_match, read_in_thread
from app.api.params import AsOf, KnownAt, PersonPath, Search, cursor_after, page_size
from app.errors import InvalidInput
from app.schemas.common import AppSchema, IfMatch, IsoDate
from app.schemas.interchange import PersonPatch, PersonRecord
from app.schemas.records import PersonPage, PersonRead
from app.services import codelists, history, persons
from app.services.context import Actor

router = APIRouter(prefix="/persons", tags=["persons"], route_class=AnswerRoute)
Reader = Annotated[Actor, allow("persons:read")]
Writer = Annotated[Actor, allow("persons:write")]


class PersonCloseRequest(AppSchema):
    on: IsoDate


@router.get("", response_model=PersonPage)
def list_persons(session: ReadSessionDep, actor: Reader, org_unit: Annotated[str | None, Query(
                     description="only persons employed in this org unit's subtree on `as_of`")] = None,
                 as_of: AsOf = None,
                 category: Annotated[str | None, Query(description="employment category (code list employment_category)")] = None,
                 occupation: Annotated[str | None, Query(description="occupation code (code list occupation)")] = None,
                 rank: Annotated[str | None, Query(description="leadership rank code (code list leadership_rank)")] = None,
                 q: Search = None, after: Annotated[str | None, cursor_after("an external id")] = None,
                 limit: Annotated[int, page_size(500)] = 50) -> dict[str, Any]:
    """Persons in external-id order; `org_unit` = employed in its subtree; `q` ignores diacritics."""
    items, nxt = persons.list_page(session, actor, org_unit=org_unit, as_of=as_of, category=category,
                                   occupation=occupation, rank=rank, q=q, after=after, limit=limit)
    return {"items": items, "next": nxt}


@router.post("", status_code=201, response_model=PersonRead)
def create_person(payload: PersonRecord, session: SessionDep, actor: Writer, response: Response) -> dict[str, Any]:
    """Register a person; 409 if the external id exists (PUT replaces), decided under the write lock."""
    outcome = persons.upsert(session, actor, payload, codelists.load(session), create_only=True)
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record


@router.get("/{external_id}", response_model=PersonRead)
async def get_person(external_id: PersonPath, actor: Reader, response: Response,
                     known_at: KnownAt = None) -> dict[str, Any]:
    """One person, now or as the registry recorded them at `known_at`."""
    record, rev = await read_in_thread(
        lambda session: persons.read(session, actor, external_id, cut=history.txn_cut(session, known_at)))
    response.headers["ETag"] = etag(rev)
    return record


@router.put("/{external_id}", response_model=PersonRead)
def replace_person(external_id: PersonPath, payload: PersonRecord, session: SessionDep, actor: Writer,
                   response: Response, if_match: IfMatch = None) -> dict[str, Any]:
    """Create or fully replace a person: a missing list means none (412 on a stale If-Match)."""
    if payload.external_id != external_id:
        raise InvalidInput("external_id mismatch", errors=[
            {"field": "external_id", "message": f"body says {payload.external_id!r}, URL says {external_id!r}"}])
    outcome = persons.upsert(session, actor, payload, codelists.load(session), if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record


@router.patch("/{external_id}", response_model=PersonRead)
def patch_person(external_id: PersonPath, payload: PersonPatch, session: SessionDep, actor: Writer,
                 response: Response, if_match: IfMatch = None) -> dict[str, Any]:
    """Change some fields or lists; what is left out keeps its value (412 on a stale If-Match)."""
    outcome = persons.patch(session, actor, external_id, payload, codelists.load(session),
                            if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record


@router.post("/{external_id}/close", response_model=PersonRead)
def close_person(external_id: PersonPath, payload: PersonCloseRequest, session: SessionDep, actor: Writer,
                 response: Response, if_match: IfMatch = None) -> dict[str, Any]:
    """The person leaves: every employment, position and seat ends on `on` (history is kept)."""
    outcome = persons.close(session, actor, external_id, payload.on, if_match=parse_if_match(if_match))
    response.headers["ETag"] = etag(outcome.rev)
    return outcome.record
