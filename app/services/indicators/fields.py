"""The field registry: every field a definition may filter on, its type, labels and SQL."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import aliased

from app.models import (
    CodeItem,
    Employment,
    OrgUnitLanguage,
    OrgUnitParent,
    OrgUnitVersion,
    Position,
    Qualification,
    TitleStandard,
)
from app.services.codelists import CodeBook
from app.services.indicators.moves import Projected
from app.services.indicators.spec import Policy


@dataclass
class Ctx:
    """What every compiled expression depends on: the date, the moment of knowledge, the code book.

    Compiled statements never embed the date, the cut or the unit: they name them as bound
    parameters (`day`, `current()`, `born_by()`, `ROOT`), whose values `values()` gives. So one
    statement serves every date, cut and unit (the compiler caches it by definition and code book);
    only whether there is a cut at all changes its shape.
    """

    as_of: date
    cut: int | None
    book: CodeBook
    policy: Policy
    _ctes: dict[str, Any] | None = None
    ages: set[int] = field(default_factory=set)
    projection: Projected | None = None  # a projection's moves (planning.md): retirements, expected completions
    # the units a statement of one unit keeps every anchor row to (compiler.facts `in_scope`, population_anchors).
    # Set it only there: the lists its rows read are then the scope's (local_languages, contact_units), and a
    # row outside these units would read them wrong.
    asked: Any = None

    def cache(self, key: str, build: Callable[[], Any]) -> Any:
        if self._ctes is None:
            self._ctes = {}
        if key not in self._ctes:
            self._ctes[key] = build()
        return self._ctes[key]

    @property
    def day(self) -> BindParameter[date]:
        """The as-of date D."""
        return bindparam("as_of", type_=Date())

    def born_by(self, years: int) -> BindParameter[date]:
        """The latest birth date of a person aged at least `years` on D (see `age_cutoff`)."""
        self.ages.add(years)
        return bindparam(f"born_by_{years}", type_=Date())

    def current(self, model: Any) -> ColumnElement[bool]:
        """Rows believed now, or at the end of the cut transaction (as versioning.current_or_at)."""
        if self.cut is None:
            return model.sys_to.is_(None)
        cut = bindparam("cut", type_=Integer())
        return and_(model.sys_from <= cut, or_(model.sys_to.is_(None), model.sys_to > cut))

    def values(self, ages: set[int] | frozenset[int] | None = None, **extra: Any) -> dict[str, Any]:
        """The bound parameters of this date and cut (plus `extra`, e.g. the root unit)."""
        years = self.ages if ages is None else ages
        moves = self.projection.values(self.as_of) if self.projection is not None else {}
        return {"as_of": self.as_of, "cut": self.cut, **{f"born_by_{y}": age_cutoff(self.as_of, y) for y in years},
                **moves, **extra}

    def qualifications(self) -> list[Any]:
        """The sources of the qualification rows an expression reads: the table and, in a projection that expects
        training, the qualifications pending enrolments award on their expected completion (`Projected`). Each is
        read by its own subquery, combined after (a union inside a subquery run per person cost SQLite 50 times)."""
        if self.projection is None or not self.projection.awards:
            return [aliased(Qualification)]
        return [aliased(Qualification), aliased(Qualification, self.projection.pending(), adapt_on_names=True)]


ROOT = "root_id"


def root() -> BindParameter[int]:
    """The unit asked about."""
    return bindparam(ROOT, type_=Integer())


@dataclass
class Row:
    """The columns an expression may use: the person, the anchor record and its unit."""

    subject: str
    person_id: Any
    unit: Any  # aliased OrgUnitVersion of the anchor unit
    record: Any  # aliased Employment / Position / Membership
    person: Any  # aliased PersonVersion


def active(model: Any, ctx: Ctx, day: Any = None) -> ColumnElement[bool]:
    """A dated record in force on `day` (default: the as-of date), as known at the cut.

    In a projection, a person's employment, position or seat in force when they retire ends then (`Projected`).
    """
    moved = ctx.projection is not None and day is None and hasattr(model, "person_id")
    day = ctx.day if day is None else day
    found = and_(model.start_date <= day, or_(model.end_date.is_(None), model.end_date >= day), ctx.current(model))
    if moved:
        assert ctx.projection is not None
        return and_(found, ctx.projection.not_retired(model, ctx))
    return found


def unit_valid(version: Any, ctx: Ctx, day: Any = None) -> ColumnElement[bool]:
    day = ctx.day if day is None else day
    return and_(version.valid_from <= day, or_(version.valid_to.is_(None), version.valid_to >= day), ctx.current(version))


def employed(person_id: ColumnElement[int], ctx: Ctx) -> ColumnElement[bool]:
    """The person has an employment in force on the as-of date."""
    e = aliased(Employment)
    return select(e.id).where(e.person_id == person_id, active(e, ctx)).correlate_except(e).exists()


def _larger(values: list[ColumnElement[int]]) -> ColumnElement[int]:
    """The largest of the values (none NULL), portably (SQLite has no GREATEST)."""
    found = values[0]
    for value in values[1:]:
        found = case((value > found, value), else_=found)
    return found


def _qual_max(pid: ColumnElement[int], ctx: Ctx, kind: str, list_name: str) -> ColumnElement[int]:
    def one(q: Any) -> ColumnElement[int]:
        ci = aliased(CodeItem)
        return (
            select(func.coalesce(func.max(ci.ord), 0))
            .select_from(q)
            .join(ci, and_(ci.list_name == list_name, ci.code == q.code))
            .where(q.person_id == pid, q.kind == kind, q.awarded_on <= ctx.day, ctx.current(q))
            .correlate_except(q, ci)
            .scalar_subquery()
        )

    return _larger([one(q) for q in ctx.qualifications()])


def highest_degree(row: Row, ctx: Ctx) -> ColumnElement[int]:
    return _qual_max(row.person_id, ctx, "degree", "degree_level")


def highest_political_theory(row: Row, ctx: Ctx) -> ColumnElement[int]:
    return _qual_max(row.person_id, ctx, "political_theory", "political_theory")


def highest_state_management(row: Row, ctx: Ctx) -> ColumnElement[int]:
    return _qual_max(row.person_id, ctx, "state_management", "state_management")


def highest_specialist(row: Row, ctx: Ctx) -> ColumnElement[int]:
    return _qual_max(row.person_id, ctx, "specialty", "specialist_level")


def highest_foreign_language(row: Row, ctx: Ctx) -> ColumnElement[int]:
    def one(q: Any) -> ColumnElement[int]:
        return (
            select(func.coalesce(func.max(q.level_num), 0))
            .where(
                q.person_id == row.person_id,
                q.kind == "language",
                q.language_kind == "foreign",
                q.awarded_on <= ctx.day,
                ctx.current(q),
            )
            .correlate_except(q)
            .scalar_subquery()
        )

    return _larger([one(q) for q in ctx.qualifications()])


def highest_position_rank(row: Row, ctx: Ctx) -> ColumnElement[int]:
    p, ci = aliased(Position), aliased(CodeItem)
    return (
        select(func.coalesce(func.max(ci.ord), 0))
        .select_from(p)
        .join(ci, and_(ci.list_name == "leadership_rank", ci.code == p.rank))
        .where(p.person_id == row.person_id, active(p, ctx))
        .correlate_except(p, ci)
        .scalar_subquery()
    )


def _has_qual(pid: ColumnElement[int], ctx: Ctx, *conds: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
    def one(q: Any) -> ColumnElement[bool]:
        conditions = [q.person_id == pid, q.awarded_on <= ctx.day, ctx.current(q), *[c(q) for c in conds]]
        return select(q.id).where(*conditions).correlate_except(q).exists()

    found = [one(q) for q in ctx.qualifications()]
    return found[0] if len(found) == 1 else or_(*found)


def postgraduate(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    pol = ctx.policy
    return or_(
        _has_qual(row.person_id, ctx, lambda q: q.kind == "degree", lambda q: q.code.in_(pol.postgraduate_degrees)),
        _has_qual(row.person_id, ctx, lambda q: q.kind == "specialty", lambda q: q.code.in_(pol.postgraduate_specialties)),
    )


def international(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    pol = ctx.policy
    language = _has_qual(
        row.person_id,
        ctx,
        lambda q: q.kind == "language",
        lambda q: q.language_kind == "foreign",
        lambda q: q.level_num >= pol.international_min_foreign_level,
    )
    if not pol.international_degree_abroad:
        return language
    abroad = _has_qual(
        row.person_id,
        ctx,
        lambda q: q.kind == "degree",
        lambda q: q.country.is_not(None),
        lambda q: q.country != pol.home_country,
    )
    return or_(language, abroad)


def ethnic_language_fluent(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    return _has_qual(
        row.person_id,
        ctx,
        lambda q: q.kind == "language",
        lambda q: q.language_kind == "ethnic_minority",
        lambda q: q.is_fluent.is_(True),
    )


def local_languages(ctx: Ctx, asked: bool = False) -> Any:
    """(unit_id, language): every unit on D with the languages listed by it or by a unit above it on D.

    `asked`: only for the units the statement keeps its anchor rows to (`Ctx.asked`), found by walking up from them
    (`_above_asked`). The whole country's list is built downwards from the units that list languages: 21,284 rows in
    about 200 ms at a million persons, for every figure of one unit, a commune's too. Walked up from one unit's
    scope, the list is that scope's units (F30 in bench/findings.md)."""
    if asked and ctx.asked is not None:
        def build_asked() -> Any:
            chain, lang = _above_asked(ctx), aliased(OrgUnitLanguage)
            return (select(chain.c.unit_id, lang.language)
                    .join(lang, and_(lang.org_unit_id == chain.c.above_id, ctx.current(lang)))
                    .cte("asked_languages"))

        return ctx.cache("asked_languages", build_asked)

    def build() -> Any:
        lang, uv = aliased(OrgUnitLanguage), aliased(OrgUnitVersion)
        cte = (
            select(lang.org_unit_id.label("unit_id"), lang.language)
            .join(uv, and_(uv.org_unit_id == lang.org_unit_id, unit_valid(uv, ctx)))
            .where(ctx.current(lang))
            .cte("local_languages", recursive=True)
        )
        link, child = aliased(OrgUnitParent), aliased(OrgUnitVersion)
        step = (
            select(link.org_unit_id, cte.c.language)
            .join(cte, link.parent_id == cte.c.unit_id)
            .join(child, child.org_unit_id == link.org_unit_id)
            .where(active(link, ctx), unit_valid(child, ctx))
        )
        return cte.union(step)

    return ctx.cache("local_languages", build)


def _above_asked(ctx: Ctx) -> Any:
    """(unit_id, above_id): each unit of `Ctx.asked` with itself and every unit above it on D (by the parent links in
    force on D, through units valid on D: the paths `descendants` walks down)."""
    def build() -> Any:
        asked = ctx.asked
        cte = select(asked.c.unit_id.label("unit_id"), asked.c.unit_id.label("above_id")).cte("above_asked",
                                                                                            recursive=True)
        link, parent = aliased(OrgUnitParent), aliased(OrgUnitVersion)
        step = (
            select(cte.c.unit_id, link.parent_id)
            .join(link, and_(link.org_unit_id == cte.c.above_id, active(link, ctx)))
            .join(parent, and_(parent.org_unit_id == link.parent_id, unit_valid(parent, ctx)))
        )
        return cte.union(step)

    return ctx.cache("above_asked", build)


def hashable(*columns: Any) -> Select[Any]:
    """The distinct values of `columns` of a list built by recursion, for an IN the planner hashes once per statement.

    PostgreSQL estimates a recursion at ten rounds of its first one's fan-out: the country's (unit, language) list at
    a million persons at 1,000,520 rows (21,284 are there), too big to hash in `work_mem`, so each test looked the
    whole list through (the ethnic-language indicators over every unit 292 s, F30 in bench/findings.md). Grouped,
    the list is estimated by the planner's default for columns without statistics (200 values each: 40,000 pairs)
    and hashed: 1.6 s. The grouping changes no answer: an IN asks only whether a value is among them."""
    return select(*columns).group_by(*columns)


def _primary_employment(row: Row, ctx: Ctx, *conds: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
    """The person's primary employment in force on D meets `conds(employment)`.

    When the row is an employment it is that employment: `anchor_rows` keeps only the primary employment in force on
    D (with a projection's retirements), and a person's primary employments never overlap (persons.py
    `_primary_overlaps`). So a population of employments reads its own record rather than looking the person's
    primary employment up again for every record: at a million persons, 597,000 lookups for the teachers' title
    standard (F16 in bench/findings.md). Positions and seats look it up.
    """
    if row.subject == "employment":
        return and_(true(), *[c(row.record) for c in conds])
    e = aliased(Employment)
    return (select(e.id).where(e.person_id == row.person_id, e.is_primary.is_(True), active(e, ctx), *[c(e) for c in conds])
            .correlate_except(e).exists())


def _place_of_work(row: Row, ctx: Ctx, language: ColumnElement[str] | None = None) -> ColumnElement[bool]:
    """The person's primary employment on D is at a unit that lists local languages (by itself or a unit above it),
    `language` among them when given.

    An uncorrelated IN over the (unit, language) list, grouped so that the planner hashes it once per statement
    (`hashable`): as a correlated EXISTS, or an IN whose list was estimated too big to hash, the whole list was
    looked through for every language record (F29, F30 in bench/findings.md). A statement of one unit, whose employments
    are kept to its scope (`Ctx.asked`), lists only the scope's units, walked up from them (`local_languages`); a
    position or a seat in scope may have its primary employment elsewhere, and reads the country's list."""
    loc = local_languages(ctx, asked=row.subject == "employment")

    def listed(e: Any) -> ColumnElement[bool]:
        if language is None:
            return e.org_unit_id.in_(hashable(loc.c.unit_id))
        return tuple_(e.org_unit_id, language).in_(hashable(loc.c.unit_id, loc.c.language))

    return _primary_employment(row, ctx, listed)


def languages_listed(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    """Some unit at or above the place of work (the primary employment's unit) on D lists local languages."""
    return _place_of_work(row, ctx)


def ethnic_language_local(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    """Fluent in an ethnic-minority language of the place of work (spec revision 2, point 8).

    The local languages of a unit are those listed by it or by any unit above it on D; where none is listed,
    any ethnic-minority language counts (the answer says how many persons that rule was applied to).
    """
    def one(q: Any) -> ColumnElement[bool]:
        here = _place_of_work(row, ctx, q.language)
        conditions = [
            q.person_id == row.person_id,
            q.kind == "language",
            q.language_kind == "ethnic_minority",
            q.is_fluent.is_(True),
            q.awarded_on <= ctx.day,
            ctx.current(q),
            or_(here, not_(languages_listed(row, ctx))),
        ]
        return select(q.id).where(*conditions).correlate_except(q).exists()

    found = [one(q) for q in ctx.qualifications()]
    return found[0] if len(found) == 1 else or_(*found)


def ethnic_minority(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    minority = sorted(c.code for c in ctx.book.lists.get("ethnicity", {}).values() if c.is_minority)
    return row.person.ethnicity.in_(minority)


@dataclass(frozen=True)
class StandardLevel:
    """One requirement of a title-standard row: its column, the code list that orders it, the person's highest level."""

    column: str
    list_name: str
    held: Callable[[Row, "Ctx"], ColumnElement[int]]


STANDARD_LEVELS = (
    StandardLevel("min_degree", "degree_level", highest_degree),
    StandardLevel("min_political_theory", "political_theory", highest_political_theory),
    StandardLevel("min_state_management", "state_management", highest_state_management),
)


def _standard_rows(ctx: Ctx) -> tuple[Select[Any], Any, dict[str, Any]]:
    """Every title_standard row in force on D, with the code item of each required level (statement of the row ids,
    the aliased TitleStandard, {column: aliased CodeItem}); a level not required has no code item (`ord` NULL)."""
    ts = aliased(TitleStandard)
    required = {level.column: aliased(CodeItem) for level in STANDARD_LEVELS}
    stmt = select(ts.id).select_from(ts)
    for level in STANDARD_LEVELS:
        ci = required[level.column]
        stmt = stmt.outerjoin(ci, and_(ci.list_name == level.list_name, ci.code == getattr(ts, level.column)))
    stmt = stmt.where(ts.valid_from <= ctx.day, or_(ts.valid_to.is_(None), ts.valid_to >= ctx.day), ctx.current(ts))
    return stmt, ts, required


def standards_in_force(ctx: Ctx, subject: Any, code: Any) -> tuple[Select[Any], Any, dict[str, Any]]:
    """The title_standard rows for (subject, code) in force on D, with the code item of each required level.

    Returns (statement of the row ids, the aliased TitleStandard, {column: aliased CodeItem}); a level not
    required has no code item (its `ord` is NULL).
    """
    stmt, ts, required = _standard_rows(ctx)
    return stmt.where(ts.subject == subject, ts.subject_code == code), ts, required


def _standards_table(ctx: Ctx) -> Any:
    """(subject, subject_code, the order of each required level) of every title-standard row in force on D, computed
    once per statement. A record's check reads this small table: joined in the check itself, the rows and their
    three code items were hashed anew for every record, the record's code being part of the join (F16)."""
    def build() -> Any:
        stmt, ts, required = _standard_rows(ctx)
        ords = [required[level.column].ord.label(level.column) for level in STANDARD_LEVELS]
        return (stmt.with_only_columns(ts.subject.label("subject"), ts.subject_code.label("subject_code"), *ords)
                .cte("standards_in_force").prefix_with("MATERIALIZED", dialect="postgresql"))

    return ctx.cache("standards_in_force", build)


def _fails_standard(row: Row, ctx: Ctx, subject: str, code: Any, degree_only: bool = False) -> ColumnElement[bool]:
    """Some standard row for (subject, code) in force on D is not met by the person (its degree only, if asked)."""
    std = _standards_table(ctx)
    levels = STANDARD_LEVELS[:1] if degree_only else STANDARD_LEVELS
    misses = [and_(std.c[lv.column].is_not(None), lv.held(row, ctx) < std.c[lv.column]) for lv in levels]
    found = select(std.c.subject).where(std.c.subject == subject, std.c.subject_code == code, or_(*misses))
    return found.correlate_except(std).exists()


def _fails_positions(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    p = aliased(Position)
    conditions = [p.person_id == row.person_id, active(p, ctx), _fails_standard(row, ctx, "rank", p.rank)]
    return select(p.id).where(*conditions).correlate_except(p).exists()


def _fails_primary(row: Row, ctx: Ctx, subject: str, degree_only: bool = False) -> ColumnElement[bool]:
    def fails(e: Any) -> ColumnElement[bool]:
        return _fails_standard(row, ctx, subject, e.occupation if subject == "occupation" else e.category, degree_only)

    return _primary_employment(row, ctx, fails)


def meets_job(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    return not_(or_(_fails_positions(row, ctx), _fails_primary(row, ctx, "occupation"), _fails_primary(row, ctx, "category")))


def meets_positions(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    return not_(_fails_positions(row, ctx))


def meets_occupation(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    return not_(_fails_primary(row, ctx, "occupation"))


def meets_category_degree(row: Row, ctx: Ctx) -> ColumnElement[bool]:
    """The degree of the title-standard row of the primary employment's category ("chuyên môn" only).

    ST-2025-COMMUNE-STAFF-STANDARD reads "đạt chuẩn về văn hóa và chuyên môn": general education and the
    professional degree, not the political theory or state management of the same row (spec revision 2,
    point 7).
    """
    return not_(_fails_primary(row, ctx, "category", degree_only=True))


def descendants(ctx: Ctx, name: str, start: Callable[[Any], ColumnElement[bool]]) -> Any:
    """The units matching `start` on D and every unit below them, in the tree as it stood on D."""
    uv = aliased(OrgUnitVersion)
    cte = select(uv.org_unit_id.label("unit_id")).where(start(uv), unit_valid(uv, ctx)).cte(name, recursive=True)
    link, child = aliased(OrgUnitParent), aliased(OrgUnitVersion)
    step = (
        select(link.org_unit_id)
        .join(cte, link.parent_id == cte.c.unit_id)
        .join(child, child.org_unit_id == link.org_unit_id)
        .where(active(link, ctx), unit_valid(child, ctx))
    )
    return cte.union(step)


def contact_units(ctx: Ctx) -> Any:
    """Units flagged ethnic_contact on D, and every unit below them on D.

    Of a statement of one unit (`Ctx.asked`, which holds every anchor unit it reads): its scope's units with such a
    unit at or above them, walked up as `local_languages` is, for the same reason."""
    if ctx.asked is not None:
        def build_asked() -> Any:
            chain, uv = _above_asked(ctx), aliased(OrgUnitVersion)
            return (select(chain.c.unit_id)
                    .join(uv, and_(uv.org_unit_id == chain.c.above_id, unit_valid(uv, ctx), uv.ethnic_contact.is_(True)))
                    .cte("asked_contact_units"))

        return ctx.cache("asked_contact_units", build_asked)

    def build() -> Any:
        return descendants(ctx, "contact_units", lambda uv: uv.ethnic_contact.is_(True))

    return ctx.cache("contact_units", build)


def age_cutoff(as_of: date, years: int) -> date:
    """The latest birth date of a person aged at least `years` on `as_of` (29 Feb -> 28 Feb).

    Before year 1 there is no date: nobody can be that old, and the earliest date stands for that.
    """
    if as_of.year - years < 1:
        return date.min
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:
        return as_of.replace(year=as_of.year - years, day=28)


@dataclass(frozen=True)
class Field:
    """A filterable field: type, code list (for codes and ordinals), where it applies, labels, SQL."""

    type: str  # code | ordinal | int | bool | text | age
    sql: Callable[[Row, Ctx], ColumnElement[Any]]
    vi: str
    en: str
    list_name: str | None = None
    subjects: tuple[str, ...] = ("employment", "position", "membership")
    person_level: bool = True
    reads: tuple[str, ...] = ()  # the person's columns the SQL reads that are sensitive data (disclosure.py)


ANCHOR = False
FIELDS: dict[str, Field] = {
    "person.gender": Field("code", lambda r, c: r.person.gender, "giới tính", "gender", "gender"),
    "person.ethnic_minority": Field(
        "bool", ethnic_minority, "là người dân tộc thiểu số", "belongs to an ethnic minority", reads=("ethnicity",)
    ),
    "person.age": Field("age", lambda r, c: r.person.birth_date, "tuổi", "age in whole years"),
    "person.general_education": Field(
        "text", lambda r, c: r.person.general_education, "trình độ giáo dục phổ thông", "general education"
    ),
    "person.highest_degree": Field("ordinal", highest_degree, "trình độ chuyên môn cao nhất", "highest degree", "degree_level"),
    "person.highest_foreign_language": Field(
        "int", highest_foreign_language, "bậc ngoại ngữ cao nhất", "highest foreign-language level"
    ),
    "person.highest_political_theory": Field(
        "ordinal",
        highest_political_theory,
        "trình độ lý luận chính trị cao nhất",
        "highest political-theory level",
        "political_theory",
    ),
    "person.highest_state_management": Field(
        "ordinal",
        highest_state_management,
        "trình độ quản lý nhà nước cao nhất",
        "highest state-management level",
        "state_management",
    ),
    "person.highest_specialist": Field(
        "ordinal", highest_specialist, "trình độ chuyên khoa cao nhất", "highest medical specialist level", "specialist_level"
    ),
    "person.highest_position_rank": Field(
        "ordinal", highest_position_rank, "chức vụ lãnh đạo cao nhất đang giữ", "highest leadership rank held", "leadership_rank"
    ),
    "person.postgraduate": Field("bool", postgraduate, "có trình độ sau đại học", "holds a postgraduate qualification"),
    "person.international": Field(
        "bool", international, "đủ khả năng làm việc trong môi trường quốc tế", "can work in an international environment"
    ),
    "person.ethnic_language_fluent": Field(
        "bool", ethnic_language_fluent, "sử dụng thành thạo tiếng dân tộc thiểu số", "fluent in an ethnic-minority language"
    ),
    "person.ethnic_language_local": Field(
        "bool",
        ethnic_language_local,
        "sử dụng thành thạo tiếng dân tộc thiểu số tại địa bàn công tác",
        "fluent in an ethnic-minority language of the place of work",
    ),
    "person.place_of_work_lists_languages": Field(
        "bool",
        languages_listed,
        "địa bàn công tác có ghi tiếng dân tộc thiểu số",
        "the place of work lists its ethnic-minority languages",
    ),
    "person.meets_standard.job": Field(
        "bool",
        meets_job,
        "đạt tiêu chuẩn chức danh, vị trí việc làm",
        "meets the standard of every post, occupation and category held",
    ),
    "person.meets_standard.positions": Field(
        "bool",
        meets_positions,
        "đạt tiêu chuẩn của mọi chức vụ lãnh đạo đang giữ",
        "meets the standard of every leadership position held",
    ),
    "person.meets_standard.occupation": Field(
        "bool", meets_occupation, "đạt chuẩn chức danh nghề nghiệp", "meets the standard of their occupation"
    ),
    "person.meets_standard.category_degree": Field(
        "bool",
        meets_category_degree,
        "đạt trình độ chuyên môn theo tiêu chuẩn của loại cán bộ, công chức",
        "holds the degree of the title standard of their category",
    ),
    "unit.kind": Field("code", lambda r, c: r.unit.kind, "loại đơn vị", "kind of unit", "org_unit_kind", person_level=ANCHOR),
    "unit.tier": Field("code", lambda r, c: r.unit.tier, "cấp của đơn vị", "tier of unit", "tier", person_level=ANCHOR),
    "unit.sector": Field(
        "code", lambda r, c: r.unit.sector, "khối, ngành của đơn vị", "sector of unit", "sector", person_level=ANCHOR
    ),
    "unit.ethnic_contact": Field(
        "bool",
        lambda r, c: r.unit.org_unit_id.in_(select(contact_units(c).c.unit_id)),
        "đơn vị tiếp xúc trực tiếp với đồng bào dân tộc thiểu số",
        "unit in direct contact with ethnic-minority people",
        person_level=ANCHOR,
    ),
    "employment.category": Field(
        "code",
        lambda r, c: r.record.category,
        "loại cán bộ, công chức, viên chức",
        "employment category",
        "employment_category",
        ("employment",),
        ANCHOR,
    ),
    "employment.occupation": Field(
        "code", lambda r, c: r.record.occupation, "chức danh nghề nghiệp", "occupation", "occupation", ("employment",), ANCHOR
    ),
    "position.rank": Field(
        "ordinal",
        lambda r, c: _rank_order(r.record.rank, c),
        "cấp chức vụ",
        "rank of the position",
        "leadership_rank",
        ("position",),
        ANCHOR,
    ),
    "position.key_leader": Field(
        "bool",
        lambda r, c: r.record.key_leader.is_(True),
        "lãnh đạo chủ chốt",
        "key leader",
        subjects=("position",),
        person_level=ANCHOR,
    ),
    "membership.role": Field(
        "code",
        lambda r, c: r.record.role,
        "vai trò trong tổ chức",
        "role in the body",
        "membership_role",
        ("membership",),
        ANCHOR,
    ),
}


def _rank_order(rank: ColumnElement[str], ctx: Ctx) -> ColumnElement[int]:
    ranks = ctx.book.lists.get("leadership_rank", {})
    return case({code: c.ord for code, c in ranks.items() if c.ord is not None}, value=rank, else_=0)
