"""The XLSX report (openpyxl): the figures as numbers, native Excel charts, definitions and provenance."""

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.services.context import Actor
from app.services.text import neutralise
from app.web import charts, formats, i18n, report
from app.web.board import Board, Item
from app.web.projection_section import REPORT_TRAINING, Projected, refusal_words, report_help
from app.web.view import View

BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="EEF2F7")
SHEETS = {"vi": ("Tổng hợp", "Xu hướng", "Đơn vị", "Định nghĩa", "Dự báo"),
          "en": ("Summary", "Trend", "Units", "Definitions", "Projection")}
NUMBER_FORMAT = {"share": "0.0%", "rate": "0.00", "count": "#,##0"}


def put(ws: Worksheet, row: int, col: int, value: Any) -> Cell:
    """Write a cell: numbers and dates as they are, text always as a string (never a formula), neutralised.

    A text a spreadsheet would evaluate (= + - @ tab CR, or a leading quote) gets a leading quote (OWASP, CSV
    injection), unless it is a plain number such as repr(-0.5), which no spreadsheet evaluates as a formula.
    """
    cell = ws.cell(row, col)
    if isinstance(value, str):
        cell.value = value if _plain_number(value) else neutralise(value)
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def fill(status: str) -> PatternFill:
    return PatternFill("solid", fgColor=charts.TINT.get(status, charts.TINT["no_data"]).lstrip("#").upper())


def status_font(status: str) -> Font:
    return Font(bold=True, color=charts.COLOUR.get(status, charts.INK).lstrip("#").upper())


def render(board: Board, view: View, actor: Actor, generated_at: datetime, projected: Projected) -> bytes:
    """Five sheets: summary with parameters, trend with line charts, child units with a bar chart, definitions, and the
    projection of the targets still to come."""
    book = Workbook()
    names = SHEETS["en" if view.lang == "en" else "vi"]
    summary = book.active
    assert summary is not None
    summary.title = names[0]
    _summary(summary, board, view, actor, generated_at)
    _trend(book.create_sheet(names[1]), board, view.lang)
    _units(book.create_sheet(names[2]), board, view.lang)
    _definitions(book.create_sheet(names[3]), board, view.lang)
    _projection(book.create_sheet(names[4]), projected, view.lang)
    book.properties.title = f"{board.doc} {board.org_unit} {view.as_of.isoformat()}"
    book.properties.creator = "registry dashboard"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _head(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = put(ws, row, col, label)
        cell.font, cell.fill = BOLD, HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _widths(ws: Worksheet, widths: list[int]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


SUMMARY_COLUMNS = ("code", "name", "status", "value", "numerator", "denominator", "band_min", "band_max", "band", "gap",
                   "gap_value", "deadline", "kind", "definition_version", "sha256", "note", "value_exact")


def _summary(ws: Worksheet, board: Board, view: View, actor: Actor, generated_at: datetime) -> None:
    lang = view.lang
    put(ws, 1, 1, i18n.t("dashboard", lang))
    ws["A1"].font = Font(bold=True, size=14)
    put(ws, 2, 1, f"{board.doc} — {i18n.doc_name(board.doc, lang)}")
    row = 4
    for label, value in report.facts(board, view, actor, generated_at, "xlsx"):
        put(ws, row, 1, label).font = BOLD
        put(ws, row, 2, value)
        row += 1
    row += 1
    for key, count in board.tally().items():
        put(ws, row, 1, f"{formats.GLYPH[key]} {i18n.t(key, lang)}").font = status_font(key)
        put(ws, row, 2, count)
        row += 1
    row += 1
    _head(ws, row, [_label(c, lang) for c in SUMMARY_COLUMNS])
    ws.freeze_panes = ws.cell(row + 1, 3)
    first = row + 1
    for item in board.items:
        row += 1
        _summary_row(ws, row, item, lang)
    ws.auto_filter.ref = f"A{first - 1}:{get_column_letter(len(SUMMARY_COLUMNS))}{row}"
    _widths(ws, [34, 60, 18, 12, 11, 13, 10, 10, 14, 22, 10, 12, 11, 9, 20, 40, 22])


def _label(column: str, lang: str) -> str:
    words = {"code": "target", "name": "target", "status": "status", "value": "value", "numerator": "numerator",
             "denominator": "denominator", "band": "band", "gap": "gap", "deadline": "deadline",
             "definition_version": "definition_version", "note": "note"}
    if column in words:
        text = i18n.t(words[column], lang)
        return f"{text} ({'mã' if lang == 'vi' else 'code'})" if column == "code" else text
    return column


def _summary_row(ws: Worksheet, row: int, item: Item, lang: str) -> None:
    r = item.result
    low, high = (r["target"]["band"] if r.get("target") else (None, None))
    values: list[Any] = [item.code, i18n.pick(r["names"], lang), report.status_words(item, lang), r["value"], r["numerator"],
                         r["denominator"], low, high, formats.band(r, lang), formats.gap(r, lang), formats.gap_amount(r),
                         r["target"]["deadline"] if r.get("target") else None, r["kind"], r["definition"]["version"],
                         r["definition"]["sha256"], r.get("note"), None if r["value"] is None else repr(r["value"])]
    for col, value in enumerate(values, start=1):
        put(ws, row, col, value)
    number = NUMBER_FORMAT[formats.measure(r)]
    for col in (4, 7, 8, 11):
        ws.cell(row, col).number_format = number
    status = ws.cell(row, 3)
    status.fill, status.font = fill(item.status), status_font(item.status)
    ws.cell(row, 2).alignment = Alignment(wrap_text=True, vertical="top")


def _trend(ws: Worksheet, board: Board, lang: str) -> None:
    years = sorted({y for item in board.items for y in item.years})
    put(ws, 1, 1, i18n.t("trend", lang))
    ws["A1"].font = Font(bold=True, size=12)
    put(ws, 2, 1, i18n.t("trend_help", lang))
    _head(ws, 4, [i18n.t("target", lang), i18n.t("band", lang)] + [f"31/12/{y}" for y in years])
    scored = [i for i in board.items if i.status != "qualitative" and i.trend]
    for n, item in enumerate(scored):
        row = 5 + n
        put(ws, row, 1, item.code)
        put(ws, row, 2, formats.band(item.result, lang))
        points = {int(p["as_of"][:4]): p for p in item.trend}
        for col, year in enumerate(years, start=3):
            point = points.get(year)
            if point is not None and point.get("value") is not None:
                cell = put(ws, row, col, point["value"])
                cell.number_format = NUMBER_FORMAT[formats.measure(item.result)]
                cell.fill = fill(str(point["status"]))
    _widths(ws, [34, 14] + [11] * len(years))
    for n, item in enumerate(scored):
        chart = LineChart()
        chart.title = f"{item.code} ({formats.band(item.result, lang)})"
        chart.height, chart.width = 6.5, 12
        chart.legend = None
        chart.y_axis.number_format = NUMBER_FORMAT[formats.measure(item.result)]
        chart.add_data(Reference(ws, min_col=3, max_col=2 + len(years), min_row=5 + n), from_rows=True, titles_from_data=False)
        chart.set_categories(Reference(ws, min_col=3, max_col=2 + len(years), min_row=4))
        anchor_row = 7 + len(scored) + (n // 2) * 14
        ws.add_chart(chart, f"{'A' if n % 2 == 0 else 'H'}{anchor_row}")


def _units(ws: Worksheet, board: Board, lang: str) -> None:
    cols = board.lagging()
    put(ws, 1, 1, i18n.t("matrix", lang))
    ws["A1"].font = Font(bold=True, size=12)
    put(ws, 2, 1, i18n.t("matrix_help", lang))
    _head(ws, 4, [i18n.t("unit", lang), i18n.t("not_met", lang), i18n.t("met", lang), i18n.t("no_data", lang)])
    for n, unit in enumerate(cols):
        for col, value in enumerate([f"{unit.name} ({unit.code})", unit.not_met, unit.met, unit.no_data], start=1):
            put(ws, 5 + n, col, value)
    start = 7 + len(cols)
    if cols:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
        chart.title = i18n.t("lagging_units", lang)
        chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=4, max_row=4 + len(cols)), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=5, max_row=4 + len(cols)))
        chart.height, chart.width = max(6.0, 0.8 * len(cols)), 16
        ws.add_chart(chart, "F4")
        start = max(start, 8 + int(chart.height * 2))
    _head(ws, start, [i18n.t("target", lang)] + [f"{u.name}\n{u.code}" for u in cols])
    for n, item in enumerate(i for i in board.items if i.status != "qualitative"):
        row = start + 1 + n
        put(ws, row, 1, item.code)
        for col, unit in enumerate(cols, start=2):
            found = item.cell(unit.code)
            cell = put(ws, row, col, found["value"] if found else None)
            cell.number_format = NUMBER_FORMAT[formats.measure(item.result)]
            cell.fill = fill(found["status"] if found else "no_data")
    _widths(ws, [36] + [14] * max(len(cols), 3))


def _definitions(ws: Worksheet, board: Board, lang: str) -> None:
    method = i18n.t("method", lang)
    labels = [i18n.t("target", lang), "vi", "en", i18n.t("resolution", lang), i18n.t("clause", lang), f"{method} (vi)",
              f"{method} (en)", i18n.t("rules", lang), i18n.t("source_words", lang), i18n.t("note", lang),
              i18n.t("definition_version", lang), "sha256"]
    _head(ws, 1, labels)
    for n, item in enumerate(board.items):
        spec, m = item.spec, item.method
        words = "; ".join(f"{k}: {v}" for k, v in (m.get("source_text") or {}).items())
        values = [item.code, spec.names.get("vi"), spec.names.get("en"), spec.source.doc, spec.source.clause, m["vi"], m["en"],
                  m["rules"], words, spec.note, item.result["definition"]["version"], item.result["definition"]["sha256"]]
        for col, value in enumerate(values, start=1):
            put(ws, 2 + n, col, value).alignment = Alignment(wrap_text=True, vertical="top")
    _widths(ws, [34, 50, 50, 8, 22, 60, 60, 40, 60, 40, 9, 20])
    ws.freeze_panes = "B2"


def _projection(ws: Worksheet, projected: Projected, lang: str) -> None:
    """Each target still to come: its status and value projected at the deadline and the persons needed, then every
    point to the deadline (the service's figures: app.services.projection)."""
    start, rows = projected
    put(ws, 1, 1, i18n.t("projection", lang)).font = Font(bold=True, size=12)
    put(ws, 2, 1, report_help(start, lang))
    put(ws, 3, 1, f"{i18n.t('scenario', lang)}: {i18n.t('training_' + REPORT_TRAINING, lang)} ({REPORT_TRAINING})")
    if not rows:
        put(ws, 5, 1, i18n.t("no_projected_targets", lang).format(start=i18n.day(start, lang)))
        return
    _head(ws, 5, [_label("code", lang), i18n.t("target", lang), i18n.t("deadline", lang), i18n.t("status_at_deadline", lang),
                  i18n.t("value_at_deadline", lang), i18n.t("numerator", lang), i18n.t("denominator", lang),
                  i18n.t("needed", lang), i18n.t("note", lang)])
    for n, row in enumerate(rows):
        last, answer = row.last, row.answer or {}
        values: list[Any] = [row.code, i18n.pick(row.names, lang), row.deadline]
        if last is None:
            values += [None, None, None, None, None, refusal_words(row.refusal, lang)]
        else:
            values += [report.status_words(last | {"kind": answer["kind"]}, lang), last["value"], last["numerator"],
                       last["denominator"], row.needed, refusal_words(row.gap_said, lang) if row.gap_said else None]
        for col, value in enumerate(values, start=1):
            put(ws, 6 + n, col, value)
        if last is not None:
            ws.cell(6 + n, 5).number_format = NUMBER_FORMAT[formats.measure(answer)]
            ws.cell(6 + n, 4).fill, ws.cell(6 + n, 4).font = fill(str(last["status"])), status_font(str(last["status"]))
        ws.cell(6 + n, 3).number_format = "yyyy-mm-dd"
        ws.cell(6 + n, 2).alignment = Alignment(wrap_text=True, vertical="top")
    top = 8 + len(rows)
    put(ws, top, 1, i18n.t("points", lang)).font = BOLD
    _head(ws, top + 1, [_label("code", lang), i18n.t("date", lang), i18n.t("status", lang), i18n.t("value", lang),
                        i18n.t("numerator", lang), i18n.t("denominator", lang)])
    line = top + 2
    for row in rows:
        answer = row.answer or {}
        for point in answer.get("points", []):
            for col, value in enumerate([row.code, date.fromisoformat(point["as_of"]),
                                         report.status_words(point | {"kind": answer["kind"]}, lang), point["value"],
                                         point["numerator"], point["denominator"]], start=1):
                put(ws, line, col, value)
            ws.cell(line, 2).number_format = "yyyy-mm-dd"
            ws.cell(line, 4).number_format = NUMBER_FORMAT[formats.measure(answer)]
            ws.cell(line, 3).fill = fill(str(point["status"]))
            line += 1
    _widths(ws, [34, 60, 12, 22, 14, 11, 11, 14, 50])
    ws.freeze_panes = "B6"
