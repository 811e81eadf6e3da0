"""The FastAPI application: routers, error handlers, request ids and body limits."""

import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

from app.api import api_router, error_handlers, scim
from app.config import get_settings
from app.web import install as install_web

SMALL_BODY = 2 * 1024 * 1024
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app() -> FastAPI:
    """Build the application."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    app = FastAPI(title="Registry of public-sector personnel", version="0.1.0",
                  description="Persons, qualifications and org units of Vietnam's public sector, and the "
                              "resolution targets derived from them. Errors are RFC 9457 problem details.")
    error_handlers.install(app)
    install_web(app)  # the dashboard and report files; before api_router, whose /reports/{doc} would shadow them
    app.include_router(api_router)
    app.include_router(scim.router)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        length = request.headers.get("content-length")
        limit = settings.max_body_bytes if request.url.path.startswith("/api/v1/imports") else SMALL_BODY
        if length and length.isdigit() and int(length) > limit:
            return error_handlers.problem(413, "payload_too_large", f"body over the limit of {limit} bytes", request)
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if request.url.path.startswith(("/api/", "/scim/")):
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
            response.headers.setdefault("Cache-Control", "no-store")
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    if settings.cors_origins:  # closed by default: no cross-origin browser access unless origins are named
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"])

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app


app = create_app()
