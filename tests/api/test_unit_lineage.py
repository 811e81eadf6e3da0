"""Org units carry `successors` and `local_languages` (spec revision 2): imported in every format, versioned,
read back as known at a moment, exported losslessly, recorded by reorganisation plans, and scoped."""

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from app.db import normalise_url
from tests.api.factories import Record, SmallTree, changes_after, cursor, import_records, ndjson, org_unit, person
from tests.conftest import Registry, uniq

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LAST, FIRST = "2025-06-30", "2025-07-01"


def closed(code: str, parent: str, successors: list[str], **kw: Any) -> Record:
    """A unit under `parent` that closes on LAST and is continued by `successors`."""
    return org_unit(code, parent=parent, valid_to=LAST, **kw) | {"successors": successors}


def opened(code: str, parent: str, **kw: Any) -> Record:
    """A unit under `parent` that opens on FIRST."""
    return org_unit(code, parent=parent, valid_from=FIRST, **kw)


def get_unit(registry: Registry, code: str, token: str | None = None, **params: str) -> Any:
    headers = registry.headers(token) if token else registry.headers()
    return registry.client.get(f"/api/v1/org-units/{code}", headers=headers, params=params)


def lists(registry: Registry, code: str, **params: str) -> tuple[list[str], list[str]]:
    r = get_unit(registry, code, **params)
    assert r.status_code == 200, r.text
    return r.json()["successors"], r.json()["local_languages"]


def errors_of(report: Record) -> list[tuple[int, str | None, str | None, str]]:
    return sorted((e["line"], e["code"], e["field"], e["error"]) for e in report["errors"])


def put(registry: Registry, record: Record, token: str | None = None) -> Any:
    headers = registry.headers(token) if token else registry.headers()
    return registry.client.put(f"/api/v1/org-units/{record['code']}", json=record, headers=headers)


@dataclass(frozen=True)
class Merger:
    """Under province P: district D closes on LAST, split between the new units N1 and N2 (which come after it)."""

    province: str
    district: str
    new: tuple[str, str]
    records: list[Record]


@pytest.fixture
def merger(registry: Registry) -> Merger:
    return make_merger(registry)


def make_merger(registry: Registry) -> Merger:
    p = uniq("L")
    d, n1, n2 = f"{p}-D", f"{p}-N1", f"{p}-N2"
    records = [
        closed(d, p, [n2, n1], tier="district"),  # named before N1 and N2 are defined: a forward reference
        org_unit(p, tier="province") | {"local_languages": ["yue", "km"]},
        opened(n1, p),
        opened(n2, p) | {"local_languages": ["km"]},
    ]
    report = import_records(registry, "org-units", records)
    assert (report["errors"], report["created"]) == ([], 4), report
    return Merger(p, d, (n1, n2), records)


class TestJsonLines:
    def test_both_lists_are_stored_and_read_back_sorted(self, registry: Registry, merger: Merger) -> None:
        assert lists(registry, merger.district) == ([*merger.new], [])
        assert lists(registry, merger.province) == ([], ["km", "yue"])
        assert lists(registry, merger.new[1]) == ([], ["km"])

    def test_every_read_and_export_carries_both_keys(self, registry: Registry, merger: Merger) -> None:
        h = registry.headers()
        listed = registry.client.get("/api/v1/org-units", params={"q": merger.province}, headers=h).json()["items"]
        kids = registry.client.get(f"/api/v1/org-units/{merger.province}/children", params={"as_of": FIRST}, headers=h)
        exported = [json.loads(line) for line in registry.export("org-units").splitlines()]
        mine = [u for u in exported if u["code"].startswith(merger.province)]
        for record in [*listed, *kids.json()["items"], *mine, get_unit(registry, merger.new[0]).json()]:
            assert isinstance(record["successors"], list) and isinstance(record["local_languages"], list), record
        assert {u["code"]: (u["successors"], u["local_languages"]) for u in mine} == {
            merger.province: ([], ["km", "yue"]), merger.district: ([*merger.new], []),
            merger.new[0]: ([], []), merger.new[1]: ([], ["km"])}
        assert list(mine[0])[-3:] == ["parents", "successors", "local_languages"]

    def test_importing_the_same_records_again_changes_nothing(self, registry: Registry, merger: Merger) -> None:
        mark = cursor(registry)
        shuffled = [r | {"local_languages": sorted(r.get("local_languages", []), reverse=True)} for r in merger.records]
        for records in (merger.records, shuffled):
            report = import_records(registry, "org-units", records)
            assert (report["errors"], report["unchanged"], report["created"], report["updated"]) == ([], 4, 0, 0)
        assert changes_after(registry, mark) == []

    def test_a_dry_run_resolves_forward_references_and_writes_nothing(self, registry: Registry) -> None:
        p = uniq("L")
        records = [closed(f"{p}-D", p, [f"{p}-N"]), org_unit(p), opened(f"{p}-N", p)]
        report = import_records(registry, "org-units", records, dry_run=True)
        assert (report["errors"], report["created"]) == ([], 3)
        assert get_unit(registry, f"{p}-D").status_code == 404

    def test_an_unknown_successor_is_an_error_on_its_line_and_the_other_lines_are_written(self, registry: Registry) -> None:
        p = uniq("L")
        records = [org_unit(p), closed(f"{p}-D", p, [f"{p}-N", f"{p}-NOWHERE"]), opened(f"{p}-N", p)]
        report = import_records(registry, "org-units", records)
        assert report["created"] == 2
        assert errors_of(report) == [(2, f"{p}-D", "successors[1]", "invalid_input")]
        assert f"{p}-NOWHERE" in report["errors"][0]["message"]
        assert get_unit(registry, f"{p}-D").status_code == 404
        assert lists(registry, f"{p}-N") == ([], [])

    def test_an_unknown_successor_leaves_an_existing_unit_as_it_was(self, registry: Registry, merger: Merger) -> None:
        mark = cursor(registry)
        changed = merger.records[0] | {"name": "Huyện đổi tên", "successors": ["NOWHERE-" + uniq()]}
        report = import_records(registry, "org-units", [changed])
        assert errors_of(report) == [(1, merger.district, "successors[0]", "invalid_input")]
        unit = get_unit(registry, merger.district).json()
        assert (unit["name"], unit["successors"]) == (merger.records[0]["name"], [*merger.new])
        assert changes_after(registry, mark) == []

    def test_a_rejected_successor_rejects_the_line_naming_it(self, registry: Registry) -> None:
        p = uniq("L")
        records = [org_unit(p), closed(f"{p}-D", p, [f"{p}-N"]), opened(f"{p}-N", p, kind="no_such_kind")]
        report = import_records(registry, "org-units", records)
        assert errors_of(report) == [(2, f"{p}-D", "successors[0]", "successor_rejected"),
                                     (3, f"{p}-N", "kind", "invalid_input")]

    def test_own_successor_and_successors_of_an_open_unit_are_refused(self, registry: Registry) -> None:
        p = uniq("L")
        records = [org_unit(p), closed(f"{p}-A", p, [f"{p}-A"]), org_unit(f"{p}-B", parent=p) | {"successors": [p]}]
        report = import_records(registry, "org-units", records)
        assert errors_of(report) == [(2, f"{p}-A", "successors[0]", "invalid_input"),
                                     (3, f"{p}-B", "successors", "invalid_input")]
        messages = [e["message"] for e in sorted(report["errors"], key=lambda e: e["line"])]
        assert "its own successor" in messages[0] and "valid_to" in messages[1]

    @pytest.mark.parametrize("commune_first", [False, True])
    def test_a_district_continued_by_a_commune_that_lay_under_it_imports_in_either_order(
            self, registry: Registry, commune_first: bool) -> None:
        p = uniq("L")
        d, x = f"{p}-D", f"{p}-X"
        commune = org_unit(x) | {"parents": [{"code": d, "start": "2004-01-01", "end": LAST},
                                             {"code": p, "start": FIRST, "end": None}]}
        records = [org_unit(p), closed(d, p, [x], tier="district"), commune]
        if commune_first:
            records = [records[0], records[2], records[1]]
        report = import_records(registry, "org-units", records)
        assert (report["errors"], report["created"]) == ([], 3), report
        assert lists(registry, d) == ([x], [])
        mark = cursor(registry)
        assert import_records(registry, "org-units", records)["unchanged"] == 3
        assert changes_after(registry, mark) == []

    def test_units_tied_by_parent_and_successor_links_are_written_together_or_not_at_all(self, registry: Registry) -> None:
        p = uniq("L")
        d, x = f"{p}-D", f"{p}-X"
        commune = org_unit(x, parent=d, kind="no_such_kind")
        report = import_records(registry, "org-units", [org_unit(p), closed(d, p, [x]), commune])
        assert errors_of(report) == [(2, d, "successors[0]", "successor_rejected"), (3, x, "kind", "invalid_input")]
        assert get_unit(registry, d).status_code == get_unit(registry, x).status_code == 404


class TestVersions:
    @pytest.mark.parametrize("table", ["org_unit_successor", "org_unit_language"])
    def test_their_history_cannot_be_deleted(self, registry: Registry, merger: Merger, table: str) -> None:
        engine = create_engine(normalise_url(registry.url))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table}"))
        engine.dispose()
        assert lists(registry, merger.district) == ([*merger.new], [])
        assert lists(registry, merger.province) == ([], ["km", "yue"])

    def test_a_change_to_either_list_is_a_new_version_and_known_at_reads_the_old_lists(self, registry: Registry) -> None:
        start = cursor(registry)
        merger = make_merger(registry)
        before = next(c["at"] for c in changes_after(registry, start) if c["key"] == merger.district)
        mark = cursor(registry)
        first = get_unit(registry, merger.district)
        changed = merger.records[0] | {"successors": [merger.new[0]], "local_languages": ["km"]}
        r = put(registry, changed)
        assert r.status_code == 200, r.text
        assert (r.json()["successors"], r.json()["local_languages"]) == ([merger.new[0]], ["km"])
        assert r.headers["ETag"] != first.headers["ETag"]
        feed = changes_after(registry, mark)
        assert [(c["key"], c["op"]) for c in feed] == [(merger.district, "update")]
        assert (feed[0]["record"]["successors"], feed[0]["record"]["local_languages"]) == ([merger.new[0]], ["km"])
        assert lists(registry, merger.district, known_at=before) == ([*merger.new], [])
        assert lists(registry, merger.district, known_at=feed[0]["at"]) == ([merger.new[0]], ["km"])
        at_then = registry.client.get("/api/v1/exports/org-units", params={"known_at": before}, headers=registry.headers())
        then = {u["code"]: u for u in map(json.loads, at_then.text.splitlines())}
        assert then[merger.district]["successors"] == [*merger.new]

    def test_patch_and_close_set_the_lists(self, registry: Registry) -> None:
        p = uniq("L")
        assert import_records(registry, "org-units", [org_unit(p), org_unit(f"{p}-D", parent=p), opened(f"{p}-N", p)])[
            "created"] == 3
        h = registry.headers()
        r = registry.client.patch(f"/api/v1/org-units/{p}-D", json={"local_languages": ["km", "cmo"]}, headers=h)
        assert (r.status_code, r.json()["local_languages"]) == (200, ["cmo", "km"])
        r = registry.client.patch(f"/api/v1/org-units/{p}-D", json={"successors": [f"{p}-N"]}, headers=h)
        assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "successors"), r.text  # still open
        r = registry.client.post(f"/api/v1/org-units/{p}-D/close", json={"on": LAST, "successors": [f"{p}-N"]}, headers=h)
        assert (r.status_code, r.json()["successors"], r.json()["valid_to"]) == (200, [f"{p}-N"], LAST), r.text
        r = registry.client.patch(f"/api/v1/org-units/{p}-D", json={"valid_to": None}, headers=h)
        assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "successors")


HOSTILE: list[tuple[str, dict[str, Any], str, str]] = [  # (id, fields, field named, words of the message)
    ("control_in_successor", {"successors": ["X\u0007"]}, "successors", "control character"),
    ("control_in_language", {"local_languages": ["k\u0000m"]}, "local_languages", "control character"),
    ("ten_thousand_successors", {"successors": [f"X{i}" for i in range(10_000)]}, "successors", "at most 100"),
    ("ten_thousand_languages", {"local_languages": ["km"] * 10_000}, "local_languages", "at most 100"),
    ("nested_list", {"successors": [["X"]]}, "successors[0]", "valid string"),
    ("object_item", {"local_languages": [{"code": "km"}]}, "local_languages[0]", "valid string"),
    ("object_instead_of_list", {"successors": {"code": "X"}}, "successors", "valid list"),
    ("upper_case_language", {"local_languages": ["KM"]}, "local_languages[0]", "ISO 639"),
    ("language_name", {"local_languages": ["khmer"]}, "local_languages[0]", "ISO 639"),
    ("long_language", {"local_languages": ["k" * 5000]}, "local_languages[0]", "at most 16"),
    ("duplicate_language", {"local_languages": ["km", "vi", "km"]}, "local_languages", "listed twice"),
    ("duplicate_successor", {"successors": ["X", "X"]}, "successors", "listed twice"),
]


class TestHostileInput:
    @pytest.mark.parametrize(("fields", "field", "words"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
    def test_put_is_a_422_naming_the_field(self, registry: Registry, fields: dict[str, Any], field: str,
                                           words: str) -> None:
        code = uniq("L")
        r = put(registry, org_unit(code, valid_to=LAST) | fields)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input"), r.text
        assert any(e["field"] == field and words in e["message"] for e in r.json()["errors"]), r.json()["errors"]
        assert get_unit(registry, code).status_code == 404

    @pytest.mark.parametrize(("fields", "field", "words"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
    def test_an_import_line_is_refused_with_its_field_and_the_others_are_written(
            self, registry: Registry, fields: dict[str, Any], field: str, words: str) -> None:
        code, good = uniq("L"), uniq("L")
        report = import_records(registry, "org-units", [org_unit(code, valid_to=LAST) | fields, org_unit(good)])
        assert report["created"] == 1 and {e["line"] for e in report["errors"]} == {1}
        expected = {"control_character"} if "control" in words else {"invalid_field"}
        assert {e["error"] for e in report["errors"]} == expected
        assert any(e["field"].startswith(field) and e["code"] == code for e in report["errors"]), report["errors"]

    def test_a_patch_with_a_hostile_list_is_a_422(self, registry: Registry, merger: Merger) -> None:
        for body in ({"successors": [f"X{i}" for i in range(10_000)]}, {"local_languages": [["km"]]}):
            r = registry.client.patch(f"/api/v1/org-units/{merger.district}", json=body, headers=registry.headers())
            assert (r.status_code, r.json()["code"]) == (422, "invalid_input"), r.text


HEADER = ["code", "name", "kind", "tier", "sector", "ethnic_contact", "valid_from", "valid_to", "parent_code",
          "parent_start", "parent_end", "successor_code", "local_language"]


def post_table(registry: Registry, body: bytes, ctype: str, token: str | None = None) -> Record:
    headers = (registry.headers(token) if token else registry.headers()) | {"Content-Type": ctype}
    r = registry.client.post("/api/v1/imports/org-units", content=body, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def table_rows(p: str) -> list[list[str]]:
    """A province speaking Khmer and Hoa, and a district split between two new units listed after it."""
    return [
        [p, "Tỉnh", "area", "province", "state", "", "2004-01-01", "", "", "", "", "", "km"],
        [p, "", "", "", "", "", "", "", "", "", "", "", "yue"],
        [f"{p}-D", "Huyện", "area", "district", "state", "", "2004-01-01", LAST, p, "2004-01-01", "", f"{p}-N2", ""],
        [f"{p}-D", "", "", "", "", "", "", "", "", "", "", f"{p}-N1", ""],
        [f"{p}-N1", "Xã mới 1", "area", "commune", "state", "", FIRST, "", p, FIRST, "", "", ""],
        [f"{p}-N2", "Xã mới 2", "area", "commune", "state", "", FIRST, "", p, FIRST, "", "", "km"],
    ]


def csv_body(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("utf-8")


def xlsx_body(header: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append([cell or None for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


VI_HEADER = ["Mã", "Tên", "Loại", "Cấp", "Khối ngành", "Tiếp xúc đồng bào DTTS", "Hiệu lực từ", "Hiệu lực đến",
             "Mã đơn vị cấp trên", "Trực thuộc từ", "Trực thuộc đến", "Mã đơn vị kế thừa", "Tiếng dân tộc thiểu số của địa bàn"]


class TestSpreadsheets:
    @pytest.mark.parametrize(("make", "ctype", "header"), [
        (csv_body, "text/csv", HEADER), (csv_body, "text/csv", VI_HEADER), (xlsx_body, XLSX, HEADER)],
        ids=["csv", "csv_vi", "xlsx"])
    def test_successors_and_languages_are_one_per_row(self, registry: Registry, make: Callable[..., bytes],
                                                      ctype: str, header: list[str]) -> None:
        p = uniq("L")
        report = post_table(registry, make(header, table_rows(p)), ctype)
        assert (report["errors"], report["created"]) == ([], 4), report
        assert lists(registry, p) == ([], ["km", "yue"])
        assert lists(registry, f"{p}-D") == ([f"{p}-N1", f"{p}-N2"], [])
        assert lists(registry, f"{p}-N2") == ([], ["km"])

    def test_an_unknown_successor_points_at_its_cell(self, registry: Registry) -> None:
        p = uniq("L")
        rows = table_rows(p)
        rows[3][11] = f"{p}-NOWHERE"
        report = post_table(registry, csv_body(HEADER, rows), "text/csv")
        assert report["created"] == 3
        assert [(e["row"], e["column"], e["cell"], e["field"], e["error"]) for e in report["errors"]] == [
            (5, "successor_code", "L5", "successors[1]", "invalid_input")]

    def test_a_bad_language_points_at_its_cell(self, registry: Registry) -> None:
        p = uniq("L")
        rows = table_rows(p)
        rows[5][12] = "Khmer"
        report = post_table(registry, csv_body(HEADER, rows), "text/csv")
        assert [(e["row"], e["cell"], e["error"]) for e in report["errors"]] == [(4, "L4", "successor_rejected"),
                                                                                 (7, "M7", "invalid_field")]
        assert "ISO 639" in report["errors"][1]["message"] and report["created"] == 2

    def test_the_template_shows_the_columns(self, registry: Registry) -> None:
        r = registry.client.get("/api/v1/templates/org-units", params={"format": "csv", "lang": "en"},
                                headers=registry.headers())
        header, example = r.text.splitlines()[:2]
        # the planning-pool columns follow (empty for this example, a department: tests/api/test_planning_pools.py)
        assert header.endswith(",successor_code,local_language,pool_for_org_unit,pool_for_rank,term_start,term_end")
        assert example.endswith(",CT-SYT,km,,,,")


class TestRoundTrip:
    def test_every_format_exported_and_imported_into_an_empty_registry_exports_identical_bytes(
            self, fresh_registry: Callable[[], Registry]) -> None:
        source = fresh_registry()
        p = uniq("L")
        d, x = f"{p}-D", f"{p}-X"
        units = [closed(d, p, [x, f"{p}-N"], tier="district"), org_unit(p) | {"local_languages": ["km", "cmo", "yue"]},
                 org_unit(x) | {"parents": [{"code": d, "start": "2004-01-01", "end": LAST},
                                            {"code": p, "start": FIRST, "end": None}], "local_languages": ["km"]},
                 opened(f"{p}-N", p), org_unit(f"{p}-OPEN", parent=p)]
        assert import_records(source, "org-units", units)["errors"] == []
        h = source.headers()
        exports = {fmt: source.client.get("/api/v1/exports/org-units", params={"format": fmt, "lang": lang}, headers=h)
                   for fmt, lang in (("jsonl", "en"), ("csv", "vi"), ("xlsx", "en"))}
        assert all(r.status_code == 200 for r in exports.values())
        jsonl, table = exports["jsonl"].text, exports["csv"].content
        assert jsonl.count('"successors":') == jsonl.count('"local_languages":') == 5
        rows = list(load_workbook(io.BytesIO(exports["xlsx"].content), read_only=True).worksheets[0].iter_rows(values_only=True))
        # the lineage columns, then the four planning-pool columns (tests/api/test_planning_pools.py)
        assert rows[0][-6:-4] == ("successor_code", "local_language") and len(rows) == 1 + 2 + 3 + 2 + 1 + 1
        for fmt, ctype in (("jsonl", "application/x-ndjson"), ("csv", "text/csv"), ("xlsx", XLSX)):
            empty = fresh_registry()
            report = post_table(empty, exports[fmt].content, ctype)
            assert (report["errors"], report["created"]) == ([], 5), (fmt, report)
            assert empty.export("org-units") == jsonl, fmt
            again = empty.client.get("/api/v1/exports/org-units", params={"format": "csv", "lang": "vi"}, headers=h)
            assert again.content == table, fmt


@dataclass(frozen=True)
class Plan:
    province: str
    districts: tuple[str, str, str]
    person: str


@pytest.fixture
def staffed(registry: Registry) -> Plan:
    p = uniq("L")
    ds = (f"{p}-D1", f"{p}-D2", f"{p}-D3")
    units = [org_unit(p, tier="province"), *(org_unit(d, parent=p, kind="state_agency", tier="district") for d in ds)]
    assert import_records(registry, "org-units", units)["created"] == 4
    worker = person(f"{p}-P", ds[2], employments=[{"org_unit": ds[2], "category": "cong_chuc", "occupation": "specialist",
                                                    "primary": True, "start": "2010-01-01", "end": None}])
    assert import_records(registry, "persons", [worker])["created"] == 1
    return Plan(p, ds, worker["external_id"])


class TestReorganisationPlans:
    def plan(self, s: Plan) -> Record:
        d1, d2, d3 = s.districts
        new = [opened(f"{s.province}-{n}", s.province, kind="state_agency", tier="province") for n in ("M", "S1", "S2", "T")]
        return {"name": "Sắp xếp", "effective": FIRST, "create": new,
                "close": [{"code": d1, "successor": f"{s.province}-M"},  # a merger: its successor
                          {"code": d2, "successors": [f"{s.province}-S1", f"{s.province}-S2"], "end_assignments": True},
                          {"code": d3}],  # its persons move: where they go continues it
                "move": [{"from": d3, "to": f"{s.province}-T"}]}

    def test_the_dry_run_shows_the_successors_and_applying_records_them(self, registry: Registry, staffed: Plan) -> None:
        d1, d2, d3 = staffed.districts
        p = staffed.province
        expected = {d1: [f"{p}-M"], d2: [f"{p}-S1", f"{p}-S2"], d3: [f"{p}-T"]}
        mark = cursor(registry)
        r = registry.client.post("/api/v1/reorganisations", json=self.plan(staffed), headers=registry.headers())
        assert (r.status_code, r.json()["successors"]) == (200, expected), r.text
        assert changes_after(registry, mark) == []
        r = registry.client.post("/api/v1/reorganisations", json=self.plan(staffed), params={"dry_run": "false"},
                                 headers=registry.headers())
        assert r.status_code == 200, r.text
        for code, successors in expected.items():
            assert lists(registry, code) == (successors, [])
            assert get_unit(registry, code).json()["valid_to"] == LAST
        moved = registry.client.get(f"/api/v1/persons/{staffed.person}", headers=registry.headers()).json()
        assert moved["employments"][-1]["org_unit"] == f"{p}-T"

    def test_unknown_or_own_successors_are_named(self, registry: Registry, staffed: Plan) -> None:
        plan = self.plan(staffed)
        plan["close"][1]["successors"] = [f"{staffed.province}-NOWHERE", staffed.districts[1]]
        r = registry.client.post("/api/v1/reorganisations", json=plan, headers=registry.headers())
        assert r.status_code == 422
        assert {e["field"] for e in r.json()["errors"]} == {"close[1].successors[0]", "close[1].successors[1]"}


@dataclass(frozen=True)
class Scoped:
    """Units under commune A (in the tokens' scope) and under commune B (outside), and tokens scoped to A."""

    inside: tuple[str, str]
    outside: str
    hr: str
    integration: str
    admin: str


@pytest.fixture
def scoped(registry: Registry, tree: SmallTree) -> Scoped:
    tag = uniq("L")
    inside = (f"{tree.commune_a}-{tag}-U", f"{tree.commune_a}-{tag}-V")
    outside = f"{tree.commune_b}-{tag}-W"
    units = [org_unit(inside[0], parent=tree.commune_a, valid_to=LAST), opened(inside[1], tree.commune_a),
             opened(outside, tree.commune_b)]
    assert import_records(registry, "org-units", units)["created"] == 3
    a = [tree.commune_a]
    return Scoped(inside, outside, registry.token("hr_officer", a), registry.token("integration", a),
                  registry.token("admin", a))


class TestWriteScope:
    def test_an_hr_officer_writes_no_org_unit(self, registry: Registry, scoped: Scoped) -> None:
        record = get_unit(registry, scoped.inside[0]).json() | {"local_languages": ["km"]}
        r = put(registry, record, scoped.hr)
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
        r = registry.client.post("/api/v1/imports/org-units", content=ndjson([record]).encode(),
                                 headers=registry.headers(scoped.hr) | {"Content-Type": "application/x-ndjson"})
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")
        assert lists(registry, scoped.inside[0]) == ([], [])

    @pytest.mark.parametrize("role", ["integration", "admin"])
    def test_a_scoped_writer_names_successors_and_languages_within_its_units(self, registry: Registry, scoped: Scoped,
                                                                           role: str) -> None:
        token = getattr(scoped, role)
        record = get_unit(registry, scoped.inside[0]).json() | {"successors": [scoped.inside[1]], "local_languages": ["km"]}
        r = put(registry, record, token)
        assert (r.status_code, r.json()["successors"], r.json()["local_languages"]) == (
            200, [scoped.inside[1]], ["km"]), r.text

    @pytest.mark.parametrize("role", ["integration", "admin"])
    def test_a_successor_outside_its_units_is_refused(self, registry: Registry, scoped: Scoped, role: str) -> None:
        token, mark = getattr(scoped, role), cursor(registry)
        record = get_unit(registry, scoped.inside[0]).json() | {"successors": [scoped.inside[1], scoped.outside]}
        r = put(registry, record, token)
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
        assert [e["field"] for e in r.json()["errors"]] == ["successors[1]"]
        report = import_records(registry, "org-units", [record], token=token)
        assert errors_of(report) == [(1, scoped.inside[0], "successors[1]", "out_of_scope")]
        assert changes_after(registry, mark) == []

    @pytest.mark.parametrize("role", ["integration", "admin"])
    def test_languages_of_a_unit_outside_its_units_are_refused(self, registry: Registry, scoped: Scoped, role: str) -> None:
        record = get_unit(registry, scoped.outside).json() | {"local_languages": ["km"]}
        r = put(registry, record, getattr(scoped, role))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
        report = import_records(registry, "org-units", [record], token=getattr(scoped, role))
        assert [e["error"] for e in report["errors"]] == ["out_of_scope"]
        assert lists(registry, scoped.outside) == ([], [])

    def test_a_successor_outside_set_by_an_administrator_may_stay_but_not_go(self, registry: Registry,
                                                                            scoped: Scoped) -> None:
        record = get_unit(registry, scoped.inside[0]).json() | {"successors": [scoped.outside]}
        assert put(registry, record).status_code == 200
        renamed = put(registry, record | {"name": "Đổi tên"}, scoped.integration)
        assert renamed.status_code == 200, renamed.text
        r = put(registry, record | {"successors": []}, scoped.integration)
        assert (r.status_code, r.json()["errors"][0]["field"]) == (403, "successors"), r.text

    def test_a_scoped_plan_naming_a_successor_outside_is_refused(self, registry: Registry, scoped: Scoped) -> None:
        plan = {"name": "Sắp xếp", "effective": FIRST,
                "close": [{"code": scoped.inside[0], "successors": [scoped.inside[1], scoped.outside]}]}
        r = registry.client.post("/api/v1/reorganisations", json=plan, headers=registry.headers(scoped.admin))
        assert (r.status_code, r.json()["code"]) == (403, "out_of_scope"), r.text
        assert [e["field"] for e in r.json()["errors"]] == ["close[0].successors[1]"]
