"""Spreadsheets may name codes ("Nữ", "Khơ-me", "Cao cấp"); the ethnicity list names its code system and
maps the GSO's other numbering (spec revision 2, point 16)."""

import io
import json

import pytest
import yaml
from openpyxl import Workbook

from app.services.labels import key
from tests.conftest import Registry, uniq

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = "external_id,full_name,birth_date,gender,ethnicity,list,org_unit,category,primary,start,level,awarded_on\n"


def _unit(code: str) -> dict[str, object]:
    return {"code": code, "name": "Xã Tên Mã", "kind": "area", "tier": "commune", "sector": "state",
            "valid_from": "2000-01-01", "parents": []}


def _post(registry: Registry, kind: str, body: bytes, ctype: str) -> dict:
    r = registry.client.post(f"/api/v1/imports/{kind}", content=body, headers=registry.headers() | {"Content-Type": ctype})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _person(registry: Registry, external_id: str) -> dict:
    r = registry.client.get(f"/api/v1/persons/{external_id}", headers=registry.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


NAMED = [  # (gender cell, ethnicity cell, category cell, political theory cell) -> codes
    (("Nữ", "Khơ-me", "Công chức", "Cao cấp"), ("female", "05", "cong_chuc", "cao_cap")),
    (("nu", "KHO ME", "cong chuc", "cao cap"), ("female", "05", "cong_chuc", "cao_cap")),
    (("Nam", "Khmer", "cong_chuc", "cao_cap"), ("male", "05", "cong_chuc", "cao_cap")),
    (("Female", "Mông", "Công chức", "Trung cấp"), ("female", "08", "cong_chuc", "trung_cap")),
    (("male", "H'Mông", "Công chức", "Sơ cấp"), ("male", "08", "cong_chuc", "so_cap")),
    (("NỮ", "Ê Đê", "Công chức", "Cao cấp"), ("female", "12", "cong_chuc", "cao_cap")),
    (("Nam", "Kinh (Việt)", "Công chức", "Cao cấp"), ("male", "01", "cong_chuc", "cao_cap")),
    (("Nam", "tay", "Công chức", "Cao cấp"), ("male", "02", "cong_chuc", "cao_cap")),
]


def _rows(code: str) -> list[list[str]]:
    rows = []
    for i, ((gender, ethnicity, category, theory), _codes) in enumerate(NAMED, 1):
        rows.append([f"{code}-{i}", "Thạch Thị Sa Rây", "1980-01-01", gender, ethnicity, "employments", code, category,
                     "có", "2010-01-01", "", ""])
        rows.append([f"{code}-{i}", "", "", "", "", "political_theory", "", "", "", "", theory, "2015-07-01"])
    return rows


class TestSpreadsheetNames:
    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_labels_and_other_names_become_codes(self, registry: Registry, fmt: str) -> None:
        code = uniq("NM")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        rows = _rows(code)
        if fmt == "csv":
            body, ctype = (HEADER + "".join(",".join(r) + "\n" for r in rows)).encode(), "text/csv"
        else:
            book = Workbook()
            sheet = book.active
            sheet.append(HEADER.strip().split(","))
            for r in rows:
                sheet.append(r)
            buffer = io.BytesIO()
            book.save(buffer)
            body, ctype = buffer.getvalue(), XLSX
        report = _post(registry, "persons", body, ctype)
        assert report["errors"] == [] and report["created"] == len(NAMED), report
        for i, (_cells, (gender, ethnicity, category, theory)) in enumerate(NAMED, 1):
            person = _person(registry, f"{code}-{i}")
            got = (person["gender"], person["ethnicity"], person["employments"][0]["category"],
                   person["political_theory"][0]["level"])
            assert got == (gender, ethnicity, category, theory), (i, got)

    def test_an_unknown_or_shared_name_is_an_error_on_its_cell_and_the_rest_is_written(self, registry: Registry) -> None:
        code = uniq("NM")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        csv = HEADER + (
            f"{code}-1,Lê Văn A,1980-01-01,Nam,Khơ-me,employments,{code},cong_chuc,có,2010-01-01,,\n"
            f"{code}-2,Lê Văn B,1980-01-01,Nữ,Sao Hỏa,employments,{code},cong_chuc,có,2010-01-01,,\n"
            f"{code}-3,Lê Văn C,1980-01-01,=HYPERLINK(1),01,employments,{code},cong_chuc,có,2010-01-01,,\n"
            f"{code}-4,Lê Văn D,1980-01-01,Nữ\u0007,01,employments,{code},cong_chuc,có,2010-01-01,,\n"
        )
        report = _post(registry, "persons", csv.encode(), "text/csv")
        assert report["created"] == 1, report
        cells = {(e["line"], e["cell"]) for e in report["errors"]}
        assert (3, "E3") in cells and (4, "D4") in cells and (5, "D5") in cells, report
        messages = {e["cell"]: e["message"] for e in report["errors"]}
        assert "'Sao Hỏa' is not a code" in messages["E3"] and "'=HYPERLINK(1)' is not a code" in messages["D4"], messages
        assert "control" in messages["D5"], messages  # refused, not matched to "Nữ" by dropping the character
        for n in (2, 3, 4):
            assert registry.client.get(f"/api/v1/persons/{code}-{n}", headers=registry.headers()).status_code == 404

    def test_org_unit_kind_tier_and_sector_by_name(self, registry: Registry) -> None:
        code = uniq("NU")
        csv = ("code,name,kind,tier,sector,ethnic_contact,valid_from\n"
               f"{code},Xã Tham Đôn,Đơn vị hành chính,Cấp xã,Khối chính quyền,có,2004-01-01\n")
        report = _post(registry, "org-units", csv.encode(), "text/csv")
        assert report["errors"] == [] and report["created"] == 1, report
        unit = registry.client.get(f"/api/v1/org-units/{code}", headers=registry.headers()).json()
        assert (unit["kind"], unit["tier"], unit["sector"]) == ("area", "commune", "state")

    def test_json_lines_keep_the_contracts_codes_with_a_clear_message(self, registry: Registry) -> None:
        code = uniq("NM")
        registry.import_lines("org-units", [json.dumps(_unit(code), ensure_ascii=False)])
        record = {"external_id": f"{code}-J", "full_name": "Lê Thị Nữ", "birth_date": "1980-01-01", "gender": "Nữ",
                  "employments": [{"org_unit": code, "category": "cong_chuc", "start": "2010-01-01"}]}
        report = registry.import_lines("persons", [json.dumps(record, ensure_ascii=False)])
        [error] = report["errors"]
        assert error["field"] == "gender" and "not a code" in error["message"] and "female" in error["message"]
        record["gender"] = "woman"
        [error] = registry.import_lines("persons", [json.dumps(record, ensure_ascii=False)])["errors"]
        assert error["field"] == "gender" and "female (Nữ)" in error["message"] and "male (Nam)" in error["message"]


class TestEthnicitySystems:
    def test_the_list_names_its_system_and_maps_the_2008_numbering(self, registry: Registry) -> None:
        r = registry.client.get("/api/v1/code-lists/ethnicity", headers=registry.headers())
        assert r.status_code == 200
        body = r.json()
        assert "121-TCTK/PPCĐ" in body["system"]["vi"] and body["system"]["sources"]
        [mapping] = body["mappings"]
        assert "1019/QĐ-TCTK" in mapping["vi"] and mapping["sources"]
        rows = {row["code"]: row for row in mapping["rows"]}
        assert len(rows) == 54 and sorted(row["registry"] for row in rows.values()) == [f"{i:02d}" for i in range(1, 55)]
        # the rows read in the published copies: 01 Kinh, 02 Tày, 03 Thái, 04 Mường, 05 Khơ me, 06 Hoa, ...
        assert [rows[c]["registry"] for c in ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10")] == \
            ["01", "02", "03", "06", "05", "04", "07", "08", "09", "10"]
        assert all(rows[f"{i:02d}"]["confirmed"] for i in range(1, 21))
        assert not any(rows[f"{i:02d}"]["confirmed"] for i in range(21, 55))  # said so, not guessed silently
        labels = {c["code"]: c for c in body["codes"]}
        aliases = body["aliases"]
        for row in rows.values():  # every row's name is the registry group's label or one of its other names
            names = {key(labels[row["registry"]]["vi"]), key(labels[row["registry"]]["en"])}
            names |= {key(a) for a in aliases.get(row["registry"], [])}
            assert key(row["name"]) in names, row
        listed = registry.client.get("/api/v1/code-lists", headers=registry.headers()).json()
        assert listed["systems"]["ethnicity"]["code"] == "tctk_1979"

    def test_no_name_belongs_to_two_groups(self) -> None:
        from app.services.codelists import DATA

        lists = yaml.safe_load((DATA / "codelists.yaml").read_text(encoding="utf-8"))
        systems = yaml.safe_load((DATA / "ethnicity_systems.yaml").read_text(encoding="utf-8"))
        owner: dict[str, set[str]] = {}
        for item in lists["ethnicity"]:
            for name in [item["vi"], item["en"], *systems["aliases"].get(item["code"], [])]:
                owner.setdefault(key(name), set()).add(item["code"])
        assert {k: v for k, v in owner.items() if len(v) > 1} == {}
