"""Charts as plain shapes, laid out once and drawn twice: as inline SVG (page) and into the PDF.

Coordinates are in abstract units with the origin at the top left; each renderer scales them.
Colour is never the only signal: every chart also carries text labels, and the page and reports put
the status in words beside it.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

COLOUR = {"met": "#1b6e31", "not_met": "#b3261e", "no_data": "#80868b", "qualitative": "#80868b"}
TINT = {"met": "#e3f1e6", "not_met": "#fbe5e3", "no_data": "#eef0f2", "qualitative": "#eef0f2"}
BAND = "#cfe6d4"
BAND_EDGE = "#1b6e31"
INK = "#1f2328"
MUTED = "#5f6368"
GRID = "#d0d4d9"
TRACK = "#eef0f2"
LINE = "#1a4f8b"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str | None = None


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0
    dash: bool = False


@dataclass(frozen=True)
class Poly:
    points: tuple[tuple[float, float], ...]
    stroke: str
    width: float = 2.0


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    fill: str
    stroke: str = "#ffffff"


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    size: float = 11
    anchor: str = "start"
    fill: str = INK
    bold: bool = False


Shape = Rect | Line | Poly | Dot | Label


@dataclass
class Figure:
    width: float
    height: float
    title: str
    shapes: list[Shape] = field(default_factory=list)

    def add(self, *shapes: Shape) -> None:
        self.shapes.extend(shapes)


Fmt = Callable[[float], str]


def scale_top(values: list[float | None], band: tuple[float | None, float | None] | None, share: bool) -> float:
    """The axis maximum: 100 % for shares unless a value is above it, else a round number above the data."""
    seen = [v for v in values if v is not None] + [b for b in (band or (None, None)) if b is not None]
    top = max(seen, default=0.0)
    if share and top <= 1:
        return 1.0
    return nice(top * 1.1 if top > 0 else 1.0)


def nice(value: float) -> float:
    """The next 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    base = 10.0 ** math.floor(math.log10(value))
    return next(step * base for step in (1, 2, 2.5, 5, 10) if step * base >= value * (1 - 1e-9))


def _band_zone(fig: Figure, band: tuple[float | None, float | None] | None, to_x: Callable[[float], float],
               y: float, h: float, top: float) -> None:
    if band is None:
        return
    low, high = band
    x1, x2 = to_x(low if low is not None else 0), to_x(high if high is not None else top)
    fig.add(Rect(x1, y, max(x2 - x1, 1.5), h, BAND))
    for edge in (low, high):
        if edge is not None:
            fig.add(Line(to_x(edge), y - 2, to_x(edge), y + h + 2, BAND_EDGE, 2))


def bullet(value: float | None, band: tuple[float | None, float | None] | None, status: str, *, share: bool,
           title: str) -> Figure:
    """A value bar over its target band: how far from the band at a glance."""
    width, height, pad = 200.0, 26.0, 2.0
    top = scale_top([value], band, share)
    fig = Figure(width, height, title)

    def to_x(v: float) -> float:
        return pad + (width - 2 * pad) * min(max(v / top, 0), 1)

    fig.add(Rect(pad, 4, width - 2 * pad, height - 8, TRACK))
    _band_zone(fig, band, to_x, 4, height - 8, top)
    if value is not None:
        fig.add(Rect(pad, 9, max(to_x(value) - pad, 2), height - 18, COLOUR.get(status, COLOUR["no_data"])))
    return fig


def trend(points: list[tuple[int, float | None, str]], years: list[int], band: tuple[float | None, float | None] | None,
          *, share: bool, fmt: Fmt, title: str, as_of_year: int | None, pending: str, width: float = 560.0,
          height: float = 230.0) -> Figure:
    """The value at each year-end, the band shaded, years still to come left empty."""
    left, right, top_pad, bottom = 64.0, 16.0, 14.0, 34.0
    fig = Figure(width, height, title)
    top = scale_top([v for _y, v, _s in points], band, share)
    span = max(len(years) - 1, 1)

    def to_x(year: int) -> float:
        return left + (width - left - right) * (year - years[0]) / span if years else left

    def to_y(v: float) -> float:
        return height - bottom - (height - bottom - top_pad) * min(max(v / top, 0), 1.05)

    _value_axis(fig, band, top, fmt, left, width - right, to_y)
    if as_of_year in years:
        assert as_of_year is not None
        fig.add(Line(to_x(as_of_year), top_pad, to_x(as_of_year), height - bottom, MUTED, 1, dash=True))
    known = {y: (v, s) for y, v, s in points}
    line = [(to_x(y), to_y(v)) for y, v, _s in points if v is not None]
    if len(line) > 1:
        fig.add(Poly(tuple(line), LINE, 2.5))
    for year in years:
        fig.add(Label(to_x(year), height - bottom + 16, str(year), 10, "middle", MUTED))
        if year not in known:
            fig.add(Label(to_x(year), height - bottom - 6, pending, 9, "middle", MUTED))
            continue
        value, status = known[year]
        if value is None:
            fig.add(Label(to_x(year), height - bottom - 6, "—", 10, "middle", MUTED))
        else:
            fig.add(Dot(to_x(year), to_y(value), 5, COLOUR.get(status, COLOUR["no_data"])),
                    Label(to_x(year), to_y(value) - 10, fmt(value), 10, "middle", INK, True))
    fig.add(Line(left, height - bottom, width - right, height - bottom, INK, 1))
    return fig


def _value_axis(fig: Figure, band: tuple[float | None, float | None] | None, top: float, fmt: Fmt, x1: float,
                x2: float, to_y: Callable[[float], float]) -> None:
    """Five gridlines with their values, and the band shaded between its edges (dashed)."""
    for i in range(5):
        tick = top * i / 4
        fig.add(Line(x1, to_y(tick), x2, to_y(tick), GRID, 1), Label(x1 - 6, to_y(tick) + 4, fmt(tick), 10, "end", MUTED))
    if band is not None:
        low, high = band
        y1, y2 = to_y(high if high is not None else top), to_y(low if low is not None else 0)
        fig.add(Rect(x1, y1, x2 - x1, max(y2 - y1, 1.5), BAND))
        for edge in (low, high):
            if edge is not None:
                fig.add(Line(x1, to_y(edge), x2, to_y(edge), BAND_EDGE, 1.5, dash=True))


def projection(points: list[tuple[str, float | None, str]], band: tuple[float | None, float | None] | None, *,
               share: bool, fmt: Fmt, title: str, deadline: int | None, deadline_label: str, width: float = 560.0,
               height: float = 240.0) -> Figure:
    """The projected value at each point (label, value, status), evenly spaced (D0, each 31 December, D1: the dates
    are in the labels and the table), over the band; the point at the deadline marked by a dashed line."""
    left, right, top_pad, bottom = 64.0, 40.0, 18.0, 44.0
    fig = Figure(width, height, title)
    top = scale_top([v for _l, v, _s in points], band, share)
    span = max(len(points) - 1, 1)

    def to_x(i: int) -> float:
        return left + (width - left - right) * (i / span if len(points) > 1 else 0.5)

    def to_y(v: float) -> float:
        return height - bottom - (height - bottom - top_pad) * min(max(v / top, 0), 1.05)

    _value_axis(fig, band, top, fmt, left, width - right, to_y)
    if deadline is not None:
        fig.add(Line(to_x(deadline), top_pad - 6, to_x(deadline), height - bottom, MUTED, 1, dash=True),
                Label(to_x(deadline), top_pad - 8, deadline_label, 9, "end" if deadline == len(points) - 1 else "middle",
                      MUTED))
    line = [(to_x(i), to_y(v)) for i, (_l, v, _s) in enumerate(points) if v is not None]
    if len(line) > 1:
        fig.add(Poly(tuple(line), LINE, 2.5))
    crowded = (width - left - right) / span < 64  # date labels about 55 units wide: every other one lower
    for i, (label, value, status) in enumerate(points):
        fig.add(Label(to_x(i), height - bottom + 16 + (12 if crowded and i % 2 else 0), label, 10, "middle", MUTED))
        if value is None:
            fig.add(Label(to_x(i), height - bottom - 6, "—", 10, "middle", MUTED))
            continue
        fig.add(Dot(to_x(i), to_y(value), 5, COLOUR.get(status, COLOUR["no_data"])),
                Label(to_x(i), to_y(value) - 10, fmt(value), 10, "middle", INK, True))
    fig.add(Line(left, height - bottom, width - right, height - bottom, INK, 1))
    return fig


def bars(rows: list[tuple[str, float | None, str, str]], band: tuple[float | None, float | None] | None, *,
         share: bool, title: str, width: float = 560.0, left: float = 170.0) -> Figure:
    """Horizontal bars, one per (label, value, status, value text), over the band."""
    row_h, right, top_pad = 24.0, 90.0, 8.0
    height = top_pad * 2 + row_h * max(len(rows), 1)
    fig = Figure(width, height, title)
    top = scale_top([v for _l, v, _s, _t in rows], band, share)

    def to_x(v: float) -> float:
        return left + (width - left - right) * min(max(v / top, 0), 1)

    _band_zone(fig, band, to_x, top_pad, height - 2 * top_pad, top)
    for i, (label, v, status, text) in enumerate(rows):
        y = top_pad + i * row_h
        fig.add(Label(left - 8, y + row_h / 2 + 4, label, 11, "end"))
        if v is not None:
            fig.add(Rect(left, y + 5, max(to_x(v) - left, 2), row_h - 10, COLOUR.get(status, COLOUR["no_data"])))
        fig.add(Label((to_x(v) if v is not None else left) + 6, y + row_h / 2 + 4, text, 11, "start", INK, True))
    return fig


def lag(rows: list[tuple[str, int, int, str]], *, title: str, width: float = 600.0, left: float = 230.0) -> Figure:
    """Stacked bars per unit: targets not met (red, first) and met (green), with 'n/m met' labels."""
    row_h, right, top_pad = 24.0, 96.0, 6.0
    height = top_pad * 2 + row_h * max(len(rows), 1)
    most = max((n + m for _l, n, m, _t in rows), default=1) or 1
    fig = Figure(width, height, title)
    unit = (width - left - right) / most
    for i, (label, not_met, met, text) in enumerate(rows):
        y = top_pad + i * row_h
        fig.add(Label(left - 8, y + row_h / 2 + 4, label, 11, "end"))
        if not_met:
            fig.add(Rect(left, y + 4, not_met * unit, row_h - 8, COLOUR["not_met"]))
        if met:
            fig.add(Rect(left + not_met * unit, y + 4, met * unit, row_h - 8, COLOUR["met"]))
        fig.add(Label(left + (not_met + met) * unit + 6, y + row_h / 2 + 4, text, 11, "start", INK, True))
    return fig
