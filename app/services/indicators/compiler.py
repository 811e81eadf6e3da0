"""Definitions compiled to SQLAlchemy Core: facts (person, unit, is_num) and their aggregation."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    cast,
    distinct,
    except_,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.visitors import InternalTraversal

from app.errors import InvalidInput
from app.models import (
    Employment,
    Membership,
    OrgUnitParent,
    OrgUnitSuccessor,
    OrgUnitVersion,
    PersonVersion,
    Position,
    Qualification,
)
from app.services.indicators.cache import LRU
from app.services.indicators.fields import FIELDS, Ctx, Row, active, descendants, employed, root, unit_valid
from app.services.indicators.spec import AllOf, Anchor, AnyOf, Atom, Filter, IndicatorSpec, NotOf, atoms

SUBJECT_MODELS: dict[str, tuple[Any, str]] = {
    "employment": (Employment, "org_unit_id"),
    "position": (Position, "org_unit_id"),
    "membership": (Membership, "body_id"),
}


_STATEMENTS: LRU[tuple[Any, frozenset[int]]] = LRU(512)


def prepared(shape: str, spec: IndicatorSpec, ctx: Ctx, build: Callable[[Ctx], Any]) -> tuple[Any, dict[str, Any]]:
    """The statement `build` makes for this definition, and its parameters for ctx's date and cut.

    Building a statement (thousands of SQLAlchemy objects for the title-standard fields) costs
    far more than running it; the statement depends only on the definition, the code book and
    whether there is a cut, never on the date, the cut or the unit, which are bound parameters.
    So it is built once per process for each of these and reused (bounded, least recently used).
    """
    moves = ctx.projection.key if ctx.projection is not None else None
    key = (shape, spec.model_dump_json(), ctx.book.digest, ctx.cut is None, moves)
    found = _STATEMENTS.get(key)
    if found is None:
        fresh = Ctx(as_of=ctx.as_of, cut=ctx.cut, book=ctx.book, policy=ctx.policy, projection=ctx.projection)
        stmt = build(fresh)
        found = _STATEMENTS.put(key, (stmt, frozenset(fresh.ages)))
    stmt, ages = found
    return stmt, ctx.values(ages)


def check(spec: IndicatorSpec) -> list[dict[str, str]]:
    """Static checks of a definition against the field registry."""
    errs: list[dict[str, str]] = []
    places: list[tuple[str, Filter | None, tuple[str, ...] | None]] = [("share", spec.share, None)]
    if spec.population:
        places.append(("population.where", spec.population.where, None))
        places += [(f"population.anchors[{i}].where", a.where, (a.subject,)) for i, a in enumerate(spec.population.anchors)]
    if spec.coverage:
        places.append(("coverage.each_has.where", spec.coverage.each_has.where, (spec.coverage.each_has.subject,)))
    for where, flt, subjects in places:
        for atom in atoms(flt):
            field = FIELDS.get(atom.field)
            if field is None:
                errs.append({"field": where, "message": f"unknown field {atom.field!r} (known: {', '.join(sorted(FIELDS))})"})
            elif not field.person_level and (subjects is None or not set(subjects) <= set(field.subjects)):
                errs.append(
                    {"field": where, "message": f"{atom.field!r} describes an anchor record; use it in an anchor's where"}
                )
    return errs


def compile_filter(flt: Filter | None, row: Row, ctx: Ctx) -> ColumnElement[bool]:
    """A filter as a SQL boolean over the row."""
    if flt is None:
        return true()
    if isinstance(flt, AllOf):
        return and_(true(), *[compile_filter(f, row, ctx) for f in flt.all])
    if isinstance(flt, AnyOf):
        return or_(*[compile_filter(f, row, ctx) for f in flt.any]) if flt.any else true()
    if isinstance(flt, NotOf):
        return not_(compile_filter(flt.not_, row, ctx))
    return compile_atom(flt, row, ctx)


def _value(atom: Atom, op: str, ctx: Ctx) -> Any:
    field = FIELDS[atom.field]
    raw = atom.value(op)
    if field.type != "ordinal":
        return raw
    assert field.list_name is not None
    try:
        return (
            [ctx.book.order(field.list_name, v) for v in raw] if isinstance(raw, list) else ctx.book.order(field.list_name, raw)
        )
    except KeyError as exc:
        raise InvalidInput(f"{atom.field}: {exc}", errors=[{"field": atom.field, "message": f"unknown code {raw!r}"}]) from None


def compile_atom(atom: Atom, row: Row, ctx: Ctx) -> ColumnElement[bool]:
    field = FIELDS[atom.field]
    op = atom.op
    expr = field.sql(row, ctx)
    value = _value(atom, op, ctx)
    if field.type == "age":
        return _age(expr, op, int(value), ctx)
    if field.type == "bool":
        wanted = bool(value) if op in ("is", "eq") else not bool(value)
        return expr if wanted else not_(expr)
    ops = {
        "eq": expr == value,
        "ne": expr != value,
        "gt": expr > value,
        "gte": expr >= value,
        "lt": expr < value,
        "lte": expr <= value,
    }
    if op == "in":
        return expr.in_(value)
    if op == "not_in":
        return or_(expr.is_(None), expr.not_in(value))
    return ops[op]


def _age(birth: ColumnElement[Any], op: str, years: int, ctx: Ctx) -> ColumnElement[bool]:
    """Age comparisons as birth-date comparisons with cutoffs computed here (portable, sargable)."""
    at_least = lambda n: birth <= ctx.born_by(n)  # noqa: E731
    return {
        "lt": not_(at_least(years)),
        "gte": at_least(years),
        "lte": not_(at_least(years + 1)),
        "gt": at_least(years + 1),
        "eq": and_(at_least(years), not_(at_least(years + 1))),
        "ne": or_(not_(at_least(years)), at_least(years + 1)),
    }[op]


def anchor_rows(anchor: Anchor, ctx: Ctx, person_where: Filter | None, share: Filter | None) -> Select[Any]:
    """(person_id, unit_id, is_num) for the records of one anchor in force on D.

    A position counts only while the person has an employment in force on D; a seat (membership)
    counts on its own, whether or not the member is employed (spec revision 2, point 3). The unit
    is the record's own: a body's tier, kind and sector are those recorded on the body, wherever
    it sits in the tree (revision 2, point 4).
    """
    model, unit_col = SUBJECT_MODELS[anchor.subject]
    rec, unit, person = aliased(model), aliased(OrgUnitVersion), aliased(PersonVersion)
    row = Row(anchor.subject, rec.person_id, unit, rec, person)
    conds = [active(rec, ctx), compile_filter(anchor.where, row, ctx), compile_filter(person_where, row, ctx)]
    if anchor.subject == "employment":
        conds.append(rec.is_primary.is_(True))
    elif anchor.subject == "position":
        conds.append(employed(rec.person_id, ctx))  # posts lie within employment; seats need none (revision 2, point 3)
    is_num = case((compile_filter(share, row, ctx), 1), else_=0) if share is not None else literal(1)
    return (
        select(rec.person_id.label("person_id"), getattr(rec, unit_col).label("unit_id"), is_num.label("is_num"))
        .join(unit, and_(unit.org_unit_id == getattr(rec, unit_col), unit_valid(unit, ctx)))
        .join(person, and_(person.person_id == rec.person_id, ctx.current(person)))
        .where(*conds)
    )


def facts(spec: IndicatorSpec, ctx: Ctx, *, materialized: bool = False, in_scope: bool = False) -> Any:
    """Every (person, anchor unit, is_num) of the population on D (`in_scope`: only those anchored in the scope of
    the unit asked about).

    `in_scope` keeps each anchor's rows to the scope before the anchors are united: the planner then starts each
    anchor from the scope's units. Filtered after the union, a population of two anchors (key leaders' posts and
    standing committees' seats) read every matching record of the country before keeping the unit's: 5× its
    hand-written twin at 100k (F29 in bench/findings.md).

    `materialized` (the passes over every unit, `unit_counts_all`, which read the rows twice): computed once each, on
    PostgreSQL whatever the planner would inline. A share's subqueries (a title standard's: the primary employment,
    the standard rows, three highest levels) then run once per record; pulled up past a join they ran once per (unit
    above, person) pair, six times as often at 100k (F15 in bench/findings.md).
    """
    assert spec.population is not None
    share = spec.share if spec.kind == "ratio" else None
    if in_scope:
        ctx.asked = subtree(ctx)  # before the rows' expressions: the unit lists they read are the scope's (fields)
    parts = [anchor_rows(a, ctx, spec.population.where, share) for a in spec.population.anchors]
    if in_scope:
        sub = ctx.asked
        parts = [p.where(p.selected_columns.unit_id.in_(select(sub.c.unit_id))) for p in parts]
    both = parts[0] if len(parts) == 1 else union_all(*parts)
    if materialized:
        return both.cte("facts").prefix_with("MATERIALIZED", dialect="postgresql")
    return both.subquery("facts")


def subtree(ctx: Ctx) -> Any:
    """The scope of the unit asked about (parameter `root_id`) on D: the unit and every unit below it, in the tree
    as it stood on D; for a unit closed before D, its territory (`territory`). One of the two is always empty."""
    def build() -> Any:
        live = descendants(ctx, "subtree", lambda uv: uv.org_unit_id == root())
        terr = territory(ctx, one=True).units
        return union(select(live.c.unit_id), select(terr.c.unit_id)).cte("scope")

    return ctx.cache("scope", build)


@dataclass
class Territory:
    """(root, unit_id) rows: the territory's units active on D, and the shared units left out of it."""

    units: Any
    shared: Any


def territory(ctx: Ctx, *, one: bool) -> Territory:
    """The territory on D of units closed before D (domain.md, 'Targets outlive the units they were set for').

    For a unit U whose last day L is before D (only the unit asked about when `one`, every such unit
    otherwise): the units that were in U's subtree on L (the tree of L), with the successors followed
    transitively from them; a successor reached from a unit outside that set (a predecessor not in it,
    or a shared unit before it) is shared, and so is every unit it leads to that was not under U on L.
    The territory is the rest, and both are kept to the units active on D. Set-based: four recursive
    CTEs over every closed unit at once, no loop per unit.

    "Wholly derived" (every predecessor in the territory, followed transitively) is a least fixpoint that a
    recursive CTE cannot state (a negation of itself); its complement can: a unit is shared when a path of
    successor links leads to it, outside U's subtree on L, from a predecessor that is not reachable from U.
    The two agree wherever successor links go forward in time (a successor starts after its predecessor's
    last day), which is what the registry records.
    """
    def build() -> Territory:
        closed_v = aliased(OrgUnitVersion)
        conds = [closed_v.valid_to < ctx.day, ctx.current(closed_v)]
        if one:
            conds.append(closed_v.org_unit_id == root())
        base = (
            select(closed_v.org_unit_id.label("root"), closed_v.org_unit_id.label("unit_id"), closed_v.valid_to.label("last_day"))
            .where(*conds)
            .cte("territory_base", recursive=True)
        )
        link, child = aliased(OrgUnitParent), aliased(OrgUnitVersion)
        step = (
            select(base.c.root, link.org_unit_id, base.c.last_day)
            .join(link, and_(link.parent_id == base.c.unit_id, active(link, ctx, base.c.last_day)))
            .join(child, and_(child.org_unit_id == link.org_unit_id, unit_valid(child, ctx, base.c.last_day)))
        )
        base = base.union(step)
        # successor links in force on D: a successor continues its predecessor from the day after its last day
        succ, pred_v = aliased(OrgUnitSuccessor), aliased(OrgUnitVersion)
        links = (
            select(succ.org_unit_id.label("unit_id"), succ.successor_id.label("successor_id"))
            .join(pred_v, and_(pred_v.org_unit_id == succ.org_unit_id, ctx.current(pred_v)))
            .where(ctx.current(succ), pred_v.valid_to < ctx.day)
            .cte("territory_links")
        )
        reach = select(base.c.root, base.c.unit_id).cte("territory_reach", recursive=True)
        reach = reach.union(
            select(reach.c.root, links.c.successor_id).join(links, links.c.unit_id == reach.c.unit_id)
        )

        def under_on_last_day(rows: Any, unit: Any) -> Any:
            b = base.alias()
            return exists().where(b.c.root == rows.c.root, b.c.unit_id == unit)

        # fed from outside: a predecessor the closed unit never reached (an anti-join, hashed, not a scan per row)
        other, feed = reach.alias(), links.alias()
        shared = (
            select(reach.c.root, reach.c.unit_id)
            .join(feed, feed.c.successor_id == reach.c.unit_id)
            .outerjoin(other, and_(other.c.root == reach.c.root, other.c.unit_id == feed.c.unit_id))
            .where(other.c.unit_id.is_(None), ~under_on_last_day(reach, reach.c.unit_id))
            .cte("territory_shared", recursive=True)
        )
        onward = links.alias()
        shared = shared.union(
            select(shared.c.root, onward.c.successor_id)
            .join(onward, onward.c.unit_id == shared.c.unit_id)
            .where(~under_on_last_day(shared, onward.c.successor_id))
        )
        t_v, s_v, s_other = aliased(OrgUnitVersion), aliased(OrgUnitVersion), shared.alias()
        units = (
            select(reach.c.root, reach.c.unit_id)
            .join(t_v, and_(t_v.org_unit_id == reach.c.unit_id, unit_valid(t_v, ctx)))
            .where(~exists().where(s_other.c.root == reach.c.root, s_other.c.unit_id == reach.c.unit_id))
            .cte("territory")
        )
        left_out = (
            select(shared.c.root, shared.c.unit_id)
            .join(s_v, and_(s_v.org_unit_id == shared.c.unit_id, unit_valid(s_v, ctx)))
            .cte("territory_left_out")
        )
        return Territory(units, left_out)

    found: Territory = ctx.cache(f"territory_{'one' if one else 'all'}", build)
    return found


def territory_units(ctx: Ctx) -> Select[Any]:
    """(unit_id, shared) of the territory of the unit asked about: 0 for its units, 1 for the shared units left out."""
    t = territory(ctx, one=True)
    return union_all(
        select(t.units.c.unit_id, literal(0).label("shared")).where(t.units.c.root == root()),
        select(t.shared.c.unit_id, literal(1).label("shared")).where(t.shared.c.root == root()),
    ).subquery("territory_units").select()


def _shared_units(ctx: Ctx) -> Select[Any]:
    """The shared units left out of the territory asked about (`territory`)."""
    left = territory(ctx, one=True).shared
    return select(left.c.unit_id).where(left.c.root == root())


def shared_counts(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    """(unit_id, numerator, denominator) of each shared unit left out of the territory asked about: what it would
    add, for a population of persons: those anchored at the unit itself (ratios, rates)."""
    f = facts(spec, ctx)
    per = (
        select(f.c.unit_id, f.c.person_id, func.max(f.c.is_num).label("is_num"))
        .where(f.c.unit_id.in_(_shared_units(ctx)))
        .group_by(f.c.unit_id, f.c.person_id)
        .subquery()
    )
    return select(per.c.unit_id, func.sum(per.c.is_num), func.count()).group_by(per.c.unit_id)


def shared_coverage(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    """(unit_id, passes, 1) of each shared unit of the covered kind left out of the territory asked about."""
    cov = coverage_units(spec, ctx, _shared_units(ctx)).subquery()
    return select(cov.c.unit_id, cov.c.passes, literal(1))


def shared_flow(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    """(unit_id, persons, None) of each shared unit left out of the territory asked about: the inflow attributed to it."""
    anc = flow_ancestry(spec, ctx)
    return (select(anc.c.unit_id, func.count(distinct(anc.c.person_id)), literal(None))
            .where(anc.c.unit_id.in_(_shared_units(ctx))).group_by(anc.c.unit_id))


def closure(ctx: Ctx) -> Any:
    """(ancestor, descendant, in_territory) for every unit on D, self pairs included (in_territory 0); and (closed
    unit, unit of its territory, 1) for every unit closed before D, so that the all-units pass gives closed units
    their territory figures (a closed unit is not valid on D, so no pair is both). The same for every indicator on a
    date: a pass over every unit reads them once (`scopes.pairs`, F19)."""
    def build() -> Any:
        terr = territory(ctx, one=False).units
        live = _live_closure(ctx)
        return union(select(live.c.ancestor, live.c.descendant, literal(0).label("in_territory")),
                     select(terr.c.root, terr.c.unit_id, literal(1))).cte("scope_pairs")

    return ctx.cache("scope_pairs", build)


def _live_closure(ctx: Ctx) -> Any:
    """(ancestor, descendant) for every unit on D, self pairs included."""
    uv = aliased(OrgUnitVersion)
    cte = (
        select(uv.org_unit_id.label("ancestor"), uv.org_unit_id.label("descendant"))
        .where(unit_valid(uv, ctx))
        .cte("closure", recursive=True)
    )
    link, child = aliased(OrgUnitParent), aliased(OrgUnitVersion)
    step = (
        select(cte.c.ancestor, link.org_unit_id)
        .join(link, link.parent_id == cte.c.descendant)
        .join(child, child.org_unit_id == link.org_unit_id)
        .where(active(link, ctx), unit_valid(child, ctx))
    )
    return cte.union(step)


def population_counts(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    """(numerator, denominator): distinct persons in the population under the unit, and those qualifying."""
    f = facts(spec, ctx, in_scope=True)
    per_person = select(f.c.person_id, func.max(f.c.is_num).label("is_num")).group_by(f.c.person_id).subquery()
    return select(func.coalesce(func.sum(per_person.c.is_num), 0), func.count())


def unit_counts_all(spec: IndicatorSpec, ctx: Ctx,
                    key: Callable[[Any], tuple[list[Any], list[Any]]] | None = None) -> Any:
    """(unit_id, person_id, [key,] numerator, denominator): the population's counts on D per anchor unit, for a pass
    over every unit, which `scopes.ScopePairs.roll_up` carries up to every unit whose scope holds that unit.

    Most persons have rows at one unit only (one primary employment, one post): they are counted per unit, in rows
    without a person. The few with rows at several units get a row per (unit, key) of theirs, with the person, so
    that the roll-up counts each of them once per unit above (F16 in bench/findings.md). `key(unit_id)` gives the
    extra grouping columns of a row's unit and the joins they need (the tier of the anchor unit: `_tier_counts_all`).
    The scope pairs themselves are the same for every indicator on a date and are read once (F19).
    """
    f = facts(spec, ctx, materialized=True)
    per_person = (
        select(f.c.person_id, func.min(f.c.unit_id).label("first"), func.max(f.c.unit_id).label("last"),
               func.max(f.c.is_num).label("is_num"))
        .group_by(f.c.person_id)
        .cte("per_person")
    )
    keyed = key or (lambda unit_id: ([], []))

    def with_key(unit_id: Any, person_id: Any, num: Any, den: Any, group: list[Any], *joins_from: Any) -> Select[Any]:
        columns, joins = keyed(unit_id)
        stmt = select(unit_id.label("unit_id"), person_id.label("person_id"), *columns, num.label("num"),
                      den.label("den")).select_from(*joins_from)
        for target, on in joins:
            stmt = stmt.join(target, on)
        return stmt.group_by(*group, *columns)

    one_unit = with_key(per_person.c.first, cast(null(), BigInteger), func.sum(per_person.c.is_num), func.count(),
                        [per_person.c.first], per_person).where(per_person.c.first == per_person.c.last)
    several = with_key(f.c.unit_id, cast(f.c.person_id, BigInteger), func.max(f.c.is_num), literal(1),
                       [f.c.unit_id, f.c.person_id],
                       f.join(per_person, and_(per_person.c.person_id == f.c.person_id,
                                               per_person.c.first != per_person.c.last)))
    return union_all(one_unit, several)


def population_persons(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    """(person_id, is_num) of every person in the population under the unit."""
    f = facts(spec, ctx, in_scope=True)
    return select(f.c.person_id, func.max(f.c.is_num).label("is_num")).group_by(f.c.person_id)


def population_anchors(spec: IndicatorSpec, ctx: Ctx) -> Any:
    """(person_id, subject, unit_id) of every record that puts a person in the population under the unit on D:
    why each person is counted at all (the drill-down), by the same anchor rows the figures count."""
    assert spec.population is not None
    sub = ctx.asked = subtree(ctx)  # the rows are kept to the scope: the unit lists they read may be too (fields)
    parts = []
    for anchor in spec.population.anchors:
        rows = anchor_rows(anchor, ctx, spec.population.where, None).subquery(f"anchor_{anchor.subject}")
        parts.append(select(rows.c.person_id, literal(anchor.subject).label("subject"), rows.c.unit_id)
                     .where(rows.c.unit_id.in_(select(sub.c.unit_id))))
    return (parts[0] if len(parts) == 1 else union(*parts))


def coverage_units(spec: IndicatorSpec, ctx: Ctx, scope_units: Any) -> Select[Any]:
    """(unit_id, passes) for every unit of the covered kind in scope on D (`scope_units` None: every unit valid on D)."""
    assert spec.coverage is not None
    uv = aliased(OrgUnitVersion)
    members = anchor_rows(spec.coverage.each_has, ctx, None, None).subquery("members")
    passes = exists().where(members.c.unit_id == uv.org_unit_id)
    conds = [uv.kind == spec.coverage.unit_kind, unit_valid(uv, ctx)]
    if scope_units is not None:
        conds.append(uv.org_unit_id.in_(scope_units))
    return select(uv.org_unit_id.label("unit_id"), case((passes, 1), else_=0).label("passes")).where(*conds)


class day_before(ColumnElement[Any]):  # noqa: N801 - a SQL function, named as one
    """The day before a date column: `date(x, '-1 day')` on SQLite, `x - 1` (a date) on PostgreSQL."""

    inherit_cache = True
    type = Date()
    _traverse_internals = [("day", InternalTraversal.dp_clauseelement)]  # part of the statement's cache key

    def __init__(self, day: Any) -> None:
        self.day = day


@compiles(day_before)
def _day_before_default(element: day_before, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.day, **kw)} - 1)"


@compiles(day_before, "sqlite")
def _day_before_sqlite(element: day_before, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.day, **kw)}, '-1 day')"


def _public(e: Any, spec: IndicatorSpec) -> ColumnElement[bool]:
    assert spec.flow is not None
    return e.category.not_in(spec.flow.excluded_categories) if spec.flow.excluded_categories else true()


def flow_awarded(spec: IndicatorSpec, ctx: Ctx) -> Any:
    """(person_id, unit_id, day): a degree awarded in the period (cut at D) while in public-sector primary employment."""
    assert spec.flow is not None
    start, end = spec.flow.period
    q, e = aliased(Qualification), aliased(Employment)
    return (
        select(q.person_id, e.org_unit_id.label("unit_id"), q.awarded_on.label("day"))
        .join(
            e,
            and_(
                e.person_id == q.person_id,
                e.is_primary.is_(True),
                e.start_date <= q.awarded_on,
                or_(e.end_date.is_(None), e.end_date >= q.awarded_on),
                _public(e, spec),
                ctx.current(e),
            ),
        )
        .where(
            q.kind == "degree",
            q.code.in_(spec.flow.degree_levels),
            q.awarded_on >= start,
            q.awarded_on <= end,
            q.awarded_on <= ctx.day,
            ctx.current(q),
        )
        .subquery("awarded")
    )


def flow_joins(spec: IndicatorSpec, ctx: Ctx) -> tuple[Any, Any]:
    """The starts of public-sector employments in the period by holders of the degree, and where each person
    worked in the public sector the day before (spec revision 2, point 11: "thu hút").

    Returns ((person_id, unit_id, day) of the starts, (person_id, unit_id, day) of the day-before employments,
    keyed by the start's day). A start the day after the person's unit closed is a reorganisation: left out.
    """
    assert spec.flow is not None
    start, end = spec.flow.period
    e1, e0, q = aliased(Employment), aliased(Employment), aliased(Qualification)
    before = day_before(e1.start_date)
    held = exists().where(
        q.person_id == e1.person_id,
        q.kind == "degree",
        q.code.in_(spec.flow.degree_levels),
        q.awarded_on <= e1.start_date,
        ctx.current(q),
    )
    closed = aliased(OrgUnitVersion)
    reorganised = exists().where(
        e0.person_id == e1.person_id,
        e0.start_date <= before,
        or_(e0.end_date.is_(None), e0.end_date >= before),
        ctx.current(e0),
        closed.org_unit_id == e0.org_unit_id,
        closed.valid_to == before,
        ctx.current(closed),
    )
    starts = select(e1.person_id, e1.org_unit_id.label("unit_id"), e1.start_date.label("day")).where(
        ctx.current(e1),
        _public(e1, spec),
        e1.start_date >= start,
        e1.start_date <= end,
        e1.start_date <= ctx.day,
        held,
        not_(reorganised),
    ).cte("starts")  # read twice (the starts, the day before): computed once, whatever the planner guesses
    prior = aliased(Employment)
    was = (
        select(starts.c.person_id, prior.org_unit_id.label("unit_id"), starts.c.day)
        .join(prior, prior.person_id == starts.c.person_id)
        .where(
            prior.start_date <= day_before(starts.c.day),
            or_(prior.end_date.is_(None), prior.end_date >= day_before(starts.c.day)),
            _public(prior, spec),
            ctx.current(prior),
        )
        .subquery("day_before")
    )
    return starts, was


def _ancestry(rows: Any, name: str, ctx: Ctx, on: Callable[[Any], Any]) -> Any:
    """(person_id, day, unit_id) for every unit above (and at) each row's unit, in the tree of `on(day)`."""
    uv = aliased(OrgUnitVersion)
    cte = (
        select(rows.c.person_id, rows.c.day, rows.c.unit_id)
        .join(uv, and_(uv.org_unit_id == rows.c.unit_id, unit_valid(uv, ctx, on(rows.c.day))))
        .cte(name, recursive=True)
    )
    link, parent = aliased(OrgUnitParent), aliased(OrgUnitVersion)
    step = (
        select(cte.c.person_id, cte.c.day, link.parent_id)
        .join(link, and_(link.org_unit_id == cte.c.unit_id, active(link, ctx, on(cte.c.day))))
        .join(parent, and_(parent.org_unit_id == link.parent_id, unit_valid(parent, ctx, on(cte.c.day))))
    )
    return cte.union(step)


def flow_ancestry(spec: IndicatorSpec, ctx: Ctx) -> Any:
    """(person_id, day, unit_id): every unit U for which the person has an inflow event on that day.

    (a) a degree awarded in public-sector employment counts for every unit above the employment's unit on
    that day; (b) a start counts for the units above the new unit on that day, except those the person
    already worked under the day before (in the tree of the day before): a move inside U is not an
    attraction to U. Scope is the tree of the event's day: no re-attribution after a merger.
    """
    starts, was = flow_joins(spec, ctx)

    def same_day(d: Any) -> Any:
        return d

    awarded = _ancestry(flow_awarded(spec, ctx), "awarded_ancestry", ctx, same_day)
    joined = _ancestry(starts, "start_ancestry", ctx, same_day)
    inside = _ancestry(was, "day_before_ancestry", ctx, day_before)
    cols = ("person_id", "day", "unit_id")
    attracted = except_(select(*[joined.c[c] for c in cols]), select(*[inside.c[c] for c in cols])).subquery("attracted")
    return union(select(*[awarded.c[c] for c in cols]), select(*[attracted.c[c] for c in cols])).subquery("events")


def _flow_scope(anc: Any, ctx: Ctx) -> ColumnElement[bool]:
    """Events attributed to the unit asked about (by the tree of their day) or, for a unit closed before D, to a
    unit of its territory."""
    terr = territory(ctx, one=True).units
    return or_(anc.c.unit_id == root(), anc.c.unit_id.in_(select(terr.c.unit_id).where(terr.c.root == root())))


def flow_count(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    anc = flow_ancestry(spec, ctx)
    return select(func.count(distinct(anc.c.person_id))).where(_flow_scope(anc, ctx))


def flow_persons(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    anc = flow_ancestry(spec, ctx)
    return select(anc.c.person_id, func.min(anc.c.day)).where(_flow_scope(anc, ctx)).group_by(anc.c.person_id)


def flow_count_all(spec: IndicatorSpec, ctx: Ctx) -> Select[Any]:
    """(unit_id, person_id) of every inflow event's unit and person (each once), for the pass over every unit: a unit
    counts its own events' persons, and a closed unit those of its territory's units too
    (`scopes.ScopePairs.persons_per_unit`, with the territories read once per date, F19)."""
    anc = flow_ancestry(spec, ctx)
    return select(anc.c.unit_id, anc.c.person_id).distinct()


AGE_BANDS = ((30, "under_30"), (40, "30_39"), (50, "40_49"), (60, "50_59"))


def population_by(spec: IndicatorSpec, ctx: Ctx, dimension: str) -> Select[Any]:
    """(key, numerator, denominator) per value of a dimension (tier of the anchor unit, gender, age band)."""
    f = facts(spec, ctx, in_scope=True)
    if dimension == "tier":
        uv = aliased(OrgUnitVersion)
        key: Any = uv.tier
        base = select(key.label("key"), f.c.person_id, f.c.is_num).join(
            uv, and_(uv.org_unit_id == f.c.unit_id, unit_valid(uv, ctx))
        )
    else:
        pv = aliased(PersonVersion)
        if dimension == "gender":
            key = pv.gender
        else:
            key = case(*[(pv.birth_date > ctx.born_by(years), label) for years, label in AGE_BANDS], else_="60_plus")
        base = select(key.label("key"), f.c.person_id, f.c.is_num).join(
            pv, and_(pv.person_id == f.c.person_id, ctx.current(pv))
        )
    rows = base.subquery()
    per = (
        select(rows.c.key, rows.c.person_id, func.max(rows.c.is_num).label("is_num"))
        .group_by(rows.c.key, rows.c.person_id)
        .subquery()
    )
    return select(per.c.key, func.sum(per.c.is_num), func.count()).group_by(per.c.key).order_by(per.c.key)
