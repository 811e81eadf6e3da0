"""One mapping from errors to HTTP statuses, for the whole application; the REST body is RFC 9457 problem details.

`status_of` and `headers_of` are the mapping; SCIM (app.api.scim) renders the same statuses and headers in its
own body (RFC 7644 §3.12).
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    Unauthenticated,
    db_refusal,
    driver_text,
)
from app.services.persons import pydantic_errors
from app.services.ratelimit import TooManyRequests

log = logging.getLogger("registry.errors")

STATUS: dict[type[DomainError], int] = {
    NotFound: 404, Conflict: 409, InvalidInput: 422, PreconditionFailed: 412, PreconditionRequired: 428,
    Unauthenticated: 401, Forbidden: 403, PayloadTooLarge: 413, TooManyRequests: 429,
}
CODE_STATUS = {"unsupported_media_type": 415}  # codes whose status is an HTTP matter, whatever their class
DB_STATUS: dict[type[DBAPIError], int] = {IntegrityError: 409, DataError: 422, DBAPIError: 503}
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 412: "Precondition failed", 413: "Payload too large", 415: "Unsupported media type",
          422: "Unprocessable content", 428: "Precondition required", 429: "Too many requests", 500: "Internal server error"}


def status_of(exc: Exception) -> int:
    """The HTTP status of an error, whichever protocol answers it: a domain error's by its class (or its code),
    a database error's by its kind, an HTTP error's own; anything else is 500."""
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, DomainError):
        return CODE_STATUS.get(exc.code) or next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    if isinstance(exc, PoolTimeout):  # every connection of this server's pool in use for `pool_timeout` seconds
        return 503
    return next((s for cls, s in DB_STATUS.items() if isinstance(exc, cls)), 500)


def headers_of(exc: Exception | None, status: int) -> dict[str, str]:
    """The headers an error's answer carries: how to authenticate (401), when to try again (429)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, PoolTimeout):
        headers["Retry-After"] = "1"
    return headers


def problem(status: int, code: str, detail: str, request: Request, exc: Exception | None = None,
            **extra: Any) -> JSONResponse:
    body = {"type": f"urn:registry:error:{code}", "title": TITLES.get(status, "Error"), "status": status,
            # the path off the scope: `request.url` decodes the query string as UTF-8, and bytes that are not (a server
            # or proxy other than h11 passes them) made every refusal of such a request a 500
            "code": code, "detail": detail, "instance": request.scope["path"], **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers=headers_of(exc, status) or None)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the application serves on `path`, across all its routes."""
    methods: set[str] = set()
    for route in app.router.routes:
        contexts = list(route.effective_route_contexts()) if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            regex = getattr(ctx, "path_regex", None)
            if regex is not None and regex.match(path):
                methods |= set(getattr(ctx, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    def _domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = getattr(exc, "errors", None)  # InvalidInput, write_scope.OutOfScope: every problem with its field
        extra = {"errors": errors} if errors is not None else {}
        return problem(status_of(exc), exc.code, exc.detail, request, exc, **extra)

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = pydantic_errors(exc)
        for err in errors:  # locations start with body/query/path/header: keep them, they help
            err["field"] = err["field"].replace("body.", "", 1) if err["field"].startswith("body.") else err["field"]
        return problem(422, "invalid_input", "the request does not match the schema", request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                415: "unsupported_media_type"}.get(exc.status_code, "http_error")
        response = problem(status_of(exc), code, str(exc.detail), request)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:  # every method of every route on this path, not only the first route's
            response.headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        return response

    @app.exception_handler(IntegrityError)
    def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        code, message = db_refusal(exc)
        log.warning("database refused a write (%s): %s", code, driver_text(exc))
        return problem(status_of(exc), code, f"the registry refused the write: {message}", request)

    @app.exception_handler(DataError)
    def _data(request: Request, exc: DataError) -> JSONResponse:
        code, message = db_refusal(exc)
        log.warning("database refused a value (%s): %s", code, driver_text(exc))
        return problem(status_of(exc), code, f"the registry refused a value: {message}", request)

    @app.exception_handler(DBAPIError)
    def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        # an exception handler runs outside the `except` that caught it: the exception is passed explicitly
        log.error("database error: %s", driver_text(exc), exc_info=exc)
        return problem(status_of(exc), "database_unavailable", "the database could not answer; try again", request)

    @app.exception_handler(PoolTimeout)
    def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.error("no database connection free: %s", exc)
        return problem(503, "database_busy", "every database connection of this server is in use; try again", request, exc)

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return problem(500, "internal_error", "an unexpected error occurred; it has been logged", request)
