"""Every import and write answers the moment it was recorded: the `known_at` that includes it (issue #12).

Imports say it in their report (`recorded_at`, also in GET /imports/{id}); every other write in the
`Recorded-At` header, and writes whose answer is not a record (statistics, reorganisations) in the body
too. Passed back as `known_at`, the moment shows the write; a microsecond earlier, the state before it.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, insert, select

from app.models import Txn
from app.services import history
from tests.api.factories import get_person, import_records, ndjson, person, small_tree
from tests.conftest import Registry, uniq

NDJSON = {"Content-Type": "application/x-ndjson"}


def _moment(text: str) -> datetime:
    assert text.endswith("Z") and len(text) == len("2026-12-04T21:55:01.123456Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _before(text: str) -> str:
    return history.moment(_moment(text) - timedelta(microseconds=1))


def test_an_import_says_when_it_was_recorded_and_that_moment_includes_it(registry: Registry) -> None:
    tree = small_tree(registry)
    pid = uniq("RA")
    started = datetime.now(UTC)
    report = import_records(registry, "persons", [person(pid, tree.school_a)])
    assert report["created"] == 1 and report["errors"] == []
    at = report["recorded_at"]
    assert started <= _moment(at) <= datetime.now(UTC)
    assert get_person(registry, pid, known_at=at).status_code == 200
    assert get_person(registry, pid, known_at=_before(at)).status_code == 404
    exported = registry.client.get("/api/v1/exports/persons", params={"known_at": at}, headers=registry.headers()).text
    assert f'"{pid}"' in exported
    # the same report is kept: GET /imports/{id} gives the moment too
    kept = registry.client.get(f"/api/v1/imports/{report['id']}", headers=registry.headers()).json()
    assert kept["recorded_at"] == at


def test_an_import_that_writes_nothing_has_no_moment(registry: Registry) -> None:
    tree = small_tree(registry)
    record = person(uniq("RA"), tree.school_a)
    assert import_records(registry, "persons", [record], dry_run=True)["recorded_at"] is None
    first = import_records(registry, "persons", [record])
    again = import_records(registry, "persons", [record])
    assert again["unchanged"] == 1 and again["recorded_at"] is None
    bad = import_records(registry, "persons", [person(uniq("RA"), "NO-SUCH-UNIT")])
    assert bad["errors"] and bad["recorded_at"] is None
    assert first["recorded_at"] is not None


def test_a_batched_import_gives_the_moment_of_its_last_batch(registry: Registry) -> None:
    from app.config import get_settings

    tree = small_tree(registry)
    size = get_settings().import_batch_size
    ids = [uniq("RB") for _ in range(size + 2)]  # two batches, so two transactions
    report = import_records(registry, "persons", [person(i, tree.commune_b) for i in ids])
    assert report["created"] == len(ids)
    at = report["recorded_at"]
    for pid in (ids[0], ids[-1]):
        assert get_person(registry, pid, known_at=at).status_code == 200
    assert get_person(registry, ids[-1], known_at=_before(at)).status_code == 404


def test_a_job_import_keeps_its_moment(registry: Registry) -> None:
    tree = small_tree(registry)
    pid = uniq("RJ")
    r = registry.client.post("/api/v1/imports/persons", content=ndjson([person(pid, tree.school_a)]).encode(),
                             headers=registry.headers() | NDJSON | {"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 60
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        view = registry.client.get(f"/api/v1/imports/{r.json()['id']}", headers=registry.headers()).json()
        if view["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert view["status"] == "done" and view["created"] == 1, view
    assert get_person(registry, pid, known_at=view["recorded_at"]).status_code == 200
    assert get_person(registry, pid, known_at=_before(view["recorded_at"])).status_code == 404


def test_a_write_answers_recorded_at_and_a_read_or_refusal_does_not(registry: Registry) -> None:
    tree = small_tree(registry)
    record = person(uniq("RW"), tree.school_a)
    r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=registry.headers())
    assert r.status_code == 200
    created = r.headers["Recorded-At"]
    renamed = record | {"full_name": "Trần Văn Bình"}
    r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=renamed, headers=registry.headers())
    changed = r.headers["Recorded-At"]
    assert _moment(changed) > _moment(created)
    assert get_person(registry, record["external_id"], known_at=changed).json()["full_name"] == "Trần Văn Bình"
    assert get_person(registry, record["external_id"], known_at=_before(changed)).json()["full_name"] == "Nguyễn Thị Đào"
    # the same record again writes nothing: no moment
    r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=renamed, headers=registry.headers())
    assert r.status_code == 200 and "Recorded-At" not in r.headers
    read = get_person(registry, record["external_id"])
    assert read.status_code == 200 and "Recorded-At" not in read.headers
    refused = registry.client.put(f"/api/v1/persons/{uniq('RW')}", json=person("X", "NO-SUCH-UNIT"), headers=registry.headers())
    assert refused.status_code in (400, 422) and "Recorded-At" not in refused.headers


def test_org_unit_statistic_and_reorganisation_writes_say_when(registry: Registry) -> None:
    tree = small_tree(registry)
    r = registry.client.patch(f"/api/v1/org-units/{tree.commune_a}", json={"name": "Xã Tham Đôn mới"}, headers=registry.headers())
    assert r.status_code == 200, r.text
    unit_at = r.headers["Recorded-At"]
    old = registry.client.get(f"/api/v1/org-units/{tree.commune_a}", params={"known_at": _before(unit_at)},
                              headers=registry.headers())
    assert old.json()["name"] == "Xã Tham Đôn"
    figure = {"code": "population", "org_unit": tree.commune_a, "period": "2024", "value": 12345}
    r = registry.client.put("/api/v1/statistics", json=figure, headers=registry.headers())
    assert r.status_code == 200, r.text
    assert r.json()["recorded_at"] == r.headers["Recorded-At"]
    assert _moment(r.json()["recorded_at"]) > _moment(unit_at)
    plan = {"name": "Sáp nhập thử", "effective": "2025-07-01", "reparent": [{"code": tree.station_b, "parent": tree.commune_a}]}
    r = registry.client.post("/api/v1/reorganisations", json=plan, headers=registry.headers())  # a preview writes nothing
    assert r.status_code == 200, r.text
    assert r.json()["recorded_at"] is None and "Recorded-At" not in r.headers
    r = registry.client.post("/api/v1/reorganisations", json=plan, params={"dry_run": "false"}, headers=registry.headers())
    assert r.status_code == 200, r.text
    assert r.json()["recorded_at"] == r.headers["Recorded-At"]
    assert _moment(r.json()["recorded_at"]) > _moment(unit_at)


def test_moments_rise_with_transactions_even_when_a_clock_is_behind(fresh_registry: Any) -> None:
    """Several app servers: one whose clock runs behind still dates its write after the last one."""
    registry: Registry = fresh_registry()
    tree = small_tree(registry)
    ahead = datetime.now(UTC) + timedelta(hours=1)  # a server whose clock is an hour ahead wrote last
    engine = create_engine(registry.url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(insert(Txn).values(at=ahead, actor="other-server", source="api"))
    record = person(uniq("RC"), tree.school_a)
    r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=registry.headers())
    at = r.headers["Recorded-At"]
    assert _moment(at) == ahead + timedelta(microseconds=1)
    with engine.connect() as conn:
        assert conn.scalar(select(func.max(Txn.id))) == conn.scalar(select(Txn.id).where(Txn.at == _moment(at)))
    engine.dispose()
    assert get_person(registry, record["external_id"], known_at=at).status_code == 200
    assert get_person(registry, record["external_id"], known_at=_before(at)).status_code == 404
