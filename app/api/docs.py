"""The API documentation pages (Swagger UI at /docs, ReDoc at /redoc), served from the package: no CDN.

Government networks are often closed, and FastAPI's default pages load their scripts from a CDN. The
scripts come from the `fastapi-offline` package (PyPI, MIT), which ships swagger-ui-dist 5 and ReDoc 2's
standalone bundle and is refreshed with their releases (1.7.7: Swagger UI 5.32.6, ReDoc 2.5.3); FastAPI's own
page builders are pointed at them. A PyPI package keeps the scripts out of this repository and updated by pip;
swagger-ui-bundle, the other packaged source, still ships Swagger UI 4, which cannot read OpenAPI 3.1.
"""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
STATIC = "/docs/static"
# The pages run one inline script of FastAPI's (the viewer's settings); every other load is from this server.
# ReDoc builds its search index in a worker made from a blob, and Swagger UI shows inline SVG and data: images.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")


def _page(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def install(app: FastAPI) -> None:
    """Mount the viewers' scripts and the two pages on `app` (created with docs_url=None, redoc_url=None)."""
    openapi_url, title = app.openapi_url or "/openapi.json", app.title
    app.mount(STATIC, StaticFiles(directory=ASSETS), name="docs-static")
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(get_swagger_ui_html(
            openapi_url=root + openapi_url, title=f"{title} - Swagger UI", oauth2_redirect_url=None,
            swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js", swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": False}))

    @router.get("/redoc")
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(get_redoc_html(
            openapi_url=root + openapi_url, title=f"{title} - ReDoc", redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC}/favicon.png", with_google_fonts=False))

    app.include_router(router)
