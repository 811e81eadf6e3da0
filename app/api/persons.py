"""Persons with their nested records: list, read (now or at a past moment), create, replace, patch, close."""

import re
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from app.api.admission import in_short_turn
from app.api.deps import (
    AnswerRoute,
    ReadSessionDep,
    SessionDep,
    allow,
    check_role,
    etag,
    get_actor,
    parse_if_match,
    read_in_thread,
)
from app.api.params import AsOf, KnownAt, PersonPath, Search, cursor_after, page_size
from app.config import get_settings
from app.db import get_read_session
from app.errors import InvalidInput
from app.schemas.common import AppSchema, IfMatch, IsoDate
from app.schemas.interchange import PersonPatch, PersonRecord
from app.schemas.records import PersonPage, PersonRead
from app.services import codelists, history, identity, persons
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


class GetPersonNow(BaseRoute):
    """`GET /api/v1/persons/{external_id}` with no query string (a person as they are now: nearly every read of one
    person) without FastAPI's routing, dependencies and thread trips; `get_person` above answers every other form
    (`known_at`, any query) and is what the OpenAPI documents.

    Why by hand: under 32 clients, FastAPI's matching through the included routers, solving the dependencies and
    a second trip to a worker thread were about a third of a read's CPU in the worker (py-spy, bench F31). This
    route is tried first (`install`) and matches only that one form; it calls what `get_person` calls, in one
    trip to a worker thread: the caller's token and rate limit (`get_actor`), the role check of the matrix
    (`check_role`, persons:read), `persons.read` (scope, redaction, the access-log entry), and the answer
    validated by the same model (`PersonRead`, fields left out stay out). The trip is on one of the worker's few
    threads for short reads (`admission.in_short_turn`, bench F34), unless the caller's token is an identity
    provider's, whose check may wait on the provider. A refusal raises the same errors, which
    the application's handlers answer; the middleware (request id, headers, admission, idempotency) wraps it as
    it wraps every route. tests/api/test_get_person_now.py compares its answers with `get_person`'s, byte for
    byte, for every role, in scope and out, and hostile ids."""

    path = path_format = "/api/v1/persons/{external_id}"
    name = "get_person_now"
    _PATH = path_regex = re.compile(r"/api/v1/persons/([^/]+)")  # as Starlette compiles "{external_id}": a segment
    _ANSWER: TypeAdapter[PersonRead] = TypeAdapter(PersonRead)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # an application whose dependencies are overridden (tests replace `get_actor`) is answered by FastAPI, which
        # applies the overrides
        if getattr(scope.get("app"), "dependency_overrides", None):
            return Match.NONE, {}
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("query_string"):
            found = self._PATH.fullmatch(get_route_path(scope))  # without root_path, as Starlette routes
            if found is not None:
                return Match.FULL, {"path_params": {"external_id": found.group(1)}, "route": self}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the documented route (`get_person`) is the one to name

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        external_id = scope["path_params"]["external_id"]

        def read() -> tuple[dict[str, Any], int]:
            actor = check_role(get_actor(request, None), "persons:read")
            with contextmanager(get_read_session)() as session:
                return persons.read(session, actor, external_id)

        if _may_wait_on_the_network(request):  # not a short read: on the worker's general threads
            record, rev = await run_in_threadpool(read)
        else:
            record, rev = await in_short_turn(read)  # on one of a few threads of the worker (bench F34)
        body = self._ANSWER.dump_json(self._ANSWER.validate_python(record), by_alias=True, exclude_unset=True)
        await Response(body, media_type="application/json", headers={"ETag": etag(rev)})(scope, receive, send)


def _may_wait_on_the_network(request: Request) -> bool:
    """Whether the caller signs in with an identity provider's token, whose keys `get_actor` may fetch from the
    provider (for a key id it has not seen, whoever sent it, for up to the client's timeout). Two such reads on the
    few threads of short reads would hold every other read of one person of the worker behind them, and with them
    its admission's turns."""
    if not get_settings().oidc_enabled:
        return False
    return identity.looks_like_jwt(request.headers.get("authorization", "").partition(" ")[2].strip())


def install(app: Any) -> None:
    """Put `GetPersonNow` before every other route of `app` (after the routers are included)."""
    app.router.routes.insert(0, GetPersonNow())


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
