"""Twins: staff (see bench/twins/__init__.py).

Occupation-based populations (lecturers, teachers, doctors, nurses): the persons whose PRIMARY employment in force
on D has the occupation and lies in the root's scope on D, each once (domain.md, 'active employee', 'Unit scope';
oracle decision 3). Shares read the highest level held on D (qualifications awarded on or before D; decision 9).
"""

from __future__ import annotations

from bench.twins.common import SCOPE, in_force

MASTER_UP = "('master', 'doctor', 'doctor_science')"
"""Degree codes of level master or above (domain.md's degree order)."""
DOCTOR_UP = "('doctor', 'doctor_science')"
"""Degree codes of level doctor or above."""


def _primary(occupation: str) -> str:
    """``pop(person_id)``: the persons whose primary employment in force on D has `occupation`, in scope."""
    return f"""
, pop AS (
    SELECT DISTINCT e.person_id FROM employment e JOIN sub ON sub.id = e.org_unit_id
    WHERE {in_force("e")} AND e.is_primary AND e.occupation = '{occupation}')"""


def _held(kind: str, codes: str) -> str:
    """A qualification of `kind` with a code in `codes`, awarded on or before D, held by ``pop.person_id``."""
    return (f"EXISTS (SELECT 1 FROM qualification q WHERE q.person_id = pop.person_id AND q.sys_to IS NULL"
            f" AND q.kind = '{kind}' AND q.code IN {codes} AND q.awarded_on <= %(d)s)")


def _ratio(occupation: str, share: str) -> str:
    """(persons of the occupation passing `share`, persons of the occupation)."""
    return SCOPE + _primary(occupation) + f"""
SELECT count(*) FILTER (WHERE {share}), count(*) FROM pop"""


def _statistic(code: str) -> str:
    """The figure `code` reported for the root itself: of the periods starting on or before D, the latest."""
    return f"""(SELECT s.value FROM statistic s JOIN org_unit u ON u.id = s.org_unit_id
        WHERE u.code = %(root)s AND s.code = '{code}' AND s.sys_to IS NULL AND s.period_start <= %(d)s
        ORDER BY s.period_start DESC, s.period_end DESC LIMIT 1)"""


def per_capita(occupation: str, area_count: str) -> str:
    """(the area's reported count of the occupation, else the registry's count; the root's population).

    domain.md 'Per-capita health targets', CHANGES.md revision 2 point 9, oracle decision 14."""
    return SCOPE + _primary(occupation) + f"""
SELECT COALESCE({_statistic(area_count)},
                (SELECT count(*) FROM pop)),
       {_statistic("population")}"""


PG: dict[str, str] = {
    "CT-2025-COLLEGE-LECTURER-PHD": _ratio("lecturer_college", _held("degree", DOCTOR_UP)),
    "CT-2025-UNIVERSITY-LECTURER-PHD": _ratio("lecturer_university", _held("degree", DOCTOR_UP)),
    "ST-2025-POLITICAL-SCHOOL-MASTERS": _ratio("lecturer_political_school", _held("degree", MASTER_UP)),
    "ST-2025-POLITICAL-SCHOOL-PHD": _ratio("lecturer_political_school", _held("degree", DOCTOR_UP)),
    "ST-2025-COLLEGE-LECTURERS-MASTERS": _ratio("lecturer_college", _held("degree", MASTER_UP)),
    "ST-2025-COLLEGE-LECTURERS-PHD": _ratio("lecturer_college", _held("degree", DOCTOR_UP)),
    "ST-2030-UPPER-SECONDARY-TEACHERS-MASTERS": _ratio("teacher_upper_secondary", _held("degree", MASTER_UP)),
    # highest specialist level exactly ck1: a ck1 and no ck2 by D (noi_tru is outside the ck1 < ck2 order)
    "ST-2025-DOCTORS-CK1": _ratio("doctor", _held("specialty", "('ck1')") + " AND NOT "
                                  + _held("specialty", "('ck2')")),
    "ST-2025-DOCTORS-CK2": _ratio("doctor", _held("specialty", "('ck2')")),
    "ST-2025-NURSES-PER-10K": per_capita("nurse", "nurses"),
    # coverage (oracle decision 13): commune health stations in scope on D; a station passes when someone's primary
    # employment in force on D is there with occupation doctor
    "ST-2025-COMMUNE-STATIONS-WITH-DOCTOR": SCOPE + f"""
, stations AS (
    SELECT sub.id FROM sub
    JOIN org_unit_version v ON v.org_unit_id = sub.id AND v.sys_to IS NULL AND v.kind = 'commune_health_station')
SELECT count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM employment e WHERE e.org_unit_id = stations.id AND {in_force("e")}
             AND e.is_primary AND e.occupation = 'doctor')),
       count(*)
FROM stations""",
}
