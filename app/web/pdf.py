"""The PDF report (fpdf2, pure Python): DejaVu Sans embedded for Vietnamese, charts drawn as vectors."""

import logging
import unicodedata
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from app.services.context import Actor
from app.web import charts, formats, i18n, report
from app.web.board import Board, Item
from app.web.projection_section import REPORT_TRAINING, Projected, ReportRow, refusal_words, report_help
from app.web.view import View, stamp

FONT_DIRS = (Path(__file__).resolve().parent / "fonts", Path("/usr/share/fonts/truetype/dejavu"))
FAMILY = "DejaVu"
MM_PER_PT = 25.4 / 72
logging.getLogger("fontTools").setLevel(logging.WARNING)


def font_file(name: str) -> Path:
    """The vendored DejaVu file, or Debian's fonts-dejavu-core copy."""
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"{name} not found in {', '.join(map(str, FONT_DIRS))} (apt-get install fonts-dejavu-core)")


def nfc(text: str) -> str:
    """Precomposed Vietnamese letters: DejaVu has every one, so no shaping engine is needed."""
    return unicodedata.normalize("NFC", text)


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class ReportPDF(FPDF):
    def __init__(self, title: str, footer_text: str, lang: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font(FAMILY, "", str(font_file("DejaVuSans.ttf")))
        self.add_font(FAMILY, "B", str(font_file("DejaVuSans-Bold.ttf")))
        self.set_margins(14, 16, 14)
        self.set_auto_page_break(True, margin=16)
        self.title_text, self.footer_text, self.lang = nfc(title), nfc(footer_text), lang
        self.set_title(self.title_text)
        self.set_creator("registry dashboard")

    def header(self) -> None:
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(*rgb(charts.MUTED))
        self.set_xy(self.l_margin, 7)
        self.cell(0, 4, self.title_text)
        self.set_xy(self.l_margin, self.t_margin)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(*rgb(charts.MUTED))
        self.cell(0, 4, self.footer_text)
        self.set_x(self.l_margin)
        self.cell(0, 4, f"{i18n.t('page', self.lang)} {self.page_no()}/{{nb}}", align="R")

    def write_text(self, text: str, size: float = 9, bold: bool = False, colour: str = charts.INK, h: float = 4.6) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*rgb(colour))
        self.set_x(self.l_margin)
        self.multi_cell(0, h, nfc(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def room(self, height: float) -> None:
        """Start a new page unless `height` mm still fit."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()


def draw(pdf: FPDF, fig: charts.Figure, x: float, y: float, width: float) -> float:
    """Draw a figure with its top-left corner at (x, y), `width` mm wide; returns its height in mm."""
    k = width / fig.width
    for s in fig.shapes:
        if isinstance(s, charts.Rect):
            pdf.set_fill_color(*rgb(s.fill))
            pdf.rect(x + s.x * k, y + s.y * k, s.w * k, s.h * k, style="F")
        elif isinstance(s, charts.Line):
            pdf.set_draw_color(*rgb(s.stroke))
            pdf.set_line_width(s.width * k)
            pdf.set_dash_pattern(dash=1.2, gap=1) if s.dash else pdf.set_dash_pattern()
            pdf.line(x + s.x1 * k, y + s.y1 * k, x + s.x2 * k, y + s.y2 * k)
            pdf.set_dash_pattern()
        elif isinstance(s, charts.Poly):
            pdf.set_draw_color(*rgb(s.stroke))
            pdf.set_line_width(s.width * k)
            pdf.polyline([(x + px * k, y + py * k) for px, py in s.points], style="D")
        elif isinstance(s, charts.Dot):
            pdf.set_fill_color(*rgb(s.fill))
            pdf.set_draw_color(*rgb(s.stroke))
            pdf.set_line_width(0.3)
            pdf.circle(x + s.x * k, y + s.y * k, s.r * k, style="FD")
        else:
            _label(pdf, s, x, y, k)
    return fig.height * k


def _label(pdf: FPDF, s: charts.Label, x: float, y: float, k: float) -> None:
    pdf.set_font(FAMILY, "B" if s.bold else "", s.size * k / MM_PER_PT)
    pdf.set_text_color(*rgb(s.fill))
    text = nfc(s.text)
    shift = {"start": 0.0, "middle": pdf.get_string_width(text) / 2, "end": pdf.get_string_width(text)}[s.anchor]
    pdf.text(x + s.x * k - shift, y + s.y * k, text)


def icon(pdf: FPDF, status: str, x: float, y: float, size: float = 3.4) -> None:
    """The page's status icons, drawn: tick in a circle, warning triangle, dashed circle, diamond."""
    r = size / 2
    cx, cy = x + r, y + r
    pdf.set_line_width(0.35)
    if status == "met":
        pdf.set_fill_color(*rgb(charts.COLOUR["met"]))
        pdf.circle(cx, cy, r, style="F")
        pdf.set_draw_color(255, 255, 255)
        pdf.polyline([(cx - r * .5, cy), (cx - r * .12, cy + r * .4), (cx + r * .55, cy - r * .4)], style="D")
    elif status == "not_met":
        pdf.set_fill_color(*rgb(charts.COLOUR["not_met"]))
        pdf.polyline([(cx, y), (x + size, y + size), (x, y + size)], polygon=True, style="F")
        pdf.set_draw_color(255, 255, 255)
        pdf.line(cx, cy - r * .3, cx, cy + r * .35)
        pdf.circle(cx, cy + r * .65, r * .08, style="D")
    else:
        pdf.set_draw_color(*rgb(charts.COLOUR["no_data"]))
        if status == "qualitative":
            pdf.polyline([(cx, y), (x + size, cy), (cx, y + size), (x, cy)], polygon=True, style="D")
        else:
            pdf.set_dash_pattern(dash=0.6, gap=0.4)
            pdf.circle(cx, cy, r * .9, style="D")
            pdf.set_dash_pattern()
            pdf.line(cx - r * .4, cy, cx + r * .4, cy)


def render(board: Board, view: View, actor: Actor, generated_at: datetime, projected: Projected) -> bytes:
    """The whole report: parameters, summary, the targets table, each target with its charts, then the projection of
    the targets still to come."""
    lang = view.lang
    title = f"{i18n.t('dashboard', lang)} · {board.doc} · {board.unit_name} ({board.org_unit}) · {view.as_of.isoformat()}"
    footer = f"{i18n.t('data_version', lang)} {board.data_version} · {i18n.t('known_at', lang)} {stamp(view.known_at)}"
    pdf = ReportPDF(title, footer, lang)
    pdf.add_page()
    _cover(pdf, board, view, actor, generated_at)
    _table(pdf, board, lang)
    for item in board.items:
        _section(pdf, board, item, view)
    _projection(pdf, projected, lang)
    return bytes(pdf.output())


def _cover(pdf: ReportPDF, board: Board, view: View, actor: Actor, generated_at: datetime) -> None:
    lang = view.lang
    pdf.write_text(i18n.t("dashboard", lang), 16, True, h=7)
    pdf.write_text(f"{board.doc} — {i18n.doc_name(board.doc, lang)}", 10, h=5)
    pdf.write_text(f"{board.unit_name} ({board.org_unit}) · {i18n.t('as_of', lang)} {i18n.day(view.as_of, lang)}", 11, True, h=6)
    pdf.ln(1)
    for label, value in report.facts(board, view, actor, generated_at, "pdf"):
        pdf.set_x(pdf.l_margin)
        pdf.set_font(FAMILY, "B", 8)
        pdf.set_text_color(*rgb(charts.INK))
        pdf.cell(62, 4.2, nfc(label))
        pdf.set_font(FAMILY, "", 8)
        pdf.multi_cell(0, 4.2, nfc(value), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    tally = board.tally()
    x, y = pdf.l_margin, pdf.get_y()
    for key in ("met", "not_met", "no_data", "qualitative"):
        if key == "qualitative" and not tally[key]:
            continue
        pdf.set_fill_color(*rgb(charts.TINT[key]))
        pdf.rect(x, y, 42, 12, style="F")
        pdf.set_fill_color(*rgb(charts.COLOUR[key]))
        pdf.rect(x, y, 1.6, 12, style="F")
        icon(pdf, key, x + 3.5, y + 4.2)
        pdf.set_text_color(*rgb(charts.INK))
        pdf.set_font(FAMILY, "B", 15)
        pdf.text(x + 9, y + 7.6, str(tally[key]))
        pdf.set_font(FAMILY, "", 7.5)
        pdf.text(x + 18, y + 7.2, nfc(i18n.t(key, lang)))
        x += 45
    pdf.set_y(y + 15)
    _lag(pdf, board, lang)


def _lag(pdf: ReportPDF, board: Board, lang: str) -> None:
    rows = [(u.label(), u.not_met, u.met, i18n.t("units_met", lang).format(met=u.met, scored=u.scored)) for u in board.lagging()]
    if not rows:
        return
    fig = charts.lag(rows, title=i18n.t("lagging_units", lang))
    pdf.room(fig.height * 140 / fig.width + 10)
    pdf.write_text(i18n.t("lagging_units", lang), 10, True, h=5)
    pdf.write_text(i18n.t("lagging_help", lang), 7.5, colour=charts.MUTED, h=4)
    pdf.set_y(pdf.get_y() + draw(pdf, fig, pdf.l_margin, pdf.get_y(), 140) + 3)


COLUMNS = (("status", 22), ("target", 72), ("value", 22), ("band", 20), ("gap", 28), ("chart", 18))


def _table(pdf: ReportPDF, board: Board, lang: str) -> None:
    pdf.room(20)
    pdf.write_text(i18n.t("targets", lang), 11, True, h=6)
    _table_head(pdf, lang)
    for item in board.items:
        _table_row(pdf, item, lang)


def _table_head(pdf: ReportPDF, lang: str) -> None:
    pdf.set_font(FAMILY, "B", 7)
    pdf.set_fill_color(238, 242, 247)
    pdf.set_text_color(*rgb(charts.INK))
    x, y = pdf.l_margin, pdf.get_y()
    pdf.rect(x, y, sum(w for _k, w in COLUMNS), 7.6, style="F")
    for key, width in COLUMNS:
        pdf.set_xy(x + 0.5, y + 0.5)
        pdf.multi_cell(width - 1, 3.3, nfc(i18n.t(key, lang)) if key != "chart" else "", align="L")
        x += width
    pdf.set_y(y + 7.6)


def _table_row(pdf: ReportPDF, item: Item, lang: str) -> None:
    r = item.result
    name = nfc(f"{i18n.pick(r['names'], lang)}\n{item.code}")
    pdf.set_font(FAMILY, "", 7)
    lines = pdf.multi_cell(COLUMNS[1][1] - 2, 3.3, name, dry_run=True, output="LINES")
    assert isinstance(lines, list)
    height = max(len(lines) * 3.3 + 2, 9.0)
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
        _table_head(pdf, lang)
    x, y = pdf.l_margin, pdf.get_y()
    pdf.set_fill_color(*rgb(charts.COLOUR.get(item.status, charts.COLOUR["no_data"])))
    pdf.rect(x, y, 1.2, height, style="F")
    icon(pdf, item.status, x + 2, y + 1.2, 3.2)
    pdf.set_font(FAMILY, "B", 7)
    pdf.set_text_color(*rgb(charts.COLOUR.get(item.status, charts.INK)))
    pdf.set_xy(x + 6, y + 1)
    pdf.multi_cell(COLUMNS[0][1] - 6, 3.3, nfc(i18n.t(item.status, lang)), align="L")
    x += COLUMNS[0][1]
    pdf.set_text_color(*rgb(charts.INK))
    pdf.set_font(FAMILY, "", 7)
    pdf.set_xy(x, y + 1)
    pdf.multi_cell(COLUMNS[1][1] - 2, 3.3, name, align="L")
    x += COLUMNS[1][1]
    for (key, width), text in zip(COLUMNS[2:5], (formats.value(r, r["value"], lang), formats.band(r, lang),
                                                  formats.gap(r, lang)), strict=True):
        pdf.set_xy(x, y + 1)
        pdf.set_font(FAMILY, "B" if key == "value" else "", 7)
        pdf.multi_cell(width - 1, 3.3, nfc(text), align="L")
        if key == "value" and formats.counts(r, lang):
            pdf.set_xy(x, pdf.get_y())
            pdf.set_font(FAMILY, "", 6)
            pdf.set_text_color(*rgb(charts.MUTED))
            pdf.multi_cell(width - 1, 3, nfc(formats.counts(r, lang)), align="L")
            pdf.set_text_color(*rgb(charts.INK))
        x += width
    if item.status != "qualitative":
        target = r.get("target")
        fig = charts.bullet(r["value"], tuple(target["band"]) if target else None, item.status,
                            share=formats.measure(r) == "share", title="")
        draw(pdf, fig, x, y + 2, COLUMNS[5][1])
    pdf.set_draw_color(*rgb(charts.GRID))
    pdf.set_line_width(0.2)
    pdf.line(pdf.l_margin, y + height, pdf.l_margin + sum(w for _k, w in COLUMNS), y + height)
    pdf.set_y(y + height)


def _section(pdf: ReportPDF, board: Board, item: Item, view: View) -> None:
    """One target: heading, figures, definition, trend and child-unit bars side by side."""
    lang, r = view.lang, item.result
    pdf.room(70)
    pdf.ln(3)
    pdf.set_draw_color(*rgb(charts.COLOUR.get(item.status, charts.INK)))
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    pdf.write_text(f"{i18n.pick(r['names'], lang)} ({item.code})", 9.5, True, h=4.6)
    y = pdf.get_y()
    icon(pdf, item.status, pdf.l_margin, y + 0.4)
    pdf.set_x(pdf.l_margin + 5)
    figures = (f"{i18n.t(item.status, lang)} · {i18n.t('value', lang)} {formats.value(r, r['value'], lang)}"
               f"{' (' + formats.counts(r, lang) + ')' if formats.counts(r, lang) else ''} · {i18n.t('band', lang)} "
               f"{formats.band(r, lang)} · {i18n.t('gap', lang)}: {formats.gap(r, lang)}")
    pdf.set_font(FAMILY, "B", 8)
    pdf.set_text_color(*rgb(charts.COLOUR.get(item.status, charts.INK)))
    pdf.multi_cell(0, 4.2, nfc(figures), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.write_text(report.definition_text(item, lang), 7.5, h=3.6)
    pdf.write_text(f"{i18n.t('definition_version', lang)} v{r['definition']['version']} · sha256 {r['definition']['sha256']}"
                   + (f" · {r['note']}" if r.get("note") else ""), 6.5, colour=charts.MUTED, h=3.2)
    if item.status == "qualitative":
        return
    _charts(pdf, board, item, view)


def _charts(pdf: ReportPDF, board: Board, item: Item, view: View) -> None:
    r, lang = item.result, view.lang
    band = tuple(r["target"]["band"]) if r.get("target") else None
    share = formats.measure(r) == "share"
    trend = charts.trend([(int(p["as_of"][:4]), p.get("value"), str(p.get("status"))) for p in item.trend], item.years, band,
                         share=share, fmt=lambda v: formats.value(r, v, lang), title="", as_of_year=view.as_of.year,
                         pending=i18n.t("not_yet", lang), width=400, height=210)
    rows = [(c["key"], c["value"], c["status"], formats.value(r, c["value"], lang)) for c in item.cells if c["value"] is not None]
    bars = charts.bars(rows, band, share=share, title="", width=400, left=110) if rows else None
    half = (pdf.w - pdf.l_margin - pdf.r_margin - 6) / 2
    heights = [trend.height * half / trend.width] + ([bars.height * half / bars.width] if bars else [])
    pdf.room(max(heights) + 8)
    y = pdf.get_y() + 1
    _caption(pdf, pdf.l_margin, y, i18n.t("trend", lang))
    draw(pdf, trend, pdf.l_margin, y + 4, half)
    if bars:
        _caption(pdf, pdf.l_margin + half + 6, y, i18n.t("breakdown", lang))
        draw(pdf, bars, pdf.l_margin + half + 6, y + 4, half)
    pdf.set_y(y + 5 + max(heights))


def _caption(pdf: FPDF, x: float, y: float, text: str) -> None:
    pdf.set_font(FAMILY, "B", 7.5)
    pdf.set_text_color(*rgb(charts.MUTED))
    pdf.text(x, y + 2.5, nfc(text))



def _projection(pdf: ReportPDF, projected: Projected, lang: str) -> None:
    """The targets still to come: each one's points to the deadline (words and a chart), its status there and the
    persons needed (app.services.projection, in the reports' scenario)."""
    start, rows = projected
    pdf.add_page()
    pdf.write_text(i18n.t("projection", lang), 13, True, h=6.5)
    pdf.write_text(report_help(start, lang), 8, colour=charts.MUTED, h=4)
    pdf.write_text(f"{i18n.t('scenario', lang)}: {i18n.t('training_' + REPORT_TRAINING, lang)}", 8, True, h=4.4)
    if not rows:
        pdf.write_text(i18n.t("no_projected_targets", lang).format(start=i18n.day(start, lang)), 9, h=5)
    for row in rows:
        _projected_row(pdf, row, lang)


def _projected_row(pdf: ReportPDF, row: ReportRow, lang: str) -> None:
    answer, last = row.answer, row.last
    half = (pdf.w - pdf.l_margin - pdf.r_margin - 6) / 2
    fig = None
    if answer is not None and last is not None:
        target = answer.get("target")
        points = answer["points"]
        at = next((i for i, p in enumerate(points) if target and p["as_of"] == target.get("deadline")), None)
        fig = charts.projection([(i18n.day(p["as_of"], lang), p["value"], str(p["status"])) for p in points],
                                tuple(target["band"]) if target else None, share=formats.measure(answer) == "share",
                                fmt=lambda v: formats.value(answer, v, lang), title="", deadline=at,
                                deadline_label=i18n.t("deadline_mark", lang), width=400, height=200)
    pdf.room(max(fig.height * half / fig.width if fig else 0, 14) + 10)
    pdf.ln(2)
    pdf.set_draw_color(*rgb(charts.GRID))
    pdf.set_line_width(0.3)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1)
    pdf.write_text(f"{i18n.pick(row.names, lang)} ({row.code})", 8.5, True, h=4.2)
    y = pdf.get_y()
    lines = [f"{i18n.t('deadline', lang)}: {i18n.day(row.deadline, lang)}"]
    if answer is None or last is None:
        lines.append(refusal_words(row.refusal, lang))
    else:
        counts = formats.counts(last | {"kind": answer["kind"]}, lang)
        lines.append(f"{i18n.t('status_at_deadline', lang)}: {report.status_words(last | {'kind': answer['kind']}, lang)} "
                     f"{formats.value(answer, last['value'], lang)}{f' ({counts})' if counts else ''}")
        needed = (refusal_words(row.gap_said, lang) if row.gap_said else
                  i18n.t("needed_none", lang) if row.needed is None else i18n.number(row.needed, lang, 0))
        lines.append(f"{i18n.t('needed', lang)}: {needed}")
        lines += [f"{i18n.day(p['as_of'], lang)}: {formats.value(answer, p['value'], lang)}"
                  f"{' (' + str(p['numerator']) + ' / ' + str(p['denominator']) + ')' if p['denominator'] is not None else ''}"
                  f" · {i18n.t(str(p['status']), lang)}" for p in answer["points"]]
    pdf.set_font(FAMILY, "", 7.5)
    pdf.set_text_color(*rgb(charts.INK))
    pdf.set_xy(pdf.l_margin, y)
    pdf.multi_cell(half, 3.6, nfc("\n".join(lines)), align="L", new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    if fig is not None:
        bottom = max(bottom, y + draw(pdf, fig, pdf.l_margin + half + 6, y, half))
    pdf.set_y(bottom + 1)
