"""Attacks on the training registry (#13): courses, enrolments, the awarded qualification, needs and plans.

Tests that pass document defended behaviour; an `xfail(strict=True)` test names a DEFECT and fails on it.
"""

import csv
import io
import json
from typing import Any

import pytest

from tests.api.factories import SmallTree, changes_after, cursor, import_records, moved_person, person, small_tree
from tests.api.factories import course as _course
from tests.api.factories import enrolment as _enrolment
from tests.conftest import Registry, uniq

SCIM_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"






def _get(registry: Registry, url: str, token: str | None = None, **params: Any) -> Any:
    return registry.client.get(url, headers=registry.headers(token) if token else registry.headers(), params=params)


def _record(registry: Registry, ext: str) -> dict[str, Any]:
    r = _get(registry, f"/api/v1/persons/{ext}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _awarded(registry: Registry, ext: str, name: str = "political_theory") -> list[dict[str, Any]]:
    return [i for i in _record(registry, ext)[name] if i.get("from_enrolment")]


def _cao_cap(registry: Registry, ext: str) -> list[dict[str, Any]]:
    return [i for i in _record(registry, ext)["political_theory"] if i["level"] == "cao_cap"]


def _world(registry: Registry) -> tuple[SmallTree, str, str, str]:
    """A tree, a person of commune A's school, one of commune B's station, and a province course."""
    tree = small_tree(registry)
    a, b, code = uniq("A"), uniq("B"), uniq("PC")
    assert import_records(registry, "persons", [person(a, tree.school_a), person(b, tree.station_b)])["created"] == 2
    assert import_records(registry, "courses", [_course(code, tree.province)])["created"] == 1
    return tree, a, b, code


def _complete(registry: Registry, ext: str, code: str, on: str = "2026-06-30", token: str | None = None) -> Any:
    return registry.client.put(f"/api/v1/enrolments/{ext}/{code}", json=_enrolment(ext, code, "completed", completed_on=on),
                               headers=registry.headers(token) if token else registry.headers())


# ───────────────────────── writes beyond scope ─────────────────────────

class TestWriteScope:
    def test_roles_and_units_that_may_not_write_courses_or_enrolments_are_refused_and_nothing_changes(
            self, registry: Registry) -> None:
        tree, a, b, code = _world(registry)
        before = (registry.export("courses"), registry.export("enrolments"))
        auditor = registry.token("auditor", [tree.province])
        officer_a = registry.token("hr_officer", [tree.commune_a])
        integ_b = registry.token("integration", [tree.commune_b])
        scoped_admin_b = registry.token("admin", [tree.commune_b])
        # the auditor writes nothing
        for method, url, body in (("post", "/api/v1/courses", _course(uniq("C"), tree.commune_a)),
                                  ("put", f"/api/v1/courses/{code}", _course(code, tree.province, hours=1)),
                                  ("patch", f"/api/v1/courses/{code}", {"hours": 1}),
                                  ("put", f"/api/v1/enrolments/{a}/{code}", _enrolment(a, code, "planned"))):
            r = getattr(registry.client, method)(url, json=body, headers=registry.headers(auditor))
            assert r.status_code == 403, (method, url, r.text)
        r = registry.client.post("/api/v1/imports/courses", content=json.dumps(_course(uniq("C"), tree.province)) + "\n",
                                 headers=registry.headers(auditor) | {"Content-Type": "application/x-ndjson"})
        assert r.status_code == 403, r.text
        # a commune's officer cannot change the province's course, nor move it to its own commune
        r = registry.client.patch(f"/api/v1/courses/{code}", json={"org_unit": tree.commune_a},
                                  headers=registry.headers(officer_a))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
        r = registry.client.patch(f"/api/v1/courses/{code}", json={"awards": None}, headers=registry.headers(officer_a))
        assert r.status_code == 403, r.text
        # another commune's integration and scoped admin: the person is unknown to them
        for token in (integ_b, scoped_admin_b):
            r = registry.client.put(f"/api/v1/enrolments/{a}/{code}", json=_enrolment(a, code, "planned"),
                                    headers=registry.headers(token))
            assert (r.status_code, r.json()["code"]) == (422, "unknown_person"), r.text
        assert (registry.export("courses"), registry.export("enrolments")) == before

    def test_a_writer_cannot_move_its_course_to_a_unit_outside_its_scope(self, registry: Registry) -> None:
        tree = small_tree(registry)
        officer_a = registry.token("hr_officer", [tree.commune_a])
        code = uniq("AC")
        assert registry.client.post("/api/v1/courses", json=_course(code, tree.commune_a),
                                    headers=registry.headers(officer_a)).status_code == 201
        for unit in (tree.commune_b, tree.province, "NO-SUCH-UNIT"):
            r = registry.client.patch(f"/api/v1/courses/{code}", json={"org_unit": unit}, headers=registry.headers(officer_a))
            assert r.status_code in (403, 422), (unit, r.text)
        assert _get(registry, f"/api/v1/courses/{code}").json()["org_unit"] == tree.commune_a

    def test_changing_a_courses_award_does_not_change_qualifications_of_persons_the_writer_cannot_write(
            self, registry: Registry) -> None:
        tree, _a, b, _code = _world(registry)
        agency_course = uniq("AG")
        assert import_records(registry, "courses", [_course(agency_course, tree.agency)])["created"] == 1
        assert _complete(registry, b, agency_course).status_code == 200  # the administrator sends commune B's nurse
        agency_officer = registry.token("hr_officer", [tree.agency])
        assert _get(registry, f"/api/v1/persons/{b}", agency_officer).status_code == 404  # cannot even read her
        r = registry.client.patch(f"/api/v1/courses/{agency_course}",
                                  json={"awards": {"degrees": {"level": "doctor", "field": "Y học"}}},
                                  headers=registry.headers(agency_officer))
        # either refused, or her record untouched: the agency's officer cannot give her a doctorate
        degrees = [i for i in _record(registry, b)["degrees"] if i.get("from_enrolment")]
        assert r.status_code == 403 or degrees == [], (r.status_code, degrees)

    def test_a_person_who_moved_is_enrolled_by_the_new_unit_only_and_the_old_one_cannot_complete_it(
            self, registry: Registry) -> None:
        tree = small_tree(registry)
        ext, code = uniq("MV"), uniq("PC")
        moved = moved_person(ext, tree)
        import_records(registry, "persons", [moved])
        import_records(registry, "courses", [_course(code, tree.province)])
        assert import_records(registry, "enrolments", [_enrolment(ext, code, "enrolled")])["created"] == 1
        former = registry.token("integration", [tree.commune_a])
        r = _complete(registry, ext, code, token=former)
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
        report = import_records(registry, "enrolments", [_enrolment(ext, code, "completed", completed_on="2026-06-30")],
                                token=former)
        assert report["created"] + report["updated"] == 0 and report["errors"], report
        assert _cao_cap(registry, ext) == []

    def test_a_commune_reparented_by_a_reorganisation_leaves_the_old_provinces_write_scope(self, registry: Registry) -> None:
        tree = small_tree(registry)
        other = small_tree(registry)
        ext, code = uniq("RP"), uniq("AC")
        import_records(registry, "persons", [person(ext, tree.school_a)])
        import_records(registry, "courses", [_course(code, tree.commune_a)])
        old_province = registry.token("hr_officer", [tree.province])
        assert _complete(registry, ext, code, token=old_province).status_code == 200
        # commune A moves under the other province from 2025-01-01
        unit = _get(registry, f"/api/v1/org-units/{tree.commune_a}").json()
        unit["parents"] = [{"code": tree.province, "start": "2004-01-01", "end": "2024-12-31"},
                           {"code": other.province, "start": "2025-01-01", "end": None}]
        unit = {k: unit[k] for k in ("code", "name", "kind", "tier", "sector", "ethnic_contact", "valid_from", "valid_to",
                                     "parents", "successors", "local_languages")}
        report = import_records(registry, "org-units", [unit])
        assert report["errors"] == [] and report["updated"] == 1, report
        r = registry.client.patch(f"/api/v1/enrolments/{ext}/{code}", json={"status": "withdrawn"},
                                  headers=registry.headers(old_province))
        assert r.status_code in (403, 404, 422), r.text
        r = registry.client.patch(f"/api/v1/courses/{code}", json={"awards": None}, headers=registry.headers(old_province))
        assert r.status_code in (403, 404), r.text
        assert len(_awarded(registry, ext)) == 1
        new_province = registry.token("hr_officer", [other.province])
        r = registry.client.patch(f"/api/v1/enrolments/{ext}/{code}", json={"status": "withdrawn"},
                                  headers=registry.headers(new_province))
        assert r.status_code == 200, r.text
        assert _awarded(registry, ext) == []


# ───────────────────────── reading what one should not ─────────────────────────

class TestReads:
    def test_a_commune_reads_neither_a_sibling_communes_course_nor_its_enrolments_anywhere(self, registry: Registry) -> None:
        tree, a, b, code = _world(registry)
        b_course = uniq("BC")
        import_records(registry, "courses", [_course(b_course, tree.commune_b)])
        import_records(registry, "enrolments", [_enrolment(b, b_course, "enrolled"), _enrolment(b, code, "enrolled")])
        for role in ("hr_officer", "auditor", "integration", "admin"):
            token = registry.token(role, [tree.commune_a])
            assert _get(registry, f"/api/v1/courses/{b_course}", token).status_code == 404, role
            assert _get(registry, f"/api/v1/courses/{b_course}", token, known_at="2100-01-01T00:00:00Z").status_code in (404, 422)
            assert b_course not in registry.export("courses", token), role
            assert b not in registry.export("enrolments", token), role
            assert _get(registry, f"/api/v1/enrolments/{b}/{code}", token).status_code == 404, role
            listed = _get(registry, "/api/v1/enrolments", token, course=code).json()["items"]
            assert [e["person"] for e in listed] == [], role
            assert _get(registry, "/api/v1/enrolments", token, org_unit=tree.commune_b).json()["items"] == [], role
            assert _get(registry, "/api/v1/courses", token, org_unit=tree.commune_b).json()["items"] == [], role

    def test_integration_gets_counts_without_names_in_needs_and_plans(self, registry: Registry) -> None:
        tree, a, b, code = _world(registry)
        integ = registry.token("integration", [tree.province])
        r = _get(registry, "/api/v1/training-needs", integ, org_unit=tree.province, as_of="2026-12-05")
        assert r.status_code == 200, r.text
        assert r.json()["persons_named"] is False
        assert a not in r.text and b not in r.text and "Nguyễn" not in r.text
        r = _get(registry, "/api/v1/training-needs.xlsx", integ, org_unit=tree.province, as_of="2026-12-05")
        assert r.status_code == 200 and a.encode() not in r.content
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(r.content))
        text = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
        assert a not in text and b not in text and "Nguyễn Thị Đào" not in text

    def test_what_differencing_suppressed_needs_gives_the_counts_only_role_already_reads_in_its_export(
            self, registry: Registry) -> None:
        """Needs carry primary suppression only: a hidden commune's count is the province's minus its siblings'. It
        discloses nothing the role cannot read: the one counts-only role, integration, exports the persons of its
        units whole (positions, qualifications: none of it a sensitive attribute), and the needs name no sensitive
        attribute (an indicator of a sensitive population is refused to roles that may not see it). This pins that:
        every count recovered by subtraction is the count its own export gives."""
        tree = small_tree(registry)
        standard = {"employments": [{"org_unit": tree.agency, "category": "cong_chuc", "occupation": "specialist",
                                     "primary": True, "start": "2010-01-01", "end": None}],
                    "political_theory": [{"level": "trung_cap", "awarded_on": "2015-07-01"}],
                    "state_management": [{"level": "chuyen_vien_chinh", "awarded_on": "2016-01-01"}]}

        def head(ext: str, unit: str) -> dict[str, Any]:
            rec = person(ext, unit, **standard)
            rec["employments"] = [dict(rec["employments"][0], org_unit=unit)]
            rec["positions"] = [{"org_unit": unit, "title": "Trưởng phòng", "rank": "department_head", "key_leader": True,
                                 "start": "2020-01-01", "end": None}]
            return rec

        many = [head(uniq("AG"), tree.agency) for _ in range(6)]
        few = [head(uniq("ST"), tree.station_b) for _ in range(2)]
        assert import_records(registry, "persons", many + few)["errors"] == []
        integ = registry.token("integration", [tree.province])

        def counts(unit: str) -> dict[str, int | None]:
            r = _get(registry, "/api/v1/training-needs", integ, org_unit=unit, as_of="2026-12-05")
            assert r.status_code == 200, r.text
            return {f"{g['need']['qualification']}:{g['need']['level']}": g["persons"] for g in r.json()["groups"]}

        whole, agency, commune_b = counts(tree.province), counts(tree.agency), counts(tree.commune_b)
        recovered = {k: whole[k] - (agency.get(k) or 0) for k in whole
                     if whole[k] is not None and agency.get(k) is not None and commune_b.get(k) is None}
        assert recovered == {"political_theory:cao_cap": 2}, (recovered, whole, agency, commune_b)
        exported = [json.loads(x) for x in registry.export("persons", integ).splitlines()]
        in_b = [p for p in exported if p["external_id"] in {f["external_id"] for f in few}]
        lacking = [p for p in in_b if any(pos["rank"] == "department_head" for pos in p["positions"])
                   and all(t["level"] != "cao_cap" for t in p["political_theory"])]
        assert len(in_b) == 2 and len(lacking) == recovered["political_theory:cao_cap"]
        assert all("national_id" in p for p in in_b), "integration reads these persons whole"


    def test_needs_of_a_protected_indicator_refuse_the_auditor_and_name_nobody_to_integration(
            self, registry: Registry) -> None:
        tree = small_tree(registry)
        minority = [person(uniq("KM"), tree.station_b, ethnicity="05", languages=[]) for _ in range(7)]
        assert import_records(registry, "persons", minority)["errors"] == []
        code = "ST-2025-ETHNIC-STAFF-LANGUAGE"
        auditor = registry.token("auditor", [tree.province])
        r = _get(registry, "/api/v1/training-needs", auditor, org_unit=tree.commune_b, as_of="2026-12-05", indicator=code)
        assert (r.status_code, r.json()["code"]) == (403, "sensitive_population"), r.text
        r = _get(registry, "/api/v1/training-needs.xlsx", auditor, org_unit=tree.commune_b, as_of="2026-12-05", indicator=code)
        assert r.status_code == 403, r.text
        integ = registry.token("integration", [tree.province])  # sees the figure on /value too (sees_sensitive)
        r = _get(registry, "/api/v1/training-needs", integ, org_unit=tree.commune_b, as_of="2026-12-05", indicator=code)
        assert r.status_code == 200 and not any(p["external_id"] in r.text for p in minority), r.text


# ───────────────────────── the awarded qualification ─────────────────────────

class TestAwardConsistency:
    def test_a_forged_from_enrolment_item_in_a_person_write_is_neither_kept_nor_removes_a_real_one(
            self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        forged = person(a, tree.school_a, political_theory=[
            {"level": "so_cap", "awarded_on": "2013-11-20"},
            {"level": "cao_cap", "awarded_on": "2020-01-01", "from_enrolment": code}])
        r = registry.client.put(f"/api/v1/persons/{a}", json=forged, headers=registry.headers())
        assert r.status_code in (200, 422), r.text
        assert _cao_cap(registry, a) == []
        report = import_records(registry, "persons", [forged])
        assert report["created"] + report["updated"] <= 1
        assert _cao_cap(registry, a) == []
        r = registry.client.patch(f"/api/v1/persons/{a}", json={"political_theory": forged["political_theory"]},
                                  headers=registry.headers())
        assert _cao_cap(registry, a) == []
        # a real award survives a person write that leaves it out
        assert _complete(registry, a, code).status_code == 200
        r = registry.client.patch(f"/api/v1/persons/{a}", json={"political_theory": []}, headers=registry.headers())
        assert r.status_code == 200, r.text
        assert _awarded(registry, a) == [{"level": "cao_cap", "awarded_on": "2026-06-30", "from_enrolment": code}]

    def test_closing_a_person_keeps_the_award_and_withdrawing_retires_it(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        assert _complete(registry, a, code).status_code == 200
        r = registry.client.post(f"/api/v1/persons/{a}/close", json={"on": "2026-11-30"}, headers=registry.headers())
        assert r.status_code == 200, r.text
        assert len(_awarded(registry, a)) == 1
        r = registry.client.patch(f"/api/v1/enrolments/{a}/{code}", json={"status": "withdrawn", "completed_on": None},
                                  headers=registry.headers())
        assert r.status_code == 200, r.text
        assert _cao_cap(registry, a) == []

    def test_a_scim_patch_does_not_turn_the_awarded_item_into_the_persons_own(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        assert _complete(registry, a, code).status_code == 200
        r = registry.client.patch(f"/scim/v2/Users/{a}", headers=registry.headers(), json={
            "schemas": [SCIM_PATCH], "Operations": [{"op": "replace", "path": "name.familyName", "value": "Phạm"}]})
        assert r.status_code == 200, r.text
        assert len(_cao_cap(registry, a)) == 1, _record(registry, a)["political_theory"]
        r = registry.client.patch(f"/api/v1/enrolments/{a}/{code}", json={"status": "withdrawn", "completed_on": None},
                                  headers=registry.headers())
        assert r.status_code == 200, r.text
        assert _cao_cap(registry, a) == [], _record(registry, a)["political_theory"]

    def test_a_scim_put_of_the_user_as_read_does_not_duplicate_the_award(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        assert _complete(registry, a, code).status_code == 200
        user = _get(registry, f"/scim/v2/Users/{a}").json()
        user = {k: v for k, v in user.items() if k not in ("meta", "id")}
        r = registry.client.put(f"/scim/v2/Users/{a}", json=user, headers=registry.headers())
        assert r.status_code == 200, r.text
        assert len(_cao_cap(registry, a)) == 1, _record(registry, a)["political_theory"]

    def test_no_completion_after_death(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        dead = person(a, tree.school_a, separations=[{"on": "2026-03-01", "reason": "death"}])
        r = registry.client.put(f"/api/v1/persons/{a}", json=dead, headers=registry.headers())
        assert r.status_code == 200, r.text
        r = _complete(registry, a, code, on="2026-06-30")
        assert r.status_code == 422, r.text
        assert _cao_cap(registry, a) == []

    def test_recording_a_death_before_a_completion_does_not_leave_an_award_after_it(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        assert _complete(registry, a, code, on="2026-06-30").status_code == 200
        dead = person(a, tree.school_a, separations=[{"on": "2026-03-01", "reason": "death"}])
        r = registry.client.put(f"/api/v1/persons/{a}", json=dead, headers=registry.headers())
        assert r.status_code == 422 or _awarded(registry, a) == [], (r.status_code, _awarded(registry, a))

    def test_course_patch_to_no_award_and_back_follows_every_completed_enrolment(self, registry: Registry) -> None:
        tree, a, b, code = _world(registry)
        assert _complete(registry, a, code).status_code == 200
        assert _complete(registry, b, code, on="2026-06-29").status_code == 200
        r = registry.client.patch(f"/api/v1/courses/{code}", json={"awards": None}, headers=registry.headers())
        assert r.status_code == 200, r.text
        assert _awarded(registry, a) == [] and _awarded(registry, b) == []
        r = registry.client.patch(f"/api/v1/courses/{code}", json={"org_unit": tree.commune_a}, headers=registry.headers())
        assert r.status_code == 200, r.text
        r = registry.client.patch(f"/api/v1/courses/{code}", json={"awards": {"political_theory": {"level": "cao_cap"}}},
                                  headers=registry.headers())
        assert r.status_code == 200, r.text
        assert [i["awarded_on"] for i in _awarded(registry, a)] == ["2026-06-30"]
        assert [i["awarded_on"] for i in _awarded(registry, b)] == ["2026-06-29"]


# ───────────────────────── history and the change feed ─────────────────────────

class TestHistoryAndFeed:
    def test_known_at_before_and_after_an_enrolment_change(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        r = registry.client.put(f"/api/v1/enrolments/{a}/{code}", json=_enrolment(a, code, "enrolled"),
                                headers=registry.headers())
        first = r.json()["recorded_at"]
        r = _complete(registry, a, code)
        second = r.json()["recorded_at"]
        url = f"/api/v1/enrolments/{a}/{code}"
        assert _get(registry, url, known_at=first).json()["status"] == "enrolled"
        assert _get(registry, url, known_at=second).json()["status"] == "completed"
        assert _get(registry, url, known_at="2000-01-01T00:00:00Z").status_code == 404
        then = _get(registry, f"/api/v1/persons/{a}", known_at=first).json()
        assert all(i["level"] != "cao_cap" for i in then["political_theory"])

    def test_replaying_the_admins_feed_into_an_empty_registry_gives_the_same_training_exports(
            self, registry: Registry, fresh_registry: Any) -> None:
        start = cursor(registry)
        tree, a, b, code = _world(registry)
        _complete(registry, a, code)
        registry.client.patch(f"/api/v1/courses/{code}", json={"awards": {"state_management": {"level": "chuyen_vien"}}},
                              headers=registry.headers())
        registry.client.put(f"/api/v1/enrolments/{b}/{code}", json=_enrolment(b, code, "enrolled"), headers=registry.headers())
        feed = changes_after(registry, start)
        admin = registry.token("admin", [tree.province])
        expected = {k: registry.export(k, admin) for k in ("persons", "courses", "enrolments")}
        other = fresh_registry()
        kinds = {"org_unit": "org-units", "person": "persons", "course": "courses", "enrolment": "enrolments"}
        for change in feed:
            report = other.import_lines(kinds[change["entity"]], json.dumps(change["record"]) + "\n")
            assert report["errors"] == [], (change["entity"], report["errors"])
        assert {k: other.export(k) for k in expected} == expected

    def test_a_scoped_integrations_feed_carries_the_courses_its_export_holds(self, registry: Registry) -> None:
        start = cursor(registry)
        tree, a, _b, code = _world(registry)
        integ = registry.token("integration", [tree.commune_a])
        import_records(registry, "enrolments", [_enrolment(a, code, "enrolled")], token=integ)
        exported = {json.loads(x)["code"] for x in registry.export("courses", integ).splitlines()}
        assert code in exported
        fed = {c["key"] for c in changes_after(registry, start, integ) if c["entity"] == "course"}
        assert fed == exported


# ───────────────────────── hostile input ─────────────────────────

class TestHostileInput:
    def test_wrong_types_huge_and_nested_values_are_422_never_500(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        h = registry.headers()
        bad_courses = [
            _course(uniq("X"), tree.province, hours="12"), _course(uniq("X"), tree.province, hours=10**12),
            _course(uniq("X"), tree.province, cost_per_person=1.5), _course(uniq("X"), tree.province, cost_per_person=-1),
            _course(uniq("X"), tree.province, awards={"political_theory": {"level": {"a": [[[[[]]]]]}}}),
            _course(uniq("X"), tree.province, awards={"political_theory": "cao_cap"}),
            _course(uniq("X"), tree.province, awards={"political_theory": {"level": "cao_cap", "x": "y"}}),
            _course(uniq("X"), tree.province, awards={"degrees": {"level": "master", "field": "x" * 100000}}),
            _course(uniq("X"), tree.province, awards={"languages": {"language": "en", "kind": "foreign",
                                                                    "certificate": "IELTS", "score": "99"}}),
            _course(uniq("X"), tree.province, awards=[1, 2]), _course(uniq("X"), tree.province, name="x" * 301),
            _course(uniq("X"), tree.province, name="Lớp\u0000"), _course(uniq("X"), tree.province, provider="a\u202e\u0085"),
            _course("a" * 65, tree.province), _course("X\u00a0Y", tree.province), _course(uniq("X"), tree.province, country="vn"),
            _course(uniq("X"), tree.province, start="2026-02-30"), _course(uniq("X"), tree.province, org_unit=["x"]),
        ]
        for body in bad_courses:
            r = registry.client.post("/api/v1/courses", json=body, headers=h)
            assert r.status_code == 422, (body, r.status_code, r.text[:300])
        for patch in ({"awards": {"political_theory": {"level": "tien_si"}}}, {"awards": {}}, {"hours": -1},
                      {"start": "2027-01-01"}, {"name": None}, {"code": "OTHER"}, {"org_unit": "x" * 1000}):
            r = registry.client.patch(f"/api/v1/courses/{code}", json=patch, headers=h)
            assert r.status_code in (403, 404, 422), (patch, r.status_code, r.text[:300])
        url = f"/api/v1/enrolments/{a}/{code}"
        for patch in ({"status": "completed"}, {"status": "completed", "completed_on": "1900-01-01"},
                      {"completed_on": "2025-01-01", "status": "completed"}, {"cost": 10**16}, {"cost": True},
                      {"decision": "x" * 101}, {"status": "ĐÃ"}, {"person": "someone"}, {"commitment_until": 20261231}):
            r = registry.client.put(url, json=_enrolment(a, code, "enrolled"), headers=h)
            r = registry.client.patch(url, json=patch, headers=h)
            assert r.status_code == 422, (patch, r.status_code, r.text[:300])
        for params in ({"org_unit": "NO-SUCH"}, {"after": "|||"}, {"after": "\u0000"}, {"year": "abc"}, {"status": "x" * 5000},
                       {"known_at": "not-a-time"}, {"limit": 0}, {"person": "'; drop table person; --"}):
            for path in ("/api/v1/enrolments", "/api/v1/courses"):
                r = registry.client.get(path, params=params, headers=h)
                assert r.status_code < 500, (path, params, r.status_code, r.text[:300])
        for path in (f"/api/v1/enrolments/{a}/{'x' * 5000}", f"/api/v1/courses/{'%00'}", "/api/v1/enrolments/%C0%AF/x"):
            assert registry.client.get(path, headers=h).status_code < 500, path

    def test_malformed_lines_in_jsonl_imports_are_refused_one_by_one(self, registry: Registry) -> None:
        tree, a, _b, code = _world(registry)
        good = uniq("OK")
        body = "\n".join([
            json.dumps(_course(good, tree.province)),
            "[]", "null", "1", '"x"', json.dumps({"code": uniq("X")}), '{"code": "A", "code": "B"}',
            json.dumps(_course(uniq("X"), tree.province)) + " trailing", "\u2028",
            json.dumps(_course(uniq("X"), tree.province, awards={"political_theory": {"level": "cao_cap"},
                                                                 "degrees": {"level": "master"}})),
        ]) + "\n"
        r = registry.client.post("/api/v1/imports/courses", content=body.encode(),
                                 headers=registry.headers() | {"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["created"] == 1 and len({e["line"] for e in report["errors"]}) >= 8, report
        assert _get(registry, f"/api/v1/courses/{good}").status_code == 200

    def test_formula_cells_in_course_and_enrolment_spreadsheets_are_quoted_and_round_trip(
            self, registry: Registry) -> None:
        tree, a, _b, _code = _world(registry)
        code = uniq("FX")
        formulas = {"name": "=HYPERLINK(\"http://evil\",\"x\")", "provider": "+cmd|' /C calc'!A0"}
        assert import_records(registry, "courses", [_course(code, tree.province, **formulas)])["created"] == 1
        import_records(registry, "enrolments", [_enrolment(a, code, "enrolled", decision="@SUM(1+1)")])
        admin = registry.token("admin", [tree.province])
        for kind, _field, value in (("courses", "name", formulas["name"]), ("enrolments", "decision", "@SUM(1+1)")):
            r = _get(registry, f"/api/v1/exports/{kind}", admin, format="csv")
            rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
            cells = [c for row in rows[1:] for c in row]
            assert value not in cells, (kind, "formula left live in CSV")
            r = _get(registry, f"/api/v1/exports/{kind}", admin, format="xlsx")
            from openpyxl import load_workbook

            ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", (kind, c.coordinate, c.value)
        # each spreadsheet imported back restores the original texts
        expected = {k: registry.export(k, admin) for k in ("courses", "enrolments")}
        for fmt, ctype in (("csv", "text/csv"), ("xlsx", XLSX)):
            for kind in ("courses", "enrolments"):
                body = _get(registry, f"/api/v1/exports/{kind}", admin, format=fmt).content
                r = registry.client.post(f"/api/v1/imports/{kind}", content=body,
                                         headers=registry.headers() | {"Content-Type": ctype})
                assert r.status_code == 200 and r.json()["errors"] == [], (fmt, kind, r.text[:400])
                assert r.json()["created"] + r.json()["updated"] == 0, (fmt, kind, r.json())
        assert {k: registry.export(k, admin) for k in expected} == expected

    def test_formula_and_control_cells_in_imported_spreadsheets_are_refused_or_kept_as_text(
            self, registry: Registry) -> None:
        tree, a, _b, _code = _world(registry)
        from openpyxl import Workbook

        admin = registry.token("admin", [tree.province])
        header = next(csv.reader(io.StringIO(_get(registry, "/api/v1/exports/courses", admin, format="csv")
                                             .content.decode("utf-8-sig"))))
        code = uniq("WB")
        values = {"code": code, "name": "=1+1", "kind": "political_theory", "org_unit": tree.province,
                  "provider": "\u200bHọc viện\ufeff"}
        wb = Workbook()
        ws = wb.active
        ws.append(header)
        row = [values.get(h, "") for h in header]
        ws.append(row)
        ws.cell(row=2, column=header.index("name") + 1).value = "=1+1"  # a real formula cell
        buf = io.BytesIO()
        wb.save(buf)
        r = registry.client.post("/api/v1/imports/courses", content=buf.getvalue(),
                                 headers=registry.headers() | {"Content-Type": XLSX})
        assert r.status_code in (200, 400, 422), r.text
        got = _get(registry, f"/api/v1/courses/{code}")
        if got.status_code == 200:
            assert got.json()["name"] in ("=1+1",), got.text


    def test_malformed_csv_cells_are_refused_with_their_cell(self, registry: Registry) -> None:
        tree, _a, _b, _code = _world(registry)
        header = next(csv.reader(io.StringIO(_get(registry, "/api/v1/exports/courses", format="csv")
                                             .content.decode("utf-8-sig"))))

        def row(**cells: str) -> list[str]:
            base = {"code": uniq("CSV"), "name": "Lớp", "kind": "political_theory", "org_unit": tree.province} | cells
            return [base.get(c, "") for c in header]

        rows = [row(hours="abc"), row(cost_per_person="1,5"), row(start="31/02/2026"), row(award_list="diplomas"),
                row(code="=cmd"), row(hours="1e3"), row(award_list="political_theory", award_level="cao_cap", award_field="x")]
        buf = io.StringIO()
        csv.writer(buf).writerows([header, *rows])
        r = registry.client.post("/api/v1/imports/courses", content=buf.getvalue().encode(),
                                 headers=registry.headers() | {"Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["created"] == 0 and sorted(e["line"] for e in report["errors"]) == list(range(2, 9)), report
        assert all(e.get("cell") for e in report["errors"]), report

    def test_award_cells_without_award_list_are_an_error_not_dropped(self, registry: Registry) -> None:
        tree, _a, _b, _code = _world(registry)
        header = next(csv.reader(io.StringIO(_get(registry, "/api/v1/exports/courses", format="csv")
                                             .content.decode("utf-8-sig"))))
        code = uniq("CSV")
        cells = {"code": code, "name": "Lớp", "kind": "political_theory", "org_unit": tree.province, "award_level": "cao_cap"}
        buf = io.StringIO()
        csv.writer(buf).writerows([header, [cells.get(c, "") for c in header]])
        r = registry.client.post("/api/v1/imports/courses", content=buf.getvalue().encode(),
                                 headers=registry.headers() | {"Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        got = _get(registry, f"/api/v1/courses/{code}")
        assert r.json()["errors"] != [] or got.json()["awards"] is not None, (r.json(), got.json())


    def test_formula_texts_in_the_needs_and_plan_workbooks_are_never_live(self, registry: Registry) -> None:
        from openpyxl import load_workbook

        tree = small_tree(registry)
        ext = uniq("FX")
        head = person(ext, tree.agency, full_name="=HYPERLINK(\"http://evil\",\"Nguyễn\")",
                      employments=[{"org_unit": tree.agency, "category": "cong_chuc", "occupation": "specialist",
                                    "primary": True, "start": "2010-01-01", "end": None}],
                      positions=[{"org_unit": tree.agency, "title": "=1+1", "rank": "department_head", "key_leader": True,
                                  "start": "2020-01-01", "end": None}])
        assert import_records(registry, "persons", [head])["errors"] == []
        line = {"kind": "political_theory", "awards": {"political_theory": {"level": "cao_cap"}}, "seats": 1, "budget": 1}
        r = registry.client.put(f"/api/v1/training-plans/{tree.agency}/2026", json={"lines": [line]}, headers=registry.headers())
        assert r.status_code in (200, 201), r.text
        for url, params in (("/api/v1/training-needs.xlsx", {"org_unit": tree.agency, "as_of": "2026-12-05"}),
                            (f"/api/v1/training-plans/{tree.agency}/2026.xlsx", {})):
            r = _get(registry, url, **params)
            assert r.status_code == 200, r.text
            book = load_workbook(io.BytesIO(r.content))
            cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
            assert not [c.coordinate for c in cells if c.data_type == "f"], url
            if "needs" in url:
                assert any("HYPERLINK" in str(c.value) for c in cells), "the name is listed (as text)"


# ───────────────────────── round trips ─────────────────────────

class TestRoundTrips:
    def test_courses_enrolments_and_awarded_persons_round_trip_in_every_format(
            self, registry: Registry, fresh_registry: Any) -> None:
        source = fresh_registry()
        tree = small_tree(source)
        a, b, code, lang = uniq("A"), uniq("B"), uniq("PC"), uniq("EN")
        import_records(source, "persons", [person(a, tree.school_a, full_name="Lý Thị Ánh\u0301"),
                                           person(b, tree.station_b)])
        import_records(source, "courses", [
            _course(code, tree.province, name="'=quoted", provider=None, hours=None, cost_per_person=None),
            _course(lang, tree.commune_a, kind="foreign_language", awards={"languages": {
                "language": "en", "kind": "foreign", "certificate": "IELTS", "score": "6.0"}})])
        import_records(source, "enrolments", [
            _enrolment(a, code, "completed", completed_on="2026-06-30", decision="=1+1"),
            _enrolment(a, lang, "completed", completed_on="2026-02-01", cost=None),
            _enrolment(b, code, "failed", decision="ñ\u200b")])
        kinds = ("org-units", "persons", "courses", "enrolments")
        expected = {k: source.export(k) for k in kinds}
        assert '"from_enrolment"' in expected["persons"]
        bodies = {(fmt, kind): _get(source, f"/api/v1/exports/{kind}", format=fmt).content  # before fresh_registry rebinds
                  for fmt in ("csv", "xlsx") for kind in kinds[1:]}
        for fmt, ctype in (("jsonl", "application/x-ndjson"), ("csv", "text/csv"), ("xlsx", XLSX)):
            target = fresh_registry()
            assert target.import_lines("org-units", expected["org-units"])["errors"] == []
            for kind in kinds[1:]:
                body = expected[kind].encode() if fmt == "jsonl" else bodies[(fmt, kind)]
                r = target.client.post(f"/api/v1/imports/{kind}", content=body,
                                       headers=target.headers() | {"Content-Type": ctype})
                assert r.status_code == 200 and r.json()["errors"] == [], (fmt, kind, r.text[:400])
            assert {k: target.export(k) for k in kinds} == expected, fmt
            for kind in kinds[1:]:
                again = target.import_lines(kind, expected[kind])
                assert again["created"] + again["updated"] == 0, (fmt, kind, again)


# ───────────────────────── locks ─────────────────────────

def test_a_slow_enrolment_import_does_not_hold_up_reads_of_courses_enrolments_or_persons(
        registry: Registry, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    import threading
    import time

    from app.services import enrolment_batch

    if registry.backend == "sqlite":
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            "DEFECT (SQLite, project-wide): every request, even an export (DEFERRED snapshot), waits for a running import "
            "to commit: the request's first transaction is BEGIN IMMEDIATE (app/db.py:72); PostgreSQL reads do not wait")))

    tree, a, _b, code = _world(registry)
    real, started = enrolment_batch._apply, threading.Event()  # the batch's writes, under the write lock

    def slow(*args: Any, **kwargs: Any) -> None:
        started.set()
        time.sleep(3)
        real(*args, **kwargs)

    monkeypatch.setattr(enrolment_batch, "_apply", slow)
    reports: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: reports.append(import_records(
        registry, "enrolments", [_enrolment(a, code, "completed", completed_on="2026-06-30")])))
    worker.start()
    try:
        assert started.wait(20)
        answers = {}
        for url, params in (("/api/v1/exports/courses", {}), ("/api/v1/enrolments", {"course": code}),
                            (f"/api/v1/courses/{code}", {}), (f"/api/v1/persons/{a}", {})):
            t0 = time.monotonic()
            status = _get(registry, url, **params).status_code
            answers[url] = (status, round(time.monotonic() - t0, 1))
    finally:
        worker.join(60)
    assert all(status == 200 and took < 1.5 for status, took in answers.values()), answers
    assert reports and reports[0]["created"] == 1, reports
