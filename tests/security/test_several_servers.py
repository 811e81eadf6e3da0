"""Two `registry serve` processes on one PostgreSQL database behave as one service (issue #15).

Each point is checked across the two servers: the rate limit is shared (a client cannot multiply it by
the number of servers), a dashboard sign-out on one ends the session on the other, an idempotency key
used on one is replayed by the other, a write on one is seen by the next read on the other (the
indicator caches), and an import job whose server dies is finished exactly once by the survivors.
"""

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.api.factories import changes_after, cursor, ndjson, person, small_tree
from tests.api.test_import_jobs import HANG_AFTER
from tests.conftest import BOOT, Registry, uniq
from tests.engine.test_engine import Province, leaders
from tests.live import LiveServer, serve

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="several servers share PostgreSQL")

SECRET = "several-servers-session-secret-0123456789"
LANG = "CT-2025-LEADER-U40-LANG4"
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def postgres(registry: Registry) -> Registry:
    if registry.backend != "postgres":
        pytest.skip("several app servers need PostgreSQL")
    return registry


@pytest.fixture(scope="module")
def pair(backend_db: tuple[str, str]) -> Iterator[tuple[LiveServer, LiveServer]]:
    backend, url = backend_db
    if backend != "postgres":
        pytest.skip("several app servers need PostgreSQL")
    env = {"RATE_LIMIT_PER_MINUTE": "6", "REGISTRY_SESSION_SECRET": SECRET}
    with serve(url, BOOT, **env) as a, serve(url, BOOT, **env) as b:
        yield a, b


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _clear_of_a_minute_boundary() -> None:
    """The shared window weighs the previous minute's count: start well inside a minute so 8 requests stay in it."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_the_rate_limit_is_shared_by_the_servers(postgres: Registry, pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    token = postgres.token("admin", [])  # a fresh caller: no count yet
    _clear_of_a_minute_boundary()
    codes = [httpx.get(f"{server.base}/api/v1/code-lists/gender", headers=_headers(token)).status_code
             for server in (a, b, a, b, a, b, a, b)]
    assert codes == [200] * 6 + [429, 429]  # six a minute in all, not six on each server
    refused = httpx.get(f"{b.base}/api/v1/code-lists/gender", headers=_headers(token))
    assert refused.json()["code"] == "rate_limited" and 1 <= int(refused.headers["Retry-After"]) <= 60
    other = postgres.token("admin", [])  # another caller is not held up
    assert httpx.get(f"{a.base}/api/v1/code-lists/gender", headers=_headers(other)).status_code == 200


def _sign_in(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False)
    form = client.get("/dashboard/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, form.text[:500]
    r = client.post("/dashboard/login", data={"token": token, "csrf_token": found.group(1), "next": "/dashboard"})
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers.get("location")
    return client


def _dashboard(base: str, cookie: str, unit: str) -> str:
    r = httpx.get(f"{base}/dashboard/indicators/{LANG}", params={"org_unit": unit, "as_of": "2024-12-31"},
                  headers={"Cookie": f"registry_session={cookie}"}, follow_redirects=False)
    return "login" if r.status_code == 303 and "/dashboard/login" in r.headers["location"] else str(r.status_code)


def test_a_sign_out_on_one_server_ends_the_session_on_the_other(postgres: Registry,
                                                                 pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    unit = small_tree(postgres).province
    client = _sign_in(a.base, postgres.token("admin", []))
    cookie = str(client.cookies.get("registry_session"))
    assert _dashboard(b.base, cookie, unit) == "200"  # the other server reads the cookie (one session secret)
    html = client.get(f"/dashboard/indicators/{LANG}", params={"org_unit": unit}).text
    csrf = re.search(r'action="/dashboard/logout".*?name="csrf_token" value="([^"]+)"', html, re.S)
    assert csrf
    assert client.post("/dashboard/logout", data={"csrf_token": csrf.group(1)}).status_code == 303
    assert _dashboard(b.base, cookie, unit) == "login"
    assert _dashboard(a.base, cookie, unit) == "login"
    client.close()


def test_an_idempotency_key_is_honoured_by_either_server(postgres: Registry, pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    tree = small_tree(postgres)
    record = person(uniq("IK"), tree.school_a)
    admin = _headers(postgres.token("admin", []))  # a caller of its own: the pair's limit is 6 a minute
    key = {"Idempotency-Key": uniq("key")}
    mark = cursor(postgres)
    first = httpx.post(f"{a.base}/api/v1/persons", json=record, headers=admin | key)
    assert first.status_code == 201, first.text
    again = httpx.post(f"{b.base}/api/v1/persons", json=record, headers=admin | key)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true", again.text
    assert again.json() == first.json()
    creates = [c for c in changes_after(postgres, mark) if c["key"] == record["external_id"]]
    assert [c["op"] for c in creates] == ["create"]


def test_a_write_on_one_server_is_read_on_the_other(postgres: Registry, pair: tuple[LiveServer, LiveServer]) -> None:
    a, b = pair
    prov = Province(postgres)
    people = leaders(prov)
    prov.persons(people)
    params = {"org_unit": prov.D, "as_of": "2024-12-31"}
    admin = _headers(postgres.token("admin", []))  # a caller of its own: the pair's limit is 6 a minute

    def value(server: LiveServer) -> tuple[int, int]:
        r = httpx.get(f"{server.base}/api/v1/indicators/{LANG}/value", params=params, headers=admin)
        assert r.status_code == 200, r.text
        return r.json()["numerator"], r.json()["denominator"]

    assert value(b) == value(b) == (1, 2)  # the second answer comes from b's cache
    l2 = next(p for p in people if p["external_id"].endswith("-L2"))
    l2["languages"] = [{"language": "en", "kind": "foreign", "level": 4, "certificate": "VSTEP", "awarded_on": "2019-06-01"}]
    r = httpx.put(f"{a.base}/api/v1/persons/{l2['external_id']}", json=l2, headers=admin)
    assert r.status_code == 200, r.text
    assert value(b) == (2, 2)


def test_a_job_whose_server_dies_is_finished_once_by_another(postgres: Registry, tmp_path: Any) -> None:
    tree = small_tree(postgres)
    keys = [uniq("JX") for _ in range(600)]
    body = ndjson([person(k, tree.commune_b) for k in keys])
    mark = cursor(postgres)
    spool, hook = tmp_path / "spool", tmp_path / "hook"
    spool.mkdir()
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HANG_AFTER, encoding="utf-8")
    env = {"IMPORT_BATCH_SIZE": "50", "IMPORT_JOB_LEASE_SECONDS": "2", "IMPORT_JOB_POLL_SECONDS": "0.5",
           "IMPORT_SPOOL_DIR": str(spool), "RATE_LIMIT_PER_MINUTE": "0"}
    with ExitStack() as stack:
        dying = stack.enter_context(serve(postgres.url, BOOT, **env, HANG_AFTER_BATCHES="4",
                                          PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])))
        r = httpx.post(f"{dying.base}/api/v1/imports/persons", content=body.encode(), timeout=60,
                       headers=_headers(BOOT) | NDJSON | {"Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{dying.base}/api/v1/imports/{job_id}", headers=_headers(BOOT)).json()["done"] < 200:
            assert time.monotonic() < deadline, "the first server never wrote its first batches"
            time.sleep(0.05)
        # two survivors race for the stale job; the lease lets exactly one of them run it
        survivors = [stack.enter_context(serve(postgres.url, BOOT, **env)) for _ in range(2)]
        assert dying.proc is not None
        os.kill(dying.proc.pid, signal.SIGKILL)
        dying.proc.wait(timeout=10)
        deadline = time.monotonic() + 120
        while True:
            view = httpx.get(f"{survivors[0].base}/api/v1/imports/{job_id}", headers=_headers(BOOT)).json()
            if view["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert view["status"] == "done", view
    assert (view["created"], view["failed"], view["done"]) == (600, 0, 600)
    feed = [(c["key"], c["op"]) for c in changes_after(postgres, mark) if c["entity"] == "person"]
    assert sorted(feed) == sorted((k, "create") for k in keys)  # each person written once, by one runner
    exported = [json.loads(line)["external_id"] for line in postgres.export("persons").splitlines()]
    assert sorted(k for k in exported if k in set(keys)) == sorted(keys)


def test_the_shared_window_weighs_the_previous_minute(postgres: Registry) -> None:
    """The sliding-window approximation, on the database's counters: prev x (part of it still in the window) + now."""
    from sqlalchemy import create_engine

    from app.services.ratelimit import SharedLimiter, TooManyRequests

    engine = create_engine(postgres.url)
    try:
        key, minute = uniq("rate"), int(time.time() // 60) + 100_000  # a minute of its own, ahead of every server's clock
        t0 = minute * 60 + 30.0

        def allowed(limiter: SharedLimiter, now: float, tries: int) -> int:
            passed = 0
            for _ in range(tries):
                try:
                    limiter.hit(key, 4, now=now)
                    passed += 1
                except TooManyRequests as exc:
                    assert 1 <= exc.retry_after <= 60
            return passed

        assert allowed(SharedLimiter(engine), t0, 6) == 4  # four in the minute, then refused (refusals not counted)
        # 15 s into the next minute, three quarters of the last one still count: 4 x 0.75 = 3, so one more
        assert allowed(SharedLimiter(engine), t0 + 45, 3) == 1
        # 45 s in (another server, its own cache): a quarter counts, 4 x 0.25 = 1, and 1 + 1 already this minute
        assert allowed(SharedLimiter(engine), t0 + 75, 5) == 2
    finally:
        engine.dispose()


def test_the_counters_are_unlogged_and_still_shared(postgres: Registry) -> None:
    """rate_hit is UNLOGGED on PostgreSQL (a count does not wait for the WAL to reach the disk; a crash only starts
    the limits afresh), and a count made by one server's limiter is what another's reads."""
    from sqlalchemy import create_engine, text

    from app.services.ratelimit import SharedLimiter, TooManyRequests

    engine = create_engine(postgres.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_hit'")).scalar() == "u"
            assert conn.execute(text("SELECT relpersistence FROM pg_class WHERE relname = 'signed_out_session'")
                                ).scalar() == "p"  # a sign-out must outlive a crash: kept logged
        key, now = uniq("unlogged"), (int(time.time() // 60) + 200_000) * 60 + 1.0
        SharedLimiter(engine).hit(key, 2, now=now)
        SharedLimiter(engine).hit(key, 2, now=now)
        with pytest.raises(TooManyRequests):
            SharedLimiter(engine).hit(key, 2, now=now)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT hits FROM rate_hit WHERE key = :k"), {"k": key}).scalar() == 2
    finally:
        engine.dispose()
