"""Training needs of a unit on a date (planning.md, 'Training'): who misses a row of their title standard, who lies
outside an indicator's numerator, grouped by need, each group with how many are enrolled to finish before a date."""

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Person
from app.services import codelists, tree
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.indicators import catalog, kinds, method, service
from app.services.indicators.fields import FIELDS, Ctx
from app.services.indicators.spec import Atom, IndicatorSpec, Policy
from app.services.training_needs_queries import CODE_LISTS, QUALIFICATIONS, Miss, awarding_courses, enrolled, misses

Courses = dict[str, tuple[str, int]]
ORDER = list(QUALIFICATIONS.values())


def context(session: Session, on: date) -> Ctx:
    """The evaluation context of the title standards on `on`, as known now."""
    return Ctx(as_of=on, cut=None, book=codelists.load(session), policy=Policy())


def missing_counts(session: Session, unit_id: int, on: date) -> dict[tuple[str, str], int]:
    """(qualification list name, level) -> how many persons under the unit miss a title-standard row requiring it on `on`."""
    persons: dict[tuple[str, str], set[int]] = defaultdict(set)
    for m in misses(session, context(session, on), unit_id):
        persons[(m.qualification, m.required)].add(m.person_id)
    return {need: len(ids) for need, ids in persons.items()}


def needs(session: Session, actor: Actor, *, org_unit: str, as_of: date, before: date,
          indicator: str | None, named: bool) -> dict[str, Any]:
    """The needs of the unit on `as_of`: persons named for `named` callers, else counts with small groups suppressed."""
    unit_id = service.unit_in_reach(session, actor, org_unit)
    ctx = context(session, as_of)
    found = misses(session, ctx, unit_id)
    outside = service.outside_reach(session, actor, sorted({m.person_id for m in found}))
    courses = awarding_courses(session, ctx.book)
    groups = _title_groups(session, ctx, [m for m in found if m.person_id not in outside], courses, before)
    if indicator is not None:
        groups.append(_indicator_group(session, actor, ctx, courses, code=indicator, unit_id=unit_id, org_unit=org_unit,
                                       before=before, named=named))
    answer = {"org_unit": org_unit, "as_of": as_of.isoformat(), "before": before.isoformat(), "persons_named": named}
    if named:
        return answer | {"groups": groups} | ({"not_listed_outside_your_units": len(outside)} if outside else {})
    return answer | {"groups": [_counts_only(g) for g in groups]}


def _held(ctx: Ctx, qualification: str, order: int) -> str | None:
    codes = ctx.book.lists.get(CODE_LISTS[qualification], {}).values()
    return min((c.code for c in codes if c.ord == order), default=None)


def _meets(courses: Courses, taken: set[str], qualification: str, order: int) -> bool:
    """Some course of `taken` awards `qualification` at a level of at least `order`."""
    return any(courses[c][0] == qualification and courses[c][1] >= order for c in taken if c in courses)


def _title_groups(session: Session, ctx: Ctx, found: list[Miss], courses: Courses, before: date) -> list[dict[str, Any]]:
    """One group per (qualification, level required): the persons missing it, and how many are enrolled to meet it."""
    by_need: dict[tuple[int, int, str], list[Miss]] = defaultdict(list)
    for m in found:
        by_need[(ORDER.index(m.qualification), m.required_ord, m.required)].append(m)
    taken = enrolled(session, {m.person_id for m in found}, courses, before)
    codes = tree.unit_codes(session, {m.unit_id for m in found})
    groups = []
    for (q, order, level), rows in sorted(by_need.items()):
        qualification = ORDER[q]
        members: dict[int, dict[str, Any]] = {}
        for m in rows:
            member = members.setdefault(m.person_id, {"external_id": m.external_id, "full_name": m.full_name,
                                                      "held": _held(ctx, qualification, m.held_ord), "rows": []})
            member["rows"].append({"subject": m.subject, "code": m.code, "org_unit": codes.get(m.unit_id)})
        ready = sum(_meets(courses, taken.get(pid, set()), qualification, order) for pid in members)
        groups.append({"need": {"kind": "title_standard", "qualification": qualification, "level": level},
                       "persons": len(members), "enrolled_before": ready,
                       "members": sorted(members.values(), key=lambda i: i["external_id"])})
    return groups


def _indicator_group(session: Session, actor: Actor, ctx: Ctx, courses: Courses, *, code: str, unit_id: int,
                     org_unit: str, before: date, named: bool) -> dict[str, Any]:
    """The persons of the indicator's population outside its numerator, with the condition they lack in words."""
    _row, spec = catalog.get(session, code)
    if kinds.of(spec).name != "ratio":
        raise InvalidInput(f"indicator {code!r} is a {spec.kind}: only a ratio's population names persons",
                           code="not_a_ratio", errors=[{"field": "indicator", "message": "a ratio indicator's code"}])
    members, ids = _outside_numerator(session, actor, spec, unit_id, org_unit=org_unit, as_of=ctx.as_of, named=named)
    award = _award(spec, ctx.book)
    taken = enrolled(session, ids, courses, before) if award else {}
    ready = sum(_meets(courses, taken.get(pid, set()), *award) for pid in ids) if award else None
    condition = {lang: method.words(spec.share, lang) for lang in ("vi", "en")}
    return {"need": {"kind": "indicator", "indicator": code, "condition": condition},
            "persons": len(ids), "enrolled_before": ready, "members": members}


def _outside_numerator(session: Session, actor: Actor, spec: IndicatorSpec, unit_id: int, *, org_unit: str,
                       as_of: date, named: bool) -> tuple[list[dict[str, Any]], list[int]]:
    """(members as the drill-down names them, person ids) of the population outside the numerator."""
    if named:  # the drill-down itself: its scope rules, its refusals and its access log
        drilled = service.persons(session, actor, spec.id, org_unit=org_unit, as_of=as_of)
        members = [{k: p[k] for k in ("external_id", "full_name", "why") if k in p}
                   | {"org_units": sorted({a["org_unit"] for a in p.get("in_population_by", [])})}
                   for p in drilled["persons"] if not p["in_numerator"]]
        ext = [m["external_id"] for m in members]
        ids = list(session.scalars(select(Person.id).where(Person.external_id.in_(ext)))) if ext else []
        return members, ids
    found = kinds.of(spec).drill(session, spec, service.context(session, spec, as_of, None), unit_id) or {}
    return [], [pid for pid, (is_num, _extra) in found.items() if not is_num]


def _award(spec: IndicatorSpec, book: CodeBook) -> tuple[str, int] | None:
    """(qualification, lowest level order) a course must award to bring a person into the numerator, when the
    condition is one ordered level at least (highest degree, political theory, state management) or postgraduate."""
    share = spec.share
    if not isinstance(share, Atom) or share.field not in FIELDS:
        return None
    list_name = FIELDS[share.field].list_name or ""
    if share.op == "gte" and list_name in QUALIFICATIONS:
        levels = [str(share.value("gte"))]
    elif share.field == "person.postgraduate" and share.op == "is" and share.value("is") is True:
        list_name, levels = "degree_level", spec.policy.postgraduate_degrees
    else:
        return None
    orders = [c.ord for c in (book.get(list_name, code) for code in levels) if c is not None and c.ord is not None]
    return (QUALIFICATIONS[list_name], min(orders)) if orders else None


def names_persons(actor: Actor) -> bool:
    """Whether the caller sees the persons behind a need (the roles that see the persons behind an indicator);
    the others get counts, a count under the threshold suppressed (`hidden`)."""
    from app.api.deps import ACTIONS

    return actor.role in ACTIONS["indicators:persons"]


def hidden(count: int) -> bool:
    """A count of persons too small to show to a role that gets counts only (`service.threshold`)."""
    return count < service.threshold()


def _counts_only(group: dict[str, Any]) -> dict[str, Any]:
    """A group as aggregate roles see it: counts only, a group of fewer persons than the threshold suppressed
    (the primary rule of the breakdowns, `service.threshold`)."""
    item = {k: v for k, v in group.items() if k != "members"} | {"suppressed": False}
    if hidden(group["persons"]):
        item |= {"persons": None, "enrolled_before": None, "suppressed": True, "suppression": "primary"}
    return item
