"""Reference projection (planning.md 'Projection', 'The gap and who closes it') in plain Python.

It shares no code with the service's projection (app/services/projection*.py and app/services/indicators/ were
not read): it transforms interchange records and evaluates the indicator oracle (tests/indicators/oracle.py) on
the transformed registry at each point.

- Statutory retirement (Labour Code 2019 art. 169, Decree 135/2020 Appendix I): the retirement age in months is
  men 60y3m in 2021 and 3 months more each year up to 62y (2028), women 55y4m in 2021 and 4 months more each year
  up to 60y (2035); 60 / 55 before 2021.  The person retires in the first month M (birth month = 0 months) such
  that the months from the birth month to M reach the age of M's year; R = the last day of M.  When R >= D0
  every employment, position and seat with start <= R and (end null or end > R) ends on R.
- Records already dated in the future count as recorded; ages move with the date (the oracle does both).
- training=expected: every enrolment `planned` or `enrolled` with expected_completion > D0 whose course awards a
  qualification gives it from expected_completion.  training=none: nothing.  Completed enrolments have already
  awarded theirs from completed_on (`base_registry` adds them, as the service does).
- training=completion_rate: per person E[x] = x_none + (x_expected - x_none) * the product of the weights of
  their pending awarding enrolments completing in (D0, point], weight = the completion rate of the course's kind
  among the enrolments of persons employed in the unit's subtree on D0 (1 when none finished).
"""

from __future__ import annotations

import calendar
import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from tests.indicators import oracle
from tests.indicators.oracle import Oracle, band_met

PENDING = ("planned", "enrolled")
FINISHED = ("completed", "failed", "withdrawn")


# ───────────────────────── statutory retirement ─────────────────────────
def retirement_age_months(gender: str | None, year: int) -> int:
    if gender == "female":
        return 660 if year < 2021 else min(664 + 4 * (year - 2021), 720)
    return 720 if year < 2021 else min(723 + 3 * (year - 2021), 744)


def retirement_day(birth: date, gender: str | None) -> date:
    """The last day of the month in which the person reaches the statutory retirement age."""
    months = 600
    while True:
        index = birth.month - 1 + months
        year, month = birth.year + index // 12, index % 12 + 1
        if months >= retirement_age_months(gender, year):
            return date(year, month, calendar.monthrange(year, month)[1])
        months += 1


def _d(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


# ───────────────────────── the registry of a scenario ─────────────────────────
def awarded_item(awards: dict[str, Any], on: date) -> tuple[str, dict[str, Any]]:
    (name, item), = awards.items()
    return name, {**item, "awarded_on": on.isoformat()}


def base_registry(reg: dict[str, Any], courses: list[dict[str, Any]], enrolments: list[dict[str, Any]]) -> dict[str, Any]:
    """The registry as the service holds it: completed enrolments award their course's qualification from completed_on."""
    out = copy.deepcopy(reg)
    by_code = {c["code"]: c for c in courses}
    persons = {p["external_id"]: p for p in out["persons"]}
    for e in enrolments:
        course = by_code[e["course"]]
        if e["status"] == "completed" and course.get("awards"):
            name, item = awarded_item(course["awards"], _d(e["completed_on"]))  # type: ignore[arg-type]
            persons[e["person"]].setdefault(name, []).append(item)
    return out


def pending_awards(enrolments: list[dict[str, Any]], courses: list[dict[str, Any]], d0: date) -> list[dict[str, Any]]:
    """The enrolments that award on their expected completion in the projection from d0."""
    by_code = {c["code"]: c for c in courses}
    return [e for e in enrolments if e["status"] in PENDING and e.get("expected_completion")
            and _d(e["expected_completion"]) > d0 and by_code[e["course"]].get("awards")]  # type: ignore[operator]


def transform(base: dict[str, Any], courses: list[dict[str, Any]], enrolments: list[dict[str, Any]], d0: date,
              training: str) -> dict[str, Any]:
    """The registry of a scenario: retirements capped, and (training=expected) the pending awards given."""
    out = copy.deepcopy(base)
    for p in out["persons"]:
        r = retirement_day(_d(p["birth_date"]), p.get("gender"))  # type: ignore[arg-type]
        if r < d0:
            continue
        for key in ("employments", "positions", "memberships"):
            for rec in p.get(key) or []:
                end = _d(rec.get("end"))
                if _d(rec["start"]) <= r and (end is None or end > r):  # type: ignore[operator]
                    rec["end"] = r.isoformat()
    if training == "expected":
        by_code = {c["code"]: c for c in courses}
        persons = {p["external_id"]: p for p in out["persons"]}
        for e in pending_awards(enrolments, courses, d0):
            name, item = awarded_item(by_code[e["course"]]["awards"], _d(e["expected_completion"]))  # type: ignore[arg-type]
            persons[e["person"]].setdefault(name, []).append(item)
    return out


def points(d0: date, d1: date) -> list[date]:
    """D0, every 31 December strictly between, D1."""
    out = [d0] + [date(y, 12, 31) for y in range(d0.year, d1.year + 1) if d0 < date(y, 12, 31) < d1] + [d1]
    return list(dict.fromkeys(out))


# ───────────────────────── the projection ─────────────────────────
@dataclass
class Scenario:
    """The oracle on the registry of one scenario."""

    name: str
    registry: dict[str, Any]
    oracle: Oracle


class Projection:
    """Everything about projections from one D0 over one registry (with its courses and enrolments)."""

    def __init__(self, reg: dict[str, Any], courses: list[dict[str, Any]], enrolments: list[dict[str, Any]], d0: date) -> None:
        self.courses, self.enrolments, self.d0 = courses, enrolments, d0
        self.base = base_registry(reg, courses, enrolments)
        self.scenarios = {}
        for name in ("none", "expected"):
            transformed = transform(self.base, courses, enrolments, d0, name)
            self.scenarios[name] = Scenario(name, transformed, Oracle(transformed))
        self.now = Oracle(self.base)
        self.course_kind = {c["code"]: c["kind"] for c in courses}

    def evaluate(self, ind: str, unit: str, on: date, training: str) -> dict[str, Any]:
        if training == "completion_rate":
            return self.expected_value(ind, unit, on)
        return self.scenarios[training].oracle.evaluate(ind, unit, on)

    def project(self, ind: str, unit: str, d1: date, training: str) -> list[dict[str, Any]]:
        return [{"as_of": pt.isoformat(), **self.evaluate(ind, unit, pt, training)} for pt in points(self.d0, d1)]

    # persons' states --------------------------------------------------------------------------
    def states(self, ind: str, unit: str, on: date, training: str) -> dict[str, tuple[int, int]]:
        """Person -> (in population, in numerator), for the persons of the population."""
        det = self.scenarios[training].oracle.detail(ind, unit, on)
        return {pid: (1, int(pid in det.passing)) for pid in det.population}

    def changed(self, ind: str, unit: str, before: date, after: date, training: str) -> dict[str, tuple[int, int]]:
        """Person -> (numerator delta, denominator delta) for the persons whose state differs between two dates."""
        a, b = self.states(ind, unit, before, training), self.states(ind, unit, after, training)
        out = {}
        for pid in set(a) | set(b):
            pa, pb = a.get(pid, (0, 0)), b.get(pid, (0, 0))
            if pa != pb:
                out[pid] = (pb[1] - pa[1], pb[0] - pa[0])
        return out

    # completion_rate ---------------------------------------------------------------------------
    def rates(self, unit: str) -> dict[str, Fraction]:
        """Course kind -> completed / finished among the enrolments of persons employed under `unit` on D0."""
        reg = self.now.reg
        inside = {p["external_id"] for p in reg.persons
                  if any(oracle.active(e, self.d0) and reg.under(e["org_unit"], unit, self.d0)
                         for e in p.get("employments") or [])}
        done: dict[str, list[int]] = {}
        for e in self.enrolments:
            if e["person"] not in inside or e["status"] not in FINISHED:
                continue
            counts = done.setdefault(self.course_kind[e["course"]], [0, 0])
            counts[0] += e["status"] == "completed"
            counts[1] += 1
        return {kind: Fraction(c, n) for kind, (c, n) in done.items()}

    def weight(self, pid: str, on: date, rates: dict[str, Fraction]) -> Fraction:
        w = Fraction(1)
        for e in pending_awards(self.enrolments, self.courses, self.d0):
            if e["person"] == pid and _d(e["expected_completion"]) <= on:  # type: ignore[operator]
                w *= rates.get(self.course_kind[e["course"]], Fraction(1))
        return w

    def expected_fractions(self, ind: str, unit: str, on: date) -> tuple[Fraction, Fraction]:
        rates = self.rates(unit)
        none, exp = self.states(ind, unit, on, "none"), self.states(ind, unit, on, "expected")
        num = den = Fraction(0)
        for pid in set(none) | set(exp):
            pn, pe = none.get(pid, (0, 0)), exp.get(pid, (0, 0))
            w = self.weight(pid, on, rates) if pn != pe else Fraction(1)
            den += pn[0] + (pe[0] - pn[0]) * w
            num += pn[1] + (pe[1] - pn[1]) * w
        return num, den

    def expected_value(self, ind: str, unit: str, on: date) -> dict[str, Any]:
        """The expected figure of a ratio under training=completion_rate (status from the exact fraction)."""
        num, den = self.expected_fractions(ind, unit, on)
        _kind, _same, band, strict = oracle.TARGETS[ind]
        if den == 0:
            return {"numerator": float(num), "denominator": float(den), "value": None, "status": "no_data"}
        return {"numerator": float(num), "denominator": float(den), "value": float(num / den),
                "status": "met" if band_met(num / den, band, strict) else "not_met", "exact": num / den}


# ───────────────────────── the gap ─────────────────────────
def needed(numerator: int, denominator: int | None, band: tuple[Any, Any] | None, strict: bool) -> int | None:
    """The smallest whole k >= 0 with (numerator + k) / denominator in the band (exact fractions)."""
    if not denominator or band is None or band[0] is None:
        return None
    k = 0
    while not band_met(Fraction(numerator + k, denominator), band, strict):
        k += 1
    return k


def events_by_point(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e["point"], []).append(e)
    return out


def day_after(d: date) -> date:
    return d + timedelta(days=1)
