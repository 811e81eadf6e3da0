"""Draw a chart Figure as inline, accessible SVG (no script, no external resource)."""

import itertools
from html import escape

from markupsafe import Markup

from app.web.charts import Dot, Figure, Line, Poly, Rect, Shape

_ids = itertools.count(1)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _shape(s: Shape) -> str:
    if isinstance(s, Rect):
        stroke = f' stroke="{s.stroke}"' if s.stroke else ""
        return f'<rect x="{_num(s.x)}" y="{_num(s.y)}" width="{_num(s.w)}" height="{_num(s.h)}" fill="{s.fill}"{stroke}/>'
    if isinstance(s, Line):
        dash = ' stroke-dasharray="5 4"' if s.dash else ""
        return (f'<line x1="{_num(s.x1)}" y1="{_num(s.y1)}" x2="{_num(s.x2)}" y2="{_num(s.y2)}" stroke="{s.stroke}" '
                f'stroke-width="{_num(s.width)}"{dash}/>')
    if isinstance(s, Poly):
        points = " ".join(f"{_num(x)},{_num(y)}" for x, y in s.points)
        return f'<polyline points="{points}" fill="none" stroke="{s.stroke}" stroke-width="{_num(s.width)}"/>'
    if isinstance(s, Dot):
        return f'<circle cx="{_num(s.x)}" cy="{_num(s.y)}" r="{_num(s.r)}" fill="{s.fill}" stroke="{s.stroke}" stroke-width="2"/>'
    anchor = {"start": "start", "middle": "middle", "end": "end"}[s.anchor]
    weight = ' font-weight="700"' if s.bold else ""
    return (f'<text x="{_num(s.x)}" y="{_num(s.y)}" font-size="{_num(s.size)}" text-anchor="{anchor}" '
            f'fill="{s.fill}"{weight}>{escape(s.text)}</text>')


def render(fig: Figure, *, css_class: str = "chart", hidden: bool = False) -> Markup:
    """`<svg role="img">` with a <title>; `hidden` for a decorative chart whose data is in the adjacent text."""
    ident = f"chart-{next(_ids)}"
    head = (f'<svg class="{css_class}" viewBox="0 0 {_num(fig.width)} {_num(fig.height)}" '
            f'width="{_num(fig.width)}" height="{_num(fig.height)}" xmlns="http://www.w3.org/2000/svg" '
            'preserveAspectRatio="xMinYMin meet" ')
    if hidden:
        head += 'aria-hidden="true" focusable="false">'
    else:
        head += f'role="img" aria-labelledby="{ident}"><title id="{ident}">{escape(fig.title)}</title>'
    return Markup(head + "".join(_shape(s) for s in fig.shapes) + "</svg>")


ICON = {
    "met": '<circle cx="8" cy="8" r="7.5" fill="#1b6e31"/><path d="M4.2 8.3l2.5 2.5 5-5.2" fill="none" stroke="#fff" '
           'stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>',
    "not_met": '<path d="M8 .6l7.4 14.2H.6z" fill="#b3261e"/><path d="M8 5.3v4.6" stroke="#fff" stroke-width="2.2" '
               'stroke-linecap="round"/><circle cx="8" cy="12.6" r="1.25" fill="#fff"/>',
    "no_data": '<circle cx="8" cy="8" r="6.5" fill="#fff" stroke="#80868b" stroke-width="2" stroke-dasharray="3 2"/>'
               '<path d="M5 8h6" stroke="#5f6368" stroke-width="2" stroke-linecap="round"/>',
    "qualitative": '<path d="M8 1l7 7-7 7-7-7z" fill="#fff" stroke="#80868b" stroke-width="2"/>',
}


def icon(status: str) -> Markup:
    """A status icon whose shape differs as well as its colour (tick, warning triangle, dashed circle, diamond)."""
    body = ICON.get(status, ICON["no_data"])
    head = '<svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">'
    return Markup(f"{head}{body}</svg>")
