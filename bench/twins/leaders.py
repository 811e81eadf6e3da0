"""Twins: leaders, cadres' languages and the ethnic-minority language targets (see bench/twins/__init__.py).

Written from spec/domain.md, CHANGES.md (revision 2) and the decisions at the top of tests/indicators/oracle.py
(4: posts need an employment in force; 5: seats do not; 6: LEADER-U40-LANG4; 7: DISTRICT-KEY-LEADERS; 8: age;
9: postgraduate, international capability, ethnic minority; 12: the language targets).
"""

from __future__ import annotations

from bench.twins.common import SCOPE, in_force


def _q(pid: str, cond: str) -> str:
    """Some qualification of person ``pid`` awarded on or before D meets ``cond`` (alias q)."""
    return (f"EXISTS (SELECT 1 FROM qualification q WHERE q.person_id = {pid} AND q.sys_to IS NULL "
            f"AND q.awarded_on <= %(d)s AND ({cond}))")


_FOREIGN_4 = "q.kind = 'language' AND q.language_kind = 'foreign' AND q.level_num >= 4"


def _lang4(pid: str) -> str:
    """Highest foreign-language level on D is 4 or more."""
    return _q(pid, _FOREIGN_4)


def _international(pid: str) -> str:
    """International working capability: foreign language >= 4, or a degree from abroad (country not VN)."""
    return _q(pid, f"({_FOREIGN_4}) OR (q.kind = 'degree' AND q.country <> 'VN')")


def _postgrad(pid: str) -> str:
    """A degree master/doctor/doctor_science, or a specialist level ck1/ck2, or a medical residency."""
    return _q(pid, "(q.kind = 'degree' AND q.code IN ('master', 'doctor', 'doctor_science'))"
                   " OR (q.kind = 'specialty' AND q.code IN ('ck1', 'ck2', 'noi_tru'))")


def _employed(pid: str) -> str:
    """An active employee on D: some employment (primary or concurrent) in force."""
    return f"EXISTS (SELECT 1 FROM employment a WHERE a.person_id = {pid} AND {in_force('a')})"


_UNDER_40 = "pv.birth_date > CAST(%(d)s AS date) - interval '40 years'"
"""Age on D (whole years since birth) below 40: the 40th birthday falls after D."""

_LEADER_RANKS = "('office_deputy', 'office_head', 'department_deputy', 'department_head', " \
                "'province_deputy', 'province_head')"
_CITY_RANKS = "('department_deputy', 'department_head', 'province_deputy', 'province_head')"
_STAFF_CATEGORIES = "('can_bo', 'cong_chuc', 'vien_chuc', 'cap_xa_chuyen_trach', 'cap_xa_cong_chuc')"

_CADRES = SCOPE + f"""
, cadres AS (
    -- primary employment in force, can_bo or cong_chuc, at a province- or district-tier unit in scope
    SELECT DISTINCT e.person_id FROM employment e
    JOIN sub ON sub.id = e.org_unit_id
    JOIN org_unit_version u ON u.org_unit_id = e.org_unit_id AND u.sys_to IS NULL
    WHERE {in_force('e')} AND e.is_primary
      AND e.category IN ('can_bo', 'cong_chuc') AND u.tier IN ('province', 'district'))"""

_CITY_LEADERS = SCOPE + f"""
, leaders AS (
    -- a position in force of rank department_deputy or above, at a province-tier unit in scope, while employed
    SELECT DISTINCT p.person_id FROM position p
    JOIN sub ON sub.id = p.org_unit_id
    JOIN org_unit_version u ON u.org_unit_id = p.org_unit_id AND u.sys_to IS NULL
    WHERE {in_force('p')} AND p.rank IN {_CITY_RANKS} AND u.tier = 'province'
      AND {_employed('p.person_id')})"""

_STAFF = f"""
    SELECT DISTINCT e.person_id, e.org_unit_id FROM employment e
    JOIN sub ON sub.id = e.org_unit_id
    WHERE {in_force('e')} AND e.is_primary AND e.category IN {_STAFF_CATEGORIES}"""
"""Staff (cadres, civil servants, public employees, commune staff) by their primary unit in scope."""

_PLACE_OF_WORK = f"""
, chain(unit_id, anc_id) AS (
    -- each primary unit and the units above it on D, through units that exist on D
    SELECT DISTINCT org_unit_id, org_unit_id FROM staff
  UNION
    SELECT chain.unit_id, l.parent_id FROM chain
    JOIN org_unit_parent l ON l.org_unit_id = chain.anc_id AND {in_force('l')}
    JOIN org_unit_version pu ON pu.org_unit_id = l.parent_id AND pu.sys_to IS NULL
         AND pu.valid_from <= %(d)s AND (pu.valid_to IS NULL OR pu.valid_to >= %(d)s)
), listed AS (
    -- the local languages of each place of work: listed by the unit or a unit above it
    SELECT DISTINCT chain.unit_id, ol.language FROM chain
    JOIN org_unit_language ol ON ol.org_unit_id = chain.anc_id AND ol.sys_to IS NULL
)"""

_FLUENT_HERE = _q("s.person_id",
                  "q.kind = 'language' AND q.language_kind = 'ethnic_minority' AND q.is_fluent "
                  "AND (q.language IN (SELECT language FROM listed WHERE listed.unit_id = s.org_unit_id) "
                  "OR NOT EXISTS (SELECT 1 FROM listed WHERE listed.unit_id = s.org_unit_id))")
"""Fluent in a local language of the place of work, or in any minority language where none is listed."""

PG: dict[str, str] = {
    "CT-2025-LEADER-U40-LANG4": _CADRES + f"""
, pop AS (
    -- also a leader from office level up (a position in force, any unit), under 40
    SELECT c.person_id FROM cadres c
    JOIN person_version pv ON pv.person_id = c.person_id AND pv.sys_to IS NULL
    WHERE {_UNDER_40}
      AND EXISTS (SELECT 1 FROM position p WHERE p.person_id = c.person_id AND {in_force('p')}
                  AND p.rank IN {_LEADER_RANKS}))
SELECT count(*) FILTER (WHERE {_lang4('pop.person_id')}), count(*) FROM pop""",
    "CT-2025-CADRES-LANG4-WIDE": _CADRES + f"""
SELECT count(*) FILTER (WHERE {_lang4('cadres.person_id')}), count(*) FROM cadres""",
    "CT-2030-CITY-LEADERS-U40": _CITY_LEADERS + f"""
SELECT count(*) FILTER (WHERE {_UNDER_40}), count(*)
FROM leaders JOIN person_version pv ON pv.person_id = leaders.person_id AND pv.sys_to IS NULL""",
    "CT-2030-CITY-LEADERS-INTERNATIONAL": _CITY_LEADERS + f"""
SELECT count(*) FILTER (WHERE {_international('leaders.person_id')}), count(*) FROM leaders""",
    "CT-2030-DISTRICT-KEY-LEADERS-U40": SCOPE + f"""
, pop AS (
    -- key leaders of district-tier units in scope (while employed) ...
    SELECT p.person_id FROM position p
    JOIN sub ON sub.id = p.org_unit_id
    JOIN org_unit_version u ON u.org_unit_id = p.org_unit_id AND u.sys_to IS NULL
    WHERE {in_force('p')} AND p.key_leader AND u.tier = 'district' AND {_employed('p.person_id')}
  UNION
    -- ... and members (any role) of district-tier party standing committees in scope (no employment needed)
    SELECT m.person_id FROM membership m
    JOIN sub ON sub.id = m.body_id
    JOIN org_unit_version b ON b.org_unit_id = m.body_id AND b.sys_to IS NULL
    WHERE {in_force('m')} AND b.kind = 'party_standing_committee' AND b.tier = 'district')
SELECT count(*) FILTER (WHERE {_UNDER_40}), count(*)
FROM pop JOIN person_version pv ON pv.person_id = pop.person_id AND pv.sys_to IS NULL""",
    "CT-2030-SOE-MANAGERS-INTERNATIONAL": SCOPE + f"""
, managers AS (
    SELECT DISTINCT p.person_id FROM position p
    JOIN sub ON sub.id = p.org_unit_id
    JOIN org_unit_version u ON u.org_unit_id = p.org_unit_id AND u.sys_to IS NULL
    WHERE {in_force('p')} AND u.kind = 'soe' AND {_employed('p.person_id')})
SELECT count(*) FILTER (WHERE {_international('managers.person_id')}), count(*) FROM managers""",
    "ST-2025-OFFICE-LEADERS-POSTGRAD": SCOPE + f"""
, leaders AS (
    -- a position in force in scope, while employed, and no position in force (anywhere) above office level
    SELECT DISTINCT p.person_id FROM position p
    JOIN sub ON sub.id = p.org_unit_id
    WHERE {in_force('p')} AND p.rank IN ('office_deputy', 'office_head') AND {_employed('p.person_id')}
      AND NOT EXISTS (SELECT 1 FROM position h WHERE h.person_id = p.person_id AND {in_force('h')}
                      AND h.rank IN {_CITY_RANKS}))
SELECT count(*) FILTER (WHERE {_postgrad('leaders.person_id')}), count(*) FROM leaders""",
    "ST-2025-ETHNIC-STAFF-LANGUAGE": SCOPE + f"""
, staff AS ({_STAFF}
      AND EXISTS (SELECT 1 FROM person_version pv WHERE pv.person_id = e.person_id AND pv.sys_to IS NULL
                  AND pv.ethnicity NOT IN ('01', '55', '99')))""" + _PLACE_OF_WORK + f"""
SELECT count(DISTINCT s.person_id) FILTER (WHERE {_FLUENT_HERE}), count(DISTINCT s.person_id) FROM staff s""",
    "ST-2025-CONTACT-STAFF-LANGUAGE": SCOPE + f"""
, staff AS ({_STAFF})""" + _PLACE_OF_WORK + f"""
, contact AS (
    -- staff whose place of work, or a unit above it on D, works directly with ethnic-minority people
    SELECT s.person_id, s.org_unit_id FROM staff s
    WHERE EXISTS (SELECT 1 FROM chain JOIN org_unit_version cu ON cu.org_unit_id = chain.anc_id AND cu.sys_to IS NULL
                  WHERE chain.unit_id = s.org_unit_id AND cu.ethnic_contact))
SELECT count(DISTINCT s.person_id) FILTER (WHERE {_FLUENT_HERE}), count(DISTINCT s.person_id) FROM contact s""",
}
