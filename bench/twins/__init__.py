"""Hand-written twins of the catalog's statements, on the registry's PostgreSQL schema (issue #15).

The catalog goal of #15 asks that every statement the engine runs for an indicator be within 3× of the same
question asked in SQL written by hand. Each twin here answers one indicator for one unit and everything below it
in the tree as it stood on a date, written from spec/domain.md and the decisions listed at the top of
tests/indicators/oracle.py, not from the engine's compiler (app/services/indicators/ builds its SQL; a twin is
written without reading that SQL, so that where the two disagree one of them is wrong).

Every twin takes the binds ``%(root)s`` (the unit's code) and ``%(d)s`` (the date) and gives one row:

* ``ratio``, ``coverage``, ``per_capita``: ``(numerator, denominator)``;
* ``flow_count``: ``(count, NULL)``;
* ``reported``: ``(value)``.

``same_as`` entries of the catalog use the twin of the indicator they name (their SQL is the same).
``python -m bench.twins.check`` asks the engine and the twins the same questions, compares the answers and
times both; tests/indicators/test_twins.py runs it on a generated registry.
"""

from __future__ import annotations

from importlib import import_module

MODULES = ("leaders", "bodies", "standards", "staff", "reported")
"""One module per group of indicators: each gives ``PG: dict[str, str]``, code -> statement."""


def load() -> dict[str, str]:
    """Every twin: the three of bench.queries (which have DuckDB twins too) and those of MODULES."""
    from bench import queries

    twins: dict[str, str] = dict(queries.PG)
    for name in MODULES:
        module = import_module(f"{__name__}.{name}")
        overlap = twins.keys() & module.PG.keys()
        if overlap:
            raise ValueError(f"bench.twins.{name} gives twins already given: {sorted(overlap)}")
        twins.update(module.PG)
    return twins
