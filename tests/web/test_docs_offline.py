"""The API documentation renders on a closed network: Swagger UI at /docs and ReDoc at /redoc, with every
request that leaves the loopback refused by the browser."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.api.docs import ASSETS
from tests.conftest import BOOT, _create_database, _migrate
from tests.live import LiveServer, serve
from tests.web.support import ARTIFACTS

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url, drop = _create_database("sqlite", tmp_path_factory)
    _migrate(url)
    try:
        with serve(url, BOOT) as live:
            yield live
    finally:
        drop()


@pytest.fixture
def offline(page: Any) -> list[str]:
    """Abort every request to a host outside the loopback; the list of what was refused."""
    refused: list[str] = []

    def route(r: Any) -> None:
        if urlsplit(r.request.url).hostname in LOOPBACK:
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    return refused


def _operations(live: LiveServer) -> list[dict[str, Any]]:
    spec = httpx.get(f"{live.base}/openapi.json", timeout=30).json()
    return [op for item in spec["paths"].values() for op in item.values() if isinstance(op, dict) and "responses" in op]


def test_the_viewers_ship_with_the_package() -> None:
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert (ASSETS / name).stat().st_size > 100_000, name


def test_swagger_ui_lists_every_operation_offline(server: LiveServer, page: Any, offline: list[str]) -> None:
    operations = _operations(server)
    answer = page.goto(server.base + "/docs")
    assert answer.status == 200 and "cdn" not in answer.text().lower()
    page.wait_for_selector(".opblock", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "docs-swagger.png"))
    assert page.locator(".opblock").count() == len(operations)
    assert page.locator(".opblock-summary-path[data-path='/api/v1/imports/{kind}']").count() == 1
    assert page.get_by_role("button", name="Authorize").count() == 1  # the bearer scheme is declared
    assert offline == []


def test_redoc_lists_every_operation_offline(server: LiveServer, page: Any, offline: list[str]) -> None:
    operations = _operations(server)
    answer = page.goto(server.base + "/redoc")
    assert answer.status == 200 and "fonts.googleapis" not in answer.text()
    page.wait_for_selector("[data-section-id^='operation/']", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "docs-redoc.png"))
    assert page.locator("[data-section-id^='operation/']").count() == len(operations)
    assert page.get_by_text("Import Records").count() >= 1
    assert offline == []
