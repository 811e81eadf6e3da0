"""Typed dependencies: the session, the authenticated actor and the role check."""

import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import pydantic_core
from fastapi import Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.db import (
    get_engine,
    get_lookup_session_factory,
    get_read_session,
    get_read_session_factory,
    get_session,
)
from app.errors import Forbidden, InvalidInput, Unauthenticated
from app.services import identity, ratelimit, tokens
from app.services.context import Actor


class AnswerRoute(APIRoute):
    """A route whose response model describes the service's answer without reshaping it: a field the model allows
    but the answer left out stays out (no null added), so the document and the bytes sent agree."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().__init__(*args, **kwargs)


def _write_session(request: Request) -> Iterator[Session]:
    """The request's transaction on the primary; once a write commits, its moment goes out as `Recorded-At`."""
    yield from get_session(lambda at: setattr(request.state, "recorded_at", at))


SessionDep = Annotated[Session, Depends(_write_session, scope="function")]
# Read-only work (indicators, lists, reads of one record): the replica when DATABASE_REPLICA_URL is set,
# in a read-only transaction on PostgreSQL. Sensitive-field reads still log to the primary (audit.log_reads).
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

T = TypeVar("T")


async def read_in_thread(work: Callable[[Session], T]) -> T:
    """`work` in one read-only transaction (as `ReadSessionDep` gives), opened, used, ended and closed in one trip to a
    worker thread: a sync route with a session dependency takes four (the session's start, the route, the answer's
    validation, the session's end), each a hand-over between the event loop and a thread (bench F27)."""
    def run() -> T:
        with contextmanager(get_read_session)() as session:
            return work(session)

    return await run_in_threadpool(run)

ALL = frozenset({"admin", "hr_officer", "auditor", "integration"})
# The authorisation matrix: every route names one action; an action lists the roles allowed.
# Org-unit scope is enforced by the services on the data itself.
ACTIONS: dict[str, frozenset[str]] = {
    "code_lists:read": ALL,
    "org_units:read": ALL,
    "org_units:write": frozenset({"admin", "integration"}),
    "reorganisations:run": frozenset({"admin"}),
    "persons:read": ALL,
    "persons:write": frozenset({"admin", "hr_officer", "integration"}),
    "statistics:read": ALL,
    "statistics:write": frozenset({"admin", "integration"}),
    "imports:org-units": frozenset({"admin", "integration"}),
    "imports:persons": frozenset({"admin", "hr_officer", "integration"}),
    "imports:statistics": frozenset({"admin", "integration"}),
    "imports:read": frozenset({"admin", "hr_officer", "integration"}),
    "exports:read": ALL,
    "changes:read": frozenset({"admin", "integration"}),
    "tokens:manage": frozenset({"admin"}),
    "audit:read": frozenset({"admin", "auditor"}),
    "indicators:read": ALL,
    "indicators:persons": frozenset({"admin", "hr_officer", "auditor"}),
    "indicators:write": frozenset({"admin"}),
    # training records (planning.md 'Training'): a course in the scope of its org unit, an enrolment in its person's
    "training:read": ALL,
    "training:write": frozenset({"admin", "hr_officer", "integration"}),
    "imports:courses": frozenset({"admin", "hr_officer", "integration"}),
    "imports:enrolments": frozenset({"admin", "hr_officer", "integration"}),
    "training_plans:read": ALL,
    "training_plans:write": frozenset({"admin", "hr_officer"}),
    # needs name persons to the roles of indicators:persons; the others get counts (suppressed in small cells)
    "training_needs:read": ALL,
    # planning pools (planning.md 'Planning pools'): every role checks a pool in its scope; candidates are named
    # (external_id) only to the roles of indicators:persons, the others get the violations without names
    "planning_pools:read": ALL,
}
# Actions whose effect is not confined to org units: only a whole-tree administrator may take them. A
# definition of the catalog changes every province's figures, so a scoped administrator may not publish one.
WHOLE_TREE_ONLY = frozenset({"indicators:write"})


# Declares the bearer scheme in the OpenAPI on every operation that authenticates (clients and viewers read it);
# auto_error=False: the header is checked below, with this service's own problem bodies.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A token issued by POST /api/v1/tokens (or `registry tokens create`), or an OIDC access token")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]


def get_actor(request: Request, _bearer: BearerDep) -> Actor:
    """The caller behind the bearer token, or 401.

    The token is looked up in a short transaction of its own, so that authentication never holds
    the request's transaction (on SQLite that would hold the write lock while an import streams).
    The lookup stays on the primary even for reads: a revoked token must stop working at once, not
    after a replica has replayed the revocation (or never, while the replica is cut off).
    """
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        raise Unauthenticated("missing Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    settings = get_settings()
    boot = settings.registry_bootstrap_token
    request_id = getattr(request.state, "request_id", None)
    if settings.oidc_enabled and identity.looks_like_jwt(secret.strip()):
        actor = identity.authenticate(settings, secret.strip(), request_id)
        ratelimit.hit(get_engine(), actor.name, settings.rate_limit_per_minute)
        return actor
    return _token_actor(secret.strip(), boot.get_secret_value() if boot else None, request_id,
                        replica=bool(settings.database_replica_url), per_minute=settings.rate_limit_per_minute)


def _token_actor(secret: str, bootstrap: str | None, request_id: str | None, *, replica: bool,
                 per_minute: int) -> Actor:
    """A token's actor, looked up on the primary and counted against the rate limit on the same connection (one
    checkout for both); the bootstrap token's switch is read on the replica while the primary is unreachable
    (reads go on there; the switch is replicated like every row, and the rate limit falls back to the process's)."""
    try:
        with get_lookup_session_factory()() as session:
            actor = tokens.authenticate(session, secret, bootstrap=bootstrap, request_id=request_id)
            ratelimit.hit(get_engine(), actor.name, per_minute, conn=session.connection())
            return actor
    except OperationalError:
        if not (replica and bootstrap and hmac.compare_digest(secret.encode(), bootstrap.encode())):
            raise
    with get_read_session_factory()() as session:
        actor = tokens.authenticate(session, secret, bootstrap=bootstrap, request_id=request_id)
    ratelimit.hit(get_engine(), actor.name, per_minute)
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def check_role(actor: Actor, action: str) -> Actor:
    """`actor` when the matrix lets its role take `action`, else 403."""
    if actor.role not in ACTIONS[action]:
        raise Forbidden(f"role {actor.role!r} may not {action.replace(':', ' ')}", code="role_forbidden")
    if action in WHOLE_TREE_ONLY and not actor.whole_tree:
        raise Forbidden(f"only an administrator of the whole tree may {action.replace(':', ' ')}: its effect reaches "
                        "beyond your org units", code="whole_tree_only")
    return actor


def allow(action: str) -> Any:
    """A dependency that admits the roles the matrix lists for `action`."""
    ACTIONS[action]  # an action the matrix does not list fails here, when the route is declared

    async def check(actor: ActorDep) -> Actor:  # no I/O: run in the event loop, not on a thread of its own
        return check_role(actor, action)

    check.__name__ = f"allow_{action.replace(':', '_').replace('-', '_')}"
    check.action = action  # type: ignore[attr-defined]
    return Depends(check)


def large_answer(doc: dict[str, Any], items: bytes | None = None) -> Response:
    """An answer of many thousand items (every unit of the tree), written as JSON by pydantic-core in one step;
    `items`, when given, is the JSON array of the answer's last member, "items", already written
    (`service.AllUnits.json`, F19 in bench/findings.md).

    For a returned dict FastAPI validates it against the route's response model, dumps the model back to Python
    and encodes that with `json`: 516 ms for the 109,564 units of one indicator at a million persons, against
    29 ms here for the same bytes (F15 in bench/findings.md), seven times over in a pass over the catalog. The
    response model still documents the answer; tests check that the answers agree with it
    (tests/engine/test_values_answer.py, and every answer of tests/security/test_fuzz.py)."""
    if items is None:
        return Response(pydantic_core.to_json(doc), media_type="application/json")
    # "items" last whatever `doc` holds, so that the written array goes where the empty one ends the head
    head = pydantic_core.to_json({k: v for k, v in doc.items() if k != "items"} | {"items": []})
    if not head.endswith(b'"items":[]}'):  # not an assert: python -O would drop it and send broken JSON
        raise RuntimeError("large_answer: the head of the answer does not end with its empty items")
    return Response(head[:-3] + items + b"}", media_type="application/json")


def parse_if_match(value: str | None) -> int | None:
    """The revision named by an If-Match header ('"3"', 'W/"3"'); None for absent or '*'."""
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise InvalidInput("malformed If-Match", errors=[{"field": "If-Match", "message": f"not an ETag of ours: {value!r}"}])
    return int(tag)


def etag(rev: int) -> str:
    return f'"{rev}"'


Check = Callable[..., Actor]
