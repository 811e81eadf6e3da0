"""Pieces the twins share: the scope of a unit on a date (its subtree, or the territory of a closed unit)."""

SCOPE = """
WITH RECURSIVE closed_root AS (
    -- the root when it closed before D: its last day L
    SELECT u.id, v.valid_to AS last_day FROM org_unit u
    JOIN org_unit_version v ON v.org_unit_id = u.id AND v.sys_to IS NULL
    WHERE u.code = %(root)s AND v.valid_to < %(d)s
), live(id) AS (
    -- open on D: the root and every unit below it on D
    SELECT v.org_unit_id FROM org_unit u JOIN org_unit_version v ON v.org_unit_id = u.id AND v.sys_to IS NULL
    WHERE u.code = %(root)s AND v.valid_from <= %(d)s AND (v.valid_to IS NULL OR v.valid_to >= %(d)s)
  UNION
    SELECT l.org_unit_id FROM live
    JOIN org_unit_parent l ON l.parent_id = live.id AND l.sys_to IS NULL
         AND l.start_date <= %(d)s AND (l.end_date IS NULL OR l.end_date >= %(d)s)
    JOIN org_unit_version c ON c.org_unit_id = l.org_unit_id AND c.sys_to IS NULL
         AND c.valid_from <= %(d)s AND (c.valid_to IS NULL OR c.valid_to >= %(d)s)
), at_closure(id) AS (
    -- closed before D: the root's subtree on its last day L
    SELECT id FROM closed_root
  UNION
    SELECT l.org_unit_id FROM at_closure JOIN closed_root r ON true
    JOIN org_unit_parent l ON l.parent_id = at_closure.id AND l.sys_to IS NULL
         AND l.start_date <= r.last_day AND (l.end_date IS NULL OR l.end_date >= r.last_day)
    JOIN org_unit_version c ON c.org_unit_id = l.org_unit_id AND c.sys_to IS NULL
         AND c.valid_from <= r.last_day AND (c.valid_to IS NULL OR c.valid_to >= r.last_day)
), followed(id) AS (
    -- successors of those units, followed transitively
    SELECT s.successor_id FROM at_closure JOIN org_unit_successor s ON s.org_unit_id = at_closure.id AND s.sys_to IS NULL
  UNION
    SELECT s.successor_id FROM followed JOIN org_unit_successor s ON s.org_unit_id = followed.id AND s.sys_to IS NULL
), shared(id) AS (
    -- a successor that also continues a unit from outside (directly, or through a shared one) is left out
    SELECT s.successor_id FROM org_unit_successor s JOIN followed f ON f.id = s.successor_id
    WHERE s.sys_to IS NULL AND s.org_unit_id NOT IN (SELECT id FROM at_closure UNION SELECT id FROM followed)
  UNION
    SELECT s.successor_id FROM shared JOIN org_unit_successor s ON s.org_unit_id = shared.id AND s.sys_to IS NULL
    WHERE s.successor_id NOT IN (SELECT id FROM at_closure)
), sub(id) AS (
    SELECT id FROM live
  UNION
    SELECT t.id FROM (SELECT id FROM at_closure UNION SELECT id FROM followed EXCEPT SELECT id FROM shared) t
    JOIN org_unit_version v ON v.org_unit_id = t.id AND v.sys_to IS NULL
         AND v.valid_from <= %(d)s AND (v.valid_to IS NULL OR v.valid_to >= %(d)s)
)"""
"""``sub(id)``: the units a figure for the root on D counts (domain.md, 'Targets outlive the units they were set
for'). Open on D: the root and every unit below it, by the parent links in force on D, through units that exist
on D. Closed before D (last day L): its territory, the units of its subtree on L and their successors followed
transitively, less the shared ones (a successor also continuing a unit from outside), kept to the units active on
D. Start a twin with it and add CTEs with ``, name AS (...)``."""


def in_force(alias: str, start: str = "start_date", end: str = "end_date") -> str:
    """``alias`` is in force on D: a current row, started on or before D, not ended before it (ends inclusive)."""
    return f"{alias}.sys_to IS NULL AND {alias}.{start} <= %(d)s AND ({alias}.{end} IS NULL OR {alias}.{end} >= %(d)s)"
