"""What the dashboard and the reports show, gathered from the indicator services in one place.

The page, the XLSX and the PDF are drawn from the same `Board`, so they cannot disagree. Every figure
comes from `service.evaluate`, `breakdown`, `trend` and `persons`, which enforce the caller's scope and,
for aggregate-only roles, suppress what could re-identify a person (indicators/disclosure.py: no
numbers, status `no_data`, `suppressed: true`); the board never computes a figure of its own.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.services import codelists, history, orgunits, tree
from app.services.context import Actor
from app.services.indicators import catalog, method, service
from app.services.indicators.fields import FIELDS
from app.services.indicators.spec import IndicatorSpec

FIRST_YEAR = 2021
SCORED = ("met", "not_met")


@dataclass
class Item:
    """One target: the engine's answer plus its definition, child-unit cells and trend."""

    result: dict[str, Any]
    spec: IndicatorSpec
    method: dict[str, Any]
    cells: list[dict[str, Any]] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    years: list[int] = field(default_factory=list)

    @property
    def code(self) -> str:
        return str(self.result["indicator"])

    @property
    def status(self) -> str:
        return "qualitative" if self.spec.kind == "qualitative" else str(self.result["status"])

    def cell(self, unit: str) -> dict[str, Any] | None:
        return next((c for c in self.cells if c["key"] == unit), None)


@dataclass
class UnitTally:
    code: str
    name: str
    met: int = 0
    not_met: int = 0
    no_data: int = 0

    @property
    def scored(self) -> int:
        return self.met + self.not_met

    def label(self, limit: int = 34) -> str:
        """'Huyện Long Phú (ST-H3)', the name cut to fit `limit` characters with the code."""
        code = f" ({self.code})"
        room = max(limit - len(code), 8)
        text = (self.name if len(self.name) <= room else self.name[: room - 1] + "…") + code
        return text


@dataclass
class Board:
    """A resolution's targets for one unit and date, as recorded at `known_at`."""

    doc: str
    org_unit: str
    unit_name: str
    as_of: date
    known_at: datetime
    items: list[Item]
    children: list[UnitTally]
    names: dict[str, str]

    @property
    def data_version(self) -> int | None:
        return int(self.items[0].result["data_version"]) if self.items else None

    def tally(self) -> dict[str, int]:
        out = {"met": 0, "not_met": 0, "no_data": 0, "qualitative": 0}
        for item in self.items:
            out[item.status] += 1
        return out

    def lagging(self) -> list[UnitTally]:
        """Child units with scored targets, the slowest (largest share not met) first."""
        scored = [u for u in self.children if u.scored]
        return sorted(scored, key=lambda u: (-u.not_met / u.scored, -u.not_met, u.code))

    def quiet_targets(self) -> list[str]:
        """Scored targets without a value at any child unit (left out of the child-unit matrix)."""
        return [i.code for i in self.items if i.status != "qualitative" and all(c["value"] is None for c in i.cells)]

    def silent(self) -> list[UnitTally]:
        """Child units where no target has data."""
        return [u for u in self.children if not u.scored]


def now() -> datetime:
    return datetime.now(UTC)


def docs(session: Session) -> list[str]:
    """The resolutions the catalog holds targets of."""
    return sorted({str(r.spec["source"]["doc"]) for r in catalog.definitions(session)})


def doc_of(session: Session, code: str) -> str:
    """The resolution a target belongs to (NotFound for an unknown code)."""
    row, _spec = catalog.get(session, code)
    return str(row.spec["source"]["doc"])


def build(session: Session, actor: Actor, *, doc: str, org_unit: str, as_of: date, known_at: datetime,
          cells: bool = True, trend: bool = False, only: str | None = None) -> Board:
    """Evaluate every target of `doc` (or just `only`) for the unit and date, as recorded at `known_at`."""
    cut = history.txn_cut(session, known_at)
    service.unit_in_reach(session, actor, org_unit)
    rows = [r for r in catalog.definitions(session, cut) if r.spec["source"]["doc"] == doc and only in (None, r.code)]
    items = [_item(session, actor, r.spec, org_unit=org_unit, as_of=as_of, known_at=known_at, cells=cells, trend=trend)
             for r in rows]
    codes = {c["key"] for i in items for c in i.cells} | {org_unit}
    names = unit_names(session, codes, cut)
    children = [UnitTally(code, names.get(code, code)) for code in sorted({c["key"] for i in items for c in i.cells})]
    for unit in children:
        for item in items:
            found = item.cell(unit.code)
            if found is not None and item.status != "qualitative":
                setattr(unit, found["status"], getattr(unit, found["status"]) + 1)
    return Board(doc, org_unit, names.get(org_unit, org_unit), as_of, known_at, items, children, names)


def _item(session: Session, actor: Actor, data: dict[str, Any], *, org_unit: str, as_of: date, known_at: datetime,
          cells: bool, trend: bool) -> Item:
    spec = IndicatorSpec.model_validate(data)
    code = spec.id
    result = service.evaluate(session, actor, code, org_unit=org_unit, as_of=as_of, known_at=known_at)
    item = Item(result, spec, method.render(spec, codelists.load(session)))
    if spec.kind == "qualitative":
        return item
    if cells:
        item.cells = service.breakdown(session, actor, code, org_unit=org_unit, as_of=as_of, by="child_units",
                                       known_at=known_at)["cells"]
    item.years = trend_years(spec, known_at)
    if trend and item.years:
        done = [y for y in item.years if date(y, 12, 31) <= known_at.date()]
        if done:
            item.trend = service.trend(session, actor, code, org_unit=org_unit, start_year=done[0], end_year=done[-1],
                                       known_at=known_at)
    return item


def deadlines(spec: IndicatorSpec) -> list[date]:
    """The days a target is assessed on: its deadline, the end of its period, the year-ends it names one by one."""
    found = [spec.deadline] if spec.deadline else []
    if spec.period:
        found.append(spec.period[1])
    found += [date(year, 12, 31) for year in spec.per_year or []]
    return found


def default_day(specs: list[IndicatorSpec], today: date) -> date:
    """The date a page shows when none is asked for: the latest deadline of its targets on or before today, else the
    last 31 December on or before today (a day whose figures are complete, where a closed unit answers for its
    territory: today would show many units as 'no data')."""
    passed = [day for spec in specs for day in deadlines(spec) if day <= today]
    return max(passed) if passed else last_year_end(today)


def last_year_end(today: date) -> date:
    return date(today.year if (today.month, today.day) == (12, 31) else today.year - 1, 12, 31)


def specs_of(session: Session, *, doc: str | None = None, code: str | None = None) -> list[IndicatorSpec]:
    """The current definitions of a resolution's targets, or of one target."""
    if code is not None:
        _row, spec = catalog.get(session, code)
        return [spec]
    return [catalog.spec_of(r.spec) for r in catalog.definitions(session) if r.spec["source"]["doc"] == doc]


def trend_years(spec: IndicatorSpec, known_at: datetime) -> list[int]:
    """The year-ends from 2021 to the deadline (or the last year named, or the current year)."""
    end = spec.deadline or (spec.period[1] if spec.period else None)
    last = end.year if end else max(spec.per_year or [known_at.year])
    return list(range(FIRST_YEAR, max(last, FIRST_YEAR) + 1))


def unit_names(session: Session, codes: set[str], cut: int | None) -> dict[str, str]:
    ids = tree.unit_ids(session, codes)
    records = orgunits.records(session, list(ids.values()), cut)
    return {rec["code"]: str(rec["name"]) for rec in records.values()}


def unit_choices(session: Session, actor: Actor, *, as_of: date) -> list[tuple[str, str, int, str | None]]:
    """(code, name, depth, validity) of every unit the caller may see, in the tree of `as_of`.

    Units that did not exist on that date are listed too, under their parent of their own last day,
    with their validity (so a person can pick a closed district, then a date when it existed).
    """
    snapshot = tree.Tree(session)
    allowed = tree.reach(session, actor)
    visible = {u for u in snapshot.units if allowed is None or u in allowed}
    kids: dict[int | None, list[int]] = {}
    for uid in visible:
        span = snapshot.units[uid]
        day = as_of if snapshot.valid_on(uid, as_of) else (span.valid_to or span.valid_from)
        parent = snapshot.parent_on(uid, day)
        kids.setdefault(parent if parent in visible else None, []).append(uid)
    names = {r["code"]: str(r["name"]) for r in orgunits.records(session, sorted(visible)).values()}
    out: list[tuple[str, str, int, str | None]] = []

    def walk(parent: int | None, depth: int) -> None:
        for uid in sorted(kids.get(parent, []), key=lambda u: snapshot.units[u].code):
            span = snapshot.units[uid]
            gone = None if snapshot.valid_on(uid, as_of) else f"{span.valid_from.isoformat()} – {_iso(span.valid_to)}"
            out.append((span.code, names.get(span.code, span.code), depth, gone))
            walk(uid, depth + 1)

    walk(None, 0)
    return out


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def default_unit(session: Session, actor: Actor) -> str | None:
    """The caller's first org unit, or the first root of the tree for a whole-tree administrator."""
    if actor.org_units:
        return actor.org_units[0]
    snapshot = tree.Tree(session)
    today = date.today()
    roots = sorted(snapshot.units[u].code for u in snapshot.units if snapshot.parent_on(u, today) is None
                   and snapshot.valid_on(u, today))
    return roots[0] if roots else None


def persons(session: Session, actor: Actor, code: str, *, org_unit: str, as_of: date, known_at: datetime) -> dict[str, Any]:
    """The drill-down: who is counted and why (the service refuses roles that may not see it)."""
    return service.persons(session, actor, code, org_unit=org_unit, as_of=as_of, known_at=known_at)


def reasons(session: Session, why: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """A person's 'why' in words: each field's label and its value, a coded value by its code list's label."""
    labels = method.labels_of(codelists.load(session))
    out = []
    for key, value in why.items():
        found = FIELDS.get(key)
        name = getattr(found, lang) if found else key
        if value is None:
            shown = "—"
        elif isinstance(value, bool):
            shown = ("có" if value else "không") if lang == "vi" else ("yes" if value else "no")
        else:
            shown = method.label(labels, found.list_name if found else None, value, lang)
        out.append((name, shown))
    return out
