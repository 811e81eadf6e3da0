"""Twins: standards (see bench/twins/__init__.py).

Title standards and qualification levels, written by hand from spec/domain.md ('Title standards', 'Highest
level') and the decisions 9-11 of tests/indicators/oracle.py:

* a row is met when the highest degree, political theory and state management held on D (qualifications awarded
  on or before D; cu_nhan counts as cao_cap) are at least the row's (a blank column asks nothing);
* "meets the title standard" (ST-2025-PD-STAFF-MEET-STANDARDS): the row of every leadership position in force on
  D and the rows of the occupation and of the category of the primary employment on D; a person with no
  matching row meets it; CT-2025-LEADERS-MEET-STANDARDS reads the position rows only; the teacher and college
  lecturer targets the occupation row only; ST-2025-COMMUNE-STAFF-STANDARD general education and the degree of
  the category row.
"""

from __future__ import annotations

from bench.twins.common import SCOPE, in_force

# ---------------------------------------------------------------- reference data, from the spec
LEVELS = """
, level(kind, code, ord) AS (VALUES
    ('degree', 'intermediate', 1), ('degree', 'college', 2), ('degree', 'bachelor', 3),
    ('degree', 'master', 4), ('degree', 'doctor', 5), ('degree', 'doctor_science', 6),
    ('political_theory', 'so_cap', 1), ('political_theory', 'trung_cap', 2),
    ('political_theory', 'cao_cap', 3), ('political_theory', 'cu_nhan', 3),
    ('state_management', 'chuyen_vien', 1), ('state_management', 'chuyen_vien_chinh', 2),
    ('state_management', 'chuyen_vien_cao_cap', 3),
    ('rank', 'office_deputy', 1), ('rank', 'office_head', 2), ('rank', 'department_deputy', 3),
    ('rank', 'department_head', 4), ('rank', 'province_deputy', 5), ('rank', 'province_head', 6))
, standard(held, code, degree, theory, mgmt) AS (VALUES
    ('rank', 'office_deputy', 'bachelor', 'trung_cap', 'chuyen_vien'),
    ('rank', 'office_head', 'bachelor', 'trung_cap', 'chuyen_vien'),
    ('rank', 'department_deputy', 'bachelor', 'cao_cap', 'chuyen_vien_chinh'),
    ('rank', 'department_head', 'bachelor', 'cao_cap', 'chuyen_vien_chinh'),
    ('rank', 'province_deputy', 'bachelor', 'cao_cap', 'chuyen_vien_cao_cap'),
    ('rank', 'province_head', 'bachelor', 'cao_cap', 'chuyen_vien_cao_cap'),
    ('occupation', 'teacher_preschool', 'college', NULL, NULL),
    ('occupation', 'teacher_primary', 'bachelor', NULL, NULL),
    ('occupation', 'teacher_lower_secondary', 'bachelor', NULL, NULL),
    ('occupation', 'teacher_upper_secondary', 'bachelor', NULL, NULL),
    ('occupation', 'lecturer_college', 'bachelor', NULL, NULL),
    ('occupation', 'lecturer_political_school', 'bachelor', NULL, NULL),
    ('occupation', 'lecturer_university', 'master', NULL, NULL),
    ('occupation', 'doctor', 'bachelor', NULL, NULL),
    ('occupation', 'nurse', 'college', NULL, NULL),
    ('occupation', 'specialist', 'bachelor', NULL, NULL),
    ('category', 'cap_xa_chuyen_trach', 'intermediate', 'so_cap', NULL),
    ('category', 'cap_xa_cong_chuc', 'intermediate', 'so_cap', NULL))
, std AS (
    -- the standard's minimums as positions in the orders (NULL: no requirement)
    SELECT s.held, s.code, dg.ord AS degree, th.ord AS theory, sm.ord AS mgmt FROM standard s
    LEFT JOIN level dg ON dg.kind = 'degree' AND dg.code = s.degree
    LEFT JOIN level th ON th.kind = 'political_theory' AND th.code = s.theory
    LEFT JOIN level sm ON sm.kind = 'state_management' AND sm.code = s.mgmt)"""
"""``level``: the orders of domain.md; ``standard``: its title-standards table; ``std``: the table in ords."""

HIGHEST = """
, highest AS (
    -- highest level of each ordered kind held on D by the persons of the population
    SELECT q.person_id,
           max(l.ord) FILTER (WHERE q.kind = 'degree') AS degree,
           max(l.ord) FILTER (WHERE q.kind = 'political_theory') AS theory,
           max(l.ord) FILTER (WHERE q.kind = 'state_management') AS mgmt
    FROM qualification q JOIN level l ON l.kind = q.kind AND l.code = q.code
    WHERE q.sys_to IS NULL AND q.awarded_on <= %(d)s AND q.person_id IN (SELECT person_id FROM pop)
    GROUP BY q.person_id)"""
"""``highest(person_id, degree, theory, mgmt)``: needs ``pop(person_id, ...)`` and LEVELS."""

UNIT_ON_D = "u.sys_to IS NULL AND u.valid_from <= %(d)s AND (u.valid_to IS NULL OR u.valid_to >= %(d)s)"


def primary_staff(where: str) -> str:
    """``pop(person_id, category, occupation)``: active employees whose primary employment on D lies in scope at a
    unit ``u`` (its version on D) and satisfies ``where``."""
    return f"""
, pop AS (
    SELECT DISTINCT e.person_id, e.category, e.occupation FROM employment e
    JOIN sub ON sub.id = e.org_unit_id
    JOIN org_unit_version u ON u.org_unit_id = e.org_unit_id AND {UNIT_ON_D}
    WHERE {in_force('e')} AND e.is_primary AND {where})"""


FAILS = """(coalesce(x.degree, 0) < coalesce(s.degree, 0) OR coalesce(x.theory, 0) < coalesce(s.theory, 0)
              OR coalesce(x.mgmt, 0) < coalesce(s.mgmt, 0))"""
"""A row ``s`` of std is not met by the levels ``x`` of highest (no record: level 0)."""

MEETS_HELD = f"""
, failing AS (
    -- a row the person holds (position, occupation, category) and does not meet
    SELECT DISTINCT h.person_id FROM held h
    JOIN std s ON s.held = h.held AND s.code = h.code
    LEFT JOIN highest x ON x.person_id = h.person_id
    WHERE {FAILS})
SELECT count(*) FILTER (WHERE pop.person_id NOT IN (SELECT person_id FROM failing)), count(*) FROM pop"""
"""The answer when the share is "meets every row of ``held(person_id, held, code)``"."""

POSITIONS_HELD = f"""
    SELECT p.person_id, 'rank', p.rank FROM position p JOIN pop ON pop.person_id = p.person_id
    WHERE {in_force('p')}"""
"""Rows of the positions in force on D of persons of ``pop`` (who all have an employment in force on D)."""

PD_STAFF = ("e.category IN ('can_bo', 'cong_chuc', 'vien_chuc') AND u.tier IN ('province', 'district')"
            " AND NOT (e.category = 'vien_chuc' AND u.sector IN ('education', 'health'))")

OCCUPATION_ROW_ONLY = LEVELS + HIGHEST + """
SELECT count(*) FILTER (WHERE NOT coalesce(""" + FAILS + """, false)), count(*)
FROM pop LEFT JOIN std s ON s.held = 'occupation' AND s.code = pop.occupation
LEFT JOIN highest x ON x.person_id = pop.person_id"""
"""The answer when the share is "meets the row of the primary employment's occupation"."""

PG: dict[str, str] = {
    "CT-2025-LEADERS-MEET-STANDARDS": SCOPE + LEVELS + f"""
, pop AS (
    SELECT DISTINCT p.person_id FROM position p JOIN sub ON sub.id = p.org_unit_id
    WHERE {in_force('p')}
      AND p.rank IN (SELECT code FROM level WHERE kind = 'rank' AND ord >= 1)
      AND EXISTS (SELECT 1 FROM employment e WHERE e.person_id = p.person_id AND {in_force('e')}))
, held(person_id, held, code) AS ({POSITIONS_HELD})""" + HIGHEST + MEETS_HELD,

    "ST-2025-PD-STAFF-MEET-STANDARDS": SCOPE + LEVELS + primary_staff(PD_STAFF) + f"""
, held(person_id, held, code) AS (
    SELECT person_id, 'occupation', occupation FROM pop
  UNION ALL
    SELECT person_id, 'category', category FROM pop
  UNION ALL {POSITIONS_HELD})""" + HIGHEST + MEETS_HELD,

    "ST-2025-COMMUNE-STAFF-STANDARD": SCOPE + LEVELS
    + primary_staff("e.category IN ('cap_xa_chuyen_trach', 'cap_xa_cong_chuc')") + HIGHEST + """
SELECT count(*) FILTER (WHERE pv.general_education IN ('12/12', '10/10')
                          AND coalesce(x.degree, 0) >= coalesce(s.degree, 0)),
       count(*)
FROM pop JOIN person_version pv ON pv.person_id = pop.person_id AND pv.sys_to IS NULL
LEFT JOIN std s ON s.held = 'category' AND s.code = pop.category
LEFT JOIN highest x ON x.person_id = pop.person_id""",

    "ST-2025-TEACHERS-MEET-STANDARD": SCOPE + primary_staff(
        "e.occupation IN ('teacher_preschool', 'teacher_primary', 'teacher_lower_secondary',"
        " 'teacher_upper_secondary')") + OCCUPATION_ROW_ONLY,

    "ST-2025-COLLEGE-LECTURERS-STANDARD": SCOPE + primary_staff("e.occupation = 'lecturer_college'")
    + OCCUPATION_ROW_ONLY,

    "CT-2030-COMMUNE-CADRES-DEGREE": SCOPE + LEVELS
    + primary_staff("e.category = 'cap_xa_chuyen_trach' AND u.tier = 'commune'") + HIGHEST + """
SELECT count(*) FILTER (
           WHERE x.degree >= (SELECT ord FROM level WHERE kind = 'degree' AND code = 'college')
             AND x.theory >= (SELECT ord FROM level WHERE kind = 'political_theory' AND code = 'trung_cap')),
       count(*)
FROM pop LEFT JOIN highest x ON x.person_id = pop.person_id""",

    "ST-2030-PD-STAFF-POSTGRAD": SCOPE + primary_staff(
        "e.category IN ('can_bo', 'cong_chuc', 'vien_chuc', 'cap_xa_chuyen_trach', 'cap_xa_cong_chuc')"
        " AND NOT (e.category = 'vien_chuc' AND u.sector IN ('education', 'health'))") + """
SELECT count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM qualification q WHERE q.person_id = pop.person_id AND q.sys_to IS NULL
             AND q.awarded_on <= %(d)s
             AND ((q.kind = 'degree' AND q.code IN ('master', 'doctor', 'doctor_science'))
               OR (q.kind = 'specialty' AND q.code IN ('ck1', 'ck2', 'noi_tru'))))),
       count(*)
FROM pop""",
}
