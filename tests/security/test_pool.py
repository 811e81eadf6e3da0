"""Concurrent reads of named persons never wait on their own connection pool (a deadlock the benchmark found).

Each read of a person's sensitive fields is chained into the access log in a short transaction of
its own. When that transaction took its connection from the request's pool, as many concurrent reads
as the pool has connections each held one and waited for another: no request completed until the
pool timeout. A pool of two connections and eight concurrent readers shows it at once.
"""

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import db
from app.config import Settings
from app.db import normalise_url
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


def test_a_sqlite_file_pool_holds_the_requests_a_worker_admits(tmp_path: Path) -> None:
    """SQLite's pool is sized like PostgreSQL's, never below the requests a worker runs at once (app/api/admission.py),
    with ten over for an import's read-ahead: SQLAlchemy's own 5 + 10 left admitted requests waiting for a connection.
    An in-memory database keeps SQLAlchemy's one connection per thread."""
    settings = Settings()
    engine = db.build_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    try:
        assert engine.pool.size() == max(settings.database_pool_size, settings.max_concurrent_requests)  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 10  # type: ignore[attr-defined]
        assert engine.pool.size() >= settings.max_concurrent_requests  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    memory = db.build_engine("sqlite://")
    try:
        assert type(memory.pool).__name__ in {"SingletonThreadPool", "StaticPool"}
    finally:
        memory.dispose()


def test_idempotent_writes_with_a_tiny_pool_never_freeze_the_server(registry: Registry) -> None:
    """The idempotency middleware's look-ups take pooled connections: taken on the event loop, one that waited for a
    connection stopped the loop, and with it the requests that would have given theirs back (every request of the
    worker stalled for the pool's 30 s, then a 500). Eight clients, a pool of two: writes with Idempotency-Key and
    reads all answer at once; a retry of each write is replayed."""
    if registry.backend != "postgres":
        pytest.skip("SQLite's pool is never smaller than the requests a worker admits (app/db.py)")
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


@contextmanager
def _holding_the_readers_up(registry: Registry) -> Iterator[Callable[[], None]]:
    """What every read of a person waits for, held by another session until the returned release is called: on
    SQLite the database's one write lock (every request's transaction begins IMMEDIATE), on PostgreSQL an exclusive
    lock on the person table."""
    url = make_url(normalise_url(registry.url))
    if registry.backend == "sqlite":
        other = sqlite3.connect(str(url.database), isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                other.execute("ROLLBACK")

        try:
            yield release
        finally:
            release()
            other.close()
        return
    engine = create_engine(url)
    conn = engine.connect()
    conn.execute(text("LOCK TABLE person IN ACCESS EXCLUSIVE MODE"))
    try:
        yield conn.rollback
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def test_more_requests_than_threads_waiting_on_a_lock_all_complete_once_it_is_released(registry: Registry) -> None:
    """64 clients (more than a worker's 40 threads) ask for persons while another session holds what every read waits
    for. Before admission (app/api/admission.py) every thread was taken by a request waiting for that lock or for a
    connection, and once the lock was released the request holding the next one waited for a thread to validate its
    answer: nothing moved until the pool's or SQLite's timeout, then 503s. Now the worker runs 16 at once, the others
    wait their turn without a thread, and every request is answered as soon as the lock is released."""
    tree = small_tree(registry)
    ids = [f"{tree.province}-{uniq('ADM')}" for _ in range(4)]
    lines = [json.dumps(person(i, tree.school_a), ensure_ascii=False) for i in ids]
    assert registry.import_lines("persons", lines)["created"] == 4
    headers = {"Authorization": f"Bearer {BOOT}"}  # an admin: each read is also written to the access log
    clients = 64
    with serve(registry.url, BOOT, RATE_LIMIT_PER_MINUTE="0") as live, ThreadPoolExecutor(clients) as pool:

        def read(n: int) -> str:
            try:
                r = httpx.get(f"{live.base}/api/v1/persons/{ids[n % 4]}", timeout=25,
                              headers=headers | {"X-Request-ID": f"adm-{n}"})
            except httpx.TimeoutException:
                return "timeout"
            return str(r.status_code) if r.status_code != 200 else r.json()["external_id"]

        with _holding_the_readers_up(registry) as release:
            futures = [pool.submit(read, n) for n in range(clients)]
            time.sleep(3)  # every request has arrived and waits: for the lock, a connection, or its turn
            assert not any(f.done() for f in futures)
            release()
            started = time.monotonic()
            answers = [f.result() for f in futures]
        took = time.monotonic() - started
    assert answers == [ids[n % 4] for n in range(clients)], Counter(answers)
    assert took < 20, took
    log = registry.client.get("/api/v1/audit", params={"limit": 500}, headers=registry.headers())
    assert log.status_code == 200, log.text
    mine = sorted(e["request_id"] for e in log.json()["reads"] if (e.get("request_id") or "").startswith("adm-"))
    assert mine == sorted(f"adm-{n}" for n in range(clients))  # each read logged once, none lost


def test_a_slow_upload_holds_no_turn_of_the_worker_while_it_waits_for_its_client(registry: Registry) -> None:
    """An import's body comes at its client's pace. With one turn per worker (MAX_CONCURRENT_REQUESTS=1), an upload
    that sent one line and then waits for its client lets a read through at once; the upload then completes, every
    record written. Had it held its turn for the whole upload, the read would wait for the client's last byte."""
    tree = small_tree(registry)
    reader, first, second = (f"{tree.province}-{uniq('SLOW')}" for _ in range(3))
    assert registry.import_lines("persons", [json.dumps(person(reader, tree.school_a), ensure_ascii=False)])["created"] == 1
    headers = {"Authorization": f"Bearer {BOOT}"}
    more = threading.Event()

    def body() -> Iterator[bytes]:
        yield (json.dumps(person(first, tree.school_a), ensure_ascii=False) + "\n").encode()
        more.wait(20)  # the client's next bytes come late
        yield (json.dumps(person(second, tree.school_a), ensure_ascii=False) + "\n").encode()

    with serve(registry.url, BOOT, RATE_LIMIT_PER_MINUTE="0", MAX_CONCURRENT_REQUESTS="1") as live, \
            ThreadPoolExecutor(1) as pool:
        upload = pool.submit(httpx.post, f"{live.base}/api/v1/imports/persons", content=body(), timeout=60,
                             headers=headers | {"Content-Type": "application/x-ndjson"})
        time.sleep(1.5)  # the upload has begun and waits for its client
        started = time.monotonic()
        read = httpx.get(f"{live.base}/api/v1/persons/{reader}", headers=headers, timeout=30)
        took = time.monotonic() - started
        more.set()
        report = upload.result()
    assert read.status_code == 200, read.text
    assert took < 5, took
    assert report.status_code == 200 and report.json()["created"] == 2, report.text
    for pid in (first, second):
        assert registry.client.get(f"/api/v1/persons/{pid}", headers=registry.headers()).status_code == 200


def test_a_pooled_connection_is_pinged_only_after_it_sat_idle_and_replaced_when_the_ping_fails(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench F31: `pool_pre_ping` pinged at every checkout (three round trips more on each read of a named person).
    Now a connection that went back to the pool less than PING_IDLE_SECONDS ago goes out unpinged; one idle for
    longer is pinged, and one whose server session ended meanwhile is replaced, not handed out."""
    if registry.backend != "postgres":
        pytest.skip("SQLite's connections are files: no server ends them")
    engine = db.build_engine(registry.url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()

        def kill(pid: object) -> None:
            with create_engine(normalise_url(registry.url)).connect() as other:
                assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            time.sleep(0.2)

        # within the second: no ping, so a connection whose session ended fails the statement that uses it
        monkeypatch.setattr(db, "PING_IDLE_SECONDS", 3600.0)
        kill(first)
        with pytest.raises(Exception, match="terminat|closed|connection"), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:  # SQLAlchemy invalidated it: the next checkout connects anew
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert second != first
        # idle past the threshold: pinged at checkout, found dead, replaced; the statement never sees it
        monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.0)
        kill(second)
        with engine.connect() as conn:
            third = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert third not in (first, second)
    finally:
        engine.dispose()


def test_the_ping_is_one_round_trip_after_an_idle_second_and_none_before() -> None:
    from types import SimpleNamespace

    from sqlalchemy.exc import DisconnectionError

    class Connection:
        """psycopg's part that the ping uses: a transaction (BEGIN) is opened by a statement outside autocommit."""

        def __init__(self, fails: bool = False) -> None:
            self.autocommit, self.closed, self.fails, self.ran = False, False, fails, []

        def cursor(self) -> "Connection":
            return self

        def execute(self, sql: str) -> None:
            if self.fails:
                raise OSError("server closed the connection unexpectedly")
            self.ran.append(sql if self.autocommit else "BEGIN; " + sql)

        def close(self) -> None:
            pass

    now = time.monotonic()
    fresh, idle, dead = Connection(), Connection(), Connection(fails=True)
    db._ping_if_idle(fresh, SimpleNamespace(info={"used_at": now}), None)
    db._ping_if_idle(idle, SimpleNamespace(info={"used_at": now - db.PING_IDLE_SECONDS - 0.1}), None)
    # one statement in autocommit (no BEGIN, no ROLLBACK after it), and the connection goes out as it came in
    assert (fresh.ran, idle.ran, idle.autocommit) == ([], ["SELECT 1"], False)
    db._ping_if_idle(Connection(), SimpleNamespace(info={}), None)  # never marked: pinged (not a crash)
    with pytest.raises(DisconnectionError):
        db._ping_if_idle(dead, SimpleNamespace(info={"used_at": now - 60}), None)


def test_a_cache_builds_each_key_once_while_threads_wait_and_other_keys_are_not_held_up() -> None:
    """bench F31: at a worker's start under 32 clients every request thread of a scoped token built the whole tree
    for its reach at once. One build per key now; a failed build leaves the key to the next caller."""
    from app.services.indicators.cache import LRU

    cache: LRU[str] = LRU(8)
    builds: list[str] = []
    started = threading.Event()

    def slow(value: str) -> Callable[[], str]:
        def build() -> str:
            builds.append(value)
            started.set()
            time.sleep(0.3)
            return value
        return build

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _i: cache.get_or_build("tree", slow("tree")), range(8)))
    assert got == ["tree"] * 8 and builds == ["tree"]
    # two other keys build at the same time: each build waits for the other, which one lock for all would deadlock
    both = threading.Barrier(2, timeout=5)

    def meeting(value: str) -> Callable[[], str]:
        def build() -> str:
            both.wait()
            return value
        return build

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(lambda k: cache.get_or_build(k, meeting(k)), ["a", "b"])) == ["a", "b"]

    failed: list[str] = []

    def broken() -> str:
        failed.append("x")
        time.sleep(0.3)
        raise RuntimeError("the database went away")

    with ThreadPoolExecutor(4) as pool:
        waiting = [pool.submit(cache.get_or_build, "x", broken) for _ in range(4)]
        errors = [f.exception(timeout=10) for f in waiting]
    assert failed == ["x"] and all(isinstance(e, RuntimeError) for e in errors), (failed, errors)  # one try, every
    assert cache.get_or_build("x", lambda: "built again") == "built again"  # waiter told; the next caller builds
