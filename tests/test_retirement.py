"""The statutory retirement schedule against what the law's text says.

Confirmed from the text available to the project (planning.md quotes Decree 135/2020 Appendix I; the Labour Code
2019 art. 169 gives the path): the rows below marked CONFIRMED. Appendix I itself (a table of every birth month
from 1961 to 1966 for men and 1966 to 1975 for women) could not be read here in the decree's own text: its other
rows are tested for the rule the appendix follows (each step of three or four months covers nine or eight birth
months, the pension is paid from the month after), derived from art. 169, and marked DERIVED.
"""

from datetime import date

import pytest

from app.services import retirement


def _row(year: int, month: int, gender: str) -> tuple[tuple[int, int], tuple[int, int]]:
    found = retirement.reached(date(year, month, 15), gender)
    return found.age, (found.year, found.month)


@pytest.mark.parametrize("month", range(1, 10))
def test_confirmed_men_born_january_to_september_1961_retire_at_60_years_3_months(month: int) -> None:
    age, reached = _row(1961, month, "male")
    assert age == (60, 3) and reached == (2021, month + 3)


@pytest.mark.parametrize(("year", "month"), [(1961, 10), (1961, 11), (1961, 12), *((1962, m) for m in range(1, 7))])
def test_confirmed_men_born_october_1961_to_june_1962_retire_at_60_years_6_months(year: int, month: int) -> None:
    age, reached = _row(year, month, "male")
    assert age == (60, 6) and reached[0] == 2022


@pytest.mark.parametrize("month", range(1, 9))
def test_confirmed_women_born_january_to_august_1966_retire_at_55_years_4_months(month: int) -> None:
    age, reached = _row(1966, month, "female")
    assert age == (55, 4) and reached == (2021, month + 4)


def test_confirmed_the_path_ends_at_62_in_2028_and_60_in_2035() -> None:
    """Art. 169: men 62 from 2028, women 60 from 2035, from 60 y 3 m and 55 y 4 m in 2021."""
    assert _row(1966, 4, "male") == ((62, 0), (2028, 4))
    assert _row(1980, 1, "male") == ((62, 0), (2042, 1))
    assert _row(1975, 5, "female") == ((60, 0), (2035, 5))
    assert _row(1990, 7, "female") == ((60, 0), (2050, 7))


def _groups(gender: str, first: tuple[int, int], last: tuple[int, int]) -> list[tuple[tuple[int, int], list[tuple[int, int]]]]:
    """Consecutive birth months with the same retirement age: [(age, [(year, month), ...]), ...]."""
    out: list[tuple[tuple[int, int], list[tuple[int, int]]]] = []
    y, m = first
    while (y, m) <= last:
        age, _reached = _row(y, m, gender)
        if out and out[-1][0] == age:
            out[-1][1].append((y, m))
        else:
            out.append((age, [(y, m)]))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_derived_each_step_of_the_appendix_covers_nine_birth_months_for_men_and_eight_for_women() -> None:
    men = _groups("male", (1961, 1), (1966, 3))
    assert [a for a, _ in men] == [(60, 3 * k) if k < 4 else (61, 3 * (k - 4)) for k in range(1, 8)]
    assert [len(ms) for _a, ms in men] == [9] * 7
    women = _groups("female", (1966, 1), (1975, 4))
    assert [len(ms) for _a, ms in women] == [8] * 14
    assert [a for a, _ in women][-1] == (59, 8)


def test_derived_the_pension_is_paid_from_the_month_after_and_retirement_takes_effect_on_its_last_day() -> None:
    found = retirement.reached(date(1962, 6, 30), "male")
    assert (found.year, found.month, found.on, found.pension_from) == (2022, 12, date(2022, 12, 31), (2023, 1))
    assert retirement.reached(date(1964, 2, 29), "male").on == date(2025, 5, 31)


def test_before_2021_the_ages_were_60_and_55_and_every_answer_names_its_source() -> None:
    old = retirement.reached(date(1959, 5, 1), "male")
    assert (old.age, (old.year, old.month)) == ((60, 0), (2019, 5)) and "2012" in old.source
    assert "135/2020" in retirement.reached(date(1970, 1, 1), "female").source


def test_who_has_retired_by_a_date_is_a_range_of_birth_dates() -> None:
    """moves.retired_before (the projection's SQL compares birth dates with it) agrees with `reached` for every birth
    month from 1940 to 1999 and every first and last day of a month from 2015 to 2045, both genders."""
    import calendar

    from app.services.indicators.moves import retired_before

    days = [d for y in range(2015, 2046) for m in range(1, 13)
            for d in (date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1]))]
    for gender in ("male", "female"):
        cutoffs = {d: retired_before(gender, d) for d in days}
        for year in range(1940, 2000):
            for month in range(1, 13):
                born = date(year, month, 15)
                last = retirement.reached(born, gender).on
                for d in days:
                    assert (last < d) == (born < cutoffs[d]), (gender, born, d, last, cutoffs[d])
