"""The same indicator questions answered without the engine: hand-written SQL on the registry's
PostgreSQL schema (app/models), and DuckDB over the exported JSON Lines.

Each answers (numerator, denominator) for one unit and everything in its scope on the date (its subtree, or a
closed unit's territory: bench/twins/common.py; the DuckDB twins read the subtree only, and are asked before the
reform), with domain.md's rules: records in force on D (end dates inclusive), primary employment for
employment-based populations, body membership alone for membership-based ones (spec revision 2, point 3), each
person once. ``population`` is the latest reported figure for the unit itself with a period starting on or before
D; a per-capita numerator is the unit's own ``doctors`` figure when it has one (revision 2, point 9). The twins of
the rest of the catalog are in bench/twins.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from bench.twins import staff as staff_twins
from bench.twins.common import SCOPE as _PG_SCOPE

INDICATORS = ("ST-2025-DOCTORS-PER-10K", "CT-2030-WOMEN-PARTY-COMMITTEE", "ST-2025-PD-STAFF-POSTGRAD")

# ---------------------------------------------------------------- PostgreSQL, on the app's schema
PG: dict[str, str] = {
    # the root's own doctors statistic when it has one, else the registry's count (revision 2, point 9)
    "ST-2025-DOCTORS-PER-10K": staff_twins.per_capita("doctor", "doctors"),
    "CT-2030-WOMEN-PARTY-COMMITTEE": _PG_SCOPE + """
, members AS (
    SELECT DISTINCT m.person_id FROM membership m
    JOIN sub ON sub.id = m.body_id
    JOIN org_unit_version b ON b.org_unit_id = m.body_id AND b.sys_to IS NULL AND b.kind = 'party_executive_committee'
    WHERE m.sys_to IS NULL AND m.start_date <= %(d)s AND (m.end_date IS NULL OR m.end_date >= %(d)s))
SELECT count(*) FILTER (WHERE pv.gender = 'female'), count(*)
FROM members JOIN person_version pv ON pv.person_id = members.person_id AND pv.sys_to IS NULL""",
    "ST-2025-PD-STAFF-POSTGRAD": _PG_SCOPE + """
, staff AS (
    SELECT DISTINCT e.person_id FROM employment e
    JOIN sub ON sub.id = e.org_unit_id
    JOIN org_unit_version u ON u.org_unit_id = e.org_unit_id AND u.sys_to IS NULL
    WHERE e.sys_to IS NULL AND e.is_primary AND e.start_date <= %(d)s AND (e.end_date IS NULL OR e.end_date >= %(d)s)
      AND e.category IN ('can_bo', 'cong_chuc', 'vien_chuc') AND u.tier IN ('province', 'district')
      AND NOT (e.category = 'vien_chuc' AND u.sector IN ('education', 'health')))
SELECT count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM qualification q WHERE q.person_id = staff.person_id AND q.sys_to IS NULL
             AND q.awarded_on <= %(d)s
             AND ((q.kind = 'degree' AND q.code IN ('master', 'doctor', 'doctor_science'))
               OR (q.kind = 'specialty' AND q.code IN ('ck1', 'ck2', 'noi_tru'))))),
       count(*)
FROM staff""",
}


def pg_answer(cursor: Any, code: str, root: str, day: date) -> tuple[int, int | float | None]:
    cursor.execute(PG[code], {"root": root, "d": day})
    num, den = cursor.fetchone()
    return int(num), (None if den is None else (int(den) if float(den).is_integer() else float(den)))


# ---------------------------------------------------------------- DuckDB, over the JSON Lines
_DATED = "STRUCT(org_unit VARCHAR, category VARCHAR, occupation VARCHAR, \"primary\" BOOLEAN, start DATE, \"end\" DATE)[]"
DUCK_PERSON_COLUMNS = {
    "external_id": "VARCHAR", "gender": "VARCHAR", "birth_date": "DATE",
    "employments": _DATED,
    "memberships": "STRUCT(body VARCHAR, role VARCHAR, start DATE, \"end\" DATE)[]",
    "degrees": "STRUCT(level VARCHAR, awarded_on DATE)[]",
    "specialties": "STRUCT(level VARCHAR, awarded_on DATE)[]",
}
DUCK_UNIT_COLUMNS = {"code": "VARCHAR", "kind": "VARCHAR", "tier": "VARCHAR", "sector": "VARCHAR", "valid_from": "DATE",
                     "valid_to": "DATE", "parents": "STRUCT(code VARCHAR, start DATE, \"end\" DATE)[]"}
DUCK_STAT_COLUMNS = {"code": "VARCHAR", "org_unit": "VARCHAR", "period": "VARCHAR", "value": "DOUBLE"}


def _read(path: Path, columns: dict[str, str]) -> str:
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    return f"read_json('{path}', format='newline_delimited', columns={cols}, maximum_object_size=16777216)"


def duck_sources(directory: Path, *, materialise: bool) -> list[str]:
    """Statements that define the relations the queries use: views over the files (cold) or tables (warm)."""
    make = "CREATE OR REPLACE TABLE" if materialise else "CREATE OR REPLACE VIEW"
    persons, units, stats = (directory / "persons.jsonl", directory / "org-units.jsonl", directory / "statistics.jsonl")
    return [
        f"{make} p AS SELECT * FROM {_read(persons, DUCK_PERSON_COLUMNS)}",
        f"{make} units AS SELECT code, kind, tier, sector, valid_from, valid_to FROM {_read(units, DUCK_UNIT_COLUMNS)}",
        f"{make} links AS SELECT code, l.code AS parent, l.start AS start, l.\"end\" AS \"end\" "
        f"FROM (SELECT code, unnest(parents) AS l FROM {_read(units, DUCK_UNIT_COLUMNS)})",
        f"{make} stats AS SELECT code, org_unit, period, value, CASE WHEN length(period) = 4 THEN make_date(period::INT, 1, 1) "
        f"ELSE CAST(substr(period, 1, 10) AS DATE) END AS period_start FROM {_read(stats, DUCK_STAT_COLUMNS)}",
        f"{make} emp AS SELECT external_id AS pid, e.org_unit AS unit, e.category AS category, e.occupation AS occupation, "
        f"e.\"primary\" AS is_primary, e.start AS start, e.\"end\" AS \"end\" "
        f"FROM (SELECT external_id, unnest(employments) AS e FROM p)",
        f"{make} mem AS SELECT external_id AS pid, m.body AS body, m.start AS start, m.\"end\" AS \"end\" "
        f"FROM (SELECT external_id, unnest(memberships) AS m FROM p)",
        f"{make} qual AS SELECT external_id AS pid, 'degree' AS kind, d.level AS level, d.awarded_on AS awarded_on "
        f"FROM (SELECT external_id, unnest(degrees) AS d FROM p) "
        f"UNION ALL SELECT external_id, 'specialty', s.level, s.awarded_on "
        f"FROM (SELECT external_id, unnest(specialties) AS s FROM p)",
    ]


_DUCK_SUBTREE = """
WITH RECURSIVE sub(code) AS (
    SELECT code FROM units WHERE code = $root AND valid_from <= $d AND (valid_to IS NULL OR valid_to >= $d)
  UNION
    SELECT l.code FROM sub JOIN links l ON l.parent = sub.code AND l.start <= $d AND (l."end" IS NULL OR l."end" >= $d)
    JOIN units c ON c.code = l.code AND c.valid_from <= $d AND (c.valid_to IS NULL OR c.valid_to >= $d)
)"""

DUCK: dict[str, str] = {
    "ST-2025-DOCTORS-PER-10K": _DUCK_SUBTREE + """
SELECT COALESCE((SELECT value FROM stats WHERE org_unit = $root AND code = 'doctors' AND period_start <= $d
                 ORDER BY period_start DESC, length(period) ASC LIMIT 1),
                (SELECT count(DISTINCT e.pid) FROM emp e JOIN sub ON sub.code = e.unit
                 WHERE e.is_primary AND e.occupation = 'doctor' AND e.start <= $d
                   AND (e."end" IS NULL OR e."end" >= $d))),
       (SELECT value FROM stats WHERE org_unit = $root AND code = 'population' AND period_start <= $d
        ORDER BY period_start DESC, length(period) ASC LIMIT 1)""",
    "CT-2030-WOMEN-PARTY-COMMITTEE": _DUCK_SUBTREE + """
, members AS (
    SELECT DISTINCT m.pid FROM mem m JOIN sub ON sub.code = m.body
    JOIN units b ON b.code = m.body AND b.kind = 'party_executive_committee'
    WHERE m.start <= $d AND (m."end" IS NULL OR m."end" >= $d))
SELECT count(*) FILTER (WHERE p.gender = 'female'), count(*) FROM members JOIN p ON p.external_id = members.pid""",
    "ST-2025-PD-STAFF-POSTGRAD": _DUCK_SUBTREE + """
, staff AS (
    SELECT DISTINCT e.pid FROM emp e JOIN sub ON sub.code = e.unit JOIN units u ON u.code = e.unit
    WHERE e.is_primary AND e.start <= $d AND (e."end" IS NULL OR e."end" >= $d)
      AND e.category IN ('can_bo', 'cong_chuc', 'vien_chuc') AND u.tier IN ('province', 'district')
      AND NOT (e.category = 'vien_chuc' AND u.sector IN ('education', 'health')))
SELECT count(*) FILTER (WHERE staff.pid IN (
           SELECT pid FROM qual WHERE awarded_on <= $d
             AND ((kind = 'degree' AND level IN ('master', 'doctor', 'doctor_science'))
               OR (kind = 'specialty' AND level IN ('ck1', 'ck2', 'noi_tru'))))),
       count(*)
FROM staff""",
}


def duck_answer(con: Any, code: str, root: str, day: date) -> tuple[int, int | float | None]:
    num, den = con.execute(DUCK[code], {"root": root, "d": day}).fetchone()
    return int(num), (None if den is None else (int(den) if float(den).is_integer() else float(den)))
