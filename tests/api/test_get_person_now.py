"""GET /persons/{id} with no query string is answered by `GetPersonNow` (app/api/persons.py), ahead of FastAPI's
routing (bench/findings.md F31); every other form by `get_person`, the documented route. A query string FastAPI
ignores (`?via=fastapi`) sends the same request to `get_person`: the two must answer the same status, bytes and
headers, for every role in scope, out of scope and formerly in scope, for callers refused and hostile ids, and
write nothing but the access-log entries of sensitive reads."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import config
from app.api import admission
from app.api import persons as routes
from app.db import get_session_factory
from app.errors import Unauthenticated
from app.main import app, create_app
from app.models import AccessLog, ApiToken, Change, Person, PersonVersion, Txn
from app.services import identity
from app.services.ratelimit import TooManyRequests
from tests.api.factories import moved_person, person, small_tree
from tests.conftest import Registry, uniq

SAME_HEADERS = ("content-type", "etag", "cache-control", "content-security-policy", "x-content-type-options",
                "www-authenticate", "retry-after")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ids `GetPersonNow` answered, in order."""
    seen: list[str] = []
    handle = routes.GetPersonNow.handle

    async def spy(self: routes.GetPersonNow, scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path_params"]["external_id"])
        await handle(self, scope, receive, send)

    monkeypatch.setattr(routes.GetPersonNow, "handle", spy)
    yield seen


def _counts() -> tuple[int, ...]:
    with get_session_factory()() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(m)) or 0)
                     for m in (Person, PersonVersion, Change, Txn, ApiToken, AccessLog))


def _pair(registry: Registry, external_id: str, headers: dict[str, str]) -> tuple[Any, Any]:
    path = f"/api/v1/persons/{external_id}"
    return registry.client.get(path, headers=headers), registry.client.get(path + "?via=fastapi", headers=headers)


def _same(now: Any, documented: Any, what: object) -> None:
    assert now.status_code == documented.status_code, (what, now.status_code, documented.status_code, documented.text)
    assert now.content == documented.content, (what, now.text[:300], documented.text[:300])
    for header in SAME_HEADERS:
        assert now.headers.get(header) == documented.headers.get(header), (what, header)
    assert now.headers.get("x-request-id") and now.headers["x-request-id"] != documented.headers.get("x-request-id")


def test_the_route_tried_first_takes_only_a_get_without_a_query(registry: Registry, calls: list[str]) -> None:
    for served in (app, cast(FastAPI, registry.client.app)):
        assert isinstance(served.router.routes[0], routes.GetPersonNow)
        assert not any(isinstance(r, routes.GetPersonNow) for r in served.router.routes[1:])
    tree = small_tree(registry)
    ext = uniq("GN")
    h = registry.headers()
    assert registry.client.put(f"/api/v1/persons/{ext}", json=person(ext, tree.school_a), headers=h).status_code in (200, 201)
    assert calls == []  # a PUT is FastAPI's
    assert registry.client.get(f"/api/v1/persons/{ext}", headers=h).status_code == 200
    assert calls == [ext]
    recorded = registry.client.get(f"/api/v1/persons/{ext}?via=fastapi", headers=h)
    assert recorded.status_code == 200 and calls == [ext]
    for method, path in (("HEAD", f"/api/v1/persons/{ext}"), ("GET", f"/api/v1/persons/{ext}?known_at=2099-01-01T00:00:00Z"),
                         ("GET", "/api/v1/persons"), ("GET", f"/api/v1/persons/{ext}/close"),
                         ("POST", f"/api/v1/persons/{ext}"), ("GET", f"/api/v1/persons/{ext}/"),
                         ("GET", f"/api/v2/persons/{ext}"), ("GET", f"/x/api/v1/persons/{ext}")):
        registry.client.request(method, path, headers=h, follow_redirects=False)  # a trailing / is redirected
    assert calls == [ext], "only GET /api/v1/persons/{one segment} with no query string"
    from app.api.deps import get_actor
    from app.services.context import Actor

    served = cast(FastAPI, registry.client.app)
    served.dependency_overrides[get_actor] = lambda: Actor(name="overridden", role="auditor", org_units=(tree.commune_b,))
    try:  # overridden dependencies (tests) are FastAPI's to apply: the documented route answers
        assert registry.client.get(f"/api/v1/persons/{ext}", headers=h).status_code == 404
    finally:
        served.dependency_overrides.pop(get_actor)
    assert calls == [ext]
    # behind a proxy that serves the API under a prefix (uvicorn --root-path), the route path is what is matched
    from fastapi.testclient import TestClient

    proxied = TestClient(registry.client.app, root_path="/registry")
    behind = proxied.get(f"/registry/api/v1/persons/{ext}", headers=h)
    assert behind.status_code == 200 and behind.headers["cache-control"] == "no-store"  # an API answer's headers too
    assert calls == [ext, ext]
    assert proxied.get(f"/registry/registry/api/v1/persons/{ext}", headers=h).status_code == 404
    assert calls == [ext, ext]
    # the OpenAPI still documents the one route, with its known_at
    doc = registry.client.get("/openapi.json").json()["paths"]["/api/v1/persons/{external_id}"]["get"]
    assert doc["operationId"] == "get_person" and any(p["name"] == "known_at" for p in doc["parameters"])


def test_both_routes_answer_the_same_to_every_caller_and_write_only_the_access_log(
        registry: Registry, calls: list[str]) -> None:
    tree = small_tree(registry)
    h = registry.headers()
    stays, former, leaves = uniq("GN"), uniq("GN"), uniq("GN")
    for ext in (stays, former, leaves):
        assert registry.client.put(f"/api/v1/persons/{ext}", json=person(ext, tree.school_a), headers=h).status_code in (200, 201)
    # former: moved to commune B (A keeps the ended employment); leaves: recorded anew with no employment in A
    assert registry.client.put(f"/api/v1/persons/{former}", json=moved_person(former, tree), headers=h).status_code == 200
    assert registry.client.put(f"/api/v1/persons/{leaves}", json=person(leaves, tree.station_b), headers=h).status_code == 200
    callers: dict[str, dict[str, str]] = {"bootstrap": h}
    for role in ("admin", "hr_officer", "auditor", "integration"):
        callers[f"{role} of commune A"] = registry.headers(registry.token(role, [tree.commune_a]))
        callers[f"{role} of commune B"] = registry.headers(registry.token(role, [tree.commune_b]))
        callers[f"{role} of the province"] = registry.headers(registry.token(role, [tree.province]))
    callers["admin of the whole tree"] = registry.headers(registry.token("admin", []))
    revoked = registry.client.post("/api/v1/tokens", json={"name": uniq("tok"), "role": "admin", "org_units": []},
                                   headers=h).json()
    assert registry.client.delete(f"/api/v1/tokens/{revoked['id']}", headers=h).status_code == 200
    callers |= {"revoked": registry.headers(revoked["token"]), "unknown": registry.headers("not-a-token-" + "x" * 40),
                "no token": {}, "basic": {"Authorization": "Basic YTpi"}, "empty bearer": {"Authorization": "Bearer  "}}
    nobody = uniq("NOBODY")
    before = _counts()
    sensitive_reads = 0
    statuses: dict[tuple[str, str], int] = {}
    for who, headers in callers.items():
        for ext in (stays, former, leaves, nobody):
            now, documented = _pair(registry, ext, headers)
            _same(now, documented, (who, ext))
            statuses[(who, ext)] = now.status_code
            if now.status_code == 200:
                assert now.json()["external_id"] == ext
                sensitive_reads += "national_id" in now.json()
    assert calls.count(stays) == len(callers)  # every pair's first request was GetPersonNow's
    # the scope: commune A reads who stays and who moved away from it, not who never worked there; B the two who
    # work there now; the province all three; nobody is found by anyone; refused callers are 401
    assert statuses[("hr_officer of commune A", stays)] == statuses[("hr_officer of commune A", former)] == 200
    assert statuses[("hr_officer of commune A", leaves)] == 404
    assert statuses[("auditor of commune B", stays)] == 404 and statuses[("auditor of commune B", leaves)] == 200
    assert all(statuses[(f"{r} of the province", e)] == 200 for r in ("admin", "auditor") for e in (stays, former, leaves))
    assert {statuses[(who, e)] for who in ("revoked", "unknown", "no token", "basic", "empty bearer")
            for e in (stays, nobody)} == {401}
    assert {s for (who, e), s in statuses.items() if e == nobody and who not in ("revoked", "unknown", "no token",
                                                                                  "basic", "empty bearer")} == {404}
    after = _counts()
    assert sensitive_reads > 0
    assert after[:5] == before[:5], "a read wrote persons, versions, changes, transactions or tokens"
    assert after[5] == before[5] + 2 * sensitive_reads, "one access-log entry per sensitive read, on both routes"


def test_hostile_ids_and_a_refused_rate_get_the_same_answers(registry: Registry, calls: list[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    h = registry.headers()
    before = _counts()
    hostile = ("%(cut)s", "' OR '1'='1", "x%", "=HYPERLINK(\"http://x\")", "A" * 5000, "VN\u202e1", "[]", "{\"a\":1}",
               "Nguyễn", "\u0000", "a\u0007b", "%2e%2e", "VN 1", "\ufeffVN")
    for raw in hostile:
        now, documented = _pair(registry, quote(raw, safe=""), h)
        _same(now, documented, raw[:20])
        assert now.status_code in (400, 404), (raw[:20], now.status_code)
        assert "national_id" not in now.text
    assert _counts() == before  # refusals write nothing, not even an access-log entry

    from app.api import deps

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise TooManyRequests("over the limit", retry_after=17)

    monkeypatch.setattr(deps.ratelimit, "hit", refuse)
    now, documented = _pair(registry, uniq("NOBODY"), h)
    _same(now, documented, "rate limit")
    assert now.status_code == 429 and now.headers["retry-after"] == "17"


def test_a_unit_moved_on_the_tree_moves_the_scope_at_the_next_read(registry: Registry, calls: list[str]) -> None:
    """The reach of a scoped caller is cached per tree version; GetPersonNow's read takes the version from its own
    statement (read_one), so a unit moved by any request, on any server, is in the next read's scope."""
    tree = small_tree(registry)
    h = registry.headers()
    ext = uniq("GN")
    assert registry.client.put(f"/api/v1/persons/{ext}", json=person(ext, tree.school_a), headers=h).status_code in (200, 201)
    officer_b = registry.headers(registry.token("hr_officer", [tree.commune_b]))
    officer_a = registry.headers(registry.token("hr_officer", [tree.commune_a]))
    assert registry.client.get(f"/api/v1/persons/{ext}", headers=officer_b).status_code == 404
    assert registry.client.get(f"/api/v1/persons/{ext}", headers=officer_a).status_code == 200
    school = next(u for u in tree.records() if u["code"] == tree.school_a)
    school["parents"] = [{"code": tree.commune_a, "start": "2004-01-01", "end": "2025-12-31"},
                         {"code": tree.commune_b, "start": "2026-01-01", "end": None}]
    moved = registry.client.put(f"/api/v1/org-units/{tree.school_a}", json=school, headers=h)
    assert moved.status_code == 200, moved.text
    now_b = registry.client.get(f"/api/v1/persons/{ext}", headers=officer_b)
    assert now_b.status_code == 200 and now_b.json()["external_id"] == ext
    assert registry.client.get(f"/api/v1/persons/{ext}", headers=officer_a).status_code == 404
    assert calls.count(ext) == 4


def test_reads_run_on_a_few_threads_of_the_worker_and_the_others_wait_their_turn(
        registry: Registry, calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """GetPersonNow's reads run on at most `SHORT_READ_THREADS` threads at once (admission.in_short_turn, bench F34):
    twelve reads sent together by eight clients are all answered, each with its own person, never more than that
    many of them on a thread at the same time."""
    tree = small_tree(registry)
    h = registry.headers()
    ids = [uniq("GT") for _ in range(6)]
    for ext in ids:
        assert registry.client.put(f"/api/v1/persons/{ext}", json=person(ext, tree.school_a),
                                   headers=h).status_code in (200, 201)
    running, most, lock = 0, 0, threading.Lock()
    real = routes.persons.read

    def read(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.2)  # long enough for the other requests to arrive while this one holds its thread
            return real(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(routes.persons, "read", read)
    # one event loop for every request, as in a worker (TestClient outside `with` runs each in a loop of its own)
    with TestClient(create_app()) as client, ThreadPoolExecutor(8) as clients:
        answers = list(clients.map(lambda ext: client.get(f"/api/v1/persons/{ext}", headers=h), ids * 2))
    assert [a.status_code for a in answers] == [200] * 12, [a.text[:200] for a in answers]
    assert [a.json()["external_id"] for a in answers] == ids * 2
    assert sorted(calls) == sorted(ids * 2)  # every one of them by GetPersonNow
    assert most == admission.SHORT_READ_THREADS


def test_a_read_signed_in_through_an_identity_provider_never_holds_up_the_short_reads(
        registry: Registry, calls: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A caller with an identity provider's token may wait on the provider (its keys fetched for a key id not seen
    yet, whoever sent the token): such reads run on the worker's general threads, so that two of them, stuck, do not
    take both threads of the short reads and every read of one person behind them."""
    ext = uniq("GI")
    tree = small_tree(registry)
    assert registry.client.put(f"/api/v1/persons/{ext}", json=person(ext, tree.school_a),
                               headers=registry.headers()).status_code in (200, 201)
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    monkeypatch.setenv("OIDC_ISSUER", "https://idp.example.vn")
    monkeypatch.setenv("OIDC_JWKS_FILE", str(jwks))
    config.get_settings.cache_clear()
    waiting, released, timed_out = threading.Semaphore(0), threading.Event(), []

    def provider(*_args: Any) -> Any:  # the provider's keys, slow to come: held until the plain read is answered
        waiting.release()
        timed_out.append(not released.wait(10))
        raise Unauthenticated("the provider did not answer")

    monkeypatch.setattr(identity, "authenticate", provider)
    try:
        with TestClient(create_app()) as client, ThreadPoolExecutor(2) as clients:
            stuck = [clients.submit(client.get, f"/api/v1/persons/{ext}",
                                    headers={"Authorization": f"Bearer eyJhbGciOiJSUzI1NiJ9.e30.{n}"}) for n in (1, 2)]
            assert waiting.acquire(timeout=10) and waiting.acquire(timeout=10)  # both in the provider
            plain = client.get(f"/api/v1/persons/{ext}", headers=registry.headers())
            released.set()
            assert [f.result().status_code for f in stuck] == [401, 401]
    finally:
        released.set()
        monkeypatch.undo()
        config.get_settings.cache_clear()
    assert plain.status_code == 200 and plain.json()["external_id"] == ext
    assert timed_out == [False, False]  # the plain read was answered while both were held
    assert calls.count(ext) == 3
