"""The change feed: every write once, in commit order; a replay into an empty registry exports identically."""

import json
from collections.abc import Callable
from typing import Any

from app.demo.province import build_training
from tests.conftest import Registry, uniq
from tests.fixtures.province import build_province


def _feed(registry: Registry, after: int = 0, limit: int = 7) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = registry.client.get("/api/v1/changes", params={"after": after, "limit": limit}, headers=registry.headers()).json()
        if not page["changes"]:
            return out
        out += page["changes"]
        after = page["next"]


def _apply(target: Registry, change: dict[str, Any]) -> None:
    h, record = target.headers(), change["record"]
    if change["entity"] == "org_unit":
        r = target.client.put(f"/api/v1/org-units/{record['code']}", json=record, headers=h)
    elif change["entity"] == "person":
        r = target.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=h)
    elif change["entity"] == "course":
        r = target.client.put(f"/api/v1/courses/{record['code']}", json=record, headers=h)
    elif change["entity"] == "enrolment":
        r = target.client.put(f"/api/v1/enrolments/{record['person']}/{record['course']}", json=record, headers=h)
    elif change["op"] == "withdraw":
        r = target.client.delete("/api/v1/statistics", params={k: record[k] for k in ("code", "org_unit", "period")}, headers=h)
    else:
        r = target.client.put("/api/v1/statistics", json=record, headers=h)
    assert r.status_code < 300, (change["seq"], r.text)


def test_a_replay_of_the_feed_into_an_empty_registry_exports_identically(fresh_registry: Callable[[], Registry]) -> None:
    source = fresh_registry()
    data = build_province(seed=7, persons=60, prefix=uniq("CF"))
    for kind, key in (("org-units", "org_units"), ("persons", "persons"), ("statistics", "statistics")):
        assert source.import_lines(kind, [json.dumps(x, ensure_ascii=False) for x in data[key]])["errors"] == []
    h = source.headers()
    first = data["persons"][0]["external_id"]
    assert source.client.patch(f"/api/v1/persons/{first}", json={"full_name": "Nguyễn Thị Đổi Tên"}, headers=h).status_code == 200
    stat = data["statistics"][0]
    assert source.client.put("/api/v1/statistics", json=stat | {"value": 123456}, headers=h).status_code == 200
    assert source.client.delete("/api/v1/statistics", params={k: stat[k] for k in ("code", "org_unit", "period")},
                                headers=h).status_code == 200

    changes = _feed(source)
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))  # every write once, in commit order
    assert len(changes) == len(data["org_units"]) + len(data["persons"]) + len(data["statistics"]) + 3

    target = fresh_registry()
    for change in changes:
        _apply(target, change)
    for kind in ("org-units", "persons", "statistics"):
        assert target.export(kind) == source.export(kind), kind


def test_the_feed_continues_after_a_cursor(fresh_registry: Callable[[], Registry]) -> None:
    registry = fresh_registry()
    code = uniq("CF")
    unit = {"code": code, "name": "Xã", "kind": "area", "tier": "commune", "sector": "state", "valid_from": "2000-01-01",
            "parents": []}
    registry.import_lines("org-units", [json.dumps(unit)])
    cursor = registry.client.get("/api/v1/changes", headers=registry.headers()).json()["next"]
    registry.client.patch(f"/api/v1/org-units/{code}", json={"name": "Xã Mới"}, headers=registry.headers())
    later = registry.client.get("/api/v1/changes", params={"after": cursor}, headers=registry.headers()).json()
    assert [(c["key"], c["op"], c["record"]["name"]) for c in later["changes"]] == [(code, "update", "Xã Mới")]


def test_a_replay_with_courses_and_enrolments_exports_identically(fresh_registry: Callable[[], Registry]) -> None:
    """Enrolments award qualifications: the feed carries the enrolment and the person's new record, and a replay
    (the person record's awarded items are the enrolment's, not written from the record) gives the same registry."""
    source = fresh_registry()
    data = build_province(seed=8, persons=50, prefix=uniq("CT"))
    data |= build_training(data, seed=8)
    for kind in ("org-units", "persons", "courses", "enrolments"):
        assert source.import_lines(kind, [json.dumps(x, ensure_ascii=False) for x in data[kind.replace("-", "_")]])[
            "errors"] == [], kind
    h = source.headers()
    done = next(e for e in data["enrolments"] if e["status"] == "completed" and "-CC-" in e["course"])
    url = f"/api/v1/enrolments/{done['person']}/{done['course']}"
    assert source.client.patch(url, json={"completed_on": "2025-03-01"}, headers=h).status_code == 200
    assert source.client.patch(url, json={"status": "withdrawn", "completed_on": None}, headers=h).status_code == 200
    changes = _feed(source, limit=500)
    entities = {c["entity"] for c in changes}
    assert {"course", "enrolment", "person"} <= entities
    target = fresh_registry()
    for change in changes:
        _apply(target, change)
    for kind in ("org-units", "persons", "courses", "enrolments"):
        assert target.export(kind) == source.export(kind), kind
