"""The FastAPI application: routers, error handlers, request ids and body limits."""

import asyncio
import gc
import ipaddress
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs
from app.api import api_router, docs, error_handlers, persons, scim
from app.api.admission import Admission
from app.api.idempotency import IdempotencyMiddleware
from app.config import get_settings
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.meta import Health
from app.services import history
from app.web import install as install_web
from app.web.pages import refusal as web_refusal

SMALL_BODY = 2 * 1024 * 1024
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,100}")  # what is kept of a client's X-Request-ID (as stored: 100 characters)
log = logging.getLogger("registry")
requests_log = logging.getLogger("registry.requests")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class RequestContext:
    """Each request's id, its refusals (control characters in the URL; a body over the limit, declared before anything
    runs, or counted as it arrives, so that a chunked body cannot pass it either) and the headers of every answer: the
    request id, `Recorded-At` after a write, the security headers.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` (`@app.middleware("http")`, what this was) runs the
    rest of the application in a task of its own and passes the answer back through memory streams, on every
    request (bench F26)."""

    def __init__(self, app: ASGIApp, body_limit: Callable[[str], int]) -> None:
        self.app, self.body_limit = app, body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request.state.request_id, replaced = _request_id(request.headers.get("x-request-id"))
        path = get_route_path(scope)  # what the routes see: the URL's path without a proxy's root_path
        refusal: Response | None = None
        # the path, which the server decoded, decoded again (a control character escaped twice is refused too), and
        # the query as sent, decoded once; off the scope: `request.url` built the whole URL on every request
        target = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        if CONTROL.search(unquote(target)):
            detail = "the URL holds control characters (e.g. NUL)"
            refusal = (web_refusal(400, "invalid_characters", detail) if path.startswith("/dashboard")  # a page, as
                       else error_handlers.problem(400, "invalid_characters", detail, request))  # the dashboard does
        else:
            length, limit = request.headers.get("content-length"), self.body_limit(path)
            if length and length.isdigit() and int(length) > limit:
                refusal = error_handlers.problem(413, "payload_too_large", f"body over the limit of {limit} bytes",
                                                 request)
        api = path.startswith(("/api/", "/scim/"))
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request.state.request_id
                recorded = getattr(request.state, "recorded_at", None)
                if recorded is not None:  # the moment the request's write committed: the known_at that includes it
                    headers["Recorded-At"] = history.moment(recorded)
                if replaced:
                    headers["X-Request-ID-Replaced"] = replaced
                for header, value in SECURITY_HEADERS.items():
                    headers.setdefault(header, value)
                if api:
                    headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
                    headers.setdefault("Cache-Control", "no-store")
                if https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            await send(message)

        if refusal is not None:  # with the headers of every answer: the request id, the security headers
            await refusal(scope, receive, with_headers)
            return
        limit, seen = self.body_limit(path), 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"body over the limit of {limit} bytes")
            return message

        await self.app(scope, counted, with_headers)


class RequestLog:
    """Each request's line in the server's log (`request_line`), in place of uvicorn's access log. The outermost
    middleware: every answer has its line, whichever middleware gave it, and its time includes the wait for a turn
    (admission)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not requests_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), "-"  # "-": no answer was started (the request was cancelled)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if status == "-":
                status = "500"  # what the server's error handler, outside every middleware, answers
            raise
        finally:
            requests_log.info("%s", request_line(scope, status, time.perf_counter() - started))


def request_line(scope: Scope, status: str, seconds: float) -> str:
    """A request's line in the server's log (INFO, logger `registry.requests`, which LOG_LEVEL governs): the client,
    the method, the route's template, the status, the time taken and the request id ("-" for answers given before
    one was assigned).

    In place of uvicorn's access log, which `registry serve` turns off: that wrote the URL as sent, query string
    and all, so that every search of the persons list by name (`?q=…`) and every person's id read left personal
    data in plain text in the server's output, outside the access log that says who read whom. Here the route's
    template stands for the path (`/api/v1/persons/{external_id}`), and no query string is written; the request id
    leads to the request's entries in the access log (`request_id`). A request no route took (a 404, a refusal
    before routing, a redirect to the path with or without its trailing slash) is written `(no route)`: its path
    may hold an id or a name. The client is written only as an IP address, so that a forwarded header cannot write
    a line of its own."""
    template = _template(scope) or "(no route)"
    state = scope.get("state")
    request_id = state.get("request_id") if isinstance(state, dict) else None
    return (f"{_address(scope.get('client'))} \"{scope['method']} {template}\" {status} "
            f"{seconds * 1000:.1f} ms request {request_id or '-'}")


def _address(client: Any) -> str:
    try:
        return str(ipaddress.ip_address(client[0]))
    except (TypeError, IndexError, ValueError):
        return "-"


def _template(scope: Scope) -> str | None:
    """The template of the route that answered (Starlette sets `scope["route"]`), from the application's root. A
    route of an included router knows its own part of the path only (`/persons/{external_id}`): the path's part
    before it, which can only be the routers' literal prefixes (`/api/v1`), is put before it."""
    route = scope.get("route")
    template, regex = getattr(route, "path_format", None), getattr(route, "path_regex", None)
    if not isinstance(template, str) or not isinstance(regex, re.Pattern):
        return None
    path = get_route_path(scope)
    if regex.fullmatch(path):
        return template
    for at in (i for i, c in enumerate(path) if c == "/" and i):
        if regex.fullmatch(path[at:]):
            return path[:at] + template
    return None


def _request_id(sent: str | None) -> tuple[str, str | None]:
    """This request's id: the client's X-Request-ID when it is 1-100 visible ASCII characters, else a new one and why."""
    if sent is None or sent == "":
        return uuid.uuid4().hex, None
    if REQUEST_ID.fullmatch(sent):
        return sent, None
    why = (f"over 100 characters ({len(sent)})" if len(sent) > 100
           else "holds characters other than visible ASCII (controls, spaces, non-ASCII)")
    return uuid.uuid4().hex, f"the X-Request-ID sent {why}: replaced by a generated id"


def operation_id(route: APIRoute) -> str:
    """An operation's id in the OpenAPI: its route function's name (list_persons), which generated clients call."""
    return route.name


def warn_of_bootstrap() -> None:
    """At every start: say loudly that an administrator's secret lives in the environment (until it is disabled)."""
    if get_settings().registry_bootstrap_token is not None:
        log.warning("REGISTRY_BOOTSTRAP_TOKEN is set: anyone holding it is a whole-tree administrator. Create a real "
                    "admin token, then run `registry tokens disable-bootstrap` and unset it.")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On start: resume import jobs whose runner stopped (a crash, a restart), now and every few seconds;
    on PostgreSQL, seal the access-log entries that readers leave to a busy sealer (app/services/audit.py); the
    loop's uncaught errors written without the values their exceptions quote (app/logs.py)."""
    from app.services import audit, jobs

    with logs.reported("the application's start-up"):
        asyncio.get_running_loop().set_exception_handler(logs.loop_exception_handler)
        settings = get_settings()
        reaping = settings.import_jobs_resume
        sealing = settings.audit_seal_seconds > 0 and settings.database_url.startswith("postgres")
        if reaping:
            jobs.start_reaper()
        if sealing:
            audit.start_sealer(settings.audit_seal_seconds)
        _build_routes(app)
        _freeze_start_up()
    try:
        yield
    finally:  # the loops are this application's: they stop with the last application of the process that runs them
        with logs.reported("the application's shutdown"):
            if sealing:
                audit.stop_sealer()
            if reaping:
                jobs.stop_reaper()


def _build_routes(app: FastAPI) -> None:
    """Build every included router's routes now. FastAPI (0.16x) builds them on the first request that reaches them,
    in the event loop: 0.2 s of model fields and type adapters added to a fresh worker's first request (the first
    import measured on a new server, bench F24). Duck-typed: a FastAPI without lazy routers has nothing to build."""
    stack: list[Any] = list(app.router.routes)
    while stack:
        route = stack.pop()
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            stack.extend(c for c in candidates() if hasattr(c, "effective_candidates"))
            low = getattr(route, "effective_low_priority_routes", None)
            if callable(low):
                low()


_frozen = threading.Event()


def _freeze_start_up() -> None:
    """Keep what start-up made (modules, the app, its routes, schemas and statements) out of every later garbage
    collection, once per process. Without it the first full collection under load walks all of it again: 0.15 s
    of CPU in the third batch of an import of 2,000 persons, a tenth of the import (bench F24)."""
    if not _frozen.is_set():
        _frozen.set()
        gc.collect()
        gc.freeze()


def create_app() -> FastAPI:
    """Build the application."""
    settings = get_settings()  # refuses a REGISTRY_BOOTSTRAP_TOKEN under 32 characters (app/config.py)
    logging.basicConfig(level=settings.log_level)
    logs.install()  # tracebacks without the values a database or a validation error quotes (app/logs.py)
    warn_of_bootstrap()
    app = FastAPI(title="Registry of public-sector personnel", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # served from the package by app/api/docs.py: no CDN
                  generate_unique_id_function=operation_id,
                  # FastAPI's own OpenTelemetry export, off whatever providers the process has: its spans carry
                  # each URL's path and query string (a person's id, a search by name) and its logs the messages of
                  # exceptions, to wherever the providers export, past the access log and the request log's rules;
                  # and it asked the providers on every request (the instrumentation packages for FastAPI and ASGI
                  # are middleware of their own, not to be installed: docs/threat-model.md)
                  telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
                  description="Persons, qualifications and org units of Vietnam's public sector, and the "
                              "resolution targets derived from them. Errors are RFC 9457 problem details.")
    error_handlers.install(app)
    docs.install(app)
    install_web(app)  # the dashboard and report files; before api_router, whose /reports/{doc} would shadow them
    app.include_router(api_router, responses=PROBLEM_RESPONSES)
    app.include_router(scim.router)
    persons.install(app)  # GET one person as of now, ahead of FastAPI's routing (bench F31)

    def body_limit(path: str) -> int:
        # imports: the larger job limit here; the synchronous path holds its own (max_body_bytes)
        return max(settings.max_body_bytes, settings.max_job_bytes) if path.startswith("/api/v1/imports") else SMALL_BODY

    app.add_middleware(IdempotencyMiddleware)
    # outside the idempotency middleware: its own answers (a replay, a key reused or in progress) carry the request id
    # and the security headers (Cache-Control: no-store) like every answer, and a body over the limit is refused
    # before a key is claimed
    app.add_middleware(RequestContext, body_limit=body_limit)
    # outermost but CORS and the request log: a request waits for its turn before anything of it runs on a thread or
    # holds a connection
    app.add_middleware(Admission, limit=settings.max_concurrent_requests)

    if settings.cors_origins:  # closed by default: no cross-origin browser access unless origins are named
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
                           expose_headers=["ETag", "Location", "Recorded-At", "X-Request-ID"])
    app.add_middleware(RequestLog)  # outermost: every answer has its line, whichever middleware gave it

    @app.get("/healthz", tags=["health"], response_model=Health)
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app


app = create_app()
