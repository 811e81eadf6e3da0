"""GET /training-needs.xlsx: the workbook holds the JSON answer's figures for the same parameters and the same token
(persons for the roles that see them, counts with suppression for the others), refuses what the JSON route refuses,
and writes names as text: never a formula, diacritics intact."""

import io
import json
import zipfile
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from app.services.text import restore
from tests.api.factories import create_person
from tests.api.test_training_needs import Hand, _leader
from tests.conftest import Registry

URL = "/api/v1/training-needs"
ON = {"as_of": "2026-12-05", "before": "2026-12-31"}
INDICATOR = "ST-2025-PD-STAFF-POSTGRAD"
HOSTILE = ['=HYPERLINK("x")', "+1", "@SUM(A1)"]
VIETNAMESE = "Nguyễn Thị Ánh Tuyết Đặng"
FIRST = 7  # the first data row: title rows, an empty row, the Vietnamese and the English headers


class World(Hand):
    """Hand's province, and four more leaders of A with a bachelor only (so outside the postgraduate indicator's
    numerator too), three named as formulas would be, one with every kind of Vietnamese diacritic."""

    def __init__(self, registry: Registry) -> None:
        super().__init__(registry)
        self.named = {f"{self.root}-Q{i}": name for i, name in enumerate([*HOSTILE, VIETNAMESE])}
        for pid, name in self.named.items():
            create_person(registry, json.loads(_leader(pid, self.a, degree="bachelor")) | {"full_name": name})


@pytest.fixture
def world(registry: Registry) -> World:
    return World(registry)


def _both(world: World, token: str, **params: str) -> tuple[dict[str, Any], Workbook, Any]:
    """The JSON answer and the workbook for the same token and parameters."""
    headers = world.registry.headers(token)
    answer = world.registry.client.get(URL, params=params, headers=headers)
    book = world.registry.client.get(f"{URL}.xlsx", params=params, headers=headers)
    assert answer.status_code == book.status_code == 200, (answer.text, book.text)
    return answer.json(), load_workbook(io.BytesIO(book.content)), book


def _data(ws: Worksheet) -> list[list[Any]]:
    """The numbered rows below the headers."""
    rows = [list(r) for r in ws.iter_rows(min_row=FIRST, values_only=True)]
    return [r for r in rows if isinstance(r[0], int)]


def _code(need: dict[str, Any]) -> str:
    return need["indicator"] if need["kind"] == "indicator" else f"{need['qualification']}: {need['level']}"


def _shown(value: int | None, group: dict[str, Any]) -> int | str:
    if value is not None:
        return value
    return "•" if group.get("suppressed") else "—"


def _summary_as_answered(answer: dict[str, Any]) -> list[list[Any]]:
    return [[i, _code(g["need"]), _shown(g["persons"], g), _shown(g["enrolled_before"], g)]
            for i, g in enumerate(answer["groups"], start=1)]


def _members_as_answered(answer: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(m["external_id"], m["full_name"], _code(g["need"])) for g in answer["groups"] for m in g["members"]]


def _total(ws: Worksheet) -> list[Any]:
    return next(list(r) for r in ws.iter_rows(min_row=FIRST, values_only=True) if r[1] == "Tổng cộng (total)")


@pytest.mark.parametrize("role", ["admin", "hr_officer", "auditor"])
def test_named_roles_get_the_json_answers_figures_and_persons(world: World, role: str) -> None:
    token = world.registry.token(role, [world.a])
    answer, book, r = _both(world, token, org_unit=world.a, indicator=INDICATOR, **ON)
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert r.headers["content-disposition"] == f'attachment; filename="nhu-cau-dao-tao-{world.a}-2026-12-05.xlsx"'
    assert book.sheetnames == ["Tổng hợp", "Danh sách"]
    summary = _data(book["Tổng hợp"])
    assert [[row[0], row[2], row[3], row[4]] for row in summary] == _summary_as_answered(answer)
    assert any(g["need"]["kind"] == "indicator" and g["persons"] == 4 for g in answer["groups"])
    labels = {row[2]: row[1] for row in summary}
    assert labels["political_theory: cao_cap"] == "Lý luận chính trị: Cao cấp"
    assert labels["state_management: chuyen_vien_chinh"] == "Quản lý nhà nước: Chuyên viên chính"
    assert labels[INDICATOR].startswith("Ngoài tử số của chỉ tiêu: ")
    assert _total(book["Tổng hợp"])[3] == sum(g["persons"] for g in answer["groups"])
    members = _data(book["Danh sách"])
    listed = [(row[1], restore(row[2]), row[5].rsplit(" (", 1)[1].rstrip(")")) for row in members]
    assert listed == _members_as_answered(answer)
    cao_cap = next(row for row in members if row[1] == world.p[0])
    assert cao_cap[3:] == [world.a, "Trung cấp", "Lý luận chính trị: Cao cấp (political_theory: cao_cap)",
                           f"Chức vụ: Giám đốc sở và tương đương (department_head), {world.a}"]


def test_integration_gets_counts_only_with_the_small_groups_marked(world: World) -> None:
    token = world.registry.token("integration", [world.root])
    answer, book, _r = _both(world, token, org_unit=world.a, indicator=INDICATOR, **ON)
    assert book.sheetnames == ["Tổng hợp"]
    ws = book["Tổng hợp"]
    summary = _data(ws)
    assert [[row[0], row[2], row[3], row[4]] for row in summary] == _summary_as_answered(answer)
    by_code = {row[2]: row[3:] for row in summary}
    assert by_code["political_theory: cao_cap"] == [10, 2]
    assert by_code["state_management: chuyen_vien_chinh"] == ["•", "•"]
    assert by_code[INDICATOR] == ["•", "•"]  # four outside the numerator: fewer than the threshold
    assert _total(ws)[3:] == [10, 2]  # suppressed cells are not in the totals
    texts = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "• Nhóm dưới 5 người không hiển thị" in texts
    assert all(pid not in texts for pid in [*world.p, *world.named])
    assert all(name not in texts for name in world.named.values())


@pytest.mark.parametrize("role", ["admin", "hr_officer", "auditor", "integration"])
def test_out_of_scope_is_refused_as_the_json_route_refuses(world: World, role: str) -> None:
    headers = world.registry.headers(world.registry.token(role, [world.b]))
    for unit in (world.a, world.root):
        answer = world.registry.client.get(URL, params={"org_unit": unit, **ON}, headers=headers)
        book = world.registry.client.get(f"{URL}.xlsx", params={"org_unit": unit, **ON}, headers=headers)
        assert (book.status_code, book.json()["code"]) == (answer.status_code, answer.json()["code"]) == (403,
                                                                                                          "out_of_scope")
        assert all(pid not in book.text for pid in world.p)


@pytest.mark.parametrize("params", [{"org_unit": "NO-SUCH-UNIT"}, {"indicator": "CT-2025-MASTERS-PHD-INFLOW"},
                                    {"indicator": "NO-SUCH-INDICATOR"}, {"before": "yesterday"}])
def test_bad_parameters_answer_what_the_json_route_answers(world: World, params: dict[str, str]) -> None:
    sent = {"org_unit": world.a, **ON} | params
    answer = world.registry.client.get(URL, params=sent, headers=world.registry.headers())
    book = world.registry.client.get(f"{URL}.xlsx", params=sent, headers=world.registry.headers())
    assert answer.status_code >= 400
    assert (book.status_code, book.json()["code"]) == (answer.status_code, answer.json()["code"])


def test_names_are_text_never_formulas_and_keep_their_diacritics(world: World) -> None:
    _answer, book, r = _both(world, world.registry.token("hr_officer", [world.a]), org_unit=world.a, **ON)
    cells = [c for row in book["Danh sách"].iter_rows(min_row=FIRST) for c in row if c.value is not None]
    names = {c.value for c in cells if c.column == 3}
    assert {f"'{n}" for n in HOSTILE} | {VIETNAMESE} <= names
    assert all(c.data_type in ("s", "n") for c in cells)
    with zipfile.ZipFile(io.BytesIO(r.content)) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in package.read(n) and b"<f " not in package.read(n) for n in sheets)
    strings = [v for ws in book for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert not [v for v in strings if v.startswith(("=", "+", "-", "@"))]
    assert "Họ và tên" in strings and any(f"Đơn vị {world.a} ({world.a})" in v for v in strings)


def test_the_title_rows_say_the_unit_the_dates_and_when(world: World) -> None:
    _answer, book, _r = _both(world, world.registry.token("admin", [world.root]), org_unit=world.a, **ON)
    title = [book["Tổng hợp"].cell(row, 1).value for row in (1, 2, 3)]
    assert title[0] == f"Nhu cầu đào tạo, bồi dưỡng — Đơn vị {world.a} ({world.a})"
    assert "Tính đến ngày 05/12/2026" in title[1] and "trước ngày 31/12/2026" in title[1]
    assert "giờ Việt Nam UTC+7" in title[2] and "+07:00)" in title[2]
    assert [book["Danh sách"].cell(row, 1).value for row in (1, 2, 3)] == title


def test_as_of_defaults_to_today_in_the_file_name(world: World) -> None:
    r = world.registry.client.get(f"{URL}.xlsx", params={"org_unit": world.a}, headers=world.registry.headers())
    assert r.status_code == 200
    assert f"nhu-cau-dao-tao-{world.a}-{date.today().isoformat()}.xlsx" in r.headers["content-disposition"]
