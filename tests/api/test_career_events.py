"""Career events (spec revision 2, point 14): separations, disciplines and the end of party membership.

A separation ends every employment, position and seat in force on its date, that day; disciplines and
`party_member_until` are dated facts of the record. All three travel through the API, the imports and
exports in JSON Lines, CSV and XLSX (byte-identical round trip), the change feed and SCIM's person extension,
under the write-scope rules of the person's own attributes, and `party_member_until` is sensitive
like `party_member_since`.
"""

import io
import json
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api.factories import (
    Record,
    SmallTree,
    assert_round_trips,
    changes_after,
    create_person,
    cursor,
    export_records,
    get_person,
    import_records,
    person,
    person_exports,
)
from tests.conftest import Registry, uniq


def veteran(tree: SmallTree, **overrides: Any) -> Record:
    """A person of commune A with a school job, a head's post at the school and a seat on the province's committee."""
    return person(f"{tree.province}-{uniq('CE')}", tree.school_a, **{
        "positions": [{"org_unit": tree.school_a, "title": "Hiệu trưởng", "rank": "office_head", "key_leader": False,
                       "start": "2015-09-01", "end": None}],
        "memberships": [{"body": tree.body, "role": "member", "start": "2020-10-01", "end": None}],
    } | overrides)


def put(registry: Registry, record: Record, token: str | None = None) -> Any:
    headers = registry.headers(token) if token else registry.headers()
    return registry.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=headers)


def fields(report_or_body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in report_or_body["errors"]}


class TestSeparationEndsEveryAssignment:
    def test_retirement_ends_the_job_the_post_and_the_seat_that_day(self, registry: Registry, tree: SmallTree) -> None:
        record = veteran(tree, separations=[{"on": "2025-03-31", "reason": "retirement"}])
        stored = create_person(registry, record)
        assert [e["end"] for e in stored["employments"]] == ["2025-03-31"]
        assert [p["end"] for p in stored["positions"]] == ["2025-03-31"]
        assert [m["end"] for m in stored["memberships"]] == ["2025-03-31"]
        assert stored["separations"] == [{"on": "2025-03-31", "reason": "retirement"}]

    def test_the_same_record_again_changes_nothing(self, registry: Registry, tree: SmallTree) -> None:
        record = veteran(tree, separations=[{"on": "2025-03-31", "reason": "retirement"}])
        assert import_records(registry, "persons", [record])["created"] == 1
        again = import_records(registry, "persons", [record])
        assert (again["unchanged"], again["updated"], again["errors"]) == (1, 0, [])

    def test_what_ended_earlier_or_starts_later_is_left_as_it_is(self, registry: Registry, tree: SmallTree) -> None:
        old_job = {"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "nurse", "primary": False,
                   "start": "2005-01-01", "end": "2009-12-31"}
        rehired = {"org_unit": tree.school_a, "category": "hop_dong", "occupation": "teacher_primary", "primary": True,
                   "start": "2025-09-01", "end": None}
        record = veteran(tree, separations=[{"on": "2025-03-31", "reason": "retirement"}])
        record["employments"] += [old_job, rehired]
        stored = create_person(registry, record)  # the rehire is no overlap: the first primary job ended at the retirement
        ends = {(e["start"], e["end"]) for e in stored["employments"]}
        assert ends == {("2005-01-01", "2009-12-31"), ("2008-09-01", "2025-03-31"), ("2025-09-01", None)}

    def test_a_patch_of_only_a_separation_ends_the_stored_assignments(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, veteran(tree))
        r = registry.client.patch(f"/api/v1/persons/{record['external_id']}", headers=registry.headers(),
                                  json={"separations": [{"on": "2026-01-15", "reason": "transfer_out"}]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert {i["end"] for n in ("employments", "positions", "memberships") for i in body[n]} == {"2026-01-15"}
        assert body["degrees"] == record["degrees"]

    def test_the_retired_leave_the_lists_of_their_unit_from_the_next_day(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, veteran(tree, separations=[{"on": "2025-03-31", "reason": "retirement"}]))

        def listed(as_of: str) -> bool:
            r = registry.client.get("/api/v1/persons", headers=registry.headers(),
                                    params={"org_unit": tree.school_a, "as_of": as_of, "limit": 500})
            assert r.status_code == 200, r.text
            return record["external_id"] in {p["external_id"] for p in r.json()["items"]}

        assert listed("2025-03-31") and not listed("2025-04-01")

    def test_the_change_feed_carries_the_events(self, registry: Registry, tree: SmallTree) -> None:
        after = cursor(registry)
        record = create_person(registry, veteran(tree, separations=[{"on": "2025-03-31", "reason": "death"}],
                                                 disciplines=[{"form": "canh_cao", "start": "2019-01-10", "end": "2020-01-09"}],
                                                 party_member_until="2025-03-31"))
        change = [c for c in changes_after(registry, after) if c["key"] == record["external_id"]][-1]
        assert change["record"]["separations"] == [{"on": "2025-03-31", "reason": "death"}]
        assert change["record"]["disciplines"] == [{"form": "canh_cao", "start": "2019-01-10", "end": "2020-01-09"}]
        assert change["record"]["party_member_until"] == "2025-03-31"


class TestCorrections:
    def test_a_retirement_postponed_moves_the_ends_it_made_by_patch_put_and_import(self, registry: Registry,
                                                                                 tree: SmallTree) -> None:
        early, late = [{"on": "2025-03-31", "reason": "retirement"}], [{"on": "2025-06-30", "reason": "retirement"}]
        for how in ("patch", "put_export", "import_export"):
            stored = create_person(registry, veteran(tree, separations=early))
            if how == "patch":
                r = registry.client.patch(f"/api/v1/persons/{stored['external_id']}", json={"separations": late},
                                          headers=registry.headers())
                assert r.status_code == 200, r.text
            elif how == "put_export":  # the record as read back (ends already on 31 March), the date corrected
                assert put(registry, stored | {"separations": late}).status_code == 200
            else:
                assert import_records(registry, "persons", [stored | {"separations": late}])["updated"] == 1
            now = get_person(registry, stored["external_id"]).json()
            ends = {i["end"] for n in ("employments", "positions", "memberships") for i in now[n]}
            assert ends == {"2025-06-30"}, (how, now)

    def test_a_separation_removed_reopens_what_it_ended_and_nothing_else(self, registry: Registry, tree: SmallTree) -> None:
        ended_before = {"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "nurse", "primary": False,
                        "start": "2005-01-01", "end": "2009-12-31"}
        record = veteran(tree, separations=[{"on": "2025-03-31", "reason": "dismissal"}])
        record["employments"].append(ended_before)
        stored = create_person(registry, record)
        r = registry.client.patch(f"/api/v1/persons/{stored['external_id']}", json={"separations": []},
                                  headers=registry.headers())
        assert r.status_code == 200, r.text
        body = r.json()
        assert {(e["start"], e["end"]) for e in body["employments"]} == {("2008-09-01", None), ("2005-01-01", "2009-12-31")}
        assert [p["end"] for p in body["positions"]] == [None] and [m["end"] for m in body["memberships"]] == [None]

    def test_the_same_death_twice_is_one_death(self, registry: Registry, tree: SmallTree) -> None:
        death = {"on": "2025-03-31", "reason": "death"}
        stored = create_person(registry, veteran(tree, separations=[death, death]))
        assert stored["separations"] == [death]


class TestValidation:
    CASES = {
        "unknown_reason": ({"separations": [{"on": "2025-01-01", "reason": "vacation"}]}, "separations[0].reason"),
        "formula_as_reason": ({"separations": [{"on": "2025-01-01", "reason": "=HYPERLINK(1)"}]}, "separations[0].reason"),
        "separation_without_date": ({"separations": [{"reason": "retirement"}]}, "separations[0].on"),
        "separation_before_birth": ({"separations": [{"on": "1980-01-01", "reason": "resignation"}]}, "separations[0].on"),
        "unknown_form": ({"disciplines": [{"form": "phat_tien", "start": "2020-01-01"}]}, "disciplines[0].form"),
        "discipline_ends_before_start": ({"disciplines": [{"form": "khien_trach", "start": "2020-01-01",
                                                           "end": "2019-01-01"}]}, "disciplines[0].end"),
        "discipline_extra_field": ({"disciplines": [{"form": "khien_trach", "start": "2020-01-01", "note": "x"}]},
                                   "disciplines[0].note"),
        "party_until_before_since": ({"party_member_until": "2009-01-01"}, "party_member_until"),
        "party_until_without_since": ({"party_member_since": None, "party_member_until": "2020-01-01"},
                                      "party_member_until"),
        "two_deaths": ({"separations": [{"on": "2024-01-01", "reason": "death"},
                                        {"on": "2025-01-01", "reason": "death"}]}, "separations[1].reason"),
        "job_after_death": ({"separations": [{"on": "2024-01-01", "reason": "death"}],
                             "positions": [{"org_unit": "{school}", "title": None, "rank": "office_deputy",
                                            "key_leader": False, "start": "2024-06-01", "end": None}]}, "positions[0].start"),
        "control_character": ({"separations": [{"on": "2025-01-01", "reason": "retire\u0007ment"}]}, "separations[0].reason"),
        "discipline_after_death": ({"separations": [{"on": "2024-01-01", "reason": "death"}],
                                    "disciplines": [{"form": "khien_trach", "start": "2024-02-01"}]}, "disciplines[0].start"),
        "too_many_items": ({"separations": [{"on": "2025-01-01", "reason": "retirement"}] * 1001}, "separations"),
    }

    @pytest.mark.parametrize("case", CASES)
    def test_a_bad_event_is_an_error_on_its_line_naming_the_field(self, registry: Registry, tree: SmallTree,
                                                                   case: str) -> None:
        change, field = self.CASES[case]
        change = json.loads(json.dumps(change).replace("{school}", tree.school_a))
        bad = person(f"{tree.province}-{uniq('CV')}", tree.school_a, **change)
        good = person(f"{tree.province}-{uniq('CV')}", tree.school_a)
        before = export_records(registry, "persons")
        report = import_records(registry, "persons", [bad, good])
        assert report["created"] == 1
        errors = [e for e in report["errors"] if e["line"] == 1]
        assert errors and len(errors) == len(report["errors"]), report
        assert field in {e["field"] for e in errors}, report
        assert all(e["external_id"] == bad["external_id"] and e["message"] and e["error"] for e in errors)
        after = export_records(registry, "persons")
        assert [r for r in after if r["external_id"] != good["external_id"]] == before  # nothing else was written
        r = put(registry, bad)
        assert r.status_code == 422 and field in {e["field"] for e in r.json()["errors"]}


class TestScope:
    @pytest.fixture
    def hr(self, registry: Registry, tree: SmallTree) -> str:
        return registry.token("hr_officer", [tree.commune_a])

    def test_the_managing_unit_records_a_retirement_of_its_own_assignments(self, registry: Registry, tree: SmallTree,
                                                                         hr: str) -> None:
        record = create_person(registry, veteran(tree, memberships=[]))
        retired = record | {"separations": [{"on": "2025-03-31", "reason": "retirement"}]}
        r = put(registry, retired, hr)
        assert r.status_code == 200, r.text
        assert {e["end"] for e in r.json()["employments"]} == {"2025-03-31"}

    def test_a_retirement_that_would_end_a_seat_outside_the_writers_units_is_refused_whole(
            self, registry: Registry, tree: SmallTree, hr: str) -> None:
        record = create_person(registry, veteran(tree))  # a seat on the province's committee, outside commune A
        for write in (lambda: put(registry, record | {"separations": [{"on": "2025-03-31", "reason": "retirement"}]}, hr),
                      lambda: registry.client.patch(f"/api/v1/persons/{record['external_id']}", headers=registry.headers(hr),
                                                    json={"separations": [{"on": "2025-03-31", "reason": "retirement"}]})):
            r = write()
            assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
            assert any(e["field"] == "memberships" and tree.body in e["message"] for e in r.json()["errors"])
            assert get_person(registry, record["external_id"]).json() == record  # nothing changed

    def test_another_communes_writer_cannot_record_events(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, veteran(tree, memberships=[]))
        other = registry.token("hr_officer", [tree.commune_b])
        for change in ({"separations": [{"on": "2025-03-31", "reason": "dismissal"}]},
                       {"disciplines": [{"form": "khien_trach", "start": "2024-01-01", "end": None}]},
                       {"party_member_until": "2024-01-01"}):
            r = put(registry, record | change, other)
            assert (r.status_code, r.json()["code"]) == (404, "person_not_found")
            r = registry.client.patch(f"/api/v1/persons/{record['external_id']}", json=change, headers=registry.headers(other))
            assert r.status_code == 404
            report = import_records(registry, "persons", [record | change], token=other)
            assert [e["error"] for e in report["errors"]] == ["person_not_found"], report
            assert report["created"] == report["updated"] == 0
        assert get_person(registry, record["external_id"]).json() == record

    def test_a_formerly_managing_unit_cannot_record_events_once_the_person_moved(
            self, registry: Registry, tree: SmallTree, hr: str) -> None:
        moved = veteran(tree, memberships=[], positions=[], employments=[
            {"org_unit": tree.school_a, "category": "vien_chuc", "occupation": "teacher_primary", "primary": True,
             "start": "2008-09-01", "end": "2019-12-31"},
            {"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "nurse", "primary": True,
             "start": "2020-01-01", "end": None}])
        record = create_person(registry, moved)
        r = put(registry, record | {"disciplines": [{"form": "khien_trach", "start": "2024-01-01", "end": None}]}, hr)
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
        assert {e["field"] for e in r.json()["errors"]} == {"disciplines"}
        assert get_person(registry, record["external_id"]).json() == record

    def test_an_auditor_writes_nothing_and_does_not_read_the_end_of_party_membership(
            self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, veteran(tree, party_member_until="2024-06-30"))
        auditor = registry.token("auditor", [tree.province])
        r = put(registry, record | {"separations": [{"on": "2025-03-31", "reason": "retirement"}]}, auditor)
        assert r.status_code == 403
        seen = get_person(registry, record["external_id"], auditor).json()
        assert "party_member_until" not in seen and "party_member_until" in seen["redacted"]
        assert seen["disciplines"] == record["disciplines"]
        assert get_person(registry, record["external_id"]).json() == record

    def test_an_expulsion_from_the_party_is_withheld_where_party_membership_is(self, registry: Registry,
                                                                             tree: SmallTree) -> None:
        warning = {"form": "canh_cao", "start": "2019-01-10", "end": "2020-01-09"}
        expelled = {"form": "khai_tru", "start": "2024-06-30", "end": None}
        record = create_person(registry, veteran(tree, memberships=[], party_member_until="2024-06-30",
                                                 disciplines=[warning, expelled]))
        auditor = registry.token("auditor", [tree.province])
        seen = get_person(registry, record["external_id"], auditor).json()
        assert seen["disciplines"] == [warning] and "disciplines.party" in seen["redacted"]
        csv = registry.client.get("/api/v1/exports/persons", params={"format": "csv"}, headers=registry.headers(auditor))
        assert csv.status_code == 200 and record["external_id"] in csv.text and "khai_tru" not in csv.text
        lines = export_records(registry, "persons", auditor)
        assert [r["disciplines"] for r in lines if r["external_id"] == record["external_id"]] == [[warning]]
        hr = registry.token("hr_officer", [tree.commune_a])
        assert get_person(registry, record["external_id"], hr).json()["disciplines"] == [warning, expelled]


class TestRoundTrip:
    def test_json_lines_csv_and_xlsx_round_trip_byte_identical(self, registry: Registry, fresh_registry) -> None:
        first = fresh_registry()
        code = uniq("CR")
        units = [{"code": code, "name": "Tỉnh Thử", "kind": "area", "tier": "province", "sector": "state",
                  "ethnic_contact": False, "valid_from": "2004-01-01", "valid_to": None, "parents": [], "successors": [],
                  "local_languages": []},
                 {"code": f"{code}-BCH", "name": "Ban Chấp hành", "kind": "party_executive_committee", "tier": "province",
                  "sector": "party", "ethnic_contact": False, "valid_from": "2004-01-01", "valid_to": None,
                  "parents": [{"code": code, "start": "2004-01-01", "end": None}], "successors": [], "local_languages": []}]
        assert import_records(first, "org-units", units)["errors"] == []
        people = [
            person(f"{code}-1", code, separations=[{"on": "2024-12-31", "reason": "retirement"}],
                   memberships=[{"body": f"{code}-BCH", "role": "member", "start": "2020-10-01", "end": None}],
                   disciplines=[{"form": "khien_trach", "start": "2019-03-01", "end": "2020-02-29"},
                                {"form": "cach_chuc", "start": "2022-05-01", "end": None}],
                   party_member_until="2023-01-01"),
            person(f"{code}-2", code, separations=[{"on": "2021-06-30", "reason": "death"}], full_name="Thạch Thị Sa Rây"),
            person(f"{code}-3", code),
        ]
        assert import_records(first, "persons", people)["created"] == 3
        expected = first.export("persons")
        assert '"separations":[{"on":"2024-12-31","reason":"retirement"}]' in expected.replace(" ", "")
        bodies = person_exports(first)
        sheet = load_workbook(io.BytesIO(bodies["xlsx-vi"][0]), read_only=True).worksheets[0]
        header = [c.value for c in next(sheet.iter_rows(max_row=1))]
        assert {"Ngày ra khỏi Đảng", "Ngày thôi công tác", "Lý do thôi công tác", "Hình thức kỷ luật"} <= set(header)
        assert_round_trips(fresh_registry, units, bodies, created=3)

    def test_scim_record_carries_the_events(self, registry: Registry, tree: SmallTree) -> None:
        record = create_person(registry, veteran(tree, separations=[{"on": "2025-03-31", "reason": "retirement"}],
                                                 party_member_until="2025-03-31"))
        r = registry.client.get(f"/scim/v2/Users/{record['external_id']}", headers=registry.headers())
        if r.status_code == 404:  # SCIM ids may be internal: find by userName
            r = registry.client.get("/scim/v2/Users", headers=registry.headers(),
                                    params={"filter": f'userName eq "{record["external_id"]}"'})
            assert r.status_code == 200, r.text
            resource = r.json()["Resources"][0]
        else:
            resource = r.json()
        ext = next(v for k, v in resource.items() if k.startswith("urn:") and isinstance(v, dict) and "separations" in v)
        assert ext["separations"] == [{"on": "2025-03-31", "reason": "retirement"}]
        assert ext["partyMembership"]["until"] == "2025-03-31"
