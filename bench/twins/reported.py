"""Twins: reported (see bench/twins/__init__.py).

A reported indicator reads the statistic whose code is the indicator's id (oracle decision 18) for the evaluated
unit itself, never summed from its children, also when the unit closed before D (domain.md, 'Reported
statistics'; 'Targets outlive the units': "Reported statistics are still read for U itself"). No scope is needed,
so these twins do not start with SCOPE: the unit's subtree plays no part in the answer.

* Most: of the unit's figures whose period starts on or before D (a year from its 1 January, a range from its
  first day, a date on that day: ``statistic.period_start``), the one that starts latest. Two figures starting
  the same day (a year and a range from its 1 January, say): the one that ends later. None: no value.
  ``per_year`` (NEW-ENTERPRISES-YEARLY, ST-ENTERPRISES-YEARLY) and ``period`` (NEW-ENTERPRISES-TOTAL) entries
  read the same way: the spec gives them no other rule, the latest figure is the one shown against the target.
* JOBS-YEARLY, "bình quân hằng năm" (CHANGES.md point 10, ``aggregate: period_average``): the mean of the
  whole-year figures (period ``YYYY`` or ``YYYY-01-01/YYYY-12-31``) of the period's years whose 1 January is on
  or before D; one figure per year (two for the same year, both whole: the one recorded last). None: no value.
"""

from __future__ import annotations

LATEST = """
SELECT (SELECT s.value FROM statistic s JOIN org_unit u ON u.id = s.org_unit_id
        WHERE u.code = %(root)s AND s.code = '{code}' AND s.sys_to IS NULL AND s.period_start <= %(d)s
        ORDER BY s.period_start DESC, s.period_end DESC LIMIT 1)"""
"""The unit's own figure of code ``{code}`` whose period starts latest on or before D."""

PERIOD_AVERAGE = """
SELECT avg(y.value) FROM (
    SELECT DISTINCT ON (s.period_start) s.value FROM statistic s JOIN org_unit u ON u.id = s.org_unit_id
    WHERE u.code = %(root)s AND s.code = '{code}' AND s.sys_to IS NULL
      AND s.period_start BETWEEN DATE '{first}-01-01' AND DATE '{last}-01-01' AND s.period_start <= %(d)s
      AND extract(month FROM s.period_start) = 1 AND extract(day FROM s.period_start) = 1
      AND s.period_end = (s.period_start + INTERVAL '1 year' - INTERVAL '1 day')::date
    ORDER BY s.period_start, s.id DESC) y"""
"""The mean of the unit's whole-year figures of code ``{code}`` for the years ``{first}``..``{last}`` begun by D."""

_LATEST_CODES = (
    "CT-2025-LABOUR-TRAINED", "CT-2025-NEW-ENTERPRISES-YEARLY", "CT-2025-NEW-ENTERPRISES-TOTAL",
    "CT-2025-ST-ENTERPRISES-YEARLY", "CT-2025-ST-ENTERPRISES-STOCK", "CT-2030-LABOUR-TRAINED",
    "CT-2030-NEW-ENTERPRISES-YEARLY", "CT-2030-NEW-ENTERPRISES-TOTAL",
    "ST-2025-LABOUR-TRAINED", "ST-2025-LABOUR-CERTIFIED", "ST-2025-EMPLOYMENT-RATE",
    "ST-2030-LABOUR-TRAINED", "ST-2030-LABOUR-CERTIFIED", "ST-2030-EMPLOYMENT-RATE",
    "ST-2025-VOCATIONAL-EMPLOYED", "ST-2025-VOCATIONAL-ADVANTAGE-SECTORS", "ST-2030-VOCATIONAL-ADVANTAGE-SECTORS",
    "ST-2025-TOURISM-WORKERS-TRAINED", "ST-2030-TOURISM-WORKERS-TRAINED", "ST-2025-POLITICAL-SCHOOL-LEVEL1",
)
_AVERAGED = {"ST-2025-JOBS-YEARLY": (2021, 2025), "ST-2030-JOBS-YEARLY": (2026, 2030)}
"""targets.yaml ``period`` of the two "bình quân hằng năm" entries."""

PG: dict[str, str] = {code: LATEST.replace("{code}", code) for code in _LATEST_CODES} | {
    code: PERIOD_AVERAGE.replace("{code}", code).replace("{first}", str(first)).replace("{last}", str(last))
    for code, (first, last) in _AVERAGED.items()
}
