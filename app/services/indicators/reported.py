"""Reported statistics as indicators read them: the latest figure of a unit, or the average of a period's years."""

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, extract, func, select
from sqlalchemy.orm import Session

from app.models import Statistic
from app.services.indicators import ratios
from app.services.indicators.spec import IndicatorSpec
from app.services.versioning import current_or_at


def latest_stmt(code: str, as_of: date, cut: int | None, unit_id: int) -> Select[Any]:
    """The figure reported for the unit itself whose period starts latest on or before the date."""
    return (
        select(Statistic)
        .where(
            Statistic.code == code,
            Statistic.org_unit_id == unit_id,
            Statistic.period_start <= as_of,
            current_or_at(Statistic, cut),
        )
        .order_by(Statistic.period_start.desc(), Statistic.period_end.desc())
        .limit(1)
    )


def latest(session: Session, code: str, unit_id: int, as_of: date, cut: int | None) -> Statistic | None:
    return session.scalar(latest_stmt(code, as_of, cut, unit_id))


def latest_for_all(session: Session, code: str, as_of: date, cut: int | None) -> dict[int, Statistic]:
    """For every unit at once, the figure whose period starts latest on or before the date (bench F5)."""
    ranked = (
        select(
            Statistic.id,
            func.row_number()
            .over(partition_by=Statistic.org_unit_id, order_by=(Statistic.period_start.desc(), Statistic.period_end.desc()))
            .label("n"),
        )
        .where(Statistic.code == code, Statistic.period_start <= as_of, current_or_at(Statistic, cut))
        .subquery()
    )
    rows = session.scalars(select(Statistic).join(ranked, ranked.c.id == Statistic.id).where(ranked.c.n == 1))
    return {row.org_unit_id: row for row in rows}


@dataclass(frozen=True)
class YearlyAverage:
    """"Bình quân hằng năm": the average of the yearly figures of a period (spec revision 2, point 10).

    Only figures of a whole calendar year count (period `2023`, or 2023-01-01/2023-12-31); a year whose
    1 January is after the date is not due yet; a year due and not reported is listed as missing, and the
    average is of the years reported.
    """

    figures: tuple[Statistic, ...]
    missing: tuple[int, ...]

    @property
    def total(self) -> Fraction:
        return sum((ratios.exact(f.value) for f in self.figures), Fraction(0))

    @property
    def value(self) -> Fraction:
        return self.total / len(self.figures)

    def explained(self) -> dict[str, Any]:
        return {
            "rule": "period_average",
            "years": [
                {"year": f.period_start.year, "period": f.period, "value": ratios.as_number(ratios.exact(f.value)),
                 "source": f.source}
                for f in self.figures
            ],
            "total": ratios.as_number(self.total),
            "years_reported": len(self.figures),
            "years_missing": list(self.missing),
        }


def yearly_stmt(spec: IndicatorSpec, as_of: date, cut: int | None, unit_id: int | None) -> Select[Any]:
    """The whole-year figures of the indicator's period that had begun by the date (one unit, or every unit).

    The whole-year rule is in the statement, so that the rows it returns (GET /indicators/{code}/sql) are
    exactly the years averaged.
    """
    assert spec.period is not None and spec.statistic is not None
    first, last = spec.period
    stmt = select(Statistic).where(
        Statistic.code == spec.statistic,
        Statistic.period_start >= first,
        Statistic.period_end <= last,
        Statistic.period_start <= as_of,
        _whole_year(),
        current_or_at(Statistic, cut),
    )
    if unit_id is not None:
        stmt = stmt.where(Statistic.org_unit_id == unit_id)
    return stmt.order_by(Statistic.org_unit_id, Statistic.period_start)


def _whole_year() -> ColumnElement[bool]:
    """The period is one calendar year: from 1 January to 31 December of the same year."""
    start, end = Statistic.period_start, Statistic.period_end
    return and_(
        extract("year", start) == extract("year", end),
        extract("month", start) == 1,
        extract("day", start) == 1,
        extract("month", end) == 12,
        extract("day", end) == 31,
    )


def yearly_averages(
    session: Session, spec: IndicatorSpec, as_of: date, cut: int | None, unit_id: int | None = None
) -> dict[int, YearlyAverage]:
    """Per unit with at least one yearly figure, the average of the period's years (set-based: one query)."""
    assert spec.period is not None
    first, last = spec.period
    due = [y for y in range(first.year, last.year + 1) if date(y, 1, 1) <= as_of]
    per: dict[int, dict[int, Statistic]] = {}
    for row in session.scalars(yearly_stmt(spec, as_of, cut, unit_id)):
        year = row.period_start.year
        if (row.period_start, row.period_end) == (date(year, 1, 1), date(year, 12, 31)):
            per.setdefault(row.org_unit_id, {})[year] = row
    return {
        uid: YearlyAverage(tuple(years[y] for y in sorted(years)), tuple(y for y in due if y not in years))
        for uid, years in per.items()
    }


def reading(session: Session, spec: IndicatorSpec, unit_id: int, as_of: date, cut: int | None) -> Any:
    """What a reported indicator reads for one unit: a Statistic, a YearlyAverage, or None."""
    assert spec.statistic is not None
    if spec.aggregate == "period_average":
        return yearly_averages(session, spec, as_of, cut, unit_id).get(unit_id)
    return latest(session, spec.statistic, unit_id, as_of, cut)


def readings_for_all(session: Session, spec: IndicatorSpec, as_of: date, cut: int | None) -> dict[int, Any]:
    assert spec.statistic is not None
    if spec.aggregate == "period_average":
        return dict(yearly_averages(session, spec, as_of, cut))
    return dict(latest_for_all(session, spec.statistic, as_of, cut))
