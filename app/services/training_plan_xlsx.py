"""The XLSX of a training plan with its actuals and need, as an HR office sends it up: Vietnamese first, English second."""

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgUnit, OrgUnitVersion
from app.services import codelists
from app.services.codelists import CodeBook
from app.services.indicators import service
from app.services.text import neutralise
from app.services.training_plans import AWARD_CODE_LISTS

BOLD = Font(bold=True)
# (key, Vietnamese, English); the figures are number cells
COLUMNS = (("no", "STT", "No."), ("kind_label", "Loại đào tạo, bồi dưỡng", "Course kind"),
           ("kind", "Mã loại", "Kind code"), ("award_label", "Trình độ, chứng chỉ đạt được", "Level awarded"),
           ("seats", "Chỉ tiêu (người)", "Planned seats"), ("budget", "Kinh phí dự kiến (đồng)", "Planned budget (VND)"),
           ("enrolled", "Đã cử đi học", "Enrolled"), ("completed", "Đã hoàn thành", "Completed"),
           ("spent", "Kinh phí đã chi (đồng)", "Spent (VND)"), ("need", "Nhu cầu (người còn thiếu)", "Need (persons missing)"))
LIST_VI = {"degrees": "Trình độ chuyên môn", "languages": "Ngoại ngữ", "political_theory": "Lý luận chính trị",
           "state_management": "Quản lý nhà nước", "specialties": "Chuyên khoa", "it_skills": "Tin học"}
SUPPRESSED = "•"  # a withheld count (a need, a group of the needs workbook)
FIGURES = ("seats", "budget", "enrolled", "completed", "spent", "need")


def put(ws: Worksheet, row: int, col: int, value: Any) -> None:
    """A cell: numbers as numbers, text as typed text never read as a formula (a leading quote, as every export)."""
    cell = ws.cell(row, col)
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value))
        cell.data_type = "s"
    else:
        cell.value = value
        if isinstance(value, int):
            cell.number_format = "#,##0"


def award_label(book: CodeBook, awards: dict[str, Any] | None) -> str:
    if not awards:
        return "Bất kỳ (any)"
    name, item = next(iter(awards.items()))
    code = book.get(AWARD_CODE_LISTS.get(name, ""), str(item.get("level")))
    return f"{LIST_VI.get(name, name)}: {code.vi if code else item.get('level')}"


def unit_name(session: Session, code: str) -> str:
    found = session.scalar(select(OrgUnitVersion.name).join(OrgUnit, OrgUnit.id == OrgUnitVersion.org_unit_id)
                           .where(OrgUnit.code == code, OrgUnitVersion.sys_to.is_(None)))
    return found or code


def workbook(session: Session, plan: dict[str, Any]) -> bytes:
    """One sheet: title, the plan's lines with their figures, totals and the enrolments no line plans."""
    book = codelists.load(session)
    out = Workbook()
    ws = out.active
    assert ws is not None
    ws.title = f"Kế hoạch {plan['year']}"
    put(ws, 1, 1, f"Kế hoạch đào tạo, bồi dưỡng năm {plan['year']} — {unit_name(session, plan['org_unit'])}")
    ws["A1"].font = Font(bold=True, size=14)
    put(ws, 2, 1, f"Annual training plan {plan['year']}, {plan['org_unit']}; nhu cầu tính đến ngày (need on) "
                  f"{plan['need_on']}; ghi nhận lúc (recorded at) {plan['recorded_at']}")
    for col, (_key, vi, en) in enumerate(COLUMNS, start=1):
        put(ws, 4, col, vi)
        put(ws, 5, col, en)
        ws.cell(4, col).font = BOLD
        ws.cell(4, col).alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(col)].width = 30 if col in (2, 4) else 16
    row = 5
    for i, line in enumerate(plan["lines"], start=1):
        row += 1
        kind = book.get("course_kind", line["kind"])
        values = {"no": i, "kind_label": kind.vi if kind else line["kind"], "kind": line["kind"],
                  "award_label": award_label(book, line["awards"])} | {k: line[k] for k in FIGURES}
        if line.get("need_suppressed"):
            values["need"] = SUPPRESSED
        for col, (key, _vi, _en) in enumerate(COLUMNS, start=1):
            put(ws, row, col, values[key])
    for label, figures in (("Tổng cộng (total)", plan["totals"]), ("Ngoài kế hoạch (not planned)", plan["unmatched"])):
        row += 1
        put(ws, row, 2, label)
        ws.cell(row, 2).font = BOLD
        for col, (key, _vi, _en) in enumerate(COLUMNS, start=1):
            if key in figures:
                put(ws, row, col, figures[key])
    if any(line.get("need_suppressed") for line in plan["lines"]):
        row += 2
        put(ws, row, 1, f"{SUPPRESSED} ẩn (hidden): nhu cầu dưới {service.threshold()} người, không hiển thị với vai trò "
                        "chỉ xem số lượng (a need of fewer persons, withheld from roles that see counts only)")
    ws.freeze_panes = "A6"
    data = io.BytesIO()
    out.save(data)
    return data.getvalue()
