"""A live server for the dashboard tests: uvicorn in a subprocess on a free 127.0.0.1 port, a fresh SQLite
database migrated with the real migrations, a Sóc Trăng province seeded through /api/v1/imports/*, tokens
for an auditor (the province) and an HR officer (one district), and headless Debian Chromium.

Browser tests skip only when /usr/bin/chromium is absent (install it with tests/web/install-system-deps.sh).
Screenshots, downloaded reports and the server log go to artifacts/web/ (gitignored).
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo.province import build_training
from tests.conftest import BACKENDS, BOOT, _create_database, _migrate
from tests.fixtures.province import build_province, ndjson
from tests.web.support import ARTIFACTS, CHROMIUM, COMMUNE, DISTRICT, LABOUR, PROVINCE, ROOT, LiveServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer in 90 s:\n{log.read_text()[-3000:]}")


def _seed(server: LiveServer) -> None:
    """The province through the import API with its courses and enrolments, reported labour figures, and scoped tokens
    (an auditor and an integration of the province, an HR officer of a district, another of a commune)."""
    data = build_province(seed=3, persons=300, prefix=PROVINCE)
    data |= build_training(data, seed=3)
    data["statistics"] += [{"code": "ST-2025-LABOUR-TRAINED", "org_unit": u, "period": p, "value": v, "source": "Sở LĐTBXH"}
                           for u, p, v in LABOUR]
    with server.client() as c:
        for kind in ("org-units", "persons", "statistics", "courses", "enrolments"):
            r = c.post(f"/api/v1/imports/{kind}", content=ndjson(data[kind.replace("-", "_")]).encode(),
                       headers={"Content-Type": "application/x-ndjson"})
            assert r.status_code == 200 and r.json()["failed"] == 0, r.text[:2000]
        for role, units in (("auditor", [PROVINCE]), ("hr_officer", [DISTRICT]), ("integration", [PROVINCE])):
            r = c.post("/api/v1/tokens", json={"name": f"web-{role}", "role": role, "org_units": units})
            assert r.status_code == 201, r.text
            server.tokens[role] = r.json()["token"]
        r = c.post("/api/v1/tokens", json={"name": "web-commune", "role": "hr_officer", "org_units": [COMMUNE]})
        assert r.status_code == 201, r.text
        server.tokens["commune_officer"] = r.json()["token"]


@contextmanager
def _serve(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """uvicorn on a fresh, migrated, seeded database of `backend` (sqlite or postgres)."""
    url, drop = _create_database(backend, tmp_path_factory)
    _migrate(url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / ("server.log" if backend == "sqlite" else f"server-{backend}.log")
    port = _free_port()
    env = os.environ | {"DATABASE_URL": url, "REGISTRY_BOOTSTRAP_TOKEN": BOOT, "REGISTRY_SESSION_SECRET": "web-tests-secret",
                        "LOG_LEVEL": "WARNING",
                        # a crash of the server (a SIGSEGV killed it twice in CI, 2026-12-06) leaves every thread's stack
                        # in its log, which a failed test's report carries (below)
                        "PYTHONFAULTHANDLER": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
                                 "--log-level", "warning"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", proc=proc, log=log)
    try:
        _wait(server.base, proc, log)
        _seed(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        drop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test whose live server has died carries the server's exit code and the end of its log."""
    report: pytest.TestReport = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, LiveServer) and (death := value.death()):
                report.sections.append(("live server", death))
    return report


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """uvicorn on a fresh, migrated, seeded SQLite database."""
    with _serve("sqlite", tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session", params=BACKENDS)
def live_any(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The live server on SQLite (the one `live` gives), and on PostgreSQL when TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        yield request.getfixturevalue("live")
        return
    with _serve(request.param, tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: run tests/web/install-system-deps.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--lang=vi-VN"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies), Vietnamese locale, a laptop-sized window."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(180_000)
    tab = context.new_page()
    yield tab
    context.close()
