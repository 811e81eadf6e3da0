"""SCIM 2.0 at /scim/v2 (RFC 7643/7644): Users are registry persons; every error is a SCIM Error body.

The same bearer tokens as the REST API; roles admin and integration, scoped to the token's org units.
"""

import dataclasses
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    ListResponse,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    SearchRequest,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from app.api.deps import SessionDep, get_actor
from app.api.error_handlers import headers_of, status_of
from app.errors import DomainError, Forbidden, db_refusal, driver_text
from app.services.context import Actor
from app.services.scim import discovery, search, users
from app.services.scim.models import UserResource

log = logging.getLogger("registry.scim")
MEDIA_TYPE = "application/scim+json"
ROLES = frozenset({"admin", "integration"})


def scim_response(body: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = None if body is None else json.dumps(body, ensure_ascii=False)
    return Response(content, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error_response(status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return scim_response(error.model_dump(scim_ctx=Context.DEFAULT), status, headers)


def _from_validation(exc: ValidationError | RequestValidationError) -> Response:
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {"type": "", "msg": "invalid request"}
    kind = str(first.get("type", ""))
    scim_type = kind.removeprefix("scim_") if kind.startswith("scim_") else "invalidValue"
    if kind in ("json_invalid", "dict_type", "model_attributes_type"):
        scim_type = "invalidSyntax"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    status = int((first.get("ctx") or {}).get("status", 409 if scim_type == "uniqueness" else 400))
    return error_response(status, f"{where}: {first['msg']}" if where else str(first["msg"]), scim_type)


def _scim_type(status: int, code: str) -> str | None:
    """The SCIM error type of an application error: a duplicate is `uniqueness`, a refused value `invalidValue`."""
    if status == 409 and "duplicate" in code:
        return "uniqueness"
    return "invalidValue" if status == 422 else None


def _detail(exc: Exception) -> tuple[str, str]:
    """(code, detail) of an application error; a database's own text stays in the server log."""
    if isinstance(exc, DomainError):
        return exc.code, exc.detail
    if isinstance(exc, StarletteHTTPException):
        return "http_error", str(exc.detail)
    if isinstance(exc, IntegrityError | DataError):
        code, message = db_refusal(exc)
        log.warning("database refused a SCIM write (%s): %s", code, driver_text(exc))
        return code, f"the registry refused {'the write' if isinstance(exc, IntegrityError) else 'a value'}: {message}"
    if isinstance(exc, DBAPIError):
        log.exception("database error")
        return "database_unavailable", "the database could not answer; try again"
    if isinstance(exc, PoolTimeout):
        log.error("no database connection free: %s", exc)
        return "database_busy", "every database connection of this server is in use; try again"
    log.exception("unexpected error in SCIM")
    return "internal_error", "an unexpected error occurred; it has been logged"


def to_response(exc: Exception) -> Response:
    """Any error raised while serving a SCIM request, as a SCIM Error (RFC 7644 §3.12).

    SCIM's own errors (scim2-models' exceptions, a body that does not validate) keep the status RFC 7644
    gives them; every other error gets the status and headers of the application's one table
    (app.api.error_handlers), the same as on the REST API.
    """
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return error_response(error.status or 400, error.detail or str(exc), error.scim_type)
    if isinstance(exc, ValidationError | RequestValidationError):
        return _from_validation(exc)
    status = status_of(exc)
    code, detail = _detail(exc)
    headers = headers_of(exc, status) | (dict(exc.headers or {}) if isinstance(exc, StarletteHTTPException) else {})
    return error_response(status, detail, _scim_type(status, code), headers or None)


class ScimFailure(Exception):
    """An error of a SCIM request, already turned into its SCIM Error response.

    Raised, not returned, through the request's dependencies: the request's transaction is rolled back
    (app.db) on the way out, which a response returned from inside them would have committed, partial
    writes included. ScimRoute.handle sends the response once they have closed.
    """

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


class ScimRoute(APIRoute):
    """A route whose errors, from dependencies and validation included, come back as SCIM Errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every error becomes a SCIM Error body
                raise ScimFailure(to_response(exc)) from exc

        return scim_handler

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().handle(scope, receive, send)
        except ScimFailure as failure:
            await failure.response(scope, receive, send)


def scim_actor(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """The caller, if its role may use SCIM (admin, integration); writes are recorded with source 'scim'."""
    if actor.role not in ROLES:
        raise Forbidden(f"role {actor.role!r} may not use SCIM provisioning", code="role_forbidden")
    return dataclasses.replace(actor, source="scim")


router = APIRouter(prefix="/scim/v2", tags=["scim"], route_class=ScimRoute)
ScimActor = Annotated[Actor, Depends(scim_actor)]
IfMatch = Annotated[str | None, Header()]
Payload = Annotated[dict[str, Any], Body()]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + router.prefix


def version(value: str | None) -> int | None:
    """The revision an If-Match names ('W/"3"', '"3"'); None for absent or '*'; anything else matches nothing."""
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() else -1


def user_response(user: Any, ctx: Context, status: int = 200, params: Any = None) -> Response:
    body = user.model_dump(scim_ctx=ctx, response_parameters=params)
    headers = {"ETag": user.meta.version} if user.meta and user.meta.version else {}
    if status == 201 and user.meta and user.meta.location:
        headers["Location"] = user.meta.location
    return scim_response(body, status, headers)


def _params(request: Request, model: Any) -> Any:
    return model.model_validate(dict(request.query_params))


@router.get("/ServiceProviderConfig")
def get_service_provider_config(request: Request, actor: ScimActor) -> Response:
    """RFC 7644 §4: what this service provider supports."""
    return scim_response(discovery.config(base_url(request)).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/ResourceTypes")
def list_resource_types(request: Request, actor: ScimActor) -> Response:
    """The resource types served: User."""
    types = discovery.resource_types(base_url(request))
    listing = ListResponse[ResourceType](total_results=len(types), start_index=1, items_per_page=len(types),
                                         resources=types)
    return scim_response(listing.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/ResourceTypes/{name}")
def get_resource_type(name: str, request: Request, actor: ScimActor) -> Response:
    found = [t for t in discovery.resource_types(base_url(request)) if t.id == name]
    if not found:
        return error_response(404, f"no resource type {name!r}")
    return scim_response(found[0].model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/Schemas")
def list_schemas(request: Request, actor: ScimActor) -> Response:
    """The User schema, its extensions, and the discovery schemas."""
    schemas = discovery.schemas(base_url(request))
    listing = ListResponse[Schema](total_results=len(schemas), start_index=1, items_per_page=len(schemas),
                                   resources=schemas)
    return scim_response(listing.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/Schemas/{schema_id}")
def get_schema(schema_id: str, request: Request, actor: ScimActor) -> Response:
    found = [s for s in discovery.schemas(base_url(request)) if s.id == schema_id]
    if not found:
        return error_response(404, f"no schema {schema_id!r}")
    return scim_response(found[0].model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/Users")
def list_users(request: Request, session: SessionDep, actor: ScimActor) -> Response:
    """Users matching `filter`, sorted by `sortBy`/`sortOrder`, paged by `startIndex`/`count`."""
    query = _params(request, SearchRequest[UserResource])
    listing = search.search(session, actor, query, base_url(request))
    return scim_response(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query))


@router.post("/Users/.search")
def search_users(payload: Payload, request: Request, session: SessionDep, actor: ScimActor) -> Response:
    """RFC 7644 §3.4.3: the same query as GET /Users, in a SearchRequest body."""
    query = users.parse(SearchRequest[UserResource], payload, Context.SEARCH_REQUEST)
    listing = search.search(session, actor, query, base_url(request))
    return scim_response(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query))


@router.post("/.search")
def search_everything(payload: Payload, request: Request, session: SessionDep, actor: ScimActor) -> Response:
    """RFC 7644 §3.4.3, a search of every resource type: the Users, the one type served, as /Users/.search answers."""
    return search_users(payload, request, session, actor)


@router.post("/Users")
def create_user(payload: Payload, request: Request, session: SessionDep, actor: ScimActor) -> Response:
    """A new person: userName is the external id; birthDate, gender and primaryEmployments are required."""
    params = _params(request, ResponseParameters[UserResource])
    user = users.create(session, actor, payload, base_url(request))
    return user_response(user, Context.RESOURCE_CREATION_RESPONSE, 201, params)


@router.get("/Users/{user_id}")
def get_user(user_id: str, request: Request, session: SessionDep, actor: ScimActor,
             if_none_match: IfMatch = None) -> Response:
    """One User (a version the client already has: 304)."""
    user = users.get(session, actor, user_id, base_url(request))
    if if_none_match and user.meta and if_none_match.strip() in (user.meta.version, "*"):
        return Response(status_code=304, headers={"ETag": user.meta.version or ""})
    return user_response(user, Context.RESOURCE_QUERY_RESPONSE, params=_params(request, ResponseParameters[UserResource]))


@router.put("/Users/{user_id}")
def replace_user(user_id: str, payload: Payload, request: Request, session: SessionDep, actor: ScimActor,
                 if_match: IfMatch = None) -> Response:
    """Replace every writable attribute (412 on a stale If-Match)."""
    params = _params(request, ResponseParameters[UserResource])
    user = users.replace(session, actor, user_id, payload, base_url(request), version(if_match))
    return user_response(user, Context.RESOURCE_REPLACEMENT_RESPONSE, params=params)


@router.patch("/Users/{user_id}")
def patch_user(user_id: str, payload: Payload, request: Request, session: SessionDep, actor: ScimActor,
               if_match: IfMatch = None) -> Response:
    """Apply add/replace/remove operations (412 on a stale If-Match)."""
    params = _params(request, ResponseParameters[UserResource])
    user = users.patch(session, actor, user_id, payload, base_url(request), version(if_match))
    return user_response(user, Context.RESOURCE_PATCH_RESPONSE, params=params)


@router.delete("/Users/{user_id}", status_code=204)
def delete_user(user_id: str, session: SessionDep, actor: ScimActor, if_match: IfMatch = None) -> Response:
    """The person leaves today (no hard delete); the User answers 404 from now on."""
    users.delete(session, actor, user_id, version(if_match))
    return Response(status_code=204)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(rest: str, request: Request) -> Response:
    """404 for what does not exist under /scim/v2, 405 for a method a resource does not offer."""
    allowed = sorted({m for r in router.routes if isinstance(r, APIRoute) and r.path != "/scim/v2/{rest:path}"
                      and r.matches(request.scope)[0] == Match.PARTIAL for m in r.methods or ()})
    if allowed:
        return error_response(405, f"{request.method} is not allowed here; use {', '.join(allowed)}",
                               headers={"Allow": ", ".join(allowed)})
    return error_response(404, f"nothing at {request.url.path}")
