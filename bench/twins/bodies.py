"""Twins: bodies (see bench/twins/__init__.py).

Membership-based populations (domain.md 'Seats in bodies do not need an employment'; CHANGES.md revision 2,
points 3 and 4; oracle decision 5): every person with a seat in force on D in a body of the kind (and tier: the
body's own) that is in scope on D, each person once; no employment needed. The coverage of standing committees
(decision 13) and the flow of masters and doctors (CT-2025-MASTERS-PHD-INFLOW: revision 2, point 11; decision 16).
"""

from bench.twins.common import SCOPE, in_force

_BODY_ON_D = "b.sys_to IS NULL AND b.valid_from <= %(d)s AND (b.valid_to IS NULL OR b.valid_to >= %(d)s)"

_POSTGRAD = """EXISTS (
           SELECT 1 FROM qualification q WHERE q.person_id = members.person_id AND q.sys_to IS NULL
             AND q.awarded_on <= %(d)s
             AND ((q.kind = 'degree' AND q.code IN ('master', 'doctor', 'doctor_science'))
               OR (q.kind = 'specialty' AND q.code IN ('ck1', 'ck2', 'noi_tru'))))"""
"""The member is postgraduate on D (domain.md 'Postgraduate'; revision 2, point 13: a residency counts)."""

_FEMALE = "pv.gender = 'female'"
_UNDER_40 = "pv.birth_date > %(d)s::date - INTERVAL '40 years'"
"""Age on D (whole years since the birth date) < 40: the 40th birthday falls after D."""


def _members(body: str, share: str, *, role: str | None = None, with_person: bool = True) -> str:
    """(numerator, denominator): the distinct persons seated on D in a body in scope matching `body` (a condition
    on its version ``b``), those with `share` counted in the numerator."""
    role_filter = f"\n      AND m.role = '{role}'" if role else ""
    person = "\nJOIN person_version pv ON pv.person_id = members.person_id AND pv.sys_to IS NULL" if with_person else ""
    return SCOPE + f"""
, members AS (
    SELECT DISTINCT m.person_id FROM membership m
    JOIN sub ON sub.id = m.body_id
    JOIN org_unit_version b ON b.org_unit_id = m.body_id AND {_BODY_ON_D}
         AND {body}
    WHERE {in_force("m")}{role_filter})
SELECT count(*) FILTER (WHERE {share}), count(*)
FROM members{person}"""


_PUBLIC = "category NOT IN ('doanh_nghiep', 'hop_dong')"
_HIGHER_DEGREE = "q.sys_to IS NULL AND q.kind = 'degree' AND q.code IN ('master', 'doctor', 'doctor_science')"
_PERIOD = "BETWEEN DATE '2022-01-01' AND LEAST(%(d)s::date, DATE '2025-12-31')"


def _unit_on(alias: str, day: str) -> str:
    """The unit version ``alias`` exists on ``day`` (an SQL expression)."""
    return (f"{alias}.sys_to IS NULL AND {alias}.valid_from <= {day} "
            f"AND ({alias}.valid_to IS NULL OR {alias}.valid_to >= {day})")


def _active_on(alias: str, day: str) -> str:
    return f"{alias}.sys_to IS NULL AND {alias}.start_date <= {day} AND ({alias}.end_date IS NULL OR {alias}.end_date >= {day})"


_INFLOW = SCOPE + f"""
, scopes(id) AS (
    -- the root itself (tree of each event's day), and once it has closed, each unit of its territory on D
    SELECT u.id FROM org_unit u WHERE u.code = %(root)s
  UNION
    SELECT sub.id FROM sub WHERE EXISTS (SELECT 1 FROM closed_root)
), ev(person_id, day, unit_id, attract) AS (
    -- (a) a higher degree awarded in the period while in a public-sector primary employment
    SELECT e.person_id, q.awarded_on, e.org_unit_id, false FROM qualification q
    JOIN employment e ON e.person_id = q.person_id AND e.is_primary AND e.{_PUBLIC} AND {_active_on("e", "q.awarded_on")}
    WHERE {_HIGHER_DEGREE} AND q.awarded_on {_PERIOD}
  UNION
    -- (b) a public-sector employment (primary or not) started in the period by a holder of such a degree
    SELECT e.person_id, e.start_date, e.org_unit_id, true FROM employment e
    WHERE e.sys_to IS NULL AND e.{_PUBLIC} AND e.start_date {_PERIOD}
      AND EXISTS (SELECT 1 FROM qualification q WHERE q.person_id = e.person_id AND {_HIGHER_DEGREE}
                  AND q.awarded_on <= e.start_date)
), up(person_id, day, attract, unit_id) AS (
    -- the event's unit and its ancestors in the tree of the event's day
    SELECT ev.person_id, ev.day, ev.attract, ev.unit_id FROM ev
    JOIN org_unit_version v ON v.org_unit_id = ev.unit_id AND {_unit_on("v", "ev.day")}
  UNION
    SELECT up.person_id, up.day, up.attract, l.parent_id FROM up
    JOIN org_unit_parent l ON l.org_unit_id = up.unit_id AND {_active_on("l", "up.day")}
    JOIN org_unit_version v ON v.org_unit_id = l.parent_id AND {_unit_on("v", "up.day")}
), joins AS (
    SELECT DISTINCT person_id, day FROM ev WHERE attract
), before(person_id, day, unit_id) AS (
    -- (b) the units (and their ancestors, tree of the day before) of public-sector employments held the day before
    SELECT j.person_id, j.day, e.org_unit_id FROM joins j
    JOIN employment e ON e.person_id = j.person_id AND e.{_PUBLIC} AND {_active_on("e", "j.day - 1")}
    JOIN org_unit_version v ON v.org_unit_id = e.org_unit_id AND {_unit_on("v", "j.day - 1")}
  UNION
    SELECT before.person_id, before.day, l.parent_id FROM before
    JOIN org_unit_parent l ON l.org_unit_id = before.unit_id AND {_active_on("l", "before.day - 1")}
    JOIN org_unit_version v ON v.org_unit_id = l.parent_id AND {_unit_on("v", "before.day - 1")}
), reorganised AS (
    -- (b) left a unit that closed the day before: a reorganisation, not an attraction
    SELECT DISTINCT j.person_id, j.day FROM joins j
    JOIN employment e ON e.person_id = j.person_id AND {_active_on("e", "j.day - 1")}
    JOIN org_unit_version v ON v.org_unit_id = e.org_unit_id AND v.sys_to IS NULL AND v.valid_to = j.day - 1
)
SELECT count(DISTINCT up.person_id), NULL::bigint
FROM up JOIN scopes s ON s.id = up.unit_id
WHERE NOT up.attract
   OR (NOT EXISTS (SELECT 1 FROM reorganised r WHERE r.person_id = up.person_id AND r.day = up.day)
       AND NOT EXISTS (SELECT 1 FROM before b WHERE b.person_id = up.person_id AND b.day = up.day
                       AND b.unit_id = up.unit_id))"""
"""Decision 16: persons with an event under the root (tree of the event's day) or, once the root has closed,
under a unit of its territory, each scope judging (b) on its own."""

_STANDING_WITH_WOMAN = SCOPE + f"""
, committees AS (
    SELECT sub.id FROM sub JOIN org_unit_version b ON b.org_unit_id = sub.id AND {_BODY_ON_D}
    WHERE b.kind = 'party_standing_committee')
SELECT count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM membership m
           JOIN person_version pv ON pv.person_id = m.person_id AND pv.sys_to IS NULL AND {_FEMALE}
           WHERE m.body_id = c.id AND {in_force("m")})),
       count(*)
FROM committees c"""

PG: dict[str, str] = {
    "CT-2030-WOMAN-IN-EVERY-STANDING-COMMITTEE": _STANDING_WITH_WOMAN,
    "CT-2030-WOMEN-PEOPLES-COUNCIL": _members("b.kind = 'peoples_council'", _FEMALE),
    "ST-2025-PROVINCE-COMMITTEE-POSTGRAD": _members("b.kind = 'party_executive_committee' AND b.tier = 'province'",
                                                    _POSTGRAD, with_person=False),
    "ST-2025-STANDING-MANAGED-POSTGRAD": _members("b.kind = 'management_list' AND b.tier = 'province'",
                                                  _POSTGRAD, with_person=False),
    "ST-2025-DISTRICT-COMMITTEE-POSTGRAD": _members("b.kind = 'party_executive_committee' AND b.tier = 'district'",
                                                    _POSTGRAD, with_person=False),
    "CT-2025-MASTERS-PHD-INFLOW": _INFLOW,
    "QH-POOL-WOMEN": _members("b.kind = 'planning_pool'", _FEMALE, role="candidate"),
    "QH-POOL-YOUNG": _members("b.kind = 'planning_pool' AND b.tier IN ('province', 'district')", _UNDER_40,
                              role="candidate"),
}
