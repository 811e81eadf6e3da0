"""Evaluate indicators: one unit or every unit, any date, as known now or at a past moment."""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

import pydantic_core
from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import Session, aliased

from app.config import get_settings
from app.errors import Forbidden, InvalidInput, NotFound
from app.models import IndicatorDefinition, OrgUnitVersion, Person, PersonVersion, Statistic, Txn
from app.services import audit, codelists, history, tree
from app.services.context import Actor
from app.services.indicators import catalog, compiler, disclosure, kinds, ratios, reported, scopes
from app.services.indicators.cache import LRU, data_state, writing
from app.services.indicators.fields import FIELDS, Ctx, Row, unit_valid
from app.services.indicators.moves import Projected
from app.services.indicators.spec import IndicatorSpec, atoms
from app.services.versioning import current_or_at


def context(
    session: Session, spec: IndicatorSpec, as_of: date, cut: int | None, codes: tuple[int, int] | None = None
) -> Ctx:
    return Ctx(as_of=as_of, cut=cut, book=codelists.load(session, codes), policy=spec.policy)


def unit_in_reach(session: Session, actor: Actor, code: str) -> int:
    """The id of the unit `code` when the caller may read it: NotFound, or Forbidden `out_of_scope`."""
    uid = tree.unit_id(session, code)
    allowed = tree.reach(session, actor)
    if allowed is not None and uid not in allowed:
        raise Forbidden(f"org unit {code!r} is outside your org units", code="out_of_scope")
    return uid


_unit = unit_in_reach  # the former private name, for branches written before it was made public


def statistic_for(session: Session, code: str, unit_id: int, as_of: date, cut: int | None) -> Statistic | None:
    """The figure reported for the unit itself whose period starts latest on or before the date."""
    return reported.latest(session, code, unit_id, as_of, cut)


def _target(spec: IndicatorSpec) -> dict[str, Any] | None:
    if spec.target is None:
        return None
    return {
        "band": list(spec.target.band),
        "strict": spec.target.strict,
        "direction": spec.target.direction,
        "deadline": spec.deadline.isoformat() if spec.deadline else None,
    }


def counts(session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> tuple[int | None, int | None, Any]:
    """(numerator, denominator, extra) for one unit, by the kind's rule (`kinds`)."""
    return kinds.of(spec).counts(session, spec, ctx, unit_id)


def _figure(stat: Statistic) -> dict[str, Any]:
    return {"code": stat.code, "period": stat.period, "value": ratios.as_number(ratios.exact(stat.value)), "source": stat.source}


_run = kinds.run
tiered = kinds.tiered
reads_local_languages = kinds.reads_local_languages
_unlisted = kinds.unlisted


def value_of(spec: IndicatorSpec, num: int | None, den: Any, extra: Any) -> Fraction | None:
    return kinds.of(spec).value(spec, num, den, extra)


def _place_of_work(session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> dict[str, Any]:
    """How many persons of the population work where no local language is listed (spec revision 2, point 8):
    for them any ethnic-minority language counted. The population's own statement, with another share."""
    num, _den = _run(session, "counts", _unlisted(spec), ctx, compiler.population_counts, unit_id).one()
    return {"rule": "local_languages", "persons_where_none_listed": int(num or 0)}


def _partial(spec: IndicatorSpec, extra: Any, result: dict[str, Any]) -> str | None:
    """What a figure with a value leaves out or assumes: years not reported, the private sector, the languages."""
    coverage = result.get("coverage")
    if isinstance(extra, reported.YearlyAverage) and extra.missing:
        missing = ", ".join(str(y) for y in extra.missing)
        of = len(extra.figures) + len(extra.missing)
        return f"{len(extra.figures)} of {of} years reported (missing: {missing}): the average is of the years reported"
    if coverage == "registry":
        return (f"no reported statistic {spec.numerator_statistic!r} for the area: the numerator is the registry's "
                "count (public sector only)")
    if result.get("place_of_work", {}).get("persons_where_none_listed"):
        return ("some persons of the population work where no unit up the tree lists local languages "
                "(place_of_work): for them any ethnic-minority language counted")
    return None


def _territory_note(result: dict[str, Any]) -> str:
    terr = result["territory"]
    shared = terr["shared"]
    said = (f"the org unit closed on {terr['last_day']}: figures for its territory on this date ({terr['units']} units "
            "that were under it on its last day or continue only its units); at_closure gives its own figure on its last day")
    if shared:
        said += (f"; {len(shared)} successor unit(s) also continuing units from elsewhere are left out "
                 "(territory.shared, with what each would have added)")
    if result.get("value") is None and result["kind"] != "flow_count":
        said += "; no value on this date"
    return said


def _note(spec: IndicatorSpec, num: Any, den: Any, value: Fraction | None, extra: Any, unit_exists: bool) -> str | None:
    kind = kinds.of(spec)
    if not kind.scored:
        return "qualitative target: listed, never scored"
    if not unit_exists and kind.needs_unit:
        return "the org unit did not exist on or before that date: it has no territory, nothing lies under it"
    if value is not None:
        return None
    return kind.empty_note(spec)


def evaluate(
    session: Session, actor: Actor, code: str, *, org_unit: str, as_of: date, known_at: datetime | None = None
) -> dict[str, Any]:
    """The contract's answer for one indicator, unit and date, with how it was obtained.

    Answers are kept per process (bounded) under the state of the data they were computed from:
    the latest committed transaction (id and time) and the code lists. Every write makes a new
    transaction, so a write changes the key and the next request computes afresh; a request whose
    own transaction has written is never answered from, nor stored in, the cache.

    A moment asked for (`known_at`) enters the key as the transaction it names (`history.txn_cut`), which is all
    the figures read of it: two moments with no commit between them share one answer, which echoes each caller's
    own moment. The dashboard asks for the present as the moment of the page (`web.view.recorded_by`), a new one
    each millisecond: keyed by the moment, none of its answers was ever served again, and each took a place.
    """
    cut = history.txn_cut(session, known_at)
    state = data_state(session)
    definition = catalog.get(session, code, cut)  # read once for the whole answer
    guarded = not actor.sees_sensitive and disclosure.protects(actor, definition[1])
    day = disclosure.reference_date(as_of) if guarded else as_of
    key = (str(session.get_bind().engine.url), state, code, org_unit, day, cut,
           date.today() if guarded else None)  # protected answers depend on the year-ends passed (disclosure rule 3)
    answers = None if writing(session) else _answers()
    found = answers.get(key) if answers is not None else None
    beyond = _territory_beyond_scope(actor, definition[1])
    if found is not None:
        unit_in_reach(session, actor, org_unit)  # the caller's scope, as for a computed answer
        found = copy.deepcopy(found) | {"known_at": known_at.isoformat() if known_at else None}
        return _asked(_small_tiers(actor, guarded, beyond(found)), as_of, guarded)
    result = _evaluate(session, actor, code, org_unit, day, known_at, cut, state, definition)
    if guarded:
        result = _guard(session, result, code, tree.unit_id(session, org_unit), day, cut)
    if answers is not None:
        answers.put(key, copy.deepcopy(result))
    return _asked(_small_tiers(actor, guarded, beyond(result)), as_of, guarded)


def territory_withheld(actor: Actor, spec: IndicatorSpec) -> bool:
    """Whether a closed unit's territory figures of this indicator are withheld from the caller.

    From aggregate-only roles when the indicator is protected (`_guard_territory`); and from every scoped caller
    when the definition reads a sensitive attribute: a territory gathers units that now sit elsewhere, whose
    persons such a caller may not read, and their counts would tell it their ethnicity or party membership."""
    protected = bool(disclosure.sensitive_parts(spec))
    return protected and (not actor.sees_sensitive or not actor.whole_tree)


def _territory_beyond_scope(actor: Actor, spec: IndicatorSpec) -> Callable[[dict[str, Any]], dict[str, Any]]:
    withheld = territory_withheld(actor, spec)

    def apply(result: dict[str, Any]) -> dict[str, Any]:
        if withheld and result.get("scope") == "territory" and not result.get("suppressed"):
            return _guard_territory(result)
        return result

    return apply


def _asked(result: dict[str, Any], as_of: date, guarded: bool) -> dict[str, Any]:
    """A protected answer names the date asked beside the reference date it was computed at."""
    return result | {"requested_as_of": as_of.isoformat()} if guarded else result


def _guard(session: Session, result: dict[str, Any], code: str, unit_id: int, day: date, cut: int | None) -> dict[str, Any]:
    reason = protected_plan(session, code, day, cut).get(unit_id)
    if result.get("scope") == "territory":
        return _guard_territory(result)
    if "place_of_work" in result:  # a count of persons beside a protected figure would single some out
        result = result | {"place_of_work": {"rule": result["place_of_work"]["rule"]}}
    if "by_tier" in result:
        if reason:
            hidden: dict[str, str] = {t["tier"]: reason for t in result["by_tier"]}
        else:
            _row, spec = catalog.get(session, code, cut)
            ctx = context(session, spec, day, cut)
            hidden = _group_plan(session, code, spec, ctx, unit_id, "tier")
        result = result | {"by_tier": [_tier_verdict(t, hidden.get(t["tier"])) for t in result["by_tier"]]}
    return disclosure.hide(result, reason) if reason else disclosure.shown(result)


def _guard_territory(result: dict[str, Any]) -> dict[str, Any]:
    """A closed unit's territory overlaps the families the suppression rules settle (the units it gathers sit under
    other units now): its figures, its shared units' counts and its figure on its last day (not a reference date)
    are withheld from aggregate-only callers of a protected indicator. The units are named."""
    terr = result["territory"]
    hidden = disclosure.hide(result, "territory")
    hidden["territory"] = terr | {"shared": [{"org_unit": s["org_unit"]} for s in terr["shared"]]}
    hidden["at_closure"] = disclosure.hide(result["at_closure"], "territory")
    hidden["note"] = (f"the org unit closed on {terr['last_day']}: the figures of its territory on this date and of its "
                      "last day are withheld from your role, as they could disclose persons' sensitive data")
    hidden.pop("by_tier", None)
    hidden.pop("place_of_work", None)
    return hidden


def _tier_verdict(cell: dict[str, Any], reason: str | None) -> dict[str, Any]:
    return disclosure.hide(cell, reason) if reason else disclosure.shown(cell)


def _small_tiers(actor: Actor, guarded: bool, result: dict[str, Any]) -> dict[str, Any]:
    """An aggregate-only caller sees tiers of fewer than k persons suppressed (as in the tier breakdown).

    Applied after the cache (the cached answer is exact and shared); the overall status stays the exact
    one. A protected answer has had its tiers settled by `_guard` already.
    """
    if "by_tier" not in result or actor.sees_sensitive or guarded:
        return result
    return result | {"by_tier": [small_tier(t) for t in result["by_tier"]]}


def small_tier(cell: dict[str, Any]) -> dict[str, Any]:
    """One exact by_tier cell as an aggregate-only caller sees it (the small-cell rule of the breakdown)."""
    if cell.get("suppressed"):
        return cell
    small = cell["denominator"] is not None and cell["denominator"] < threshold()
    return disclosure.hide(cell, "primary") if small else cell | {"suppressed": False}


_RESULTS: LRU[dict[str, Any]] = LRU(4096)


def _answers() -> LRU[dict[str, Any]] | None:
    """The answers kept per process, at most INDICATOR_ANSWER_CACHE of them; None when that is 0 (none kept)."""
    size = get_settings().indicator_answer_cache
    if size == 0:
        return None
    _RESULTS.size = size
    return _RESULTS


_TREES: LRU[tree.Tree] = LRU(4)


def _tree(session: Session, cut: int | None) -> tree.Tree:
    """The org-unit tree as recorded now (or at `cut`), read once per state of the data (bench F2).

    Shared between requests: never change it.
    """
    if writing(session):
        return tree.Tree(session, cut)
    key = (str(session.get_bind().engine.url), data_state(session), cut)
    return _TREES.get_or_build(key, lambda: tree.Tree(session, cut))


def _evaluate(
    session: Session,
    actor: Actor,
    code: str,
    org_unit: str,
    as_of: date,
    known_at: datetime | None,
    cut: int | None,
    state: tuple[int, Any, int, int],
    definition: tuple[IndicatorDefinition, IndicatorSpec],
) -> dict[str, Any]:
    """`definition`: the indicator's definition in force at `cut` (catalog.get), read once by the caller."""
    row, spec = definition
    unit_id = unit_in_reach(session, actor, org_unit)
    ctx = context(session, spec, as_of, cut, (state[2], state[3]))
    num, den, extra = counts(session, spec, ctx, unit_id)
    value = value_of(spec, num, den, extra)
    span = _span(session, unit_id, cut)
    unit_exists = _existed(span, as_of)
    last = _closed(span, as_of) if has_territory(spec) else None
    result: dict[str, Any] = {
        "indicator": code,
        "org_unit": org_unit,
        "as_of": as_of.isoformat(),
        "numerator": num,
        "denominator": den,
        "value": _json_value(spec, value),
        "target": _target(spec),
        "status": ratios.status(value, spec.target),
        "band_position": ratios.band_position(value, spec.target),
        "kind": spec.kind,
        "names": spec.names,
        "definition": {"version": row.version, "sha256": row.sha256},
        "known_at": known_at.isoformat() if known_at else None,
        "data_version": cut if cut is not None else state[0],
    }
    if tiered(spec):
        result["by_tier"] = tier_cells(spec, _by_counts(session, spec, ctx, unit_id, "tier"))
        result["status"] = every_tier(result["status"], result["by_tier"])
    if isinstance(extra, Statistic):
        result["statistic"] = _figure(extra)
    if isinstance(extra, reported.YearlyAverage):
        result["average"] = extra.explained()
    if spec.numerator_statistic:
        area = statistic_for(session, spec.numerator_statistic, unit_id, as_of, cut)
        result["coverage"] = "statistic" if area is not None else "registry"
        if area is not None:
            result["numerator_statistic"] = _figure(area)
    if reads_local_languages(spec):
        result["place_of_work"] = _place_of_work(session, spec, ctx, unit_id)
    if last is not None:
        closing = _evaluate(session, actor, code, org_unit, last, known_at, cut, state, definition)
        result |= _territory(session, spec, ctx, unit_id, last, closing)
        result["note"] = _territory_note(result)
        return result
    note = _note(spec, num, den, value, extra, unit_exists) or _partial(spec, extra, result)
    if note:
        result["note"] = note
    return result


TIER_ORDER = ("central", "province", "district", "commune")


def tier_cells(spec: IndicatorSpec, counts: dict[Any, tuple[Any, Any]]) -> list[dict[str, Any]]:
    """Each tier's own figures, exact, from (numerator, denominator) per tier (spec revision 2, point 2)."""
    def order(tier: str) -> tuple[int, str]:
        return (TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER), tier)

    cells = []
    for tier in sorted((str(t) for t in counts), key=order):
        num, den = (int(x or 0) for x in counts[tier])
        value = ratios.share(num, den)
        cells.append({
            "tier": tier,
            "numerator": num,
            "denominator": den,
            "value": _json_value(spec, value),
            "status": ratios.status(value, spec.target),
            "band_position": ratios.band_position(value, spec.target),
        })
    return cells


def every_tier(status: str, cells: list[dict[str, Any]]) -> str:
    """The overall status of a target set at every level: not met when a tier with members is not (no_data stays)."""
    if status == "no_data":
        return status
    return "not_met" if any(c["denominator"] and c["status"] == "not_met" for c in cells) else status


def _span(session: Session, unit_id: int, cut: int | None) -> tuple[date | None, date | None]:
    """(valid_from, valid_to) of the unit as recorded (at the cut): one indexed lookup, not the whole tree."""
    row = session.execute(
        select(OrgUnitVersion.valid_from, OrgUnitVersion.valid_to).where(
            OrgUnitVersion.org_unit_id == unit_id, current_or_at(OrgUnitVersion, cut))
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


def _existed(span: tuple[date | None, date | None], as_of: date) -> bool:
    """Whether a unit of this (valid_from, valid_to) existed on the date."""
    start, end = span
    return start is not None and start <= as_of and (end is None or end >= as_of)


def _closed(span: tuple[date | None, date | None], as_of: date) -> date | None:
    """The last day of a unit of this span, when it is before the date (the unit is evaluated for its territory)."""
    end = span[1]
    return end if end is not None and end < as_of else None


def closed_before(session: Session, unit_id: int, as_of: date, cut: int | None) -> date | None:
    """The unit's last day, when it is before the date (the unit is evaluated for its territory)."""
    return _closed(_span(session, unit_id, cut), as_of)


def has_territory(spec: IndicatorSpec) -> bool:
    """Kinds counted over a scope of units: a closed unit answers for its territory (reported figures are read for
    the unit itself; a qualitative target has no figure)."""
    return kinds.of(spec).territory


def _shared(spec: IndicatorSpec) -> kinds.Build:
    """The kind's statement of what each shared unit left out of a territory would add."""
    build = kinds.of(spec).shared()
    assert build is not None, spec.kind
    return build


AT_CLOSURE = ("as_of", "numerator", "denominator", "value", "status", "band_position")


def _territory(session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int, last: date,
               at_closure: dict[str, Any]) -> dict[str, Any]:
    """What a closed unit's answer adds (domain.md, 'Targets outlive the units they were set for'): the territory's
    top units on D, the shared units left out with what each would have added, and the unit's figure on its last day."""
    found = _run(session, "territory", spec, ctx, lambda _s, c: compiler.territory_units(c), unit_id)
    members: dict[int, int] = {int(r[0]): int(r[1]) for r in found}
    inside = {u for u, flag in members.items() if not flag}
    snapshot = _tree(session, ctx.cut)
    top = sorted(snapshot.units[u].code for u in inside if snapshot.parent_on(u, ctx.as_of) not in inside)
    shared = {uid: (num, den) for uid, num, den in _run(session, "shared", spec, ctx, _shared(spec), unit_id)}
    persons_only = kinds.of(spec).persons_only_shared  # a rate's denominator is the area's statistic, not persons
    left_out = [
        {"org_unit": snapshot.units[u].code,
         "numerator": int(shared.get(u, (0, 0))[0] or 0),
         "denominator": None if persons_only else int(shared.get(u, (0, 0))[1] or 0)}
        for u, flag in members.items() if flag
    ]
    return {
        "scope": "territory",
        "territory": {"last_day": last.isoformat(), "top_units": top, "units": len(inside),
                      "shared": sorted(left_out, key=lambda x: str(x["org_unit"]))},
        "at_closure": {k: at_closure.get(k) for k in AT_CLOSURE},
    }


def statistics_for_all(session: Session, code: str, as_of: date, cut: int | None) -> dict[int, Statistic]:
    """For every unit at once, the figure whose period starts latest on or before the date (bench F5)."""
    return reported.latest_for_all(session, code, as_of, cut)


def _json_value(spec: IndicatorSpec, value: Fraction | None) -> float | int | None:
    """Shares and rates as floats (0.25 for 25%); counts and reported figures as they are."""
    return ratios.as_number(value, whole_as_int=kinds.of(spec).whole_as_int)


def answer_date(session: Session, actor: Actor, code: str, as_of: date, known_at: datetime | None = None) -> date:
    """The date figures are given at for this caller: the reference date for a protected indicator."""
    _row, spec = catalog.get(session, code, history.txn_cut(session, known_at))
    return disclosure.reference_date(as_of) if disclosure.protects(actor, spec) else as_of


def _data_version(session: Session) -> int:
    return int(session.scalar(select(func.max(Txn.id))) or 0)


def evaluate_all(
    session: Session, actor: Actor, code: str, *, as_of: date, under: str | None, known_at: datetime | None = None,
    projection: Projected | None = None,
) -> list[dict[str, Any]]:
    """Every unit (under `under`, or in the caller's reach) at once: one set-based pass (with a projection's moves
    when given: app/services/projection.py, which refuses protected indicators to the roles they are guarded from)."""
    return all_units(session, actor, code, as_of=as_of, under=under, known_at=known_at, projection=projection).items()


def all_units(
    session: Session, actor: Actor, code: str, *, as_of: date, under: str | None, known_at: datetime | None = None,
    projection: Projected | None = None,
) -> "AllUnits":
    """The figures of every unit (under `under`, or in the caller's reach), as dicts (`items`) or as the JSON of
    those dicts (`json`, for `GET /indicators/{code}/values`)."""
    cut = history.txn_cut(session, known_at)
    _row, spec = catalog.get(session, code, cut)
    guarded = disclosure.protects(actor, spec)
    as_of = disclosure.reference_date(as_of) if guarded else as_of
    hidden = protected_plan(session, code, as_of, cut) if guarded else {}
    ctx = context(session, spec, as_of, cut)
    ctx.projection = projection
    snapshot = _tree(session, cut)
    scored = kinds.of(spec).scored
    rows = [r for r in snapshot.day_rows(as_of) if scored or not r.closed]

    def where(r: tree.DayRow) -> date:  # a closed unit sits where it stood on its last day
        span = snapshot.units[r.id]
        return span.valid_to if r.closed and span.valid_to is not None else as_of

    if under is not None:
        root = unit_in_reach(session, actor, under)
        rows = [r for r in rows if root in snapshot.ancestors_on(r.id, where(r))]
    allowed = tree.reach(session, actor)
    if allowed is not None:
        rows = [r for r in rows if r.id in allowed]
    withheld = guarded or territory_withheld(actor, spec)  # once, not for each of a national tree's closed units
    return AllUnits(spec, rows, _unit_figures(session, spec, ctx), _short_tiers(session, spec, ctx), guarded,
                    withheld, has_territory(spec), hidden)


@dataclass
class AllUnits:
    """Every unit's figures of one all-units pass, in the order of the units' codes.

    Units of equal counts and no statistic have equal figures: each such figure is computed (and written as JSON)
    once. `json()` writes the bytes `items()` would give, without building a dict per unit: at a million persons
    109,564 units, about half of what a reported indicator's answer cost (F19 in bench/findings.md)."""

    spec: IndicatorSpec
    rows: list[tree.DayRow]
    figures: "Figures"
    short: set[int]
    guarded: bool
    withheld: bool
    territories: bool
    hidden: dict[int, str]

    def _figures(self) -> Callable[[int], tuple[dict[str, Any], Any]]:
        """The figure of a unit, and the key it shares with the units of equal counts (None: a unit's own)."""
        figures, short, spec = self.figures, self.short, self.spec
        stats, areas, found = figures.stats, figures.areas, figures.found
        same: dict[tuple[Any, bool], dict[str, Any]] = {}

        def figure(uid: int) -> tuple[dict[str, Any], Any]:
            if uid in stats or uid in areas:
                return _unit_figure(spec, figures, short, uid), None
            key = (found.get(uid), uid in short)
            got = same.get(key)
            if got is None:
                got = same[key] = _unit_figure(spec, figures, short, uid)
            return got, key

        return figure

    def _item(self, row: tree.DayRow, figure: dict[str, Any]) -> dict[str, Any]:
        if row.closed and self.territories:
            item = {"org_unit": row.code} | _in_territory(figure)
            return disclosure.hide(item, "territory") if self.withheld else item
        return _verdict({"org_unit": row.code} | figure, self.guarded, self.hidden.get(row.id))

    def items(self) -> list[dict[str, Any]]:
        figure = self._figures()
        return [self._item(row, figure(row.id)[0]) for row in self.rows]

    def json(self) -> bytes:
        """The JSON array of `items()`, byte for byte (tests/engine/test_values_answer.py)."""
        figure = self._figures()
        plain = not self.guarded  # a guarded caller's items each say whether they are suppressed: written whole
        bodies: dict[Any, bytes] = {}  # a shared figure's JSON without its opening brace
        parts: list[bytes] = []
        append = parts.append
        for row in self.rows:
            found, shared = figure(row.id)
            territory = row.closed and self.territories
            if not plain or (territory and self.withheld):
                append(pydantic_core.to_json(self._item(row, found)))
                continue
            body = bodies.get((shared, territory)) if shared is not None else None
            if body is None:
                body = pydantic_core.to_json(_in_territory(found) if territory else found)[1:]
                if shared is not None:
                    bodies[(shared, territory)] = body
            append(b'{"org_unit":' + row.code_json + b"," + body)
        return b"[" + b",".join(parts) + b"]"


def _in_territory(figure: dict[str, Any]) -> dict[str, Any]:
    """A closed unit's figure, which answers for its territory: "scope" where the answer's model has it (before the
    coverage of a per-capita figure), so that the bytes are the model's."""
    out = {k: v for k, v in figure.items() if k != "coverage"} | {"scope": "territory"}
    return out | {"coverage": figure["coverage"]} if "coverage" in figure else out


def _unit_figure(spec: IndicatorSpec, figures: "Figures",
                 short: set[int], uid: int) -> dict[str, Any]:
    """One unit's figures from the all-units pass: counts, value, status (tiers included) and band position."""
    num, den, extra = figures(uid)
    value = value_of(spec, num, den, extra)
    item = {
        "numerator": num,
        "denominator": den,
        "value": _json_value(spec, value),
        "status": _tier_status(ratios.status(value, spec.target), uid, short),
        "band_position": ratios.band_position(value, spec.target),
    }
    if spec.numerator_statistic:
        item["coverage"] = "statistic" if figures.areas.get(uid) is not None else "registry"
    return item


def _verdict(item: dict[str, Any], guarded: bool, reason: str | None) -> dict[str, Any]:
    """The item as a protected caller sees it (unchanged for others)."""
    if not guarded:
        return item
    return disclosure.hide(item, reason) if reason else disclosure.shown(item)


@dataclass
class Figures:
    """Every unit's counts from the all-units pass, with the statistics they read."""

    spec: IndicatorSpec
    found: dict[int, tuple[Any, Any]]
    stats: dict[int, Any]
    areas: dict[int, Statistic]

    def __call__(self, uid: int) -> tuple[Any, Any, Any]:
        """(numerator, denominator, statistic or yearly average) of the unit."""
        return kinds.of(self.spec).unit_figure(self.spec, self.found.get(uid), self.stats.get(uid), self.areas.get(uid))


def _unit_figures(session: Session, spec: IndicatorSpec, ctx: Ctx) -> Figures:
    """(numerator, denominator, statistic) of any unit, from one pass over all units and one statistics query."""
    found = _all_counts(session, spec, ctx)
    stats = kinds.of(spec).all_statistics(session, spec, ctx)
    areas = statistics_for_all(session, spec.numerator_statistic, ctx.as_of, ctx.cut) if spec.numerator_statistic else {}
    return Figures(spec, found, stats, areas)


def _all_counts(session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, tuple[Any, Any]]:
    """Counts of every unit, on PostgreSQL without nested-loop joins (bench F10).

    A person-level filter such as `person.highest_position_rank` is a correlated subquery whose
    selectivity PostgreSQL cannot estimate; it guessed 2 positions instead of 15,294 and joined them
    to every unit by nested loop: 5 s at 100k persons, over 300 s at 1M. For a pass over every unit
    (its rows joined to their units and persons; the date's scope pairs when they are read, `scopes.pairs`)
    hash joins are the right shape, so the planner is told not to nest loops for these statements only
    (the setting is put back after them). Same answers, 5 s -> 0.8 s at 100k.
    """
    if session.get_bind().dialect.name != "postgresql":
        return _all_counts_run(session, spec, ctx)
    session.execute(text("SET LOCAL enable_nestloop = off"))
    counts = _all_counts_run(session, spec, ctx)
    session.execute(text("SET LOCAL enable_nestloop = on"))  # (if the statement failed, the transaction is gone anyway)
    return counts


def _all_counts_run(session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, tuple[Any, Any]]:
    return kinds.of(spec).all_counts(session, spec, ctx)


def _short_tiers(session: Session, spec: IndicatorSpec, ctx: Ctx) -> set[int]:
    """The units where some tier with members is short of the target (a target set at every level), set-based.

    One grouped query by anchor unit and tier (the all-units pass, split by the body's tier), carried up the
    date's scope pairs (`scopes`), so that /values and the child-unit split say what /value says for every unit.
    """
    if not tiered(spec):
        return set()
    per: dict[int, dict[Any, tuple[Any, Any]]] = {}
    rows = _run(session, "tiers_all", spec, ctx, _tier_counts_all, None).all()
    for (uid, tier), (num, den) in scopes.pairs(session, ctx).roll_up(rows, keys=1).items():
        per.setdefault(uid, {})[str(tier)] = (num, den)
    return {uid for uid, found in per.items() if every_tier("met", tier_cells(spec, found)) == "not_met"}


def _tier_status(status: str, unit_id: int, short: set[int]) -> str:
    return "not_met" if status != "no_data" and unit_id in short else status


def _tier_counts_all(spec: IndicatorSpec, ctx: Ctx) -> Any:
    """(unit_id, person_id, tier, numerator, denominator) per anchor unit and its tier, rolled up to every unit by
    `scopes.ScopePairs.roll_up`: each person once per unit and tier."""

    def tier(unit_id: Any) -> tuple[list[Any], list[Any]]:
        uv = aliased(OrgUnitVersion)
        return [uv.tier.label("tier")], [(uv, and_(uv.org_unit_id == unit_id, unit_valid(uv, ctx)))]

    return compiler.unit_counts_all(spec, ctx, tier)


def persons(
    session: Session, actor: Actor, code: str, *, org_unit: str, as_of: date, known_at: datetime | None = None
) -> dict[str, Any]:
    """Who is counted: every person of the population, in the numerator or not, and why."""
    cut = history.txn_cut(session, known_at)
    _row, spec = catalog.get(session, code, cut)
    if disclosure.protects(actor, spec):
        raise Forbidden(
            "this population is defined by sensitive personal data; only aggregates are shown to your role",
            code="sensitive_population",
        )
    unit_id = unit_in_reach(session, actor, org_unit)
    ctx = context(session, spec, as_of, cut)
    drilled = kinds.of(spec).drill(session, spec, ctx, unit_id)
    if drilled is None:
        raise NotFound(f"indicator {code!r} ({spec.kind}) has no person-level drill-down", code="no_drilldown")
    found = drilled
    outside = outside_reach(session, actor, list(found))  # a past date's subtree may hold units now elsewhere
    found = {pid: v for pid, v in found.items() if pid not in outside}
    reasons = _reasons(session, spec, ctx, list(found))
    names = _names(session, list(found), cut)
    counted_as = _counted_as(session, spec, ctx, unit_id, set(found)) if kinds.of(spec).anchored else {}
    items: list[dict[str, Any]] = [
        {
            "external_id": names[pid][0],
            "full_name": names[pid][1],
            "in_numerator": bool(flag),
            "why": {**reasons.get(pid, {}), **extra},
        } | ({"in_population_by": counted_as.get(pid, [])} if kinds.of(spec).anchored else {})
        for pid, (flag, extra) in found.items()
    ]
    items.sort(key=lambda i: i["external_id"])
    _log_disclosed(session, actor, spec, list(found), org_unit=org_unit, as_of=as_of)
    return {
        "indicator": code,
        "org_unit": org_unit,
        "as_of": as_of.isoformat(),
        "persons": items,
        "numerator": sum(1 for i in items if i["in_numerator"]),
        "denominator": len(items),
    } | ({"not_listed_outside_your_units": len(outside)} if outside and not disclosure.sensitive_parts(spec) else {})


def outside_reach(session: Session, actor: Actor, ids: list[int]) -> set[int]:
    """Persons of the drill-down that the caller may not read (no employment under its units, as `persons.in_scope`).

    A territory gathers units that now sit elsewhere (a commune under the new province), and the subtree of a unit
    on a past date held units since moved away: their persons a token of the unit may not read, on any date.
    """
    from app.models import Employment

    allowed = tree.reach(session, actor)
    if allowed is None or not ids:
        return set()
    seen = set(session.scalars(select(Employment.person_id).where(
        Employment.person_id.in_(ids), Employment.sys_to.is_(None), Employment.org_unit_id.in_(sorted(allowed)))))
    return set(ids) - seen


def _log_disclosed(session: Session, actor: Actor, spec: IndicatorSpec, ids: list[int], *, org_unit: str, as_of: date) -> None:
    """A drill-down of an indicator defined on a sensitive attribute discloses it for every person listed: log each."""
    columns = disclosure.sensitive_columns(spec)
    if columns and ids:
        named: list[int | None] = [*sorted(ids)]
        audit.log_reads(session, actor, named, fields=",".join(columns), action="indicator_persons",
                        detail=f"{spec.id} {org_unit} {as_of.isoformat()}")


def _names(session: Session, ids: list[int], cut: int | None) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Person.id, Person.external_id, PersonVersion.full_name)
        .join(PersonVersion, and_(PersonVersion.person_id == Person.id, current_or_at(PersonVersion, cut)))
        .where(Person.id.in_(ids))
    )
    return {r.id: (r.external_id, r.full_name) for r in rows}


def _counted_as(session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int, ids: set[int]) -> dict[int, list[dict[str, str]]]:
    """Per person, the records that put them in the population: [{"subject": "membership", "org_unit": "ST-BCH"}, ...]."""
    if not ids or spec.population is None:
        return {}
    rows = [r for r in _run(session, "anchors", spec, ctx, compiler.population_anchors, unit_id).all() if r[0] in ids]
    codes = tree.unit_codes(session, {r[2] for r in rows})
    out: dict[int, list[dict[str, str]]] = {}
    for pid, subject, uid in sorted(rows, key=lambda r: (r[0], r[1], codes.get(r[2], ""))):
        out.setdefault(pid, []).append({"subject": subject, "org_unit": codes.get(uid, str(uid))})
    return out


def _reasons(session: Session, spec: IndicatorSpec, ctx: Ctx, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The value of every person-level field of the population's filter and of the share, per person (ordinal codes named)."""
    where = spec.population.where if spec.population is not None else None
    fields = [a.field for a in [*atoms(where), *atoms(spec.share)] if FIELDS[a.field].person_level]
    fields = list(dict.fromkeys(fields))
    if not ids or not fields:
        return {}
    person = aliased(PersonVersion)
    row = Row("person", person.person_id, None, None, person)
    cols = [FIELDS[f].sql(row, ctx).label(f"f{i}") for i, f in enumerate(fields)]
    stmt = select(person.person_id, *cols).where(person.person_id.in_(ids), ctx.current(person))
    out: dict[int, dict[str, Any]] = {}
    for r in session.execute(stmt, ctx.values()):
        out[r[0]] = {f: _readable(f, r[i + 1], ctx) for i, f in enumerate(fields)}
    return out


def _readable(name: str, value: Any, ctx: Ctx) -> Any:
    field = FIELDS[name]
    if field.type == "ordinal" and field.list_name:
        return next((c.code for c in ctx.book.lists[field.list_name].values() if c.ord == value), None)
    if field.type == "age" and isinstance(value, date):
        return ctx.as_of.year - value.year - ((ctx.as_of.month, ctx.as_of.day) < (value.month, value.day))
    if field.type == "bool":
        return bool(value)
    return value


def trend(
    session: Session,
    actor: Actor,
    code: str,
    *,
    org_unit: str,
    start_year: int = 2021,
    end_year: int | None = None,
    known_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The value at every year-end from 2021 to the deadline."""
    _row, spec = catalog.get(session, code, history.txn_cut(session, known_at))
    last = end_year or (spec.deadline.year if spec.deadline else date.today().year)
    return [
        {
            k: v
            for k, v in evaluate(session, actor, code, org_unit=org_unit, as_of=date(y, 12, 31), known_at=known_at).items()
            if k in ("as_of", "numerator", "denominator", "value", "status", "note", "suppressed", "suppression")
        }
        for y in range(start_year, max(last, start_year) + 1)
    ]


NO_STATEMENT = "qualitative target: listed, never scored; no statement runs"


def sql_of(session: Session, code: str, *, org_unit: str, as_of: date) -> str:
    """Every statement the engine runs for the unit's figures (binds inlined), for auditors: see `sql_statements`."""
    return sql_script(sql_statements(session, code, org_unit=org_unit, as_of=as_of))


def sql_script(statements: list[dict[str, str]]) -> str:
    """The statements as one script that pastes into psql or sqlite3 as is: each under a comment, ended by `;`."""
    if not statements:
        return f"-- {NO_STATEMENT}\n"
    return "\n\n".join(f"-- {s['purpose']}\n{s['sql']};" for s in statements) + "\n"


def sql_statements(session: Session, code: str, *, org_unit: str, as_of: date,
                   projection: Projected | None = None, cut: int | None = None) -> list[dict[str, str]]:
    """What `evaluate` runs for the unit's figures on the date, as known now (or at transaction `cut`, what an answer
    with `known_at` runs: the definition then, the rows recorded then): [{purpose, sql}], binds inlined.

    The statement objects are the evaluation's own (`compiler.prepared`, `reported.latest_stmt`,
    `reported.yearly_stmt`); the purpose says which figures of the answer each one gives. Checks that only
    shape the note (whether the unit existed on the date) and the disclosure rules are left out. With a
    projection's moves, the statements a projection runs for that date (app/services/projection.py).
    """
    _row, spec = catalog.get(session, code, cut)
    unit_id = tree.unit_id(session, org_unit)
    dialect = _typed_dialect(session.get_bind().dialect)
    ctx = context(session, spec, as_of, cut)
    ctx.projection = projection
    found = _figure_statements(spec, ctx, unit_id)
    if projection is not None:
        return [{"purpose": " ".join(purpose.split()),
                 "sql": str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))}
                for purpose, stmt in found]
    last = closed_before(session, unit_id, as_of, cut) if has_territory(spec) else None
    if last is not None:
        found += _territory_statements(spec, context(session, spec, as_of, cut), unit_id)
        found += [(f"at_closure ({last.isoformat()}): {purpose}", stmt)
                  for purpose, stmt in _figure_statements(spec, context(session, spec, last, cut), unit_id)]
    return [
        {"purpose": " ".join(purpose.split()), "sql": str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))}
        for purpose, stmt in found
    ]


_bound = kinds.bound


def _territory_statements(spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> list[tuple[str, Any]]:
    """The statements of a closed unit's `territory`: its units and shared units, and what each shared one adds."""
    def prepared(shape: str, build: Callable[[IndicatorSpec, Ctx], Any]) -> Any:
        return _bound(shape, spec, ctx, unit_id, build)

    return [
        ("territory: (unit_id, shared) of the units active on the date, 0 for the territory's units "
         "(territory.units counts them), 1 for the shared units left out",
         prepared("territory", lambda _s, c: compiler.territory_units(c))),
        ("territory.shared: (unit_id, numerator, denominator) that each shared unit would have added "
         "(a shared unit with no row adds 0)", prepared("shared", _shared(spec))),
    ]


def _figure_statements(spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> list[tuple[str, Any]]:
    """(purpose, statement with its values bound) for each statement `counts` runs for the unit: the kind's own steps."""
    return [(step.purpose, step.statement(spec, ctx, unit_id)) for step in kinds.of(spec).steps(spec, ctx)]


def _typed_dialect(dialect: Any) -> Any:
    """The dialect as a person types SQL into psql: psycopg's `pyformat` doubles every '%' of the compiled text
    for the driver, which a pasted literal must not have. A copy of the dialect (its server settings kept)."""
    if not dialect.identifier_preparer._double_percents:
        return dialect
    typed = copy.copy(dialect)
    typed.paramstyle, typed.positional = "named", False
    typed.__dict__.pop("_type_memos", None)  # literal processors memoised for the driver's text
    typed.identifier_preparer = typed.preparer(typed)
    return typed


DIMENSIONS = ("child_units", "tier", "gender", "age_band")


def threshold() -> int:
    """The smallest count shown to aggregate-only roles (`SUPPRESSION_THRESHOLD`, at least 1)."""
    return max(1, get_settings().suppression_threshold)


def breakdown(
    session: Session, actor: Actor, code: str, *, org_unit: str, as_of: date, by: str, known_at: datetime | None = None
) -> dict[str, Any]:
    """The value split by child unit, tier of the anchor unit, gender or age band (sums, never averages).

    Aggregate-only roles get small cells suppressed: for every indicator, a group of fewer than k
    persons in the gender, age and tier splits; for an indicator touching a sensitive attribute,
    every cell under the rules of `disclosure` (primary, family and reference-date).
    """
    if by not in DIMENSIONS:
        raise InvalidInput("unknown breakdown", errors=[{"field": "by", "message": f"one of {', '.join(DIMENSIONS)}"}])
    cut = history.txn_cut(session, known_at)
    _row, spec = catalog.get(session, code, cut)
    unit_id = unit_in_reach(session, actor, org_unit)
    guarded = disclosure.protects(actor, spec)
    day = disclosure.reference_date(as_of) if guarded else as_of
    ctx = context(session, spec, day, cut)
    territorial = ((guarded or territory_withheld(actor, spec)) and has_territory(spec)
                   and closed_before(session, unit_id, day, cut) is not None)
    if by == "child_units":
        cells = _child_cells(session, spec, ctx, unit_id, guarded)
    elif kinds.of(spec).person_splits:
        rows = _by_cells(session, spec, ctx, unit_id, by)
        if territorial:  # the territory's total is withheld (`_guard_territory`): so are its parts
            hidden = dict.fromkeys(rows, "territory")
        else:
            hidden = _group_plan(session, code, spec, ctx, unit_id, by) if guarded else {}
        small = not actor.sees_sensitive and not guarded
        cells = [_cell(spec, key, cell.num, cell.den, hidden.get(key), small) for key, cell in rows.items()]
    else:
        raise InvalidInput(f"a {spec.kind} indicator splits by child_units only", errors=[{"field": "by", "message": by}])
    answer = {"indicator": code, "org_unit": org_unit, "as_of": day.isoformat(), "by": by, "cells": cells}
    return answer | {"requested_as_of": as_of.isoformat()} if guarded else answer


def _by_cells(session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int, by: str) -> dict[str, disclosure.Cell]:
    """(numerator, denominator) per group of the dimension under the unit (and the base when it is protected)."""

    return _cells_of(spec, ctx, lambda which, on: _by_counts(session, which, on, unit_id, by))


def _by_counts(session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int, by: str) -> dict[Any, tuple[Any, Any]]:
    rows = _run(session, f"by_{by}", spec, ctx, lambda s, c: compiler.population_by(s, c, by), unit_id).all()
    return {str(key): (int(num), int(den)) for key, num, den in rows}


Fetch = Callable[[IndicatorSpec, Ctx], dict[Any, tuple[Any, Any]]]
Cells = dict[Any, disclosure.Cell]


def _cells_of(spec: IndicatorSpec, ctx: Ctx, fetch: Fetch) -> Cells:
    """Counts per key by `fetch`, with the base population's count when the population reads a sensitive field."""
    found = {k: (int(n or 0), int(d or 0)) for k, (n, d) in fetch(spec, ctx).items()}
    if "population" not in disclosure.sensitive_parts(spec):
        return {k: disclosure.Cell(n, d) for k, (n, d) in found.items()}
    base = {k: (int(n or 0), int(d or 0)) for k, (n, d) in fetch(disclosure.base_spec(spec), ctx).items()}
    keys = set(found) | set(base)
    return {k: disclosure.Cell(*found.get(k, (0, 0)), base.get(k, (0, 0))[1], base.get(k, (0, 0))[0]) for k in keys}


def _cell(spec: IndicatorSpec, key: str, num: int, den: int, reason: str | None, small: bool) -> dict[str, Any]:
    shares = kinds.of(spec).share_cells
    value = ratios.share(num, den) if shares else None
    cell = {
        "key": key,
        "numerator": num if shares else None,
        "denominator": den,
        "value": _json_value(spec, value),
        "status": ratios.status(value, spec.target) if shares else "no_data",
        "band_position": ratios.band_position(value, spec.target) if shares else None,
        "suppressed": False,
    }
    if small and den < threshold():
        reason = "primary"
    return disclosure.hide(cell, reason) if reason else cell


def _child_cells(session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int, guarded: bool) -> list[dict[str, Any]]:
    snapshot = _tree(session, ctx.cut)
    children = sorted(
        (u for u in snapshot.units if u != unit_id and snapshot.parent_on(u, ctx.as_of) == unit_id),
        key=lambda u: snapshot.units[u].code,
    )
    figures = _unit_figures(session, spec, ctx)
    short = _short_tiers(session, spec, ctx)
    hidden = protected_plan(session, spec.id, ctx.as_of, ctx.cut) if guarded else {}
    cells = []
    for child in children:
        item = {"key": snapshot.units[child].code} | _unit_figure(spec, figures, short, child)
        cells.append(_verdict(item, guarded, hidden.get(child)))
    return cells


Series = dict[date, Cells]


def _series(spec: IndicatorSpec, ctx: Ctx, fetch: Fetch) -> Series:
    """The cells at every reference date (rule 3 of `disclosure` compares them all)."""
    return {
        day: _cells_of(spec, Ctx(as_of=day, cut=ctx.cut, book=ctx.book, policy=ctx.policy), fetch)
        for day in disclosure.reference_dates(date.today())
    }


_PLANS: LRU[dict[date, dict[Any, str]]] = LRU(64)


def protected_plan(session: Session, code: str, as_of: date, cut: int | None) -> dict[int, str]:
    """Which units' figures of a protected indicator are suppressed on a reference date, and why.

    Computed over the whole tree and every reference date at once (so every route, date and caller's
    scope agree), and kept per state of the data like the tree. At a date outside the reference
    dates every unit is suppressed.
    """
    plans = _tree_plans(session, code, cut)
    if as_of in plans:
        return plans[as_of]
    snapshot = _tree(session, cut)
    return dict.fromkeys(snapshot.units, "complementary")


def _tree_plans(session: Session, code: str, cut: int | None) -> dict[date, dict[Any, str]]:
    return _PLANS.get_or_build(_shared_key(session, code, cut), lambda: _plan(session, code, cut))


def _shared_key(session: Session, *parts: Any) -> tuple[Any, ...]:
    """A key under which a result is shared between requests: unique (never shared) when this transaction writes."""
    if writing(session):
        return (object(),)
    return (str(session.get_bind().engine.url), data_state(session), date.today(), threshold(), *parts)


def _plan(session: Session, code: str, cut: int | None) -> dict[date, dict[Any, str]]:
    _row, spec = catalog.get(session, code, cut)
    rule = disclosure.Rule(disclosure.sensitive_parts(spec), threshold())
    ctx = context(session, spec, date.today(), cut)
    series = _series(spec, ctx, lambda which, on: _all_counts(session, which, on))
    snapshot = _tree(session, cut)
    keys: dict[date, list[Any]] = {}
    families: dict[date, dict[Any, list[Any]]] = {}
    for day in series:
        keys[day] = [u for u in snapshot.units if snapshot.valid_on(u, day)]
        for u in keys[day]:
            parent = snapshot.parent_on(u, day)
            if parent is not None:
                families.setdefault(day, {}).setdefault(parent, []).append(u)
    return disclosure.plan(rule, series, keys, families)


TOTAL_KEY = "(unit)"


def _group_plan(session: Session, code: str, spec: IndicatorSpec, ctx: Ctx, unit_id: int, by: str) -> dict[str, str]:
    """The suppressed groups of a protected gender, age or tier split: the unit's figure is their total."""
    rule = disclosure.Rule(disclosure.sensitive_parts(spec), threshold())
    series = _series(spec, ctx, lambda which, on: _by_counts(session, which, on, unit_id, by))
    if ctx.as_of not in series:
        return dict.fromkeys(_by_cells(session, spec, ctx, unit_id, by), "complementary")
    trees = _tree_plans(session, code, ctx.cut)
    keys = {day: list(cells) for day, cells in series.items()}
    for cells in series.values():
        cells[TOTAL_KEY] = disclosure.sum_of(rule, cells.values())
    families = {day: {TOTAL_KEY: keys[day]} for day in series}
    preset = {day: {TOTAL_KEY: "complementary"} for day in series if unit_id in trees.get(day, {})}
    hidden = disclosure.plan(rule, series, keys, families, preset)[ctx.as_of]
    return {k: v for k, v in hidden.items() if k != TOTAL_KEY}


def frozen_results(session: Session, actor: Actor, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A published run's results as this caller may see them: protected figures withheld (for runs.py)."""
    out = []
    for result in results:
        try:
            _row, spec = catalog.get(session, str(result.get("indicator")))
        except NotFound:
            out.append(result)
            continue
        if result.get("scope") == "territory" and territory_withheld(actor, spec) and not result.get("suppressed"):
            out.append(_guard_territory(result))  # as the live answer withholds it (`_territory_beyond_scope`)
            continue
        guarded = disclosure.protects(actor, spec) and not result.get("suppressed")
        if isinstance(result.get("by_tier"), list):
            tiers = result["by_tier"]
            if guarded:
                tiers = [disclosure.hide(t, "complementary") for t in tiers]
            elif not actor.sees_sensitive:
                tiers = [small_tier(t) for t in tiers]
            result = result | {"by_tier": tiers}
        out.append(disclosure.hide(result, "complementary") if guarded else result)
    return out
