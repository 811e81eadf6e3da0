"""Courses and enrolments (planning.md 'Training', interchange.md 'Course and enrolment'): a completed enrolment
awards what its course awards, from completed_on, linked to the enrolment; history, round trip, scope, validation."""

import json
from typing import Any

from tests.api.factories import course as _course
from tests.api.factories import cursor, import_records, moved_person, ndjson, person, small_tree
from tests.api.factories import enrolment as _enrolment
from tests.conftest import Registry, uniq

LEADER_STANDARD = "CT-2025-LEADERS-MEET-STANDARDS"


def _leader(external_id: str, unit: str) -> dict[str, Any]:
    """A department head who meets every row of the title standard but political theory cao cấp (holds trung cấp)."""
    return person(external_id, unit, employments=[{"org_unit": unit, "category": "cong_chuc", "occupation": "specialist",
                                                   "primary": True, "start": "2010-01-01", "end": None}],
                  positions=[{"org_unit": unit, "title": "Giám đốc Sở", "rank": "department_head", "key_leader": True,
                              "start": "2020-01-01", "end": None}],
                  political_theory=[{"level": "trung_cap", "awarded_on": "2015-07-01"}],
                  state_management=[{"level": "chuyen_vien_chinh", "awarded_on": "2016-01-01"}])






def _value(registry: Registry, unit: str, as_of: str, **params: str) -> dict[str, Any]:
    r = registry.client.get(f"/api/v1/indicators/{LEADER_STANDARD}/value", headers=registry.headers(),
                            params={"org_unit": unit, "as_of": as_of, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _person(registry: Registry, ext: str, **params: str) -> dict[str, Any]:
    r = registry.client.get(f"/api/v1/persons/{ext}", headers=registry.headers(), params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _setup(registry: Registry) -> tuple[Any, dict[str, str], str]:
    tree = small_tree(registry)
    exts = {k: uniq(k) for k in ("leader", "enrolled", "withdrawn")}
    records = [_leader(exts["leader"], tree.agency), _leader(exts["enrolled"], tree.agency),
               _leader(exts["withdrawn"], tree.agency)]
    assert import_records(registry, "persons", records)["created"] == 3
    code = uniq("CC")
    report = import_records(registry, "courses", [_course(code, tree.province)])
    assert (report["created"], report["errors"]) == (1, []), report
    return tree, exts, code


def test_a_completed_enrolment_awards_cao_cap_from_completed_on_and_only_then(registry: Registry) -> None:
    tree, exts, code = _setup(registry)
    before_import = _value(registry, tree.agency, "2026-07-01")
    assert (before_import["numerator"], before_import["denominator"]) == (0, 3)
    moment = registry.client.get("/api/v1/changes", params={"after": cursor(registry)}, headers=registry.headers())
    assert moment.status_code == 200
    report = import_records(registry, "enrolments", [
        _enrolment(exts["leader"], code, "completed", completed_on="2026-06-30"),
        _enrolment(exts["enrolled"], code, "enrolled"),
        _enrolment(exts["withdrawn"], code, "withdrawn")])
    assert (report["created"], report["errors"]) == (3, []), report
    recorded = report["recorded_at"]
    leader = _person(registry, exts["leader"])
    assert {"level": "cao_cap", "awarded_on": "2026-06-30", "from_enrolment": code} in leader["political_theory"]
    for other in ("enrolled", "withdrawn"):
        assert _person(registry, exts[other])["political_theory"] == [{"level": "trung_cap", "awarded_on": "2015-07-01"}]
    # the leader meets the title standard from completed_on, not the day before
    assert _value(registry, tree.agency, "2026-06-29")["numerator"] == 0
    after = _value(registry, tree.agency, "2026-06-30")
    assert (after["numerator"], after["denominator"]) == (1, 3)
    # known_at before the enrolments were recorded: the old figures and the old record
    earlier = _previous_moment(recorded)
    assert _value(registry, tree.agency, "2026-07-01", known_at=earlier)["numerator"] == 0
    assert all(i.get("from_enrolment") is None for i in _person(registry, exts["leader"], known_at=earlier)["political_theory"])
    # importing the same enrolments again changes nothing
    again = import_records(registry, "enrolments", [
        _enrolment(exts["leader"], code, "completed", completed_on="2026-06-30"),
        _enrolment(exts["enrolled"], code, "enrolled"), _enrolment(exts["withdrawn"], code, "withdrawn")])
    assert (again["unchanged"], again["created"], again["updated"]) == (3, 0, 0)


def _previous_moment(recorded_at: str) -> str:
    from datetime import datetime, timedelta

    at = datetime.fromisoformat(recorded_at.replace("Z", "+00:00")) - timedelta(microseconds=1)
    return at.isoformat().replace("+00:00", "Z")


def test_correcting_and_reopening_the_enrolment_corrects_the_qualification(registry: Registry) -> None:
    tree, exts, code = _setup(registry)
    ext = exts["leader"]
    url = f"/api/v1/enrolments/{ext}/{code}"
    r = registry.client.put(url, json=_enrolment(ext, code, "completed", completed_on="2026-06-30"), headers=registry.headers())
    assert r.status_code == 200 and r.json()["write"] == "created", r.text
    rev_before = registry.client.get(f"/api/v1/persons/{ext}", headers=registry.headers()).headers["ETag"]
    r = registry.client.patch(url, json={"completed_on": "2026-06-15"}, headers=registry.headers())
    assert r.status_code == 200 and r.json()["write"] == "updated", r.text
    held = [i for i in _person(registry, ext)["political_theory"] if i.get("from_enrolment")]
    assert held == [{"level": "cao_cap", "awarded_on": "2026-06-15", "from_enrolment": code}]
    assert registry.client.get(f"/api/v1/persons/{ext}", headers=registry.headers()).headers["ETag"] != rev_before
    # the person's record written in full without the awarded item keeps it: it is the enrolment's
    record = _person(registry, ext)
    own = record | {"political_theory": [i for i in record["political_theory"] if not i.get("from_enrolment")]}
    r = registry.client.put(f"/api/v1/persons/{ext}", json=own, headers=registry.headers())
    assert r.status_code == 200, r.text
    assert [i for i in r.json()["political_theory"] if i.get("from_enrolment")] == held
    # an awarded item sent back in a person record is not made the person's own (nor doubled)
    r = registry.client.put(f"/api/v1/persons/{ext}", json=record, headers=registry.headers())
    assert r.status_code == 200 and r.json()["political_theory"] == record["political_theory"], r.text
    # reopened: the qualification goes; the course changing its award changes what a completion gave
    r = registry.client.patch(url, json={"status": "enrolled", "completed_on": None}, headers=registry.headers())
    assert r.status_code == 200, r.text
    assert [i for i in _person(registry, ext)["political_theory"] if i.get("from_enrolment")] == []
    registry.client.patch(url, json={"status": "completed", "completed_on": "2026-06-30"}, headers=registry.headers())
    r = registry.client.patch(f"/api/v1/courses/{code}", json={"awards": {"state_management": {"level": "chuyen_vien_cao_cap"}}},
                              headers=registry.headers())
    assert r.status_code == 200 and r.json()["status"] == "updated", r.text
    now = _person(registry, ext)
    assert [i for i in now["political_theory"] if i.get("from_enrolment")] == []
    assert {"level": "chuyen_vien_cao_cap", "awarded_on": "2026-06-30", "from_enrolment": code} in now["state_management"]
    # failing awards nothing
    r = registry.client.patch(url, json={"status": "failed"}, headers=registry.headers())
    assert r.status_code == 200, r.text
    assert all(not i.get("from_enrolment") for i in _person(registry, ext)["state_management"])


def test_the_feed_carries_the_enrolment_and_the_persons_new_record(registry: Registry) -> None:
    tree, exts, code = _setup(registry)
    start = cursor(registry)
    import_records(registry, "enrolments", [_enrolment(exts["leader"], code, "completed", completed_on="2026-06-30")])
    r = registry.client.get("/api/v1/changes", params={"after": start}, headers=registry.headers())
    entries = [(c["entity"], c["key"]) for c in r.json()["changes"]]
    assert entries == [("enrolment", f"{exts['leader']}|{code}"), ("person", exts["leader"])]
    awarded = r.json()["changes"][1]["record"]["political_theory"]
    assert {"level": "cao_cap", "awarded_on": "2026-06-30", "from_enrolment": code} in awarded


def test_export_import_export_is_byte_identical(registry: Registry, fresh_registry: Any) -> None:
    tree, exts, code = _setup(registry)
    languages = uniq("EN")
    import_records(registry, "courses", [_course(languages, tree.agency, kind="foreign_language", name="Tiếng Anh B1",
                                                 awards={"languages": {"language": "en", "kind": "foreign", "level": 3}},
                                                 funding="unit", mode="online")])
    import_records(registry, "enrolments", [
        _enrolment(exts["leader"], code, "completed", completed_on="2026-06-30"),
        _enrolment(exts["enrolled"], code, "enrolled"), _enrolment(exts["withdrawn"], code, "withdrawn"),
        _enrolment(exts["enrolled"], languages, "completed", completed_on="2026-03-01", cost=None)])
    admin = registry.token("admin", [tree.province])
    first = {k: registry.export(k, admin) for k in ("org-units", "persons", "courses", "enrolments")}
    assert first["courses"].count("\n") == 2 and first["enrolments"].count("\n") == 4
    assert '"from_enrolment":"' + code + '"' in first["persons"]
    other = fresh_registry()
    for kind, text in first.items():
        report = other.import_lines(kind, text)
        assert report["errors"] == [], (kind, report["errors"][:3])
    second = {k: other.export(k) for k in first}
    assert second == first
    # and again: nothing changes
    for kind, text in first.items():
        assert other.import_lines(kind, text)["unchanged"] == text.count("\n"), kind


def test_validation_names_the_line_the_field_and_why(registry: Registry) -> None:
    tree, exts, code = _setup(registry)
    lines = [
        _enrolment("NOBODY-" + uniq(), code, "enrolled"),
        _enrolment(exts["leader"], "NO-SUCH-COURSE", "enrolled"),
        _enrolment(exts["leader"], code, "completed"),
        _enrolment(exts["leader"], code, "completed", start="2026-03-01", completed_on="2026-02-01"),
        _enrolment(exts["leader"], code, "graduated"),
    ]
    report = import_records(registry, "enrolments", lines)
    assert report["created"] == 0 and report["failed"] == 5, report
    by_line = {e["line"]: e for e in report["errors"]}
    assert (by_line[1]["field"], by_line[1]["error"], by_line[1]["code"]) == ("person", "unknown_person", code)
    assert (by_line[2]["field"], by_line[2]["error"], by_line[2]["external_id"]) == ("course", "unknown_course", exts["leader"])
    assert by_line[3]["field"] == "completed_on" and "needs completed_on" in by_line[3]["message"]
    assert by_line[4]["field"] == "completed_on" and "before start" in by_line[4]["message"]
    assert by_line[5]["field"] == "status" and "enrolment_status" in by_line[5]["message"]
    bad = import_records(registry, "courses", [
        _course(uniq("X"), tree.province, awards={"political_theory": {"level": "tien_si"}}),
        _course(uniq("X"), tree.province, awards={"diplomas": {"level": "x"}}),
        _course(uniq("X"), "NO-UNIT"), _course(uniq("X"), tree.province, kind="yoga", end="2025-01-01")])
    errors = {(e["line"], e["field"]) for e in bad["errors"]}
    assert {(1, "awards.political_theory.level"), (2, "awards"), (3, "org_unit"), (4, "kind"), (4, "end")} <= errors, bad
    assert bad["created"] == 0
    r = registry.client.get("/api/v1/enrolments", params={"person": exts["leader"]}, headers=registry.headers())
    assert r.json()["items"] == []


def test_a_commune_officer_enrols_its_own_people_in_the_province_course_and_nothing_beyond(registry: Registry) -> None:
    tree = small_tree(registry)
    mine, theirs = uniq("A"), uniq("B")
    import_records(registry, "persons", [person(mine, tree.school_a), person(theirs, tree.station_b)])
    province_course, agency_course = uniq("PC"), uniq("AC")
    import_records(registry, "courses", [_course(province_course, tree.province), _course(agency_course, tree.agency)])
    officer = registry.token("hr_officer", [tree.commune_a])
    h = registry.headers(officer)
    # sees the province's course (its people are sent there), not a sibling agency's
    listed = registry.client.get("/api/v1/courses", headers=h).json()["items"]
    assert [c["code"] for c in listed] == [province_course]
    assert registry.client.get(f"/api/v1/courses/{agency_course}", headers=h).status_code == 404
    # enrols its own person; not one of the other commune (told "unknown", as for a person it cannot see)
    ok = import_records(registry, "enrolments", [_enrolment(mine, province_course, "enrolled")], token=officer)
    assert ok["created"] == 1, ok
    refused = import_records(registry, "enrolments", [_enrolment(theirs, province_course, "enrolled"),
                                                      _enrolment(mine, agency_course, "enrolled")], token=officer)
    assert [(e["line"], e["error"]) for e in refused["errors"]] == [(1, "unknown_person"), (2, "unknown_course")]
    r = registry.client.put(f"/api/v1/enrolments/{theirs}/{province_course}",
                            json=_enrolment(theirs, province_course, "enrolled"), headers=h)
    assert r.status_code == 422 and r.json()["code"] == "unknown_person"
    # creates a course only for its own units
    r = registry.client.post("/api/v1/courses", json=_course(uniq("C"), tree.province), headers=h)
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope", r.text
    r = registry.client.put(f"/api/v1/courses/{province_course}", json=_course(province_course, tree.commune_a), headers=h)
    assert r.status_code == 403, r.text
    r = registry.client.post("/api/v1/courses", json=_course(uniq("C"), tree.commune_a), headers=h)
    assert r.status_code == 201, r.text
    # reads: only its own people's enrolments, in lists and exports
    admin_h = registry.headers()
    registry.client.put(f"/api/v1/enrolments/{theirs}/{province_course}",
                        json=_enrolment(theirs, province_course, "enrolled"), headers=admin_h)
    assert [e["person"] for e in registry.client.get("/api/v1/enrolments", headers=h).json()["items"]] == [mine]
    assert [json.loads(x)["person"] for x in registry.export("enrolments", officer).splitlines()] == [mine]
    assert registry.client.get(f"/api/v1/enrolments/{theirs}/{province_course}", headers=h).status_code == 404
    # the auditor reads, never writes
    auditor = registry.token("auditor", [tree.province])
    r = registry.client.put(f"/api/v1/enrolments/{mine}/{province_course}", json=_enrolment(mine, province_course, "completed",
                            completed_on="2026-06-30"), headers=registry.headers(auditor))
    assert r.status_code == 403
    assert registry.client.get(f"/api/v1/enrolments/{mine}/{province_course}",
                               headers=registry.headers(auditor)).json()["status"] == "enrolled"


def test_hostile_lines_are_refused_one_by_one_and_nothing_else_changes(registry: Registry) -> None:
    tree, exts, code = _setup(registry)
    before = registry.export("enrolments")
    body = "\n".join([
        json.dumps(_enrolment(exts["leader"], code, "enrolled", decision="=HYPERLINK(\"http://x\")\u0007")),
        json.dumps(_enrolment(exts["leader"], code, "enrolled", cost=10**30)),
        json.dumps({"person": {"nested": [[[[]]]]}, "course": code, "status": "enrolled"}),
        "{not json", json.dumps(_enrolment(exts["leader"], code, "enrolled", extra="x")),
        json.dumps(_course(code, tree.province)),
    ]) + "\n"
    report = registry.import_lines("enrolments", body)
    assert report["failed"] == 6 and report["created"] == 0, report
    assert {e["error"] for e in report["errors"]} >= {"control_character", "invalid_field", "invalid_json"}
    assert registry.export("enrolments") == before
    r = registry.client.post("/api/v1/enrolments", content=b"[" * 100000, headers=registry.headers() | {
        "Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert ndjson([]) == ""


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_courses_and_enrolments_round_trip_through_vietnamese_csv_and_xlsx(registry: Registry, fresh_registry: Any) -> None:
    import io

    from openpyxl import load_workbook

    from app.demo.province import build_province, build_training

    prefix = uniq("TR")
    data = build_province(seed=3, persons=60, prefix=prefix)
    data |= build_training(data, seed=3)
    source = fresh_registry()
    for kind in ("org-units", "persons", "courses", "enrolments"):
        report = source.import_lines(kind, ndjson(data[kind.replace("-", "_")]))
        assert report["errors"] == [], (kind, report["errors"][:3])
    expected = {k: source.export(k) for k in ("org-units", "persons", "courses", "enrolments")}
    assert expected["enrolments"].count("\n") == len(data["enrolments"]) > 20
    sheets = {}
    for fmt, params in (("csv", {"format": "csv", "lang": "vi", "delimiter": "semicolon"}),
                        ("xlsx", {"format": "xlsx", "lang": "vi"})):
        sheets[fmt] = {k: source.client.get(f"/api/v1/exports/{k}", params=params, headers=source.headers()).content
                       for k in ("persons", "courses", "enrolments")}
    persons_csv = sheets["csv"]["persons"].decode("utf-8-sig")
    assert "Cấp qua khóa học (mã khóa)" in persons_csv.splitlines()[0] and f";{prefix}-K-CC-2024" in persons_csv
    courses_csv = sheets["csv"]["courses"].decode("utf-8-sig")
    assert courses_csv.startswith("Mã;Tên;Loại;Cơ sở tổ chức đào tạo") and ";Lý luận chính trị;" in courses_csv
    assert ";Cao cấp;" in courses_csv and ";Không tập trung;" in courses_csv
    assert ";Đã hoàn thành;" in sheets["csv"]["enrolments"].decode("utf-8-sig")
    book = load_workbook(io.BytesIO(sheets["xlsx"]["enrolments"])).worksheets[0]
    header = [c.value for c in book[1]]
    assert header[:3] == ["Mã định danh cán bộ", "Khóa bồi dưỡng", "Trạng thái"]
    assert book.cell(row=2, column=header.index("Từ ngày") + 1).number_format == "dd/mm/yyyy"
    for fmt, ctype in (("csv", "text/csv"), ("xlsx", XLSX)):
        target = fresh_registry()
        assert target.import_lines("org-units", expected["org-units"])["errors"] == []
        for kind in ("persons", "courses", "enrolments"):  # the awarded items of the persons' sheet are not made their own
            r = target.client.post(f"/api/v1/imports/{kind}", content=sheets[fmt][kind],
                                   headers=target.headers() | {"Content-Type": ctype})
            assert r.status_code == 200 and r.json()["errors"] == [], (fmt, kind, r.text[:500])
        assert {k: target.export(k) for k in expected} == expected, fmt


def test_dry_run_writes_nothing_and_the_api_keeps_history(registry: Registry) -> None:
    tree, exts, code = _setup(registry)
    h = registry.headers()
    changes = cursor(registry)
    dry = import_records(registry, "enrolments", [_enrolment(exts["leader"], code, "completed", completed_on="2026-06-30")],
                         dry_run=True)
    assert (dry["created"], dry["errors"], dry["recorded_at"]) == (1, [], None)
    assert cursor(registry) == changes and registry.client.get(f"/api/v1/enrolments/{exts['leader']}/{code}",
                                                               headers=h).status_code == 404
    assert all(not i.get("from_enrolment") for i in _person(registry, exts["leader"])["political_theory"])
    # create, conflict, mismatch, replace; the old version stays readable at its moment
    other = uniq("K")
    r = registry.client.post("/api/v1/courses", json=_course(other, tree.agency), headers=h)
    assert r.status_code == 201 and r.json()["status"] == "created", r.text
    first_moment = r.json()["recorded_at"]
    assert registry.client.post("/api/v1/courses", json=_course(other, tree.agency), headers=h).status_code == 409
    r = registry.client.put(f"/api/v1/courses/{other}", json=_course(uniq("K"), tree.agency), headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code"
    r = registry.client.put(f"/api/v1/courses/{other}", json=_course(other, tree.agency, hours=40), headers=h)
    assert r.status_code == 200 and r.json()["status"] == "updated"
    then = registry.client.get(f"/api/v1/courses/{other}", params={"known_at": first_moment}, headers=h).json()
    assert then["hours"] == 1200 and registry.client.get(f"/api/v1/courses/{other}", headers=h).json()["hours"] == 40
    before = _previous_moment(first_moment)
    assert registry.client.get(f"/api/v1/courses/{other}", params={"known_at": before}, headers=h).status_code == 404
    r = registry.client.post("/api/v1/enrolments", json=_enrolment(exts["enrolled"], other, "planned"), headers=h)
    assert r.status_code == 201 and r.json()["write"] == "created" and r.json()["status"] == "planned", r.text
    assert registry.client.post("/api/v1/enrolments", json=_enrolment(exts["enrolled"], other, "planned"),
                                headers=h).status_code == 409
    listed = registry.client.get("/api/v1/courses", params={"org_unit": tree.agency, "year": 2026, "kind": "political_theory"},
                                 headers=h).json()["items"]
    assert [c["code"] for c in listed] == [other]
    assert registry.client.get("/api/v1/courses", params={"org_unit": tree.agency, "year": 2019},
                               headers=h).json()["items"] == []


def test_the_plans_need_is_the_count_of_the_training_needs(registry: Registry) -> None:
    """The plan line for cao cấp shows, beside its actuals, as many persons as the needs list for that row."""
    tree, exts, code = _setup(registry)
    import_records(registry, "enrolments", [_enrolment(exts["leader"], code, "completed", completed_on="2026-06-30"),
                                            _enrolment(exts["enrolled"], code, "enrolled")])
    h = registry.headers()
    line = {"kind": "political_theory", "awards": {"political_theory": {"level": "cao_cap"}}, "seats": 5, "budget": 90000000}
    r = registry.client.put(f"/api/v1/training-plans/{tree.agency}/2026", json={"lines": [line]}, headers=h)
    assert r.status_code in (200, 201), r.text
    plan = registry.client.get(f"/api/v1/training-plans/{tree.agency}/2026", headers=h).json()
    needs = registry.client.get("/api/v1/training-needs", params={"org_unit": tree.agency, "as_of": plan["need_on"]},
                                headers=h).json()
    [group] = [g for g in needs["groups"] if g["need"]["qualification"] == "political_theory"]
    assert {m["external_id"] for m in group["members"]} == {exts["enrolled"], exts["withdrawn"]}  # the leader completed
    [got] = plan["lines"]
    assert (got["need"], got["enrolled"], got["completed"], got["spent"]) == (group["persons"], 2, 1, 2 * 18000000)


def test_a_person_who_moved_away_is_read_by_the_former_commune_and_enrolled_only_by_the_new_one(registry: Registry) -> None:
    tree = small_tree(registry)
    ext, course = uniq("MV"), uniq("PC")
    moved = moved_person(ext, tree)
    import_records(registry, "persons", [moved])
    import_records(registry, "courses", [_course(course, tree.province)])
    former, new = registry.token("hr_officer", [tree.commune_a]), registry.token("hr_officer", [tree.commune_b])
    url = f"/api/v1/enrolments/{ext}/{course}"
    r = registry.client.put(url, json=_enrolment(ext, course, "enrolled"), headers=registry.headers(former))
    assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
    assert "primary employment" in r.json()["errors"][0]["message"]
    r = registry.client.put(url, json=_enrolment(ext, course, "enrolled"), headers=registry.headers(new))
    assert r.status_code == 200 and r.json()["write"] == "created", r.text
    assert registry.client.get(url, headers=registry.headers(former)).json()["status"] == "enrolled"  # reads its former staff
    before = registry.export("enrolments")
    r = registry.client.patch(url, json={"status": "withdrawn"}, headers=registry.headers(former))
    assert r.status_code == 403 and registry.export("enrolments") == before


def test_a_small_need_is_withheld_from_a_role_that_sees_counts_only_in_the_plan_as_in_the_needs(registry: Registry) -> None:
    import io

    from openpyxl import load_workbook

    tree, exts, code = _setup(registry)
    line = {"kind": "political_theory", "awards": {"political_theory": {"level": "cao_cap"}}, "seats": 5, "budget": 1}
    assert registry.client.put(f"/api/v1/training-plans/{tree.agency}/2026", json={"lines": [line]},
                               headers=registry.headers()).status_code in (200, 201)
    integration = registry.headers(registry.token("integration", [tree.province]))
    plan = registry.client.get(f"/api/v1/training-plans/{tree.agency}/2026", headers=integration).json()
    needs = registry.client.get("/api/v1/training-needs", params={"org_unit": tree.agency, "as_of": plan["need_on"]},
                                headers=integration).json()
    assert [g["suppressed"] for g in needs["groups"]] == [True]  # three persons, under the threshold of 5
    [got] = plan["lines"]
    assert (got["need"], got["need_suppressed"]) == (None, True)
    admin = registry.client.get(f"/api/v1/training-plans/{tree.agency}/2026", headers=registry.headers()).json()
    assert admin["lines"][0]["need"] == 3 and "need_suppressed" not in admin["lines"][0]
    book = registry.client.get(f"/api/v1/training-plans/{tree.agency}/2026.xlsx", headers=integration)
    cells = [c for row in load_workbook(io.BytesIO(book.content)).active.iter_rows(values_only=True) for c in row]
    assert "•" in cells


def test_a_refused_award_change_does_not_count_the_persons_the_caller_cannot_read(registry: Registry) -> None:
    """A course of the caller's commune, completed by one of its persons and by persons of another commune: changing
    what it awards is refused, and the refusal reads the same whether one or two of those others completed it (it
    said "2 person(s)" before, a count of persons the caller may not read)."""
    tree = small_tree(registry)
    mine, theirs, more = uniq("A"), uniq("B"), uniq("B")
    import_records(registry, "persons", [person(mine, tree.school_a), person(theirs, tree.station_b),
                                         person(more, tree.station_b)])
    course = uniq("CA")
    import_records(registry, "courses", [_course(course, tree.commune_a)])
    import_records(registry, "enrolments", [_enrolment(p, course, "completed", completed_on="2026-06-30")
                                            for p in (mine, theirs)])
    h = registry.headers(registry.token("hr_officer", [tree.commune_a]))
    change = {"awards": {"political_theory": {"level": "trung_cap"}}}

    def refusal() -> dict[str, Any]:
        r = registry.client.patch(f"/api/v1/courses/{course}", json=change, headers=h)
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
        return dict(r.json())

    before = registry.export("courses"), registry.export("enrolments")
    one = refusal()
    import_records(registry, "enrolments", [_enrolment(more, course, "completed", completed_on="2026-06-30")])
    after_more = registry.export("courses"), registry.export("enrolments")
    two = refusal()
    assert one == two and not any(ch.isdigit() for ch in one["errors"][0]["message"]), one
    assert (registry.export("courses"), registry.export("enrolments")) == after_more != before  # nothing refused written
