"""Concurrent reads of named persons never wait on their own connection pool (a deadlock the benchmark found).

Each read of a person's sensitive fields is chained into the access log in a short transaction of
its own. When that transaction took its connection from the request's pool, as many concurrent reads
as the pool has connections each held one and waited for another: no request completed until the
pool timeout. A pool of two connections and eight concurrent readers shows it at once.
"""

import json
import time
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


def test_idempotent_writes_with_a_tiny_pool_never_freeze_the_server(registry: Registry) -> None:
    """The idempotency middleware's look-ups take pooled connections: taken on the event loop, one that waited for a
    connection stopped the loop, and with it the requests that would have given theirs back (every request of the
    worker stalled for the pool's 30 s, then a 500). Eight clients, a pool of two: writes with Idempotency-Key and
    reads all answer at once; a retry of each write is replayed."""
    if registry.backend != "postgres":
        pytest.skip("SQLite has no connection pool to exhaust")
    tree = small_tree(registry)
    writes = [f"{tree.province}-{uniq('IDEM')}" for _ in range(8)]
    reads = [f"{tree.province}-{uniq('IDEMR')}" for _ in range(4)]
    lines = [json.dumps(person(i, tree.school_a), ensure_ascii=False) for i in reads]
    assert registry.import_lines("persons", lines)["created"] == 4
    headers = {"Authorization": f"Bearer {BOOT}"}
    with serve(registry.url, BOOT, DATABASE_POOL_SIZE="2", DATABASE_MAX_OVERFLOW="0", RATE_LIMIT_PER_MINUTE="0") as live:

        def write(external_id: str) -> int:
            r = httpx.post(f"{live.base}/api/v1/persons", json=person(external_id, tree.school_a), timeout=20,
                           headers=headers | {"Idempotency-Key": f"k-{external_id}"})
            return r.status_code

        def read(external_id: str) -> int:
            return httpx.get(f"{live.base}/api/v1/persons/{external_id}", headers=headers, timeout=20).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            started = time.monotonic()
            written = [pool.submit(write, i) for i in writes]
            read_back = [pool.submit(read, i) for i in reads * 4]
            answers = [f.result() for f in written], [f.result() for f in read_back]
            took = time.monotonic() - started
            again = list(pool.map(write, writes))
    assert answers == ([201] * 8, [200] * 16)
    assert again == [201] * 8  # replayed from the record, not created twice
    assert took < 15, took  # the pool's timeout is 30 s: a frozen worker waits for it
    for external_id in writes:
        assert registry.client.get(f"/api/v1/persons/{external_id}", headers=registry.headers()).status_code == 200
