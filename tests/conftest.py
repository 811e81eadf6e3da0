"""Test harness: every test runs on SQLite, and on PostgreSQL when TEST_POSTGRES_URL is set.

Each backend gets its own freshly created database, migrated with the real migrations (never
`create_all`) and dropped at the end. Tests keep out of each other's way by using their own codes
(`uniq()`); a test that needs an empty registry asks for `fresh_registry`.
"""

import itertools
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import config, db
from app.db import normalise_url

BOOT = "test-bootstrap-token-of-at-least-32-characters"  # REGISTRY_BOOTSTRAP_TOKEN: 32 characters or more
# Import jobs spool their input here, not under the working copy's ./data
os.environ.setdefault("IMPORT_SPOOL_DIR", tempfile.mkdtemp(prefix="registry-spool-"))
BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_POSTGRES_URL") else [])
_counter = itertools.count(1)


def uniq(prefix: str = "T") -> str:
    """A code no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}{next(_counter)}"


@dataclass
class Registry:
    """A migrated database and a client of the service bound to it."""

    backend: str
    url: str
    client: TestClient

    def headers(self, token: str = BOOT) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def token(self, role: str, org_units: list[str]) -> str:
        r = self.client.post("/api/v1/tokens", json={"name": uniq("tok"), "role": role, "org_units": org_units},
                             headers=self.headers())
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def import_lines(self, kind: str, lines: list[str] | str, token: str = BOOT, dry_run: bool = False) -> dict:
        body = lines if isinstance(lines, str) else "\n".join(lines) + "\n"
        r = self.client.post(f"/api/v1/imports/{kind}", params={"dry_run": str(dry_run).lower()},
                             content=body.encode("utf-8"),
                             headers=self.headers(token) | {"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def export(self, kind: str, token: str = BOOT) -> str:
        r = self.client.get(f"/api/v1/exports/{kind}", headers=self.headers(token))
        assert r.status_code == 200, r.text
        return r.text


def _create_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / f"registry-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: None
    admin_url = make_url(normalise_url(os.environ["TEST_POSTGRES_URL"]))
    name = f"registry_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def _migrate(url: str) -> None:
    from sqlalchemy.orm import Session

    from app import migrate
    from app.services import seed

    migrate.upgrade(url)
    engine = db.build_engine(url)
    with Session(engine) as session, session.begin():
        seed.reference_data(session)
    engine.dispose()


def _release_engines() -> None:
    """Close the pooled connections of the process-wide engines before they are replaced: each test binds anew, and
    an engine left to the garbage collector keeps its idle connections to PostgreSQL open meanwhile (CI ran into
    the server's max_connections). An engine still in use opens new connections when it needs them."""
    for cached in (db.get_engine, db.get_read_engine):
        if cached.cache_info().currsize:
            cached().dispose()
    if db.get_audit_session_factory.cache_info().currsize:
        bind = db.get_audit_session_factory().kw.get("bind")
        if bind is not None:
            bind.dispose()


def _bind(url: str) -> TestClient:
    """Point the process-wide settings, engine and session factory at `url`."""
    _release_engines()
    os.environ["DATABASE_URL"] = url
    os.environ["REGISTRY_BOOTSTRAP_TOKEN"] = BOOT
    os.environ.pop("DATABASE_REPLICA_URL", None)  # reads on the primary too (tests/security/test_replica.py has a replica)
    for cached in (config.get_settings, db.get_engine, db.get_session_factory, db.get_read_engine,
                   db.get_read_session_factory, db.get_audit_session_factory, db.get_lookup_session_factory):
        cached.cache_clear()
    from app.main import create_app

    return TestClient(create_app())


@pytest.fixture(scope="session", params=BACKENDS)
def backend_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    url, drop = _create_database(request.param, tmp_path_factory)
    _migrate(url)
    yield request.param, url
    _release_engines()
    for cached in (db.get_engine, db.get_session_factory, db.get_read_engine, db.get_read_session_factory,
                   db.get_audit_session_factory, db.get_lookup_session_factory):
        cached.cache_clear()
    drop()


@pytest.fixture
def registry(backend_db: tuple[str, str]) -> Registry:
    """The shared registry of this backend (tests use their own codes)."""
    backend, url = backend_db
    return Registry(backend, url, _bind(url))


@pytest.fixture
def fresh_registry(backend_db: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Registry]]:
    """A factory of empty, migrated registries on the same backend."""
    backend, shared_url = backend_db
    drops: list[Callable[[], None]] = []

    def make() -> Registry:
        url, drop = _create_database(backend, tmp_path_factory)
        drops.append(drop)
        _migrate(url)
        return Registry(backend, url, _bind(url))

    yield make
    _bind(shared_url)
    for drop in drops:
        drop()


_postgres_passed = 0  # PostgreSQL tests passed, as this process has seen their reports


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    if report.when == "call" and report.passed and "[postgres" in report.nodeid:
        _postgres_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI with TEST_POSTGRES_URL set, a run in which no PostgreSQL test ran is a failure.

    Counted where every report arrives: in a plain run, this process; under pytest-xdist (`-n`), the controller,
    which receives each worker's reports. A worker sees only its share, so workers do not judge.
    """
    if hasattr(session.config, "workerinput"):
        return
    if os.environ.get("CI") and os.environ.get("TEST_POSTGRES_URL") and _postgres_passed == 0 and exitstatus == 0:
        session.exitstatus = 1
        print("\nFAILED: TEST_POSTGRES_URL is set but no PostgreSQL test ran")  # noqa: T201
