"""What one read of a person costs a worker, counted rather than timed (bench/findings.md F27): the trips its
synchronous work makes between the event loop and AnyIO's worker threads, and the connections it checks out of the
pools. Each trip is a hand-over through a queue and a wake-up of the loop; each checkout was a pre-ping round trip
(since F31 only a connection idle for a second is pinged). A read made 6 trips and 4 checkouts before F27, 2 and 3
after, 1 and 3 since F31 (`GetPersonNow`: the token, the rate limit, the read and its logging in one trip); the answer
and its access-log entry are unchanged."""

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import event

from app import db
from tests.api.factories import person, small_tree
from tests.conftest import BOOT, Registry, uniq


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Trips to worker threads ("thread") and checkouts per pool ("main", "audit") while the block runs."""
    seen: Counter[str] = Counter()
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        seen["thread"] += 1
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    pools = {"main": db.get_engine().pool}
    audit_bind = db.get_audit_session_factory().kw["bind"]
    if audit_bind.pool is not pools["main"]:
        pools["audit"] = audit_bind.pool
    listeners = []
    for name, pool in pools.items():
        def checkout(*_args: Any, name: str = name) -> None:
            seen[name] += 1
        event.listen(pool, "checkout", checkout)
        listeners.append((pool, checkout))
    try:
        yield seen
    finally:
        for pool, listener in listeners:
            event.remove(pool, "checkout", listener)
        monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)


@pytest.mark.parametrize("role", ["admin", "hr_officer", "auditor"])
def test_a_read_of_one_person_takes_one_trip_to_a_thread_and_one_checkout_per_transaction(
        registry: Registry, monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    tree = small_tree(registry)
    external_id = f"{tree.province}-{uniq('COST')}"
    assert registry.import_lines("persons", [json.dumps(person(external_id, tree.school_a), ensure_ascii=False)])["created"] == 1
    token = BOOT if role == "admin" else registry.token(role, [tree.province])
    headers = registry.headers(token)
    first = registry.client.get(f"/api/v1/persons/{external_id}", headers=headers)  # warm: routes, statements, pools
    assert first.status_code == 200, first.text
    with counted(monkeypatch) as seen:
        answer = registry.client.get(f"/api/v1/persons/{external_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == first.json() and answer.headers["ETag"] == first.headers["ETag"]
    assert ("national_id" in answer.json()) == (role != "auditor")  # an auditor's answer withholds it, unlogged
    # the caller's token, its count against the rate limit, the read and its logging: one trip (F31)
    assert seen["thread"] == 1, seen
    if registry.backend == "postgres":
        # one checkout for the token and the rate limit, one for the read; the access log's own, for a logged read
        assert seen["main"] == 2, seen
        assert seen["audit"] == (0 if role == "auditor" else 1), seen
    else:  # SQLite: the token's look-up, then the read in a transaction that also writes the access-log entry
        assert seen["main"] == 2, seen
    logged = registry.client.get("/api/v1/audit", params={"person": external_id}, headers=registry.headers())
    assert logged.status_code == 200, logged.text
    reads = [e for e in logged.json()["reads"] if e["action"] == "read"]
    assert len(reads) == (0 if role == "auditor" else 2), reads  # each logged read once: the warm one and this one


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_an_indicator_value_takes_two_trips_to_a_thread(registry: Registry, monkeypatch: pytest.MonkeyPatch,
                                                        role: str) -> None:
    tree = small_tree(registry)
    token = BOOT if role == "admin" else registry.token(role, [tree.province])
    params = {"org_unit": tree.province, "as_of": "2025-12-31"}
    url = "/api/v1/indicators/CT-2030-WOMEN-PARTY-COMMITTEE/value"
    first = registry.client.get(url, params=params, headers=registry.headers(token))
    assert first.status_code == 200, first.text
    with counted(monkeypatch) as seen:
        answer = registry.client.get(url, params=params, headers=registry.headers(token))
    assert answer.status_code == 200, answer.text
    assert answer.json() == first.json()
    assert seen["thread"] == 2, seen
    refused = registry.client.get(url, params=params | {"org_unit": "NO-SUCH-UNIT"}, headers=registry.headers(token))
    assert refused.status_code in (403, 404), refused.text  # an error raised on the thread is still a problem answer
    assert refused.headers["content-type"].startswith("application/problem+json")
