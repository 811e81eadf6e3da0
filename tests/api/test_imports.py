"""Bad input of every kind: a per-line error naming the line and the field, never a 500; good lines still written."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from app.api import bulk
from app.config import Settings
from tests.api.factories import (
    Record,
    SmallTree,
    changes_after,
    cursor,
    export_records,
    get_person,
    import_records,
    ndjson,
    org_unit,
    person,
)
from tests.conftest import Registry, uniq

NDJSON = {"Content-Type": "application/x-ndjson"}


def ids(tree: SmallTree, *names: str) -> list[str]:
    """External ids (or codes) under the tree that no other test uses."""
    tag = uniq("T")
    return [f"{tree.province}-{tag}-{name}" for name in names]


def leader(external_id: str, tree: SmallTree) -> Record:
    """A valid person with a position and a seat, the base every bad line is derived from."""
    return person(external_id, tree.school_a,
                  positions=[{"org_unit": tree.school_a, "title": "Hiệu trưởng", "rank": "office_head",
                              "key_leader": False, "start": "2015-09-01", "end": None}],
                  memberships=[{"body": tree.body, "role": "member", "start": "2020-10-15", "end": None}])


def _set(path: str, value: Any) -> Callable[[Record, SmallTree], None]:
    """A mutation setting `a.b[0].c` style paths (value may be a function of the tree)."""
    def mutate(record: Record, tree: SmallTree) -> None:
        *parents, last = path.replace("[", ".").replace("]", "").split(".")
        target: Any = record
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value(tree) if callable(value) else value
    return mutate


def _drop(path: str) -> Callable[[Record, SmallTree], None]:
    """A mutation removing `key` or `list[0].key`."""
    def mutate(record: Record, _tree: SmallTree) -> None:
        *parents, last = path.replace("[", ".").replace("]", "").split(".")
        target: Any = record
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]
    return mutate


def _commune_category_after_reform(record: Record, _tree: SmallTree) -> None:
    record["employments"][0].update(category="cap_xa_cong_chuc", start="2025-07-01")
    record["positions"], record["memberships"] = [], []


def _overlapping(record: Record, tree: SmallTree) -> None:
    first = record["employments"][0]
    record["employments"].append(dict(first, org_unit=tree.agency, occupation="specialist", category="cong_chuc",
                                      start="2016-01-01"))


@dataclass(frozen=True)
class Bad:
    """One kind of bad person line: how to spoil a good record, and the field the error must name."""

    name: str
    spoil: Callable[[Record, SmallTree], None]
    field: str
    error: str


FUTURE = (date.today() + timedelta(days=400)).isoformat()
BAD_PERSONS = [
    Bad("impossible_birth_date", _set("birth_date", "2023-02-30"), "birth_date", "invalid_field"),
    Bad("impossible_employment_start", _set("employments[0].start", "2023-02-30"), "employments[0].start", "invalid_field"),
    Bad("date_not_iso", _set("birth_date", "12/04/1985"), "birth_date", "invalid_field"),
    Bad("end_before_start", _set("employments[0].end", "2001-01-01"), "employments[0].end", "invalid_field"),
    Bad("position_end_before_start", _set("positions[0].end", "2015-08-31"), "positions[0].end", "invalid_field"),
    Bad("unknown_ethnicity", _set("ethnicity", "77"), "ethnicity", "invalid_input"),
    Bad("unknown_gender", _set("gender", "x"), "gender", "invalid_input"),
    Bad("unknown_category", _set("employments[0].category", "thu_ky"), "employments[0].category", "invalid_input"),
    Bad("unknown_occupation", _set("employments[0].occupation", "astronaut"), "employments[0].occupation", "invalid_input"),
    Bad("commune_category_after_its_abolition", _commune_category_after_reform, "employments[0].category", "invalid_input"),
    Bad("unknown_rank", _set("positions[0].rank", "minister"), "positions[0].rank", "invalid_input"),
    Bad("unknown_membership_role", _set("memberships[0].role", "boss"), "memberships[0].role", "invalid_input"),
    Bad("unknown_degree_level", _set("degrees[0].level", "phd"), "degrees[0].level", "invalid_input"),
    Bad("unknown_political_theory", _set("political_theory[0].level", "dai_hoc"), "political_theory[0].level",
        "invalid_input"),
    Bad("unknown_academic_title", _set("academic_titles", [{"title": "tskh", "awarded_on": "2020-01-01"}]),
        "academic_titles[0].title", "invalid_input"),
    Bad("unknown_org_unit", _set("employments[0].org_unit", lambda t: f"{t.province}-NOWHERE"), "employments[0].org_unit",
        "invalid_input"),
    Bad("membership_of_a_non_body", _set("memberships[0].body", lambda t: t.agency), "memberships[0].body", "invalid_input"),
    Bad("employment_in_a_body", _set("employments[0].org_unit", lambda t: t.body), "employments[0].org_unit",
        "invalid_input"),
    Bad("overlapping_primary_employments", _overlapping, "employments[1].start", "invalid_input"),
    Bad("primary_as_string", _set("employments[0].primary", "yes"), "employments[0].primary", "invalid_field"),
    Bad("language_level_as_string", _set("languages[0].level", "4"), "languages[0].level", "invalid_field"),
    Bad("language_level_out_of_range", _set("languages[0].level", 7), "languages[0].level", "invalid_field"),
    Bad("hours_as_string", _set("trainings", [{"course": "Bồi dưỡng", "hours": "40", "completed_on": "2020-01-01"}]),
        "trainings[0].hours", "invalid_field"),
    Bad("unknown_field", _set("nickname", "Đào"), "nickname", "invalid_field"),
    Bad("unknown_field_in_an_item", _set("degrees[0].grade", "giỏi"), "degrees[0].grade", "invalid_field"),
    Bad("missing_full_name", _drop("full_name"), "full_name", "invalid_field"),
    Bad("missing_employment_start", _drop("employments[0].start"), "employments[0].start", "invalid_field"),
    Bad("future_birth_date", _set("birth_date", FUTURE), "birth_date", "invalid_field"),
    Bad("degree_before_birth", _set("degrees[0].awarded_on", "1980-01-01"), "degrees[0].awarded_on", "invalid_input"),
    Bad("employment_before_birth", _set("employments[0].start", "1984-01-01"), "employments[0].start", "invalid_input"),
    Bad("party_membership_before_birth", _set("party_member_since", "1984-01-01"), "party_member_since", "invalid_input"),
    Bad("malformed_national_id", _set("national_id", "12345"), "national_id", "invalid_field"),
    Bad("full_name_too_long", _set("full_name", "Nguyễn " * 40), "full_name", "invalid_field"),
    Bad("degree_field_too_long", _set("degrees[0].field", "Quản lý " * 30), "degrees[0].field", "invalid_field"),
    Bad("certificate_too_long", _set("languages[0].certificate", "VSTEP " * 20), "languages[0].certificate",
        "invalid_field"),
    Bad("list_as_object", _set("degrees", {"level": "bachelor"}), "degrees", "invalid_field"),
]


class TestImportPersonLines:
    @pytest.mark.parametrize("bad", BAD_PERSONS, ids=[b.name for b in BAD_PERSONS])
    def test_bad_line_is_an_error_naming_line_and_field_and_good_lines_are_written(
            self, registry: Registry, tree: SmallTree, bad: Bad) -> None:
        good1, spoilt, good2 = (leader(i, tree) for i in ids(tree, "G1", "BAD", "G2"))
        bad.spoil(spoilt, tree)
        report = import_records(registry, "persons", [good1, spoilt, good2])
        assert (report["lines"], report["created"], report["failed"]) == (3, 2, 1), report
        assert {e["line"] for e in report["errors"]} == {2}
        assert {"line": 2, "external_id": spoilt["external_id"], "field": bad.field, "error": bad.error} in [
            {k: e[k] for k in ("line", "external_id", "field", "error")} for e in report["errors"]], report["errors"]
        assert all(e["message"] for e in report["errors"])
        assert get_person(registry, good1["external_id"]).status_code == 200
        assert get_person(registry, good2["external_id"]).status_code == 200
        assert get_person(registry, spoilt["external_id"]).json()["code"] == "person_not_found"

    @pytest.mark.parametrize("bad", BAD_PERSONS, ids=[b.name for b in BAD_PERSONS])
    def test_bad_record_put_is_a_422_naming_the_field(self, registry: Registry, tree: SmallTree, bad: Bad) -> None:
        record = leader(ids(tree, "PUT")[0], tree)
        bad.spoil(record, tree)
        r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=registry.headers())
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_input"
        assert bad.field in [e["field"] for e in r.json()["errors"]]
        assert get_person(registry, record["external_id"]).status_code == 404

    @pytest.mark.parametrize(("raw", "error"), [
        (b'{"external_id": "X", "full_name": ', "invalid_json"),
        (b'["not", "an", "object"]', "invalid_json"),
        (b'"just a string"', "invalid_json"),
        (b"{'single': 'quotes'}", "invalid_json"),
        ('{"external_id": "Nguyễn"}'.encode("utf-16"), "invalid_encoding"),
    ], ids=["truncated", "array", "string", "single_quotes", "not_utf8"])
    def test_unparseable_line_is_an_error_and_good_lines_are_written(
            self, registry: Registry, tree: SmallTree, raw: bytes, error: str) -> None:
        good1, good2 = (leader(i, tree) for i in ids(tree, "G1", "G2"))
        body = ndjson([good1]).encode() + raw + b"\n" + ndjson([good2]).encode()
        r = registry.client.post("/api/v1/imports/persons", content=body, headers=registry.headers() | NDJSON)
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["created"], report["failed"]) == (2, 1)
        assert [(e["line"], e["field"], e["error"]) for e in report["errors"]] == [(2, None, error)]
        assert get_person(registry, good2["external_id"]).status_code == 200

    def test_line_numbers_count_blank_lines(self, registry: Registry, tree: SmallTree) -> None:
        good_id, bad_id = ids(tree, "G1", "B")
        good, bad = leader(good_id, tree), dict(leader(bad_id, tree), ethnicity="77")
        body = "\n" + ndjson([good]) + "\n\n" + ndjson([bad])
        report = registry.import_lines("persons", body)
        assert [(e["line"], e["field"]) for e in report["errors"]] == [(5, "ethnicity")]
        assert (report["lines"], report["created"]) == (2, 1)

    def test_bad_update_of_an_existing_person_leaves_the_stored_record(self, registry: Registry, tree: SmallTree) -> None:
        record = leader(ids(tree, "E")[0], tree)
        assert import_records(registry, "persons", [record])["created"] == 1
        before = get_person(registry, record["external_id"]).json()
        spoilt = dict(record, full_name="Trần Văn Bình", employments=[dict(record["employments"][0], category="thu_ky")])
        report = import_records(registry, "persons", [spoilt])
        assert [(e["line"], e["field"]) for e in report["errors"]] == [(1, "employments[0].category")]
        assert get_person(registry, record["external_id"]).json() == before

    def test_every_bad_kind_in_one_file_writes_exactly_the_good_lines(self, registry: Registry, tree: SmallTree) -> None:
        goods = [leader(i, tree) for i in ids(tree, "G0", "G1", "G2")]
        bads = []
        for external_id, bad in zip(ids(tree, *(b.name for b in BAD_PERSONS)), BAD_PERSONS, strict=True):
            record = leader(external_id, tree)
            bad.spoil(record, tree)
            bads.append(record)
        mark = cursor(registry)
        report = import_records(registry, "persons", [goods[0], *bads[:15], goods[1], *bads[15:], goods[2]])
        assert (report["created"], report["failed"]) == (3, len(BAD_PERSONS))
        assert {e["line"] for e in report["errors"]} == set(range(2, 17)) | set(range(18, len(BAD_PERSONS) + 3))
        written = {c["key"] for c in changes_after(registry, mark)}
        assert written == {g["external_id"] for g in goods}


BAD_UNITS = [
    Bad("unknown_kind", _set("kind", "ministry"), "kind", "invalid_input"),
    Bad("unknown_tier", _set("tier", "hamlet"), "tier", "invalid_input"),
    Bad("unknown_sector", _set("sector", "military"), "sector", "invalid_input"),
    Bad("district_tier_after_reform", lambda r, _t: r.update(tier="district", valid_from="2025-07-01",
                                                              parents=[dict(r["parents"][0], start="2025-07-01")]),
        "tier", "invalid_input"),
    Bad("unknown_parent", _set("parents[0].code", lambda t: f"{t.province}-NOWHERE"), "parents[0].code", "invalid_input"),
    Bad("own_parent", lambda r, _t: r["parents"][0].update(code=r["code"]), "parents", "cycle"),
    Bad("impossible_valid_from", _set("valid_from", "2023-02-30"), "valid_from", "invalid_field"),
    Bad("valid_to_before_valid_from", _set("valid_to", "2000-01-01"), "valid_to", "invalid_field"),
    Bad("parent_end_before_start", _set("parents[0].end", "2000-01-01"), "parents[0].end", "invalid_field"),
    Bad("overlapping_parents", lambda r, t: r["parents"].append({"code": t.commune_b, "start": "2010-01-01", "end": None}),
        "parents", "invalid_input"),
    Bad("ethnic_contact_as_string", _set("ethnic_contact", "no"), "ethnic_contact", "invalid_field"),
    Bad("code_with_spaces", _set("code", "A B"), "code", "invalid_field"),
    Bad("unknown_field", _set("address", "Sóc Trăng"), "address", "invalid_field"),
    Bad("missing_name", _drop("name"), "name", "invalid_field"),
]


class TestImportOrgUnitLines:
    @pytest.mark.parametrize("bad", BAD_UNITS, ids=[b.name for b in BAD_UNITS])
    def test_bad_line_is_an_error_naming_line_and_field_and_good_lines_are_written(
            self, registry: Registry, tree: SmallTree, bad: Bad) -> None:
        codes = ids(tree, "G1", "BAD", "G2")
        good1, spoilt, good2 = (org_unit(c, parent=tree.commune_a, kind="school_preschool", sector="education")
                                for c in codes)
        bad.spoil(spoilt, tree)
        report = import_records(registry, "org-units", [good1, spoilt, good2])
        assert (report["lines"], report["created"], report["failed"]) == (3, 2, 1), report
        assert {e["line"] for e in report["errors"]} == {2}
        assert (bad.field, bad.error) in [(e["field"], e["error"]) for e in report["errors"]], report["errors"]
        for code in (codes[0], codes[2]):
            assert registry.client.get(f"/api/v1/org-units/{code}", headers=registry.headers()).status_code == 200
        assert registry.client.get(f"/api/v1/org-units/{codes[1]}", headers=registry.headers()).status_code == 404

    def test_parent_cycle_in_one_file_is_an_error_on_its_lines(self, registry: Registry, tree: SmallTree) -> None:
        x, y, ok = ids(tree, "X", "Y", "OK")
        report = import_records(registry, "org-units", [org_unit(x, parent=y), org_unit(y, parent=x),
                                                        org_unit(ok, parent=tree.commune_a)])
        assert (report["created"], report["failed"]) == (1, 2)
        assert sorted((e["line"], e["field"], e["error"]) for e in report["errors"]) == [(1, "parents", "cycle"),
                                                                                        (2, "parents", "cycle")]

    def test_child_of_a_cycle_is_an_error_on_its_line(self, registry: Registry, tree: SmallTree) -> None:
        x, y, child = ids(tree, "X", "Y", "X-C")
        report = import_records(registry, "org-units", [org_unit(child, parent=x), org_unit(x, parent=y), org_unit(y, parent=x)])
        assert (report["created"], report["failed"]) == (0, 3)
        assert sorted((e["line"], e["error"]) for e in report["errors"]) == [(1, "parent_rejected"), (2, "cycle"), (3, "cycle")]

    def test_cycle_through_stored_units_is_an_error(self, registry: Registry, tree: SmallTree) -> None:
        looped = org_unit(tree.commune_a, parent=tree.school_a, name="Xã Tham Đôn")
        report = import_records(registry, "org-units", [looped])
        assert [(e["line"], e["field"]) for e in report["errors"]] == [(1, "parents")]

    def test_duplicate_code_in_one_file_is_an_error_on_the_second_line(self, registry: Registry, tree: SmallTree) -> None:
        code = ids(tree, "D")[0]
        report = import_records(registry, "org-units", [org_unit(code, parent=tree.commune_a),
                                                        org_unit(code, parent=tree.commune_b)])
        assert [(e["line"], e["code"], e["field"], e["error"]) for e in report["errors"]] == [
            (2, code, "code", "duplicate_key")]
        unit = registry.client.get(f"/api/v1/org-units/{code}", headers=registry.headers()).json()
        assert unit["parents"][0]["code"] == tree.commune_a

    def test_child_of_a_rejected_parent_is_rejected_too(self, registry: Registry, tree: SmallTree) -> None:
        parent, child = ids(tree, "BADP", "BADP-C")
        report = import_records(registry, "org-units", [org_unit(child, parent=parent),
                                                        dict(org_unit(parent, parent=tree.commune_a), kind="ministry")])
        assert sorted((e["line"], e["field"], e["error"]) for e in report["errors"]) == [
            (1, "parents", "parent_rejected"), (2, "kind", "invalid_input")]


BAD_STATISTICS = [
    Bad("unknown_org_unit", _set("org_unit", lambda t: f"{t.province}-NOWHERE"), "org_unit", "invalid_input"),
    Bad("impossible_period", _set("period", "2024-02-30"), "period", "invalid_field"),
    Bad("period_month", _set("period", "2024-13"), "period", "invalid_field"),
    Bad("period_range_reversed", _set("period", "2025-01-01/2024-01-01"), "period", "invalid_field"),
    Bad("value_as_string", _set("value", "1199653"), "value", "invalid_field"),
    Bad("value_too_large_to_keep_exactly", _set("value", 10**30), "value", "invalid_field"),
    Bad("unknown_field", _set("unit", "persons"), "unit", "invalid_field"),
    Bad("missing_value", _drop("value"), "value", "invalid_field"),
]


class TestImportStatisticLines:
    @pytest.mark.parametrize("bad", BAD_STATISTICS, ids=[b.name for b in BAD_STATISTICS])
    def test_bad_line_is_an_error_naming_line_and_field_and_good_lines_are_written(
            self, registry: Registry, tree: SmallTree, bad: Bad) -> None:
        code = uniq("population_")
        good1, spoilt, good2 = ({"code": code, "org_unit": tree.commune_a, "period": str(year), "value": 16_000 + year,
                                 "source": "Cục Thống kê"} for year in (2021, 2022, 2023))
        bad.spoil(spoilt, tree)
        report = import_records(registry, "statistics", [good1, spoilt, good2])
        assert (report["lines"], report["created"], report["failed"]) == (3, 2, 1), report
        assert [(e["line"], e["field"], e["error"]) for e in report["errors"]] == [(2, bad.field, bad.error)]
        assert [s["period"] for s in statistics_of(registry, code)] == ["2021", "2023"]

    @pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
    def test_value_that_is_not_a_finite_number_is_an_error(self, registry: Registry, tree: SmallTree, literal: bytes) -> None:
        code = uniq("population_")
        line = b'{"code": "%s", "org_unit": "%s", "period": "2024", "value": %s}\n' % (
            code.encode(), tree.commune_a.encode(), literal)
        r = registry.client.post("/api/v1/imports/statistics", content=line, headers=registry.headers() | NDJSON)
        assert r.status_code == 200, r.text
        assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [(1, "value")]
        assert statistics_of(registry, code) == []

    def test_large_and_fractional_values_are_kept_exactly(self, registry: Registry, tree: SmallTree) -> None:
        code = uniq("share_")
        values = {"2021": 2**53, "2022": 1e300, "2023": 0.1234, "2024": -5}
        report = import_records(registry, "statistics", [{"code": code, "org_unit": tree.commune_a, "period": period,
                                                          "value": value} for period, value in values.items()])
        assert (report["created"], report["errors"]) == (4, [])
        assert {s["period"]: s["value"] for s in statistics_of(registry, code)} == values


def statistics_of(registry: Registry, code: str) -> list[Record]:
    r = registry.client.get("/api/v1/statistics", params={"code": code}, headers=registry.headers())
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


class TestDryRun:
    def test_dry_run_reports_what_would_happen_and_writes_nothing(self, registry: Registry, tree: SmallTree) -> None:
        good_id, bad_id = ids(tree, "DRY", "DRYBAD")
        good, bad = leader(good_id, tree), dict(leader(bad_id, tree), ethnicity="77")
        mark = cursor(registry)
        report = import_records(registry, "persons", [good, bad], dry_run=True)
        assert (report["dry_run"], report["created"], report["failed"]) == (True, 1, 1)
        assert [(e["line"], e["field"]) for e in report["errors"]] == [(2, "ethnicity")]
        assert get_person(registry, good["external_id"]).status_code == 404
        exported = export_records(registry, "persons", registry.token("integration", [tree.school_a]))
        assert good["external_id"] not in {p["external_id"] for p in exported}
        assert changes_after(registry, mark) == []

    def test_dry_run_of_an_update_keeps_the_stored_record(self, registry: Registry, tree: SmallTree) -> None:
        record = leader(ids(tree, "DRYU")[0], tree)
        import_records(registry, "persons", [record])
        mark = cursor(registry)
        report = import_records(registry, "persons", [dict(record, full_name="Trần Văn Bình")], dry_run=True)
        assert (report["updated"], report["errors"]) == (1, [])
        assert get_person(registry, record["external_id"]).json()["full_name"] == "Nguyễn Thị Đào"
        assert changes_after(registry, mark) == []

    def test_dry_run_of_org_units_and_statistics_writes_nothing(self, registry: Registry, tree: SmallTree) -> None:
        code, statistic = ids(tree, "DRY")[0], uniq("population_")
        mark = cursor(registry)
        units = import_records(registry, "org-units", [org_unit(code, parent=tree.commune_a)], dry_run=True)
        stats = import_records(registry, "statistics", [{"code": statistic, "org_unit": tree.commune_a,
                                                        "period": "2024", "value": 1}], dry_run=True)
        assert (units["created"], stats["created"]) == (1, 1)
        assert changes_after(registry, mark) == []
        assert registry.client.get(f"/api/v1/org-units/{code}", headers=registry.headers()).status_code == 404
        assert statistics_of(registry, statistic) == []


class TestOversizeBodies:
    @pytest.fixture
    def small_limit(self, monkeypatch: pytest.MonkeyPatch) -> int:
        limit = 4096
        monkeypatch.setattr(bulk, "get_settings", lambda: Settings(max_body_bytes=limit, import_batch_size=2))
        return limit

    def test_import_over_the_limit_is_a_413_and_writes_nothing(self, registry: Registry, tree: SmallTree,
                                                              small_limit: int) -> None:
        records = [leader(i, tree) for i in ids(tree, *"ABCDE")]
        body = ndjson(records).encode()
        assert len(body) > small_limit
        r = registry.client.post("/api/v1/imports/persons", content=body, headers=registry.headers() | NDJSON)
        assert r.status_code == 413, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "payload_too_large"
        assert get_person(registry, records[0]["external_id"]).status_code == 404

    def test_streamed_import_over_the_limit_is_a_413(self, registry: Registry, tree: SmallTree, small_limit: int) -> None:
        records = [leader(i, tree) for i in ids(tree, *"ABCDE")]
        chunks = [line.encode() + b"\n" for line in ndjson(records).splitlines()]
        r = registry.client.post("/api/v1/imports/persons", content=iter(chunks), headers=registry.headers() | NDJSON)
        assert r.status_code == 413, r.text
        assert r.json()["code"] == "payload_too_large"

    def test_streamed_import_over_the_limit_answers_after_the_batch_in_flight(
            self, registry: Registry, tree: SmallTree, small_limit: int) -> None:
        """Batches (of two here) are written while the next is read; the 413 comes once the batch in flight is
        written, whole: the two lines of the first batch are there, complete; the third, read but in no batch
        yet, and the fourth, over the limit, are not."""
        records = [leader(i, tree) for i in ids(tree, *"ABCD")]
        chunks = [line.encode() + b"\n" for line in ndjson(records).splitlines()]
        assert sum(map(len, chunks[:3])) <= small_limit < sum(map(len, chunks)), [len(c) for c in chunks]


        async def post() -> httpx.Response:
            async def body() -> AsyncIterator[bytes]:
                for chunk in chunks:  # one ASGI message each (the test client would join them into one)
                    yield chunk

            transport = httpx.ASGITransport(app=registry.client.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.post("/api/v1/imports/persons", content=body(), headers=registry.headers() | NDJSON)

        r = asyncio.run(post())
        assert (r.status_code, r.json()["code"]) == (413, "payload_too_large"), r.text
        for record in records[:2]:
            got = get_person(registry, record["external_id"])
            assert got.status_code == 200 and got.json()["full_name"] == record["full_name"]
            assert [len(got.json()[n]) for n in ("employments", "positions", "memberships")] == [1, 1, 1], got.json()
        assert [get_person(registry, r["external_id"]).status_code for r in records[2:]] == [404, 404]

    def test_json_body_over_two_mebibytes_is_a_413(self, registry: Registry, tree: SmallTree) -> None:
        record = leader(ids(tree, "HUGE")[0], tree)
        record["trainings"] = [{"course": f"Bồi dưỡng {i}", "hours": 8, "completed_on": "2020-01-01"} for i in range(40_000)]
        body = json.dumps(record).encode()
        assert len(body) > 2 * 1024 * 1024
        r = registry.client.put(f"/api/v1/persons/{record['external_id']}", content=body,
                                headers=registry.headers() | {"Content-Type": "application/json"})
        assert r.status_code == 413
        assert r.json()["code"] == "payload_too_large"
        assert get_person(registry, record["external_id"]).status_code == 404


    def test_chunked_json_body_over_two_mebibytes_is_a_413(self, registry: Registry, tree: SmallTree) -> None:
        record = leader(ids(tree, "HUGE")[0], tree)
        record["trainings"] = [{"course": f"Bồi dưỡng {i}", "hours": 8, "completed_on": "2020-01-01"} for i in range(40_000)]
        body = json.dumps(record).encode()
        chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
        r = registry.client.put(f"/api/v1/persons/{record['external_id']}", content=iter(chunks),
                                headers=registry.headers() | {"Content-Type": "application/json"})
        assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")
        assert get_person(registry, record["external_id"]).status_code == 404

    def test_line_over_the_line_limit_is_an_error_and_other_lines_are_written(
            self, registry: Registry, tree: SmallTree, monkeypatch: pytest.MonkeyPatch) -> None:
        from app.services import import_run

        monkeypatch.setattr(bulk, "get_settings", lambda: Settings(max_line_bytes=3000))
        monkeypatch.setattr(import_run, "get_settings", lambda: Settings(max_line_bytes=3000))
        good_id, long_id = ids(tree, "G", "LONG")
        long = leader(long_id, tree) | {"trainings": [
            {"course": f"Bồi dưỡng {i}", "hours": 8, "completed_on": "2020-01-01"} for i in range(60)]}
        report = import_records(registry, "persons", [long, leader(good_id, tree)])
        assert [(e["line"], e["error"]) for e in report["errors"]] == [(1, "line_too_long")]
        assert get_person(registry, good_id).status_code == 200


class TestContentTypes:
    @pytest.mark.parametrize("content_type", ["application/json", "application/xml", "multipart/form-data; boundary=x"])
    def test_import_with_a_wrong_content_type_is_a_415(self, registry: Registry, tree: SmallTree, content_type: str) -> None:
        record = leader(ids(tree, "CT")[0], tree)
        r = registry.client.post("/api/v1/imports/persons", content=ndjson([record]).encode(),
                                 headers=registry.headers() | {"Content-Type": content_type})
        assert r.status_code == 415, r.text
        assert r.json()["code"] == "unsupported_media_type"
        assert r.json()["errors"][0]["field"] == "Content-Type"
        assert get_person(registry, record["external_id"]).status_code == 404

    def test_json_endpoint_with_a_non_json_body_is_a_422(self, registry: Registry, tree: SmallTree) -> None:
        record = leader(ids(tree, "CT")[0], tree)
        r = registry.client.put(f"/api/v1/persons/{record['external_id']}", content=ndjson([record]).encode(),
                                headers=registry.headers() | {"Content-Type": "text/plain"})
        assert r.status_code == 422
        assert r.json()["code"] == "invalid_input"
        assert get_person(registry, record["external_id"]).status_code == 404

    @pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""], ids=["malformed", "array", "empty"])
    def test_unusable_json_body_is_a_422(self, registry: Registry, tree: SmallTree, body: bytes) -> None:
        external_id = ids(tree, "J")[0]
        r = registry.client.put(f"/api/v1/persons/{external_id}", content=body,
                                headers=registry.headers() | {"Content-Type": "application/json"})
        assert r.status_code == 422
        assert r.json()["code"] == "invalid_input"


class TestImportJobs:
    def test_import_report_can_be_read_back(self, registry: Registry, tree: SmallTree) -> None:
        first, second = ids(tree, "J1", "J2")
        report = import_records(registry, "persons", [leader(first, tree), dict(leader(second, tree), gender="x")])
        r = registry.client.get(f"/api/v1/imports/{report['id']}", headers=registry.headers())
        assert r.status_code == 200
        job = r.json()
        assert (job["status"], job["created"], job["failed"], job["errors"]) == ("done", 1, 1, report["errors"])

    def test_unknown_import_is_a_404(self, registry: Registry) -> None:
        r = registry.client.get("/api/v1/imports/999999999", headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (404, "import_not_found")

