"""How figures read on the page and in the reports, and the charts' shapes: no database, no browser."""

from typing import Any

import pytest

from app.web import charts, formats, i18n, svg


def item(kind: str, value: float | None, band: list[float | None] | None, strict: bool = False,
         status: str = "met") -> dict[str, Any]:
    return {"kind": kind, "value": value, "status": status,
            "target": {"band": band, "strict": strict, "deadline": "2025-12-31"} if band else None}


@pytest.mark.parametrize(("data", "vi", "en"), [
    (item("ratio", 0.3555555, [0.4, None]), "35,6 %", "35.6%"),
    (item("coverage", 1.0, [1.0, None]), "100,0 %", "100.0%"),
    (item("per_capita", 0.3751, [10, None]), "0,38", "0.38"),
    (item("flow_count", 1400, [300, None]), "1.400", "1,400"),
    (item("reported", 0.66, [0.65, None]), "66,0 %", "66.0%"),
    (item("reported", 28000, [28000, None]), "28.000", "28,000"),
    (item("ratio", None, [0.4, None]), "—", "—"),
])
def test_values_read_as_people_write_them(data: dict[str, Any], vi: str, en: str) -> None:
    assert formats.value(data, data["value"], "vi") == vi
    assert formats.value(data, data["value"], "en") == en


@pytest.mark.parametrize(("data", "band", "gap"), [
    (item("ratio", 0.3555, [0.4, None], status="not_met"), "≥ 40,0 %", "thiếu 4,5 điểm %"),
    (item("ratio", 0.42, [0.35, None], strict=True), "> 35,0 %", "trong khoảng"),
    (item("ratio", 0.35, [0.35, None], strict=True, status="not_met"), "> 35,0 %", "cần vượt mức"),
    (item("ratio", 0.36, [0.25, 0.35], status="met"), "25,0 % – 35,0 %", "vượt 1,0 điểm %"),
    (item("flow_count", 39, [300, None], status="not_met"), "≥ 300", "thiếu 261"),
    (item("per_capita", 0.38, [10, None], status="not_met"), "≥ 10,00", "thiếu 9,62"),
    (item("ratio", None, [0.4, None], status="no_data"), "≥ 40,0 %", "—"),
    (item("qualitative", None, None, status="no_data"), "—", "—"),
])
def test_band_and_gap(data: dict[str, Any], band: str, gap: str) -> None:
    assert formats.band(data, "vi") == band
    assert formats.gap(data, "vi") == gap


def test_english_gap_words() -> None:
    assert formats.gap(item("ratio", 0.3555, [0.4, None], status="not_met"), "en") == "4.5 pp short"


def test_above_the_band_but_not_met_says_which_way() -> None:
    """'Chưa đạt' never stands beside a bare 'vượt' (revision 2, point 1): above a floor and not met is a target set
    at every level with a tier short of it, and the gap says so; a cap exceeded is not met, and says 'vượt'."""
    every_level = item("ratio", 0.3, [0.2, 0.25], status="not_met")
    assert formats.gap(every_level, "vi") == "vượt 5,0 điểm %; có cấp chưa đạt"
    assert formats.gap(every_level, "en") == "5.0 pp over; a tier is short"
    cap = item("ratio", 0.3, [None, 0.25], status="not_met")
    cap["target"]["direction"] = "at_most"
    assert formats.gap(cap, "vi") == "vượt 5,0 điểm %"


def test_every_text_has_both_languages_or_falls_back_to_vietnamese() -> None:
    for key, (vi, _en) in i18n.TEXT.items():
        assert vi, key
        assert i18n.t(key, "en")


def test_nice_axis_tops() -> None:
    assert [charts.nice(v) for v in (0.9, 1.0, 3.1, 11, 260, 1400)] == [1.0, 1.0, 5.0, 20.0, 500.0, 2000.0]
    assert charts.scale_top([0.4], (0.25, None), share=True) == 1.0
    assert charts.scale_top([39.0], (300.0, None), share=False) == 500.0


def test_trend_chart_is_accessible_svg_with_every_year_and_no_script() -> None:
    fig = charts.trend([(2021, 0.36, "not_met"), (2022, 0.41, "met")], [2021, 2022, 2023], (0.4, None), share=True,
                       fmt=lambda v: f"{v:.0%}", title="Diễn biến <test>", as_of_year=2022, pending="chưa đến")
    out = str(svg.render(fig))
    assert out.startswith("<svg") and 'role="img"' in out and "<title" in out and "Diễn biến &lt;test&gt;" in out
    assert all(f">{y}<" in out for y in (2021, 2022, 2023)) and "chưa đến" in out
    assert "<script" not in out and "<polyline" in out


def test_status_icons_differ_in_shape() -> None:
    shapes = {s: str(svg.icon(s)) for s in ("met", "not_met", "no_data", "qualitative")}
    assert len(set(shapes.values())) == 4
    assert all('aria-hidden="true"' in v for v in shapes.values())
