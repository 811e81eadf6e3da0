"""Spreadsheets as Vietnamese HR offices use them (issue 12): CSV with a byte order mark and `;` on request,
XLSX with date and number cells, Vietnamese labels for codes both ways, every error of a row reported."""

import codecs
import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from tests.conftest import Registry, uniq
from tests.fixtures.province import build_province, ndjson

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = ("org-units", "persons", "statistics")
ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _export(registry: Registry, kind: str, **params: str) -> bytes:
    r = registry.client.get(f"/api/v1/exports/{kind}", params=params, headers=registry.headers())
    assert r.status_code == 200, r.text
    return r.content


def _post(registry: Registry, kind: str, body: bytes, ctype: str) -> dict:
    r = registry.client.post(f"/api/v1/imports/{kind}", content=body, headers=registry.headers() | {"Content-Type": ctype})
    assert r.status_code == 200, r.text
    return dict(r.json())


def as_excel_saves_it(body: bytes, delimiter: str) -> bytes:
    """The CSV opened in Excel (UTF-8 by its byte order mark, cells split by the list separator) and saved again
    as "CSV UTF-8": a byte order mark, CRLF, and ISO dates turned into the Vietnamese day-first form."""
    assert body.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))
    assert len({len(r) for r in rows}) == 1, "every row has the header's number of cells"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([ISO_DAY.sub(r"\3/\2/\1", c) if ISO_DAY.fullmatch(c) else c for c in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


@pytest.fixture
def province_registry(fresh_registry: Callable[[], Registry]) -> tuple[Registry, dict[str, str]]:
    """A small province (units through the 2025 reform, 40 persons, statistics) and its JSON Lines exports."""
    registry = fresh_registry()
    data = build_province(seed=5, persons=40, prefix=uniq("SP"))
    for kind, key in zip(KINDS, ("org_units", "persons", "statistics"), strict=True):
        report = registry.import_lines(kind, ndjson(data[key]))
        assert report["errors"] == [], report["errors"][:3]
    return registry, {kind: registry.export(kind) for kind in KINDS}


class TestVietnameseRoundTrip:
    @pytest.mark.parametrize("delimiter", ["comma", "semicolon"])
    def test_a_lang_vi_csv_read_as_excel_reads_it_imports_to_an_identical_registry(
            self, province_registry: tuple[Registry, dict[str, str]], fresh_registry: Callable[[], Registry],
            delimiter: str) -> None:
        source, expected = province_registry
        sep = {"comma": ",", "semicolon": ";"}[delimiter]
        sheets = {kind: _export(source, kind, format="csv", lang="vi", delimiter=delimiter) for kind in KINDS}
        persons = sheets["persons"].decode("utf-8-sig")
        assert persons.startswith(f"Mã định danh{sep}Họ và tên{sep}Ngày sinh")
        assert f"{sep}Nữ{sep}" in persons and f"{sep}Nam{sep}" in persons and f"{sep}Kinh{sep}" in persons
        assert f"{sep}female{sep}" not in persons and f"{sep}cong_chuc{sep}" not in persons  # labels, not codes
        assert f"{sep}Công chức{sep}" in persons and f"{sep}Cao cấp{sep}" in persons
        if delimiter == "semicolon":
            assert re.search(r";0,\d+;", sheets["statistics"].decode("utf-8-sig")), "a decimal comma"
        units = sheets["org-units"].decode("utf-8-sig")
        assert f"{sep}Cấp tỉnh{sep}" in units and f"{sep}Đơn vị hành chính{sep}" in units and f"{sep}có{sep}" in units
        target = fresh_registry()
        for kind in KINDS:
            report = _post(target, kind, as_excel_saves_it(sheets[kind], sep), "text/csv")
            assert report["errors"] == [], (kind, report["errors"][:3])
        for kind in KINDS:
            assert target.export(kind) == expected[kind], kind

    def test_a_lang_vi_xlsx_has_dates_numbers_and_labels_and_imports_to_an_identical_registry(
            self, province_registry: tuple[Registry, dict[str, str]], fresh_registry: Callable[[], Registry]) -> None:
        source, expected = province_registry
        books = {kind: _export(source, kind, format="xlsx", lang="vi") for kind in KINDS}
        sheet = load_workbook(io.BytesIO(books["persons"])).worksheets[0]
        header = [c.value for c in sheet[1]]
        birth = sheet.cell(row=2, column=header.index("Ngày sinh") + 1)
        assert isinstance(birth.value, datetime) and birth.number_format == "dd/mm/yyyy"
        assert sheet.cell(row=2, column=header.index("Giới tính") + 1).value in ("Nam", "Nữ")
        hours = [c.value for c in sheet.iter_cols(min_col=header.index("Số giờ") + 1, max_col=header.index("Số giờ") + 1,
                                                  min_row=2) for c in c if c.value is not None]
        assert hours and all(isinstance(h, int) for h in hours)
        stats = load_workbook(io.BytesIO(books["statistics"])).worksheets[0]
        values = [row[3] for row in stats.iter_rows(min_row=2, values_only=True)]
        assert all(isinstance(v, int | float) for v in values) and any(isinstance(v, int) and v > 1000 for v in values)
        target = fresh_registry()
        for kind in KINDS:
            assert _post(target, kind, books[kind], XLSX)["errors"] == [], kind
        for kind in KINDS:
            assert target.export(kind) == expected[kind], kind


def _unit(code: str) -> dict[str, object]:
    return {"code": code, "name": "Xã Tham Đôn", "kind": "area", "tier": "commune", "sector": "state",
            "valid_from": "2000-01-01", "parents": []}


VI_HEADER = ["Mã định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc", "Danh mục", "Mã đơn vị", "Loại cán bộ",
             "Từ ngày", "Trình độ", "Ngày cấp"]


class TestHandWritten:
    """Sheets an HR office types: Vietnamese headers, names for codes, day-first dates."""

    def _rows(self, code: str) -> list[list[object]]:
        return [[f"{code}-1", "Thạch Thị Sa Rây", "09/03/1987", "Nữ", "Khơ-me", "employments", code, "Công chức",
                 "01/09/2011", "", ""],
                [f"{code}-1", "", "", "", "", "political_theory", "", "", "", "Cao cấp", "15/07/2015"]]

    def _check(self, registry: Registry, code: str) -> None:
        person = registry.client.get(f"/api/v1/persons/{code}-1", headers=registry.headers()).json()
        assert (person["gender"], person["ethnicity"], person["birth_date"]) == ("female", "05", "1987-03-09")
        assert person["employments"][0]["category"] == "cong_chuc" and person["employments"][0]["start"] == "2011-09-01"
        [theory] = person["political_theory"]
        assert (theory["level"], theory["awarded_on"]) == ("cao_cap", "2015-07-15")

    @pytest.mark.parametrize("sep", [",", ";"])
    def test_a_csv_with_a_byte_order_mark(self, registry: Registry, sep: str) -> None:
        code = uniq("HW")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        out = io.StringIO()
        csv.writer(out, delimiter=sep).writerows([VI_HEADER, *self._rows(code)])
        report = _post(registry, "persons", out.getvalue().encode("utf-8-sig"), "text/csv")
        assert report["errors"] == [] and report["created"] == 1, report
        self._check(registry, code)

    def test_an_xlsx_with_date_cells(self, registry: Registry) -> None:
        code = uniq("HW")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        book = Workbook()
        sheet = book.active
        sheet.append(VI_HEADER)
        rows = self._rows(code)
        rows[0][2], rows[0][8] = date(1987, 3, 9), datetime(2011, 9, 1)  # date cells, as Excel stores a typed date
        for row in rows:
            sheet.append(row)
        sheet["C2"].number_format = "dd/mm/yyyy"
        buffer = io.BytesIO()
        book.save(buffer)
        report = _post(registry, "persons", buffer.getvalue(), XLSX)
        assert report["errors"] == [] and report["created"] == 1, report
        self._check(registry, code)

    def test_an_impossible_day_first_date_is_an_error_on_its_cell(self, registry: Registry) -> None:
        code = uniq("HW")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        rows = self._rows(code)
        rows[0][2] = "30/02/1987"
        out = io.StringIO()
        csv.writer(out).writerows([VI_HEADER, *rows])
        report = _post(registry, "persons", out.getvalue().encode(), "text/csv")
        assert report["created"] == 0
        [error] = report["errors"]
        assert (error["row"], error["column"], error["cell"]) == (2, "birth_date", "C2")
        assert "'30/02/1987' is not a date" in error["message"]


def test_a_template_in_semicolons(registry: Registry) -> None:
    r = registry.client.get("/api/v1/templates/persons", params={"format": "csv", "delimiter": "semicolon"},
                            headers=registry.headers())
    assert r.status_code == 200 and r.content.startswith("\ufeffMã định danh;Họ và tên;".encode())
    assert ";Nữ;Khơ-me;" in r.content.decode("utf-8-sig")


def test_the_delimiter_is_told_by_the_header_not_by_commas_in_cells() -> None:
    from app.services.tabular import delimiter_of

    assert delimiter_of("Mã;Tên;Loại;Cấp", "org-units") == ";"
    assert delimiter_of("code,name,kind", "org-units") == ","
    # a Vietnamese header cell holds a comma ("Điểm, kết quả"): quoted in a ',' file, bare in a ';' one
    assert delimiter_of('Mã định danh,Họ và tên,"Điểm, kết quả"', "persons") == ","
    assert delimiter_of("Mã định danh;Họ và tên;Điểm, kết quả", "persons") == ";"


PERSON_HEADER = ["external_id", "full_name", "birth_date", "gender", "ethnicity", "list", "org_unit", "category",
                 "primary", "start"]


class TestEveryErrorOfARow:
    """A bad cell does not hide the other errors of its row: each is reported with row, column, cell and code."""

    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_a_row_with_several_bad_fields_reports_each(self, registry: Registry, fmt: str) -> None:
        code = uniq("ER")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        rows = [[f"{code}-1", "Lê Thị A", "30/02/1980", "woman", "Sao Hỏa", "employments", "NOPE", "cong_chuc", "maybe",
                 "2010-01-01"],  # unreadable date and boolean, unknown gender, ethnicity and org unit
                [f"{code}-2", "Lê Thị B", "1980-02-30", "woman", "01", "employments", code, "cong_chuc", "có",
                 "2010-01-01"],  # readable cells, an impossible ISO date and an unknown gender
                [f"{code}-3", "Lê Thị C", "1980-03-01", "Nữ", "Khơ-me", "employments", code, "Công chức", "có",
                 "2010-01-01"]]
        if fmt == "csv":
            out = io.StringIO()
            csv.writer(out).writerows([PERSON_HEADER, *rows])
            body, ctype = out.getvalue().encode("utf-8-sig"), "text/csv"
        else:
            book = Workbook()
            for row in [PERSON_HEADER, *rows]:
                book.active.append(row)
            buffer = io.BytesIO()
            book.save(buffer)
            body, ctype = buffer.getvalue(), XLSX
        report = _post(registry, "persons", body, ctype)
        assert (report["created"], report["failed"]) == (1, 2), report
        got = {(e["line"], e["row"], e["column"], e["cell"], e["error"]) for e in report["errors"]}
        assert got == {
            (2, 2, "birth_date", "C2", "invalid_cell"), (2, 2, "primary", "I2", "invalid_cell"),
            (2, 2, "gender", "D2", "invalid_input"), (2, 2, "ethnicity", "E2", "invalid_field"),
            (2, 2, "org_unit", "G2", "invalid_input"),
            (3, 3, "birth_date", "C3", "invalid_field"), (3, 3, "gender", "D3", "invalid_input"),
        }, report["errors"]
        messages = {e["cell"]: e["message"] for e in report["errors"]}
        assert "unknown gender code 'woman'" in messages["D2"] and "female (Nữ)" in messages["D2"]
        assert "'30/02/1980' is not a date" in messages["C2"] and "unknown org unit 'NOPE'" in messages["G2"]
        assert [e["row"] for e in report["errors"]] == sorted(e["row"] for e in report["errors"])  # in row order
        for n in (1, 2):
            assert registry.client.get(f"/api/v1/persons/{code}-{n}", headers=registry.headers()).status_code == 404

    def test_a_json_line_with_several_bad_fields_lists_each(self, registry: Registry) -> None:
        code = uniq("ER")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        record = {"external_id": f"{code}-J", "full_name": "Lê Thị Nữ", "birth_date": "1980-02-30", "gender": "woman",
                  "ethnicity": "01",
                  "employments": [{"org_unit": "NOPE", "category": "nope", "start": "2010-13-01"},
                                  {"org_unit": code, "category": "cong_chuc", "start": "2010-01-01"}],
                  "political_theory": [{"level": "cao_cap", "awarded_on": "2015-01-01"}]}
        report = registry.import_lines("persons", [json.dumps(record, ensure_ascii=False)])
        got = {(e["line"], e["field"], e["error"]) for e in report["errors"]}
        assert got == {(1, "birth_date", "invalid_field"), (1, "employments[0].start", "invalid_field"),
                       (1, "gender", "invalid_input"), (1, "employments[0].category", "invalid_input"),
                       (1, "employments[0].org_unit", "invalid_input")}, report["errors"]
        assert report["created"] == 0 and report["failed"] == 1

    def test_an_org_unit_line_with_several_bad_fields_lists_each(self, registry: Registry) -> None:
        unit = _unit(uniq("ER")) | {"kind": "planet", "tier": "galaxy", "valid_from": "2000-02-30"}
        report = registry.import_lines("org-units", [json.dumps(unit, ensure_ascii=False)])
        got = {(e["field"], e["error"]) for e in report["errors"]}
        assert got == {("valid_from", "invalid_field"), ("kind", "invalid_input"), ("tier", "invalid_input")}, report


def test_a_semicolon_csv_is_checked_whole_with_its_own_delimiter(registry: Registry) -> None:
    """A cell over the CSV field limit in a `;` file (commas inside it) is a 422 before any write, not a failure midway."""
    code = uniq("SC")
    body = "external_id;full_name;birth_date;gender\n" + f"{code}-1;{'A,' * 70000};1980-01-01;Nữ\n"
    r = registry.client.post("/api/v1/imports/persons", content=body.encode("utf-8-sig"),
                             headers=registry.headers() | {"Content-Type": "text/csv"})
    assert (r.status_code, r.json()["code"]) == (422, "cell_too_long"), r.text
    assert r.json()["errors"][0]["line"] == 2
