"""The batch path of enrolment imports (app.services.enrolment_batch) writes what the record-by-record path writes.

The same generated province (app.demo.province: build_province + build_training) is imported into two empty
registries, once through the batch path and once record by record (`training.upsert_enrolment` in a savepoint
per line), in batches of 40 lines: enrolments created, updated, unchanged, awarding and retiring qualifications,
a person with several enrolments in one batch, a (person, course) twice in one batch, and lines refused for an
unknown person or course, a missing or impossible completion date, or a person a scoped officer does not keep.
The two registries must then agree on everything: the reports, the exports of persons and enrolments, the change
feed (entity, key, op, record, in order) and the persons' revisions.
"""

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from app.api import bulk
from app.config import Settings
from app.demo.province import build_province, build_training
from app.models import Person
from app.services import enrolment_batch
from tests.api.factories import cursor, import_records
from tests.conftest import Registry

Record = dict[str, Any]


def _province() -> tuple[Record, str, str]:
    """The province, its training, the unit of a scoped officer and a person the officer reaches but does not keep."""
    data = build_province(persons=120)
    training = build_training(data)
    enrolled = {e["person"] for e in training["enrolments"]}
    people = [p for p in data["persons"] if p["external_id"] in enrolled]
    units = Counter(e["org_unit"] for p in people for e in p["employments"] if e.get("primary", True) and not e.get("end"))
    officer_unit = units.most_common(1)[0][0]
    other = next(p for p in people if all(e["org_unit"] != officer_unit for e in p["employments"]))
    other["employments"].append({**other["employments"][0], "org_unit": officer_unit, "primary": False})
    return data | training, officer_unit, other["external_id"]


def _imports(province: Record, officer_unit: str, kept_elsewhere: str) -> list[tuple[str, list[Record]]]:
    """(who, records) of each enrolment import, in order: admin, the scoped officer, admin again with changes."""
    enrolments = province["enrolments"]
    officer_part = [e for i, e in enumerate(enrolments) if i % 3 == 0 or e["person"] == kept_elsewhere]
    first = [e for e in enrolments if e not in officer_part]
    ext = first[0]["person"]
    bad = [{**first[0], "person": "NOBODY-1"}, {**first[1], "course": "NO-COURSE"},
           {**first[2], "status": "completed", "completed_on": None},
           {**first[3], "status": "completed", "start": "1900-01-01", "completed_on": "1901-01-01"},
           {**first[4], "person": "NOBODY-2", "course": "NO-COURSE", "status": "no_such_status"}]
    admin_first = first[:30] + bad[:2] + first[30:90] + bad[2:] + first[90:]
    changes = []
    for e in first[:80]:
        if e["status"] == "completed":
            changes.append({**e, "status": "failed", "completed_on": None} if len(changes) % 2 else
                           {**e, "completed_on": e["expected_completion"][:8] + "01"})
        elif e["status"] in ("enrolled", "planned"):
            changes.append({**e, "status": "completed", "completed_on": e["expected_completion"]})
        else:
            changes.append(e)  # unchanged
    twice = [e for e in first if e["person"] == ext][:1]
    again = changes[:40] + [{**twice[0], "decision": "1/QĐ-UBND"}, {**twice[0], "decision": "2/QĐ-UBND"}] + changes[40:]
    return [("admin", admin_first), ("officer", officer_part), ("admin", again)]


def _import_all(registry: Registry, officer_unit: str, kept_elsewhere: str, province: Record) -> dict[str, Any]:
    for kind, key in (("org-units", "org_units"), ("persons", "persons"), ("courses", "courses")):
        report = import_records(registry, kind, province[key])
        assert report["errors"] == [], report["errors"][:3]
    officer = registry.token("hr_officer", [officer_unit])
    start = cursor(registry)
    reports = []
    for who, records in _imports(province, officer_unit, kept_elsewhere):
        report = import_records(registry, "enrolments", records, token=officer if who == "officer" else None)
        reports.append({k: v for k, v in report.items() if k != "recorded_at"})
    return {"reports": reports, "persons": registry.export("persons"), "enrolments": registry.export("enrolments"),
            "feed": _feed(registry, start), "revisions": _revisions(registry.url)}


def _feed(registry: Registry, after: int) -> list[tuple[str, str, str, Record]]:
    out = []
    while True:
        r = registry.client.get("/api/v1/changes", params={"after": after, "limit": 5000}, headers=registry.headers())
        assert r.status_code == 200, r.text
        body = r.json()
        if not body["changes"]:
            return out
        out += [(c["entity"], c["key"], c["op"], c["record"]) for c in body["changes"]]
        after = body["next"]


def _revisions(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(Person.external_id, Person.rev)).all())
    finally:
        engine.dispose()


@pytest.fixture
def batches_of_40(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "get_settings", lambda: Settings(import_batch_size=40))


def test_the_batch_path_writes_what_one_by_one_writes(fresh_registry: Callable[[], Registry],
                                                      monkeypatch: pytest.MonkeyPatch, batches_of_40: None) -> None:
    province, officer_unit, kept_elsewhere = _province()
    fallen_back: list[int] = []
    real = enrolment_batch.one_by_one

    def counted(session: Any, actor: Any, items: list[enrolment_batch.Item], *rest: Any) -> None:
        fallen_back.extend(i.line for i in items)
        real(session, actor, items, *rest)

    with monkeypatch.context() as m:
        m.setattr(enrolment_batch, "one_by_one", counted)
        batched = _import_all(fresh_registry(), officer_unit, kept_elsewhere, province)
    assert 0 < len(fallen_back) <= 40  # only the batch naming a (person, course) twice went record by record
    with monkeypatch.context() as m:
        m.setattr(enrolment_batch, "write", enrolment_batch.one_by_one)
        single = _import_all(fresh_registry(), officer_unit, kept_elsewhere, province)
    for name in ("reports", "persons", "enrolments", "revisions"):
        assert batched[name] == single[name], name
    assert len(batched["feed"]) == len(single["feed"])
    for i, (a, b) in enumerate(zip(batched["feed"], single["feed"], strict=True)):
        assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False), i
    # what the comparison covers: every outcome and error code, and awards given and taken back
    reports = batched["reports"]
    codes = {e["error"] for r in reports for e in r["errors"]}
    assert {"unknown_person", "unknown_course", "invalid_field", "invalid_input", "out_of_scope"} <= codes, codes
    assert all(reports[0][k] > 0 for k in ("created",)) and reports[1]["created"] > 0
    assert reports[2]["updated"] > 0 and reports[2]["unchanged"] > 0
    assert sum(c[0] == "person" for c in batched["feed"]) > 20
    assert any(c[0] == "person" and c[1] == kept_elsewhere for c in batched["feed"]) is False


def test_a_batch_the_database_refuses_is_written_record_by_record(fresh_registry: Callable[[], Registry],
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  batches_of_40: None) -> None:
    province, officer_unit, kept_elsewhere = _province()
    expected = _import_all(fresh_registry(), officer_unit, kept_elsewhere, province)
    from sqlalchemy.exc import IntegrityError

    def refusing(*_args: Any) -> None:
        raise IntegrityError("INSERT", {}, Exception("refused"))

    monkeypatch.setattr(enrolment_batch, "_apply", refusing)
    fallen_back = _import_all(fresh_registry(), officer_unit, kept_elsewhere, province)
    assert fallen_back == expected
