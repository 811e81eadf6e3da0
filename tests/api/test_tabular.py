"""CSV and XLSX beside JSON Lines: the same validation, errors with row and column, lossless round trips."""

import gc
import glob
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from app.services import tabular
from tests.conftest import Registry, uniq

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _unit(code: str) -> dict[str, object]:
    return {
        "code": code,
        "name": "Xã Tabular",
        "kind": "area",
        "tier": "commune",
        "sector": "state",
        "valid_from": "2000-01-01",
        "parents": [],
    }


def _post(registry: Registry, kind: str, body: bytes, ctype: str, dry_run: bool = False) -> dict:
    r = registry.client.post(
        f"/api/v1/imports/{kind}",
        content=body,
        params={"dry_run": str(dry_run).lower()},
        headers=registry.headers() | {"Content-Type": ctype},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


CSV_HEADER = "external_id,full_name,birth_date,gender,ethnicity,list,org_unit,category,primary,start,level,awarded_on\n"


def _csv(code: str) -> str:
    return CSV_HEADER + (
        f"{code}-1,Nguyễn Văn A,1980-01-01,male,01,employments,{code},cong_chuc,có,2010-01-01,,\n"
        f"{code}-1,,,,,degrees,,,,,master,2012-06-01\n"
        f"{code}-2,Lê Thị B,1980-02-30,female,01,employments,{code},cong_chuc,true,2010-01-01,,\n"
        f"{code}-3,Trần C,1985-01-01,female,77,employments,NOPE,cong_chuc,maybe,2010-01-01,,\n"
    )


class TestCsv:
    def test_good_rows_are_written_and_bad_cells_are_named(self, registry: Registry) -> None:
        code = uniq("CSV")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        report = _post(registry, "persons", _csv(code).encode(), "text/csv")
        assert report["created"] == 1, report
        by_row = {(e["row"], e["column"]): e for e in report["errors"]}
        assert (4, "birth_date") in by_row and by_row[(4, "birth_date")]["cell"] == "C4"
        assert (5, "primary") in by_row and "true/false" in by_row[(5, "primary")]["message"]
        person = registry.client.get(f"/api/v1/persons/{code}-1", headers=registry.headers()).json()
        assert person["degrees"][0]["level"] == "master" and person["employments"][0]["primary"] is True

    def test_a_dry_run_writes_nothing(self, registry: Registry) -> None:
        code = uniq("CSV")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        report = _post(registry, "persons", _csv(code).encode(), "text/csv", dry_run=True)
        assert report["created"] == 1 and report["dry_run"] is True
        assert registry.client.get(f"/api/v1/persons/{code}-1", headers=registry.headers()).status_code == 404

    def test_unknown_codes_point_at_their_cell(self, registry: Registry) -> None:
        code = uniq("CSV")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        body = CSV_HEADER + f"{code}-9,Trần C,1985-01-01,female,77,employments,NOPE,cong_chuc,true,2010-01-01,,\n"
        errors = _post(registry, "persons", body.encode(), "text/csv")["errors"]
        # the cell as named in this file (org_unit is its 7th column, G; K only in the export's column order)
        assert {(e["row"], e["column"], e["cell"]) for e in errors} == {(2, "ethnicity", "E2"), (2, "org_unit", "G2")}

    def test_vietnamese_headers_are_read(self, registry: Registry) -> None:
        code = uniq("CSV")
        body = "Mã,Tên,Loại,Cấp,Khối ngành,Hiệu lực từ\n" + f"{code},Xã Việt,area,commune,state,2000-01-01\n"
        assert _post(registry, "org-units", body.encode("utf-8-sig"), "text/csv")["created"] == 1


class TestXlsx:
    def test_rows_and_cells_of_a_workbook(self, registry: Registry) -> None:
        code = uniq("XL")
        book = Workbook()
        sheet = book.active
        sheet.append(["code", "org_unit", "period", "value", "source"])
        sheet.append(["population", code, "2024", 5000, "GSO"])
        sheet.append(["population", code, "2025", "nhiều", "GSO"])
        buffer = io.BytesIO()
        book.save(buffer)
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        report = _post(registry, "statistics", buffer.getvalue(), XLSX)
        assert report["created"] == 1
        assert [(e["row"], e["cell"]) for e in report["errors"]] == [(3, "D3")]


class TestXlsxExportFailure:
    """An XLSX export that fails before its workbook is saved leaves nothing of the rows it wrote behind: openpyxl
    keeps a write-only sheet's rows in a named temporary file of its own, removed on save or at the process's exit."""

    @staticmethod
    def _rows_then(failure: Callable[[], object]) -> Iterator[dict[str, object]]:
        yield {"external_id": "VN-T-1", "full_name": "Nguyễn Thị Bí Mật", "birth_date": "1980-01-01"}
        yield {"external_id": "VN-T-2", "full_name": "Trần Văn Riêng", "birth_date": "1981-02-03"}
        failure()
        yield {"external_id": "VN-T-3", "full_name": "never written"}

    @pytest.fixture(autouse=True)
    def _own_temporary_directory(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """openpyxl's files in a directory of this test's: another test's export, in another pytest worker, would
        otherwise be counted here while it is being written."""
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    @staticmethod
    def _left_on_disk() -> set[str]:
        return set(glob.glob(os.path.join(tempfile.gettempdir(), "openpyxl.*")))

    def _fails_and_leaves_nothing(self, rows: Iterator[dict[str, object]], error: type[BaseException],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
        from openpyxl.worksheet import _writer

        unraisable: list[object] = []
        monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
        on_disk, listed = self._left_on_disk(), list(_writer.ALL_TEMP_FILES)
        with pytest.raises(error):
            b"".join(tabular.xlsx_bytes(rows, "persons"))
        gc.collect()  # the sheet's generators, collected: before the fix, "I/O operation on closed file"
        assert self._left_on_disk() - on_disk == set()
        assert list(_writer.ALL_TEMP_FILES) == listed
        assert unraisable == []

    def test_a_source_that_fails_part_way(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def failure() -> None:
            raise RuntimeError("the database went away")

        self._fails_and_leaves_nothing(self._rows_then(failure), RuntimeError, monkeypatch)

    def test_a_value_openpyxl_refuses(self, monkeypatch: pytest.MonkeyPatch) -> None:
        rows = iter([{"external_id": "VN-T-1", "full_name": "Nguyễn Thị Bí Mật"},
                     {"external_id": "VN-T-2", "full_name": object()}])  # not a cell value: openpyxl's ValueError
        self._fails_and_leaves_nothing(rows, ValueError, monkeypatch)

    def test_an_export_that_is_stopped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def failure() -> None:
            raise KeyboardInterrupt

        self._fails_and_leaves_nothing(self._rows_then(failure), KeyboardInterrupt, monkeypatch)

    def test_a_save_that_fails(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from openpyxl.worksheet._writer import WorksheetWriter

        def full(_self: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(WorksheetWriter, "write_tail", full)  # inside the save, after the rows
        rows = iter([{"external_id": "VN-T-1", "full_name": "Nguyễn Thị Bí Mật"}])
        self._fails_and_leaves_nothing(rows, OSError, monkeypatch)  # and the archive closed: no "seek of closed file"

    def test_a_saved_export_leaves_nothing_either(self) -> None:
        on_disk = self._left_on_disk()
        body = b"".join(tabular.xlsx_bytes(iter([{"external_id": "VN-T-1", "full_name": "Nguyễn Thị Bí Mật"}]),
                                           "persons"))
        assert load_workbook(io.BytesIO(body)).worksheets[0]["B2"].value == "Nguyễn Thị Bí Mật"
        assert self._left_on_disk() - on_disk == set()


class TestRoundTrip:
    def test_csv_and_xlsx_exports_import_back_to_the_same_records(self, registry: Registry, fresh_registry) -> None:
        code = uniq("RT")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        _post(registry, "persons", _csv(code).encode(), "text/csv")
        h = registry.headers()
        csv_text = registry.client.get("/api/v1/exports/persons", params={"format": "csv", "lang": "vi"}, headers=h).text
        xlsx = registry.client.get("/api/v1/exports/persons", params={"format": "xlsx"}, headers=h).content
        units = registry.export("org-units")
        training = {kind: registry.export(kind) for kind in ("courses", "enrolments")}
        expected = registry.export("persons")
        assert len(list(load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0].iter_rows())) >= 3
        for body, ctype in ((csv_text.encode("utf-8"), "text/csv"), (xlsx, XLSX)):
            empty = fresh_registry()
            assert empty.import_lines("org-units", units)["errors"] == []
            report = _post(empty, "persons", body, ctype)
            assert report["errors"] == []
            # the shared registry holds other tests' completed enrolments: what they award is the enrolment's, never
            # the person's own, and comes back with them (planning.md: the record says where it came from)
            for kind, lines in training.items():
                assert empty.import_lines(kind, lines)["errors"] == [], kind
            assert empty.export("persons") == expected


def test_templates_have_the_documented_columns(registry: Registry) -> None:
    r = registry.client.get("/api/v1/templates/persons", params={"format": "csv", "lang": "vi"}, headers=registry.headers())
    # a UTF-8 byte order mark first (Excel reads the diacritics right); the example names codes in Vietnamese
    assert r.status_code == 200 and r.content.startswith("\ufeffMã định danh,Họ và tên,Ngày sinh".encode())
    example = r.content.decode("utf-8-sig").splitlines()[1]
    assert example.startswith("ST-000123,Thạch Thị Sa Rây,1987-03-09,Nữ,Khơ-me,"), example
    r = registry.client.get("/api/v1/templates/org-units", headers=registry.headers())
    assert load_workbook(io.BytesIO(r.content)).active["A1"].value == "Mã"


class TestSplitRecords:
    """A person's rows apart from one another (a sheet sorted by list, or by hand): each run was written as the whole
    record in turn, the last one replacing the first (an employment and its person's other rows deleted, no error).
    Now the record is refused whole, on its first row, naming every run; the records between are written."""

    def _rows(self, code: str) -> list[list[str]]:
        header = ["external_id", "full_name", "birth_date", "gender", "ethnicity", "list", "org_unit", "category",
                  "primary", "start", "level", "awarded_on"]
        return [header,
                [f"{code}-1", "Nguyễn Văn A", "1980-01-01", "male", "01", "employments", code, "cong_chuc", "true",
                 "2010-01-01", "", ""],
                [f"{code}-2", "Lê Thị B", "1981-01-01", "female", "01", "employments", code, "cong_chuc", "true",
                 "2011-01-01", "", ""],
                [f"{code}-1", "", "", "", "", "degrees", "", "", "", "", "master", "2012-06-01"],
                [f"{code}-3", "Trần C", "1982-01-01", "female", "01", "employments", code, "cong_chuc", "true",
                 "2012-01-01", "", ""],
                [f"{code}-1", "", "", "", "", "degrees", "", "", "", "", "bachelor", "2008-06-01"]]

    def _bodies(self, rows: list[list[str]]) -> list[tuple[bytes, str]]:
        csv_body = "\n".join(",".join(r) for r in rows).encode()
        book = Workbook()
        for r in rows:
            book.active.append(r)
        buffer = io.BytesIO()
        book.save(buffer)
        return [(csv_body, "text/csv"), (buffer.getvalue(), XLSX)]

    @pytest.mark.parametrize("form", ["csv", "xlsx"])
    @pytest.mark.parametrize("dry_run", [False, True])
    def test_a_person_whose_rows_are_apart_is_refused_whole_and_named(self, registry: Registry, form: str,
                                                                      dry_run: bool) -> None:
        code = uniq("SPL")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        before = registry.export("persons")
        body, ctype = self._bodies(self._rows(code))[form == "xlsx"]
        report = _post(registry, "persons", body, ctype, dry_run=dry_run)
        assert (report["created"], report["failed"]) == (2, 1), report
        [error] = report["errors"]
        assert (error["line"], error["external_id"], error["error"], error["row"], error["cell"]) == \
            (2, f"{code}-1", "split_record", 2, "A2"), error
        assert "rows 2, 4, 6" in error["message"] and "sort the sheet by external_id" in error["message"]
        h = registry.headers()
        assert registry.client.get(f"/api/v1/persons/{code}-1", headers=h).status_code == 404
        if dry_run:
            assert registry.export("persons") == before
        else:
            for n in (2, 3):
                assert registry.client.get(f"/api/v1/persons/{code}-{n}", headers=h).status_code == 200

    def test_a_row_without_a_key_between_two_runs_splits_them(self, registry: Registry) -> None:
        code = uniq("SPL")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        rows = self._rows(code)
        rows[2][0] = ""  # B's row lost its id: it still separates A's rows
        report = _post(registry, "persons", self._bodies(rows[:4])[0][0], "text/csv")
        assert "split_record" in {e["error"] for e in report["errors"]}, report
        assert registry.client.get(f"/api/v1/persons/{code}-1", headers=registry.headers()).status_code == 404

    def test_an_existing_person_keeps_their_record(self, registry: Registry) -> None:
        """Before, the last run replaced the stored record: the employment was deleted by an 'update'."""
        code = uniq("SPL")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        rows = self._rows(code)
        assert _post(registry, "persons", self._bodies(rows[:2])[0][0], "text/csv")["created"] == 1
        stored = registry.client.get(f"/api/v1/persons/{code}-1", headers=registry.headers()).json()
        report = _post(registry, "persons", self._bodies(rows[:4])[0][0], "text/csv")
        assert [e["error"] for e in report["errors"]] == ["split_record"] and report["updated"] == 0, report
        assert registry.client.get(f"/api/v1/persons/{code}-1", headers=registry.headers()).json() == stored

    def test_sorted_rows_and_org_units_read_as_before(self, registry: Registry) -> None:
        code = uniq("SPL")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        rows = self._rows(code)
        ordered = [rows[0], rows[1], rows[3], rows[5], rows[2], rows[4]]
        report = _post(registry, "persons", self._bodies(ordered)[1][0], XLSX)
        assert (report["created"], report["errors"]) == (3, []), report
        person = registry.client.get(f"/api/v1/persons/{code}-1", headers=registry.headers()).json()
        assert person["employments"] and {d["level"] for d in person["degrees"]} == {"master", "bachelor"}
        units = ("code,name,kind,tier,sector,valid_from,parent_code,parent_start\n"
                 f"{code}-U,Xã U,area,commune,state,2000-01-01,{code},2000-01-01\n"
                 f"{code}-V,Xã V,area,commune,state,2000-01-01,{code},2000-01-01\n"
                 f"{code}-U,,,,,,{code}-V,2010-01-01\n")
        report = _post(registry, "org-units", units.encode(), "text/csv")
        assert [(e["code"], e["error"]) for e in report["errors"]] == [(f"{code}-U", "split_record")], report


class TestCostlyXml:
    """A workbook whose XML holds one huge token (a comment, an attribute, a processing instruction) took this expat
    (2.5) time growing with the square of the token: a 37 KB upload, 66 s of a worker; a 310 KB one, over 14 minutes.
    It is refused before parsing, and a workbook as Excel or openpyxl write it is read as before."""

    def _book(self, code: str, change: Callable[[bytes], bytes]) -> bytes:
        import zipfile

        book = Workbook()
        book.active.append(["code", "name", "kind", "tier", "sector", "valid_from"])
        book.active.append([code, "Xã Bom", "area", "commune", "state", "2000-01-01"])
        plain = io.BytesIO()
        book.save(plain)
        out = io.BytesIO()
        with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for name in source.namelist():
                data = source.read(name)
                target.writestr(name, change(data) if name == "xl/worksheets/sheet1.xml" else data)
        return out.getvalue()

    @pytest.mark.parametrize("change", [
        lambda d: d.replace(b"</worksheet>", b"<!--" + b"0" * (8 << 20) + b"--></worksheet>"),
        lambda d: d.replace(b"</worksheet>", b"<!-- -->" + b"</worksheet>"),
        lambda d: d.replace(b"</worksheet>", b"<?pi " + b"<" * (4 << 20) + b"?></worksheet>"),
        lambda d: d.replace(b"<worksheet ", b'<worksheet x="' + b"a" * (3 << 20) + b'" '),
        lambda d: d.replace(b"</worksheet>", b" " * (2 << 20) + b"</worksheet>"),
    ], ids=["an 8 MB comment", "a comment", "a processing instruction", "a 3 MB attribute", "2 MB of blanks"])
    def test_a_costly_workbook_is_refused_before_it_is_parsed(self, registry: Registry,
                                                              change: Callable[[bytes], bytes]) -> None:
        import time

        code = uniq("BOM")
        body = self._book(code, change)
        assert len(body) < 200_000
        before = registry.export("org-units")
        started = time.monotonic()
        r = registry.client.post("/api/v1/imports/org-units", content=body,
                                 headers=registry.headers() | {"Content-Type": XLSX})
        assert time.monotonic() - started < 5  # the 8 MB comment alone took 3.5 s to parse; 32 MB, 66 s
        assert (r.status_code, r.json()["code"]) == (422, "invalid_xlsx"), r.text
        assert "sheet1.xml" in r.json()["detail"]
        assert registry.export("org-units") == before

    @pytest.mark.parametrize("name, data", [
        ("xl/worksheets/sheet9.XML", b"<worksheet><!--" + b"0" * 4096 + b"--></worksheet>"),  # any name: rels choose
        ("xl/custom.bin", b"  \n<x><!-- -->" + b"</x>"),
        ("xl/worksheets/sheet8.xml", "<worksheet><!--x--></worksheet>".encode("utf-16")),  # with its byte order mark
        ("xl/worksheets/sheet7.xml", "<worksheet><!--x--></worksheet>".encode("utf-16-le")),
        ("xl/worksheets/sheet6.xml", b" " * (2 << 20) + b"<a/>"),  # blanks first: still XML, still too long
    ], ids=["upper-case name", "a .bin holding XML", "UTF-16", "UTF-16 without a mark", "leading blanks"])
    def test_every_part_that_may_be_parsed_is_checked(self, registry: Registry, name: str, data: bytes) -> None:
        """The review's bypasses: a part named other than *.xml (openpyxl finds a sheet through the relationships),
        and a UTF-16 part, whose comment is no UTF-8 `<!--`."""
        import zipfile

        code = uniq("BOM")
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(self._book(code, lambda d: d))) as source, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.namelist():
                target.writestr(item, source.read(item))
            target.writestr(name, data)
        r = registry.client.post("/api/v1/imports/org-units", content=out.getvalue(),
                                 headers=registry.headers() | {"Content-Type": XLSX})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_xlsx"), r.text
        assert name in r.json()["detail"]

    def test_a_part_that_is_not_xml_is_left_alone(self, registry: Registry) -> None:
        import random
        import zipfile

        code = uniq("BOM")
        noise = random.Random(7).randbytes(1 << 20)
        assert b"<?" in noise  # a picture's bytes hold what would be an instruction in XML
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(self._book(code, lambda d: d))) as source, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.namelist():
                target.writestr(item, source.read(item))
            target.writestr("xl/media/image1.png", b"\x89PNG\r\n\x1a\n" + noise)
        report = _post(registry, "org-units", out.getvalue(), XLSX)
        assert (report["created"], report["errors"]) == (1, []), report

    def test_a_plain_workbook_with_a_long_cell_is_read(self, registry: Registry) -> None:
        code = uniq("BOM")
        body = self._book(code, lambda d: d)
        report = _post(registry, "org-units", body, XLSX)
        assert (report["created"], report["errors"]) == (1, []), report
        declared = b"\xef\xbb\xbf<?xml version='1.0'?>\n<a>"
        assert tabular._xml_problem(io.BytesIO(declared + b"x" * ((1 << 20) - 8) + b"</a>")) is None
        assert tabular._xml_problem(io.BytesIO(b"<a>" + b"x" * ((1 << 20) + 1) + b"</a>")) is not None
        pieces = b"<r>" + b"<c>" + b"y" * 700_000 + b"</c>" + b"<c>" + b"z" * 700_000 + b"</c></r>"
        assert tabular._xml_problem(io.BytesIO(pieces)) is None  # tokens across the 1 MiB chunk: each under the limit


class TestNothingDroppedSilently:
    """A column the import does not read, a column given twice, a value past the header: dropped before (a second
    `full_name` replaced the first, a `nickname` vanished), against "nothing sent is silently dropped"."""

    @pytest.mark.parametrize("form", ["csv", "xlsx"])
    @pytest.mark.parametrize("header, code, column", [
        ("code,name,nickname,kind,tier,sector,valid_from", "unknown_column", "C"),
        ("code,name,kind,tier,sector,valid_from,Tên", "duplicate_column", "G"),
        ("code,name,kind,tier,sector,valid_from,=HYPERLINK(\"http://x\")", "unknown_column", "G"),
    ])
    def test_a_header_the_import_cannot_read_is_refused_before_any_write(
            self, registry: Registry, form: str, header: str, code: str, column: str) -> None:
        if form == "xlsx" and "=" in header:
            code, column = "invalid_xlsx", "G"  # in a workbook, a formula without its result (TestFormulasWithout...)
        unit = uniq("HD")
        line = f"{unit},Xã Một,Nữ,area,commune,state,2000-01-01" if "nickname" in header \
            else f"{unit},Xã Một,area,commune,state,2000-01-01,Xã Hai"
        body, ctype = (header + "\n" + line + "\n").encode(), "text/csv"
        if form == "xlsx":
            book = Workbook()
            for text in (header, line):
                book.active.append(text.split(","))
            buffer = io.BytesIO()
            book.save(buffer)
            body, ctype = buffer.getvalue(), XLSX
        before = registry.export("org-units")
        r = registry.client.post("/api/v1/imports/org-units", content=body,
                                 headers=registry.headers() | {"Content-Type": ctype})
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
        if code == "invalid_xlsx":
            assert f"cell {column}1 holds a formula" in r.json()["detail"]
        else:
            assert [e["column"] for e in r.json()["errors"]] == [column]
        assert registry.export("org-units") == before

    @pytest.mark.parametrize("form", ["csv", "xlsx"])
    def test_a_value_past_the_header_refuses_its_record_only(self, registry: Registry, form: str) -> None:
        a, b = uniq("ST"), uniq("ST")
        rows = [["code", "name", "kind", "tier", "sector", "valid_from", ""],
                [a, "Xã A", "area", "commune", "state", "2000-01-01", "ghi chú"],
                [b, "Xã B", "area", "commune", "state", "2000-01-01", ""]]
        if form == "csv":
            body, ctype = "\n".join(",".join(r) for r in rows).encode() + b"\n", "text/csv"
        else:
            book = Workbook()
            for r in rows:
                book.active.append(r)
            buffer = io.BytesIO()
            book.save(buffer)
            body, ctype = buffer.getvalue(), XLSX
        report = _post(registry, "org-units", body, ctype)
        assert (report["created"], report["failed"]) == (1, 1), report
        [error] = report["errors"]
        assert (error["code"], error["cell"], error["row"]) == (a, "G2", 2) and "under no column" in error["message"]
        h = registry.headers()
        assert registry.client.get(f"/api/v1/org-units/{a}", headers=h).status_code == 404
        assert registry.client.get(f"/api/v1/org-units/{b}", headers=h).status_code == 200

    def test_blank_header_cells_and_trailing_empty_cells_are_fine(self, registry: Registry) -> None:
        unit = uniq("BL")
        body = f"code,name,kind,tier,sector,valid_from,,\n{unit},Xã Ba,area,commune,state,2000-01-01,,\n"
        assert _post(registry, "org-units", body.encode(), "text/csv")["created"] == 1


@pytest.mark.parametrize("value", [1e16, 1e308, -2.5e20])
def test_a_large_figure_read_back_from_its_csv_and_xlsx_exports(registry: Registry, value: float) -> None:
    """A statistic of 1e16 is kept from JSON Lines and exported as 1e+16; read back from CSV it became the integer
    10000000000000000, refused as too large to keep exactly: the record was lost on the round trip."""
    code = uniq("BIG")
    registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
    line = json.dumps({"code": "population", "org_unit": code, "period": "2019", "value": value, "source": "GSO"})
    assert registry.import_lines("statistics", [line])["errors"] == []
    h = registry.headers()
    for fmt, ctype in (("csv", "text/csv"), ("xlsx", XLSX)):
        exported = registry.client.get("/api/v1/exports/statistics", params={"format": fmt}, headers=h)
        assert exported.status_code == 200
        report = _post(registry, "statistics", exported.content, ctype)
        assert report["errors"] == [] and report["failed"] == 0, (fmt, report)
    back = [json.loads(x) for x in registry.export("statistics").splitlines() if code in x]
    assert [s["value"] for s in back] == [value]


def test_a_json_lines_file_saved_with_a_byte_order_mark_loses_no_record(registry: Registry) -> None:
    code = uniq("BOM")
    body = "\ufeff" + json.dumps(_unit(code), ensure_ascii=False) + "\n"
    report = registry.import_lines("org-units", body)
    assert (report["created"], report["errors"]) == (1, []), report
    again = registry.import_lines("org-units", "\n\ufeff" + json.dumps(_unit(code), ensure_ascii=False) + "\n")
    assert again["errors"][0]["line"] == 2  # only a file's first bytes are its mark: elsewhere it is an error


class TestFormulasWithoutResults:
    """The interchange review: a formula written by a program that does not calculate (openpyxl writes `<v />`) was
    read as an empty cell, so an employment's end (`=DATE(2020,1,1)`) became open and a degree's field vanished,
    with no error. Such a workbook is refused, naming the cell; a formula with its saved result (as Excel and
    LibreOffice write it) is read for that result."""

    def _workbook(self, code: str, formula: str) -> bytes:
        book = Workbook()
        book.active.append(["code", "name", "kind", "tier", "sector", "valid_from"])
        book.active.append([code, formula, "area", "commune", "state", "2000-01-01"])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    @pytest.mark.parametrize("formula", ['="Xã " & "Mới"', "=DATE(2020,1,1)", "=B1"])
    def test_a_formula_without_its_result_is_refused_naming_the_cell(self, registry: Registry, formula: str) -> None:
        code = uniq("FX")
        before = registry.export("org-units")
        r = registry.client.post("/api/v1/imports/org-units", content=self._workbook(code, formula),
                                 headers=registry.headers() | {"Content-Type": XLSX})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_xlsx"), r.text
        assert "cell B2 holds a formula without its result" in r.json()["detail"]
        assert registry.export("org-units") == before

    def test_a_formula_with_its_saved_result_is_read_for_it(self, registry: Registry) -> None:
        import zipfile

        code = uniq("FX")
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(self._workbook(code, '="Xã " & "Mới"'))) as source, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for name in source.namelist():
                data = source.read(name)
                if name == "xl/worksheets/sheet1.xml":  # as Excel saves it: the formula and its result
                    data = data.replace(b"<v />", '<v>Xã Mới</v>'.encode()).replace(b'<c r="B2">', b'<c r="B2" t="str">')
                target.writestr(name, data)
        report = _post(registry, "org-units", out.getvalue(), XLSX)
        assert (report["created"], report["errors"]) == (1, []), report
        got = registry.client.get(f"/api/v1/org-units/{code}", headers=registry.headers()).json()
        assert got["name"] == "Xã Mới"
