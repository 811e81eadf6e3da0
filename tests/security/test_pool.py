"""Concurrent reads of named persons never wait on their own connection pool (a deadlock the benchmark found).

Each read of a person's sensitive fields is chained into the access log in a short transaction of
its own. When that transaction took its connection from the request's pool, as many concurrent reads
as the pool has connections each held one and waited for another: no request completed until the
pool timeout. A pool of two connections and eight concurrent readers shows it at once.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app import db
from app.config import Settings
from tests.api.factories import person, small_tree
from tests.conftest import BOOT, Registry, uniq
from tests.live import serve


def test_concurrent_reads_of_named_persons_with_a_tiny_pool_all_complete(registry: Registry) -> None:
    if registry.backend != "postgres":
        pytest.skip("SQLite has no connection pool to exhaust: its access log is written in the request's session")
    tree = small_tree(registry)
    ids = [f"{tree.province}-{uniq('POOL')}" for _ in range(8)]
    lines = [json.dumps(person(i, tree.school_a), ensure_ascii=False) for i in ids]
    assert registry.import_lines("persons", lines)["created"] == 8
    headers = {"Authorization": f"Bearer {BOOT}"}  # an admin: sensitive fields are read, so every read is logged
    with serve(registry.url, BOOT, DATABASE_POOL_SIZE="2", DATABASE_MAX_OVERFLOW="0", RATE_LIMIT_PER_MINUTE="0") as live:

        def read(external_id: str) -> tuple[int, str]:
            r = httpx.get(f"{live.base}/api/v1/persons/{external_id}", headers=headers, timeout=20)
            return r.status_code, r.json().get("national_id", "")

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(read, ids * 3))
    assert answers == [(200, "094185000123")] * 24
    log = registry.client.get("/api/v1/audit", params={"person": ids[0]}, headers=registry.headers())
    assert log.status_code == 200, log.text
    assert len([e for e in log.json()["reads"] if e["action"] == "read"]) == 3, log.json()  # each read logged once


def test_the_default_pools_of_a_two_core_server_fit_a_default_postgresql() -> None:
    """Two workers (a 2-core server's default) with the default pools stay well under PostgreSQL's default 100
    connections, and keep what they open: the old defaults allowed 110 and closed their overflow after every burst,
    and a load of 32 clients was answered 503, "too many clients" (bench/findings.md F23)."""
    settings = Settings(database_url="postgresql://127.0.0.1/registry")
    main = settings.database_pool_size + settings.database_max_overflow
    audit = max(2, settings.database_pool_size // 2) + settings.database_max_overflow  # app/db.py get_audit_session_factory
    assert 2 * (main + audit) <= 80
    assert settings.database_max_overflow == 0  # nothing opened for a burst is closed after it
    engine = db.build_engine(settings.database_url)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (settings.database_pool_size, 0)  # type: ignore[attr-defined]
    finally:
        engine.dispose()
