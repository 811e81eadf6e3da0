"""The statutory retirement schedule (app/data/retirement.yaml): when a person reaches retirement age.

Used by projections (planning.md, 'Projection') and planning-pool checks (the 60-month rule). The schedule is
data: versions in force between dates, each with its legal source; the rule that reads it reproduces Appendix I
of Decree 135/2020 (tests/test_retirement.py).
"""

import calendar
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import yaml

from app.services.codelists import DATA


@dataclass(frozen=True)
class Track:
    """One gender's track in one version: the age (in months) in `first_year`, plus `step` a year, up to `final_age`."""

    first_year: int
    first_age: int
    step: int
    final_age: int

    def age_in(self, year: int) -> int:
        """The retirement age (months) of a person who reaches it in `year`."""
        return min(self.first_age + self.step * max(0, year - self.first_year), self.final_age)


@dataclass(frozen=True)
class Version:
    valid_from: date
    valid_to: date | None
    source: str
    tracks: dict[str, Track]


@dataclass(frozen=True)
class Retirement:
    """When one person reaches retirement age: the age (years, months), the month, the day it takes effect."""

    age_months: int
    year: int
    month: int
    source: str

    @property
    def on(self) -> date:
        """The last day of the month: retirement takes effect at its end (the person still counts that day)."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def pension_from(self) -> tuple[int, int]:
        """(year, month) of the first month of pension: the month after."""
        return (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)

    @property
    def age(self) -> tuple[int, int]:
        return divmod(self.age_months, 12)


@cache
def versions() -> tuple[Version, ...]:
    raw: dict[str, Any] = yaml.safe_load((DATA / "retirement.yaml").read_text("utf-8"))
    out = [Version(v["valid_from"], v["valid_to"], v["source"],
                   {g: Track(**v[g]) for g in ("male", "female")}) for v in raw["versions"]]
    return tuple(sorted(out, key=lambda v: v.valid_from))


def _version_on(day: date) -> Version:
    for v in versions():
        if v.valid_from <= day and (v.valid_to is None or day <= v.valid_to):
            return v
    raise ValueError(f"no retirement schedule in force on {day}")


def reached(birth: date, gender: str) -> Retirement:
    """The month a person born on `birth` reaches the statutory retirement age (the version in force that month)."""
    born = birth.year * 12 + birth.month - 1  # months since year 0 of the birth month
    # the earliest the age can be reached is at the smallest age of any version; walk the months from there
    month = born + min(t.first_age for v in versions() for t in v.tracks.values())
    while True:
        year, m = divmod(month, 12)
        version = _version_on(date(year, m + 1, 1))
        wanted = version.tracks[gender].age_in(year)
        if month - born >= wanted:
            return Retirement(month - born, year, m + 1, version.source)
        month += 1
