"""The FastAPI application: routers, error handlers, request ids and body limits."""

import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from app.api import api_router, error_handlers
from app.config import get_settings

SMALL_BODY = 2 * 1024 * 1024


def create_app() -> FastAPI:
    """Build the application."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    app = FastAPI(title="Registry of public-sector personnel", version="0.1.0",
                  description="Persons, qualifications and org units of Vietnam's public sector, and the "
                              "resolution targets derived from them. Errors are RFC 9457 problem details.")
    error_handlers.install(app)
    app.include_router(api_router)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        length = request.headers.get("content-length")
        limit = settings.max_body_bytes if request.url.path.startswith("/api/v1/imports") else SMALL_BODY
        if length and length.isdigit() and int(length) > limit:
            return error_handlers.problem(413, "payload_too_large", f"body over the limit of {limit} bytes", request)
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app


app = create_app()
