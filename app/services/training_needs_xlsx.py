"""The XLSX of a unit's training needs, as an HR office sends it up: a summary by need and, for the roles that see
persons, the list of persons; Vietnamese first, English second. It writes the answer of `training_needs.needs`
as it is (same scope, same suppression): nothing is computed again here."""

import io
from datetime import date, datetime, timedelta, timezone
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from app.services import codelists
from app.services.indicators import service
from app.services.labels import Names
from app.services.training_needs_queries import CODE_LISTS
from app.services.training_plan_xlsx import BOLD, LIST_VI, SUPPRESSED, put, unit_name

VIETNAM = timezone(timedelta(hours=7), "UTC+7")
NO_COURSE = "—"
HEADER_ROW = 5  # Vietnamese headers; the English ones below, the data from HEADER_ROW + 2
# (key, Vietnamese, English, width)
SUMMARY = (("no", "STT", "No.", 6), ("label", "Nhu cầu đào tạo, bồi dưỡng", "Need", 48),
           ("code", "Mã", "Code", 32), ("persons", "Số người còn thiếu", "Persons with the need", 16),
           ("enrolled_before", "Đã cử đi học, hoàn thành trước hạn", "Enrolled, finishing by the date", 18))
MEMBERS = (("no", "STT", "No.", 6), ("external_id", "Mã định danh", "External id", 16),
           ("full_name", "Họ và tên", "Full name", 28), ("units", "Đơn vị", "Unit(s)", 20),
           ("held", "Trình độ hiện có", "Level held", 24), ("required", "Trình độ yêu cầu", "Level required", 40),
           ("rows", "Vị trí việc làm yêu cầu", "Required by (subject: code)", 48))
# the subject of a title-standard row -> (its code list, its name)
SUBJECTS = {"rank": ("leadership_rank", "Chức vụ"), "occupation": ("occupation", "Chức danh nghề nghiệp"),
            "category": ("employment_category", "Loại cán bộ")}


def workbook(session: Session, answer: dict[str, Any], *, produced_at: datetime) -> bytes:
    """Sheet 'Tổng hợp' (one row per need) and, when the answer names persons, 'Danh sách' (one row per person
    and need); each with title rows saying the unit, the dates and when it was produced (Vietnam time)."""
    names = Names(codelists.load(session))
    title = _title(session, answer, produced_at)
    out = Workbook()
    summary = out.active
    assert summary is not None
    summary.title = "Tổng hợp"
    _head(summary, title, SUMMARY)
    _summary(summary, answer, names)
    if answer["persons_named"]:
        members = out.create_sheet("Danh sách")
        _head(members, title, MEMBERS)
        _members(members, answer, names)
    data = io.BytesIO()
    out.save(data)
    return data.getvalue()


def _title(session: Session, answer: dict[str, Any], produced_at: datetime) -> list[str]:
    unit = answer["org_unit"]
    as_of, before = (date.fromisoformat(answer[k]) for k in ("as_of", "before"))
    at = produced_at.astimezone(VIETNAM)
    return [f"Nhu cầu đào tạo, bồi dưỡng — {unit_name(session, unit)} ({unit})",
            f"Tính đến ngày {as_of:%d/%m/%Y}; đã cử đi học, hoàn thành trước ngày {before:%d/%m/%Y} "
            f"(training needs of {unit} on {as_of.isoformat()}; enrolled to finish by {before.isoformat()})",
            f"Lập lúc {at:%H:%M} ngày {at:%d/%m/%Y}, giờ Việt Nam UTC+7 (produced at {at.isoformat(timespec='seconds')})"]


def _head(ws: Worksheet, title: list[str], columns: tuple[tuple[str, str, str, int], ...]) -> None:
    for row, text in enumerate(title, start=1):
        put(ws, row, 1, text)
    ws["A1"].font = Font(bold=True, size=14)
    for col, (_key, vi, en, width) in enumerate(columns, start=1):
        put(ws, HEADER_ROW, col, vi)
        put(ws, HEADER_ROW + 1, col, en)
        ws.cell(HEADER_ROW, col).font = BOLD
        ws.cell(HEADER_ROW, col).alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 2}"


def _row(ws: Worksheet, row: int, columns: tuple[tuple[str, str, str, int], ...], values: dict[str, Any]) -> None:
    for col, (key, *_rest) in enumerate(columns, start=1):
        put(ws, row, col, values.get(key))
        ws.cell(row, col).alignment = Alignment(wrap_text=True, vertical="top")


def need_label(names: Names, need: dict[str, Any]) -> tuple[str, str]:
    """(Vietnamese label, code) of a need: 'Lý luận chính trị: Cao cấp' and 'political_theory: cao_cap', or an
    indicator's condition in words and the indicator's code."""
    if need["kind"] == "indicator":
        return f"Ngoài tử số của chỉ tiêu: {need['condition']['vi']}", need["indicator"]
    qualification, level = need["qualification"], need["level"]
    return (f"{LIST_VI.get(qualification, qualification)}: {names.label(CODE_LISTS[qualification], level)}",
            f"{qualification}: {level}")


def _summary(ws: Worksheet, answer: dict[str, Any], names: Names) -> None:
    row = HEADER_ROW + 1
    totals = {"persons": 0, "enrolled_before": 0}
    marks: set[str] = set()
    for i, group in enumerate(answer["groups"], start=1):
        row += 1
        label, code = need_label(names, group["need"])
        figures = {k: group[k] for k in totals}
        for k, value in figures.items():
            totals[k] += value or 0
            if value is None:
                figures[k] = SUPPRESSED if group.get("suppressed") else NO_COURSE
                marks.add(str(figures[k]))
        _row(ws, row, SUMMARY, {"no": i, "label": label, "code": code} | figures)
    row += 1
    _row(ws, row, SUMMARY, {"label": "Tổng cộng (total)"} | totals)
    ws.cell(row, 2).font = BOLD
    _footnotes(ws, row + 2, _summary_notes(answer, marks))


def _summary_notes(answer: dict[str, Any], marks: set[str]) -> list[str]:
    notes = ["Một người có nhiều nhu cầu được tính ở mỗi nhu cầu (a person with several needs counts in each)."]
    if SUPPRESSED in marks:
        notes.append(f"{SUPPRESSED} Nhóm dưới {service.threshold()} người không hiển thị để bảo vệ thông tin cá nhân; "
                     "tổng cộng không gồm các ô này (suppressed: a group of fewer persons; the totals leave it out).")
    if NO_COURSE in marks:
        notes.append(f"{NO_COURSE} Không khóa học nào cấp được trình độ đáp ứng điều kiện "
                     "(no course can meet the condition).")
    return notes + _outside_note(answer)


def _outside_note(answer: dict[str, Any]) -> list[str]:
    outside = answer.get("not_listed_outside_your_units")
    return [f"{outside} người thuộc đơn vị ngoài phạm vi của bạn không được liệt kê "
            f"(persons outside your units, not listed)."] if outside else []


def _footnotes(ws: Worksheet, row: int, notes: list[str]) -> None:
    for offset, note in enumerate(notes):
        put(ws, row + offset, 1, note)


def _members(ws: Worksheet, answer: dict[str, Any], names: Names) -> None:
    row = HEADER_ROW + 1
    for group in answer["groups"]:
        label, code = need_label(names, group["need"])
        for member in group["members"]:
            row += 1
            _row(ws, row, MEMBERS, {"no": row - HEADER_ROW - 1, "external_id": member["external_id"],
                                    "full_name": member["full_name"]} | _member_cells(names, group["need"], member)
                 | {"required": f"{label} ({code})"})
    _footnotes(ws, row + 2, _outside_note(answer))


def _member_cells(names: Names, need: dict[str, Any], member: dict[str, Any]) -> dict[str, Any]:
    """Units, level held and the rows requiring the level, of one member of a title-standard or indicator need."""
    if need["kind"] == "indicator":
        return {"units": ", ".join(member.get("org_units") or []), "held": None, "rows": None}
    rows = member["rows"]
    held = member["held"]
    return {"units": ", ".join(sorted({r["org_unit"] for r in rows if r["org_unit"]})),
            "held": names.label(CODE_LISTS[need["qualification"]], held) if held else "Chưa có (none)",
            "rows": "\n".join(_subject(names, r) for r in rows)}


def _subject(names: Names, row: dict[str, Any]) -> str:
    """'Chức vụ: Giám đốc sở và tương đương (department_head), ST-SYT': a row that requires the level."""
    list_name, title = SUBJECTS.get(row["subject"], ("", row["subject"]))
    where = f", {row['org_unit']}" if row["org_unit"] else ""
    return f"{title}: {names.label(list_name, row['code'])} ({row['code']}){where}"
