"""The scope pairs of a date, read once per state of the data and shared by every pass over every unit (bench F19).

A pass over every unit counts each record at its own unit and at every unit whose scope holds that unit on the date:
the units above it in the tree of the date, and the closed units whose territory holds it (domain.md, "Targets
outlive the units they were set for"). These (ancestor, descendant) pairs do not depend on the indicator, only on
the date and the state of the data, yet each pass's statement walked them anew: about a second of every large
pass at a million persons. So they are read once, by one statement (`compiler.closure`: the tree's closure on the
date and every closed unit's territory, the same pairs the passes joined), kept per process under the state of the
data, and each pass's statement returns its counts per anchor unit (`compiler.unit_counts_all`), carried up here.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.indicators import compiler
from app.services.indicators.cache import LRU, data_state, writing
from app.services.indicators.fields import Ctx


class ScopePairs:
    """For each unit valid on the date: the units whose scope holds it (`above`: itself, the units above it, the closed
    units whose territory holds it) and, of those, the closed units (`territories`)."""

    __slots__ = ("above", "territories")

    def __init__(self, pairs: Iterable[Sequence[Any]]):
        above: dict[int, list[int]] = {}
        territories: dict[int, list[int]] = {}
        for ancestor, descendant, in_territory in pairs:
            above.setdefault(descendant, []).append(ancestor)
            if in_territory:
                territories.setdefault(descendant, []).append(ancestor)
        self.above: dict[int, tuple[int, ...]] = {unit: tuple(found) for unit, found in above.items()}
        self.territories: dict[int, tuple[int, ...]] = {unit: tuple(found) for unit, found in territories.items()}

    def persons_per_unit(self, rows: Iterable[Sequence[Any]]) -> dict[int, int]:
        """{unit: persons} from (unit_id, person_id) rows of events already attributed to every unit above theirs
        (`compiler.flow_count_all`): each unit's own persons, and a closed unit's also those of its territory's units,
        each person once."""
        persons: dict[int, set[Any]] = {}
        territories = self.territories
        for unit, person in rows:
            persons.setdefault(unit, set()).add(person)
            for root in territories.get(unit, ()):
                persons.setdefault(root, set()).add(person)
        return {unit: len(found) for unit, found in persons.items()}

    def roll_up(self, rows: Iterable[Sequence[Any]], keys: int = 0) -> dict[Any, list[int]]:
        """{ancestor (or (ancestor, *key) when `keys`): [numerator, denominator]} from the rows of
        `compiler.unit_counts_all`: (unit_id, person_id, *key, numerator, denominator).

        A row without a person carries the counts of the persons whose rows are all at that unit: added to every
        unit whose scope holds it. A row with a person is one of the few persons with rows at several units: each
        is counted once per unit above (and key), in the numerator when any of their rows under it is.
        """
        totals: dict[Any, list[int]] = {}
        several: dict[tuple[Any, ...], int] = {}
        above = self.above
        for row in rows:
            unit, person = row[0], row[1]
            key = tuple(row[2:2 + keys])
            num, den = int(row[2 + keys]), int(row[3 + keys])
            if person is None:
                for ancestor in above.get(unit, ()):
                    at = (ancestor, *key) if keys else ancestor
                    found = totals.get(at)
                    if found is None:
                        totals[at] = [num, den]
                    else:
                        found[0] += num
                        found[1] += den
            else:
                for ancestor in above.get(unit, ()):
                    each = (ancestor, *key, person)
                    if several.get(each, -1) < num:
                        several[each] = num
        for each, num in several.items():
            at = each[:-1] if keys else each[0]
            found = totals.get(at)
            if found is None:
                totals[at] = [num, 1]
            else:
                found[0] += num
                found[1] += 1
        return totals


_PAIRS: LRU[ScopePairs] = LRU(4)


def pairs(session: Session, ctx: Ctx) -> ScopePairs:
    """The scope pairs of ctx's date as known at its cut: read once per state of the data and shared between
    requests (never change them); read afresh, and not kept, in a transaction that has written."""

    def build() -> ScopePairs:
        fresh = Ctx(as_of=ctx.as_of, cut=ctx.cut, book=ctx.book, policy=ctx.policy)
        clo = compiler.closure(fresh)
        return ScopePairs(session.execute(select(clo.c.ancestor, clo.c.descendant, clo.c.in_territory), fresh.values()))

    if writing(session):
        return build()
    key = (str(session.get_bind().engine.url), data_state(session), ctx.cut, ctx.as_of)
    return _PAIRS.get_or_build(key, build)
