"""Statistical disclosure control: what aggregate-only roles see of figures touching a sensitive attribute.

Which figures. An indicator touches a sensitive attribute when a field its definition reads (in the
population, an anchor, the share or the coverage rule) reads a sensitive column of the person
(`Field.reads` against `person_records.SENSITIVE`: ethnicity, national id, party membership).
Only such indicators are protected, and only for roles that do not see those columns
(`Actor.sees_sensitive` false: the auditor). Other roles, and other indicators, get exact figures.

Which counts disclose. The caller can count persons without the attribute (other indicators, the
person list). What it must not learn is how a group it can count splits by the attribute. When the
share reads the sensitive field, the group is the population (`d`), split into `n` with the
attribute and `d - n` without. When the population reads it, the groups are the base population
(the same definition without the sensitive condition) that meets the share (`bn` persons) and that
does not (`b - bn`): `n` and `bn - n`, `d - n` and `(b - bn) - (d - n)` are their splits.

1. Primary suppression. A cell is suppressed when, in a group of anyone, fewer than k persons
   (`SUPPRESSION_THRESHOLD`, default 5) have the attribute, or fewer than k have not, 0 included: 0
   says "no one here" (or "everyone here"), which discloses the attribute of every person of the
   group. A group of nobody discloses nothing.
2. Complementary suppression in a family. A parent's figure is the sum of its children's plus the
   persons anchored at the parent itself (an "own" cell, derivable by subtraction), and a breakdown's
   cells sum to the unit's figure. In every such family: if the total is published and exactly one
   member is hidden, or the hidden members together fail rule 1, the smallest published member (by
   denominator, then key) is suppressed too (the total, when no member is left); if the total is
   hidden and every member is published, the smallest member is suppressed. A cell hidden at one
   reference date is hidden at every other where its counts are the same (its published twin would
   stand in for it). Repeated until nothing changes, over the whole tree and every reference date at
   once, so a unit answers the same in `/value`, `/values`, `/breakdown`, `/trend`, reports and
   pages, whatever the caller's scope.
3. Dates. Protected figures are computed at reference dates only: the last 31 December on or before
   the `as_of` asked (the answer gives both, `as_of` and `requested_as_of`), so two dates of one year
   give one answer. The reference dates are the year-ends from 2021 to the last one passed; at any
   other (a future year-end, or one before 2021) every cell is suppressed. A cell is published at a
   reference date only if, against every other reference date, the persons of each group with the
   attribute and those without either did not change, or both changed by k or more: one person
   joining moves one count by 1 and the other by 0, five persons of one kind joining move one by 5 and
   the other by 0, and both are caught whatever the persons' attribute (so a suppression says nothing
   of it). `/value` and `/trend` at two year-ends never difference to fewer than k of either kind.

A suppressed cell has numerator, denominator and value null, `suppressed: true` and `suppression`
`primary` or `complementary`, and status `no_data`: `met` or `not_met` would give an interval of the
value, and the contract (interchange.md) knows no other status; `no_data` is the same for every
suppressed cell, so it carries nothing. A published protected cell has `suppressed: false`.

Limits. A join and a departure of the same kind between two year-ends cancel out and are not seen by
rule 3; a figure read before and after a backdated correction (or at two `known_at`) can still be
differenced; persons counted in two sibling units (positions, seats) make family sums inexact, and
rule 2 treats them as exact; the rules are recomputed from the data, so a figure read before a
later year-end (or a correction) made it a twin of a hidden cell may still stand in for it. Frozen
run results of protected indicators are withheld from aggregate-only roles altogether
(`service.frozen_results`).
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from app.services.context import Actor
from app.services.indicators.fields import FIELDS
from app.services.indicators.spec import Filter, IndicatorSpec, atoms
from app.services.person_records import SENSITIVE

SENSITIVE_COLUMNS = frozenset(SENSITIVE)
K = TypeVar("K", bound=Hashable)
TOTAL = "(total)"  # settle_family's answer when the family's total itself must be suppressed


def _reads_sensitive(flt: Filter | None) -> bool:
    return any(SENSITIVE_COLUMNS & set(FIELDS[a.field].reads) for a in atoms(flt) if a.field in FIELDS)


def sensitive_parts(spec: IndicatorSpec) -> frozenset[str]:
    """Where the definition reads a sensitive column: 'population' and/or 'share' (coverage counts as share)."""
    parts = set()
    if spec.population and (
        _reads_sensitive(spec.population.where) or any(_reads_sensitive(a.where) for a in spec.population.anchors)
    ):
        parts.add("population")
    if _reads_sensitive(spec.share) or (spec.coverage and _reads_sensitive(spec.coverage.each_has.where)):
        parts.add("share")
    return frozenset(parts)


def sensitive_columns(spec: IndicatorSpec) -> list[str]:
    """The sensitive person columns the definition reads (for the access log)."""
    flts = [spec.share, spec.population.where if spec.population else None]
    flts += [a.where for a in spec.population.anchors] if spec.population else []
    flts += [spec.coverage.each_has.where] if spec.coverage else []
    found = {c for f in flts for a in atoms(f) if a.field in FIELDS for c in FIELDS[a.field].reads}
    return sorted(found & SENSITIVE_COLUMNS)


def protects(actor: Actor, spec: IndicatorSpec) -> bool:
    """Whether this caller gets this indicator's figures under disclosure control."""
    return not actor.sees_sensitive and bool(sensitive_parts(spec))


def base_spec(spec: IndicatorSpec) -> IndicatorSpec:
    """The population without its sensitive conditions: what `b` counts."""
    assert spec.population is not None
    anchors = [a.model_copy(update={"where": None}) if _reads_sensitive(a.where) else a for a in spec.population.anchors]
    where = None if _reads_sensitive(spec.population.where) else spec.population.where
    population = spec.population.model_copy(update={"anchors": anchors, "where": where})
    return spec.model_copy(update={"population": population})


FIRST_REFERENCE_YEAR = 2021  # the first year-end of the resolutions' series (the dashboards start there too)


def reference_date(as_of: date) -> date:
    """The last 31 December on or before the date (the date itself in year 1, which has none)."""
    if (as_of.month, as_of.day) == (12, 31) or as_of.year == 1:
        return as_of
    return date(as_of.year - 1, 12, 31)


def reference_dates(today: date) -> list[date]:
    """The reference dates protected figures are published at: every year-end from 2021 to the last one passed."""
    return [date(y, 12, 31) for y in range(FIRST_REFERENCE_YEAR, reference_date(today).year + 1)]


@dataclass(frozen=True)
class Cell:
    """The counts of one cell: numerator and denominator and, when the population is sensitive, the same two
    counts over the base population (`base_num` qualifying, `base` in all)."""

    num: int
    den: int
    base: int | None = None
    base_num: int | None = None

    def _op(self, other: "Cell", sign: int) -> "Cell":
        def mix(a: int | None, b: int | None) -> int | None:
            return None if a is None or b is None else a + sign * b

        return Cell(self.num + sign * other.num, self.den + sign * other.den, mix(self.base, other.base),
                    mix(self.base_num, other.base_num))

    def __add__(self, other: "Cell") -> "Cell":
        return self._op(other, 1)

    def __sub__(self, other: "Cell") -> "Cell":
        return self._op(other, -1)

    def exact(self) -> bool:
        """No negative count (a difference of sums where some persons were counted twice is not a cell)."""
        return min(c for c in (self.num, self.den, self.base, self.base_num) if c is not None) >= 0


ZERO = Cell(0, 0)
ZERO_BASE = Cell(0, 0, 0, 0)


@dataclass(frozen=True)
class Rule:
    """The counts at risk of an indicator and the threshold k."""

    parts: frozenset[str]
    k: int

    def zero(self) -> Cell:
        return ZERO_BASE if "population" in self.parts else ZERO

    def groups(self, cell: Cell) -> list[tuple[int, int]]:
        """(size of a group the caller can count without the attribute, how many of it have the attribute)."""
        out = []
        if "population" in self.parts and cell.base is not None and cell.base_num is not None:
            out += [(cell.base_num, cell.num), (cell.base - cell.base_num, cell.den - cell.num)]
        if "share" in self.parts:
            out.append((cell.den, cell.num))
        return out

    def empty(self, cell: Cell) -> bool:
        return all(size == 0 for size, _ in self.groups(cell))

    def fails(self, cell: Cell) -> bool:
        """Rule 1: in a group of anyone, fewer than k (0 included) with, or without, the attribute."""
        return any(size > 0 and (with_ < self.k or size - with_ < self.k) for size, with_ in self.groups(cell))

    def moved(self, now: Cell, before: Cell) -> bool:
        """Rule 3: between two reference dates a group gained or lost persons with, or without, the attribute,
        and one of the two changes is below k (one person joining moves one of them by 1, the other by 0)."""
        for (size, with_), (size0, with0) in zip(self.groups(now), self.groups(before), strict=True):
            gained, other = with_ - with0, (size - with_) - (size0 - with0)
            if (gained, other) != (0, 0) and (abs(gained) < self.k or abs(other) < self.k):
                return True
        return False


def sum_of(rule: Rule, cells: Iterable[Cell]) -> Cell:
    """The sum of cells."""
    out = rule.zero()
    for c in cells:
        out = out + c
    return out


def settle_family(rule: Rule, total: Cell, total_hidden: bool, members: dict[K, Cell], hidden: dict[K, str]) -> K | str | None:
    """One step of rule 2 for a family: the member to suppress next, `TOTAL`, or None when the family is safe.

    `members` are the children (or breakdown cells); the own cell (total minus the members) is derived
    here and counts as hidden when it fails the primary rule. When a member must go but every other
    member is empty or hidden, the total goes instead.
    """
    own = total - sum_of(rule, members.values())
    own_hidden = not total_hidden and own.exact() and rule.fails(own)
    shown = sorted((m for m in members if m not in hidden and not rule.empty(members[m])),
                   key=lambda m: (members[m].den, str(m)))
    hid = [m for m in members if m in hidden]
    if total_hidden:
        return shown[0] if shown and not hid else None
    count = len(hid) + (1 if own_hidden else 0)
    group = sum_of(rule, [members[m] for m in hid] + ([own] if own_hidden else []))
    if count == 0 or (count > 1 and not rule.fails(group)):
        return None
    return shown[0] if shown else TOTAL


def screen(rule: Rule, series: dict[date, dict[Any, Cell]], day: date, keys: Iterable[Any]) -> dict[Any, str]:
    """Rules 1 and 3: the cells suppressed on their own counts at `day`.

    Rule 3 is applied from the first reference date on: a date is published when no earlier published
    date differences with it, so what was published stays published as years are added.
    """
    if day not in series:
        return dict.fromkeys(keys, "complementary")
    zero, hidden = rule.zero(), dict[Any, str]()
    for key in keys:
        shown: list[Cell] = []
        for when in sorted(series):
            cell = series[when].get(key, zero)
            reason = "primary" if rule.fails(cell) else "complementary" if any(rule.moved(cell, s) for s in shown) else None
            if reason is None:
                shown.append(cell)
            if when == day:
                if reason:
                    hidden[key] = reason
                break
    return hidden


def settle(rule: Rule, families: dict[Any, tuple[Cell, dict[Any, Cell]]], hidden: dict[Any, str]) -> None:
    """Rule 2, to a fixed point: complementary suppressions until no family gives a hidden cell away."""
    changed = True
    while changed:
        changed = False
        for total_key, (total, members) in families.items():
            pick = settle_family(rule, total, total_key in hidden, members, hidden)
            if pick is None:
                continue
            hidden[total_key if pick == TOTAL else pick] = "complementary"
            changed = True


def plan(
    rule: Rule,
    series: dict[date, dict[Any, Cell]],
    keys: dict[date, list[Any]],
    families: dict[date, dict[Any, list[Any]]],
    preset: dict[date, dict[Any, str]] | None = None,
) -> dict[date, dict[Any, str]]:
    """Rules 1 to 3 at every reference date at once: the suppressed cells of each date, and why.

    Rule 2 is also carried across dates: a cell hidden at one date is hidden at every date where its
    counts are the same, or its published twin would stand in for it in a subtraction.
    """
    zero = rule.zero()
    hidden = {day: screen(rule, series, day, keys[day]) | dict((preset or {}).get(day, {})) for day in series}
    changed = True
    while changed:
        changed = False
        for day, cells in series.items():
            kin = {t: (cells.get(t, zero), {m: cells.get(m, zero) for m in ms}) for t, ms in families.get(day, {}).items()}
            settle(rule, kin, hidden[day])
        for key in {k for day in series for k in keys[day]}:
            secret = {series[day].get(key, zero) for day in series if key in hidden[day]}
            for day in series:
                if key in keys[day] and key not in hidden[day] and series[day].get(key, zero) in secret:
                    hidden[day][key] = "complementary"
                    changed = True
    return hidden


def hide(item: dict[str, Any], reason: str) -> dict[str, Any]:
    """The cell with its figures withheld and why."""
    return item | {"numerator": None, "denominator": None, "value": None, "status": "no_data", "band_position": None,
                   "suppressed": True, "suppression": reason}


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """A cell of a protected figure that passed every rule."""
    return item | {"suppressed": False}
