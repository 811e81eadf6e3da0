"""Indicator kinds as a table: one entry per kind holds all its rules, so that a new kind is one entry.

Each kind says, for one unit, which statements give its figures (`steps`: the purpose, the cached
statement's shape and how it is built); `counts` runs exactly those steps and `statements` binds the
same ones for `GET /indicators/{code}/sql`, so the SQL an auditor reads is the SQL that ran. Beside
them: how the figures make a value, how every unit is counted in one pass, the person-level drill-down,
the note of an empty figure, and whether a closed unit answers for its territory.
"""

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from sqlalchemy import BigInteger, cast, literal, null, select
from sqlalchemy.orm import Session

from app.models import Statistic
from app.services.indicators import compiler, ratios, reported, scopes
from app.services.indicators.fields import ROOT, Ctx
from app.services.indicators.spec import Atom, IndicatorSpec, atoms

Build = Callable[[IndicatorSpec, Ctx], Any]
Drilled = dict[int, tuple[int, dict[str, Any]]]  # person id -> (in the numerator, what else the answer says)
LOCAL_LANGUAGE = "person.ethnic_language_local"


def run(session: Session, shape: str, spec: IndicatorSpec, ctx: Ctx, build: Build, unit_id: int | None) -> Any:
    """Execute the (cached) statement of `build` for ctx's date and cut and, if given, the unit."""
    stmt, params = compiler.prepared(shape, spec, ctx, lambda fresh: build(spec, fresh))
    return session.execute(stmt, params | ({ROOT: unit_id} if unit_id is not None else {}))


def bound(shape: str, spec: IndicatorSpec, ctx: Ctx, unit_id: int, build: Build) -> Any:
    """The evaluation's own (cached) statement of `build`, with the date's, the cut's and the unit's values bound."""
    stmt, params = compiler.prepared(shape, spec, ctx, lambda fresh: build(spec, fresh))
    return stmt.params(params | {ROOT: unit_id})


@dataclass(frozen=True)
class Step:
    """One statement of a unit's figures: a registry statement (`shape`, `build`, for `of` or the spec itself) or
    the reading of a reported statistic (`statistic`: its code; `yearly`: the period's yearly figures)."""

    purpose: str
    shape: str | None = None
    build: Build | None = None
    of: IndicatorSpec | None = None
    statistic: str | None = None
    yearly: bool = False

    def execute(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> Any:
        if self.shape is not None:
            assert self.build is not None
            return run(session, self.shape, self.of or spec, ctx, self.build, unit_id)
        if self.yearly:
            return reported.yearly_averages(session, spec, ctx.as_of, ctx.cut, unit_id).get(unit_id)
        assert self.statistic is not None
        return reported.latest(session, self.statistic, unit_id, ctx.as_of, ctx.cut)

    def statement(self, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> Any:
        if self.shape is not None:
            assert self.build is not None
            return bound(self.shape, self.of or spec, ctx, unit_id, self.build)
        if self.yearly:
            return reported.yearly_stmt(spec, ctx.as_of, None, unit_id)
        assert self.statistic is not None
        return reported.latest_stmt(self.statistic, ctx.as_of, None, unit_id)


def coverage_under(spec: IndicatorSpec, ctx: Ctx) -> Any:
    return compiler.coverage_units(spec, ctx, select(compiler.subtree(ctx).c.unit_id))


def tiered(spec: IndicatorSpec) -> bool:
    """A target set "at every level" (các cấp): met only when each tier with members reaches the floor."""
    return spec.kind == "ratio" and (spec.disaggregate_by or "").startswith("tier")


def reads_local_languages(spec: IndicatorSpec) -> bool:
    return any(a.field == LOCAL_LANGUAGE for a in atoms(spec.share))


def unlisted(spec: IndicatorSpec) -> IndicatorSpec:
    """The population's own definition, counting those whose place of work lists no local language."""
    none_listed = Atom.model_validate({"field": "person.place_of_work_lists_languages", "is": False})
    return spec.model_copy(update={"share": none_listed})


def by_tier(spec: IndicatorSpec, ctx: Ctx) -> Any:
    return compiler.population_by(spec, ctx, "tier")


def per_capita_counts(registry: int, area: Statistic | None, population: Statistic | None) -> tuple[Any, Any, Any]:
    """(numerator, denominator, population statistic): the area's reported count when there is one (revision 2,
    point 9: doctors of the area, private ones included), else the registry's count."""
    num = ratios.as_number(ratios.exact(area.value)) if area is not None else registry
    return num, (ratios.as_number(ratios.exact(population.value)) if population else None), population


class Kind:
    """The rules of one kind of indicator; the defaults are those of a kind without figures (qualitative)."""

    name: ClassVar[str] = "qualitative"
    territory: ClassVar[bool] = False  # a closed unit answers for its territory (counted over a scope of units)
    needs_unit: ClassVar[bool] = False  # a unit that did not exist on the date has nothing under it
    whole_as_int: ClassVar[bool] = False  # the value is a count or a figure as reported, not a share
    denominator: ClassVar[bool] = True  # the answer has a denominator
    persons_only_shared: ClassVar[bool] = False  # a territory's shared units add persons, not a denominator
    person_splits: ClassVar[bool] = False  # breakdowns by tier, gender and age (person-level populations)
    share_cells: ClassVar[bool] = False  # a breakdown cell has a share and a status
    scored: ClassVar[bool] = False  # has a figure at all
    anchored: ClassVar[bool] = False  # its drill-down's persons are in the population by anchor records (in_population_by)

    def steps(self, spec: IndicatorSpec, ctx: Ctx) -> list[Step]:
        """The statements of one unit's figures, in the order `counts` runs them."""
        return []

    def shared(self) -> Build | None:
        """The statement of what each shared unit left out of a territory would add (kinds with a territory)."""
        return None

    def counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> tuple[Any, Any, Any]:
        """(numerator, denominator, extra) of the unit, from exactly the statements of `steps`."""
        return None, None, None

    def value(self, spec: IndicatorSpec, num: Any, den: Any, extra: Any) -> Fraction | None:
        return None

    def all_counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, tuple[Any, Any]]:
        """(numerator, denominator) of every unit, in one pass (the unit tree's roll-up)."""
        return {}

    def all_statistics(self, session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, Any]:
        """The statistic (or yearly average) every unit reads, in one query."""
        return {}

    def unit_figure(self, spec: IndicatorSpec, found: tuple[Any, Any] | None, extra: Any,
                    area: Statistic | None) -> tuple[Any, Any, Any]:
        """One unit's (numerator, denominator, extra) from the all-units pass."""
        num, den = found or (0, 0 if self.denominator else None)
        return num, (den if self.denominator else None), extra

    def drill(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> Drilled | None:
        """Every person counted under the unit: (in the numerator, what else the answer says), or None: no drill-down."""
        return None

    def empty_note(self, spec: IndicatorSpec) -> str | None:
        """What an answer without a value says."""
        return None

    def explain(self, spec: IndicatorSpec, lang: str) -> str | None:
        """What the method's words add for this kind, beside the population, share, coverage and rate (`method`)."""
        return None

    def _registry(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> list[Any]:
        return [step.execute(session, spec, ctx, unit_id) for step in self.steps(spec, ctx)]


class Qualitative(Kind):
    pass


class Ratio(Kind):
    name = "ratio"
    territory = needs_unit = person_splits = share_cells = scored = anchored = True

    def shared(self) -> Build | None:
        return compiler.shared_counts

    def steps(self, spec: IndicatorSpec, ctx: Ctx) -> list[Step]:
        found = [Step("numerator, denominator", "counts", compiler.population_counts)]
        if tiered(spec):
            found.append(Step("by_tier: tier, numerator, denominator of each tier (the target is set at every level)",
                              "by_tier", by_tier))
        if reads_local_languages(spec):
            found.append(Step("place_of_work.persons_where_none_listed: the first column (the population's persons whose "
                              "place of work and the units above it list no local language)",
                              "counts", compiler.population_counts, of=unlisted(spec)))
        return found

    def counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> tuple[Any, Any, Any]:
        num, den = self.steps(spec, ctx)[0].execute(session, spec, ctx, unit_id).one()
        return int(num), int(den), None

    def value(self, spec: IndicatorSpec, num: Any, den: Any, extra: Any) -> Fraction | None:
        return ratios.share(num or 0, den or 0)

    def all_counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, tuple[Any, Any]]:
        rows = run(session, "counts_all", spec, ctx, compiler.unit_counts_all, None).all()  # read before the pairs
        return {unit: (num, den) for unit, (num, den) in scopes.pairs(session, ctx).roll_up(rows).items()}

    def drill(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> Drilled | None:
        rows = run(session, "persons", spec, ctx, compiler.population_persons, unit_id).all()
        return {pid: (int(is_num), {}) for pid, is_num in rows}

    def empty_note(self, spec: IndicatorSpec) -> str | None:
        return "empty population: no value (not 0%)"


class PerCapita(Ratio):
    name = "per_capita"
    share_cells = False
    persons_only_shared = True

    def steps(self, spec: IndicatorSpec, ctx: Ctx) -> list[Step]:
        stat = spec.statistic or ""
        found = [
            Step("registry count of the population, in both columns: the numerator when coverage is 'registry'",
                 "counts", compiler.population_counts),
            Step(f"population statistic {stat!r}: its value is the denominator (no row: no value)", statistic=stat),
        ]
        if spec.numerator_statistic:
            found.append(Step(f"numerator statistic {spec.numerator_statistic!r}: a row's value is the numerator "
                              "(coverage 'statistic', numerator_statistic); no row: the registry count is",
                              statistic=spec.numerator_statistic))
        return found

    def counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> tuple[Any, Any, Any]:
        registry, population, *area = self._registry(session, spec, ctx, unit_id)
        _num, den = registry.one()
        return per_capita_counts(int(den), area[0] if area else None, population)

    def value(self, spec: IndicatorSpec, num: Any, den: Any, extra: Any) -> Fraction | None:
        assert spec.per is not None
        return ratios.per_capita(ratios.exact(num or 0), extra.value if extra is not None else None, spec.per)

    def all_statistics(self, session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, Any]:
        return reported.latest_for_all(session, spec.statistic, ctx.as_of, ctx.cut) if spec.statistic else {}

    def unit_figure(self, spec: IndicatorSpec, found: tuple[Any, Any] | None, extra: Any,
                    area: Statistic | None) -> tuple[Any, Any, Any]:
        _num, den = found or (0, 0)
        return per_capita_counts(int(den or 0), area, extra)

    def empty_note(self, spec: IndicatorSpec) -> str | None:
        return f"no reported statistic {spec.statistic!r} for this unit with a period starting on or before the date"


class Coverage(Kind):
    name = "coverage"
    territory = needs_unit = scored = True

    def shared(self) -> Build | None:
        return compiler.shared_coverage

    def steps(self, spec: IndicatorSpec, ctx: Ctx) -> list[Step]:
        return [Step("one row per unit of the covered kind (unit_id, passes): the numerator is the sum of passes, "
                     "the denominator the number of rows", "coverage", coverage_under)]

    def counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> tuple[Any, Any, Any]:
        rows = self.steps(spec, ctx)[0].execute(session, spec, ctx, unit_id).all()
        return sum(r.passes for r in rows), len(rows), rows

    def value(self, spec: IndicatorSpec, num: Any, den: Any, extra: Any) -> Fraction | None:
        return ratios.share(num or 0, den or 0)

    def all_counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, tuple[Any, Any]]:
        rows = run(session, "coverage_all", spec, ctx, coverage_all, None).all()  # read before the pairs
        return {unit: (num, den) for unit, (num, den) in scopes.pairs(session, ctx).roll_up(rows).items()}

    def empty_note(self, spec: IndicatorSpec) -> str | None:
        return "empty population: no value (not 0%)"


def coverage_all(spec: IndicatorSpec, ctx: Ctx) -> Any:
    """(unit_id, person_id NULL, passes, 1) of every unit of the covered kind valid on D, rolled up to every unit whose
    scope holds it by `scopes.ScopePairs.roll_up` (the pairs read once per date, F19)."""
    cov = compiler.coverage_units(spec, ctx, None).subquery()
    return select(cov.c.unit_id, cast(null(), BigInteger).label("person_id"), cov.c.passes, literal(1))


class FlowCount(Kind):
    name = "flow_count"
    territory = whole_as_int = persons_only_shared = scored = True
    denominator = False

    def shared(self) -> Build | None:
        return compiler.shared_flow

    def steps(self, spec: IndicatorSpec, ctx: Ctx) -> list[Step]:
        return [Step("numerator: the count of persons (no denominator)", "flow", compiler.flow_count)]

    def counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> tuple[Any, Any, Any]:
        return int(self.steps(spec, ctx)[0].execute(session, spec, ctx, unit_id).scalar() or 0), None, None

    def value(self, spec: IndicatorSpec, num: Any, den: Any, extra: Any) -> Fraction | None:
        return Fraction(num or 0)

    def all_counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, tuple[Any, Any]]:
        rows = run(session, "flow_all", spec, ctx, compiler.flow_count_all, None).all()  # read before the pairs
        return {unit: (persons, None) for unit, persons in scopes.pairs(session, ctx).persons_per_unit(rows).items()}

    def drill(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> Drilled | None:
        rows = run(session, "flow_persons", spec, ctx, compiler.flow_persons, unit_id).all()
        return {pid: (1, {"event_day": day.isoformat() if hasattr(day, "isoformat") else str(day)}) for pid, day in rows}


class Reported(Kind):
    name = "reported"
    whole_as_int = scored = True

    def steps(self, spec: IndicatorSpec, ctx: Ctx) -> list[Step]:
        stat = spec.statistic or ""
        if spec.aggregate == "period_average":
            return [Step(f"the whole-year figures of {stat!r} in the period, up to the date: the value is their average "
                         "(average.years)", yearly=True)]
        return [Step(f"the figure of {stat!r} whose period starts latest on or before the date: its value is the value "
                     "(statistic)", statistic=stat)]

    def counts(self, session: Session, spec: IndicatorSpec, ctx: Ctx, unit_id: int) -> tuple[Any, Any, Any]:
        return None, None, self.steps(spec, ctx)[0].execute(session, spec, ctx, unit_id)

    def value(self, spec: IndicatorSpec, num: Any, den: Any, extra: Any) -> Fraction | None:
        return ratios.exact(extra.value) if extra is not None else None

    def all_statistics(self, session: Session, spec: IndicatorSpec, ctx: Ctx) -> dict[int, Any]:
        return reported.readings_for_all(session, spec, ctx.as_of, ctx.cut)

    def explain(self, spec: IndicatorSpec, lang: str) -> str | None:
        if spec.aggregate == "period_average":
            if lang == "vi":
                return (f"Bình quân các số liệu cả năm '{spec.statistic}' của chính đơn vị trong kỳ, các năm đến ngày tính; "
                        "năm đến hạn chưa báo cáo được liệt kê")
            return (f"The average of the unit's own whole-year figures of '{spec.statistic}' in the period, the years up to "
                    "the date; a year due and not reported is listed")
        if lang == "vi":
            return f"Số liệu báo cáo '{spec.statistic}' của chính đơn vị, kỳ bắt đầu muộn nhất không sau ngày tính"
        return f"Reported statistic '{spec.statistic}' of the unit itself, the period starting latest on or before the date"

    def empty_note(self, spec: IndicatorSpec) -> str | None:
        if isinstance(spec.period, tuple) and spec.aggregate == "period_average":
            first, last = spec.period
            return f"no yearly figure of {spec.statistic!r} for this unit in {first.year}-{last.year} up to the date"
        return f"no reported statistic {spec.statistic!r} for this unit with a period starting on or before the date"


KINDS: dict[str, Kind] = {k.name: k for k in (Qualitative(), Ratio(), PerCapita(), Coverage(), FlowCount(), Reported())}


def of(spec: IndicatorSpec) -> Kind:
    """The rules of the indicator's kind."""
    return KINDS[spec.kind]
