"""The parameters of a dashboard view, the links between views, and the template environment."""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup

from app.errors import InvalidInput
from app.services.indicators import method
from app.web import charts, formats, i18n, svg

HERE = Path(__file__).resolve().parent
SORTS = ("unit", "value", "gap", "status", "denominator")
LOCAL = i18n.LOCAL


@dataclass(frozen=True)
class View:
    """What the person asked for: resolution, unit, date, the recorded moment and the language."""

    doc: str
    org_unit: str
    as_of: date
    known_at: datetime
    lang: str = "vi"
    pinned: bool = False
    sort: str = "unit"
    desc: bool = False
    defaulted: bool = False  # as_of was not asked for: board.default_day chose it

    def params(self, **over: Any) -> dict[str, str]:
        view = replace(self, **{k: v for k, v in over.items() if k in self.__dataclass_fields__})
        out = {"doc": view.doc, "org_unit": view.org_unit, "as_of": view.as_of.isoformat(),
               "known_at": stamp(view.known_at), "lang": view.lang}
        if "sort" in over:
            out |= {"sort": view.sort, "dir": "desc" if view.desc else "asc"}
        return out

    def url(self, path: str, **over: Any) -> str:
        return f"{path}?{urlencode(self.params(**over), safe=':')}"

    def sort_url(self, path: str, column: str) -> str:
        desc = not self.desc if column == self.sort else column in ("gap",)
        return self.url(path, sort=column, desc=desc)

    def aria_sort(self, column: str) -> str:
        if column != self.sort:
            return "none"
        return "descending" if self.desc else "ascending"


@dataclass
class Words:
    """Coded values in the page's language, from the stored code book."""

    labels: method.Labels
    lang: str

    def __call__(self, list_name: str | None, code: Any) -> str:
        return "—" if code is None else method.label(self.labels, list_name, str(code), self.lang)


def stamp(moment: datetime) -> str:
    """A moment as ISO 8601 in UTC with a 'Z' (no '+' to escape in a URL)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local(moment: datetime) -> str:
    """A moment in Vietnam's time, as the date-and-time picker holds it (to the millisecond, as pinned)."""
    return moment.astimezone(LOCAL).replace(tzinfo=None).isoformat(timespec="milliseconds")


def recorded_by(moment: datetime | None) -> datetime:
    """The moment whose recorded data a view shows: now when none is asked for, and now for a moment still to come
    (what is recorded by then is not known yet; a link pinned to it would change). A moment without a zone is UTC."""
    now = pinned_now()
    if moment is None:
        return now
    try:
        return min((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC), now)
    except OverflowError:  # the first hours of year 1 or the last of 9999 in a zone far from UTC
        raise InvalidInput("not a moment", errors=[{"field": "known_at", "message": f"out of range: {moment}"}]) from None


def pinned_now() -> datetime:
    """Now, to the millisecond, so that a moment shown and sent back names the same data."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def lang_of(value: str | None) -> str:
    return value if value in i18n.LANGS else "vi"


def item_dict(item: Any) -> dict[str, Any]:
    return item.result if hasattr(item, "result") else item


def bullet(item: Any, lang: str) -> Markup:
    data = item_dict(item)
    target = data.get("target")
    band = tuple(target["band"]) if target else None
    title = f"{formats.value(data, data.get('value'), lang)} / {formats.band(data, lang)}"
    fig = charts.bullet(data.get("value"), band, formats.status_key(data), share=formats.measure(data) == "share", title=title)
    return svg.render(fig, css_class="bullet", hidden=True)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals |= {"fmt": formats, "i18n": i18n, "icon": svg.icon, "svg": svg.render, "bullet": bullet,
                    "stamp": stamp, "local": local}
    return env


ENV = environment()


def page(template: str, lang: str, **context: Any) -> str:
    """Render a template with `t` bound to the language."""
    return ENV.get_template(template).render(lang=lang, t=lambda key: i18n.t(key, lang), **context)
