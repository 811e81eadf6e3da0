"""Write scope: what a scoped writer may change on a person's record.

Read scope is wide on purpose: a person belongs to a token's scope when any employment of theirs,
past or present, lies under the token's units, so a commune sees the people it once employed. Write
scope is narrower. A scoped writer (an HR officer, an integration, a scoped administrator) changes
only what its units manage:

- an employment or a position is added, ended or corrected only when its unit lies in the writer's
  units, and a seat (membership) only when its body does (a commune does not seat anybody on the
  province's party committee, nor end a job in another province);
- the person's own attributes (name, birth date, gender, ethnicity, national id, party membership,
  general education) and qualifications (degrees, languages, political theory, state management,
  specialties, academic titles, IT skills, trainings) and career events (separations,
  disciplines) only while the person's *managing
  employment* lies in the writer's units: the primary employment in force today; when none is, the
  primary employment that ended last (the last employer corrects a retiree's record); when there is
  none yet, the first one to begin. A new person is judged on the record being created.

A separation ends every employment, position and seat in force on its date (`persons.canonical`),
so recording one also ends the assignments it closes: where one of them lies outside the writer's
units, the write is refused like any other change there, naming that assignment (its own unit, or an
administrator, ends it first or records the separation).

A write is judged on its difference from the record as it stands: an unchanged item outside the
writer's units is fine (a full-record import carries it as it is), a changed one is not. Every item
and field the write would change is checked, and every violation is reported, each with its field.
"""

from datetime import date
from typing import Any

from app.errors import Forbidden
from app.schemas.interchange import PERSON_LISTS
from app.services.person_records import item_key

ANCHORED = {"employments": "org_unit", "positions": "org_unit", "memberships": "body"}
OWN_FIELDS = ("full_name", "birth_date", "gender", "ethnicity", "national_id", "party_member_since", "party_member_until",
              "general_education")
OWN_LISTS = tuple(n for n in PERSON_LISTS if n not in ANCHORED)
WHAT = {"employments": "an employment", "positions": "a position", "memberships": "a seat"}


class OutOfScope(Forbidden):
    """A write that would change what the caller's org units do not manage; `errors` names each item and field."""

    code = "out_of_scope"

    def __init__(self, detail: str, errors: list[dict[str, str]]):
        super().__init__(detail, extra={"errors": errors})
        self.errors = errors


def managing_unit(record: dict[str, Any] | None, today: date) -> str | None:
    """The unit whose writers keep the person's own attributes (see the module docstring)."""
    primaries = [e for e in (record or {}).get("employments") or [] if e["primary"]]
    day = today.isoformat()
    in_force = [e for e in primaries if e["start"] <= day and (e["end"] is None or e["end"] >= day)]
    if in_force:
        return str(max(in_force, key=lambda e: e["start"])["org_unit"])
    ended = [e for e in primaries if e["end"] is not None and e["end"] < day]
    if ended:
        return str(max(ended, key=lambda e: (e["end"], e["start"]))["org_unit"])
    future = [e for e in primaries if e["start"] > day]
    return str(min(future, key=lambda e: e["start"])["org_unit"]) if future else None


def unit_codes_of(*records: dict[str, Any] | None) -> set[str]:
    """Every unit code the records' employments, positions and seats name."""
    return {item[ref] for r in records if r for name, ref in ANCHORED.items() for item in r.get(name) or []}


def violations(old: dict[str, Any] | None, new: dict[str, Any], reach: set[int], unit_ids: dict[str, int],
               today: date) -> list[dict[str, str]]:
    """What the write from `old` (None: a new person) to `new` (both canonical records) changes outside `reach`.

    `unit_ids` maps every unit code of both records to its id (a code it lacks counts as outside).
    """
    def inside(code: str | None) -> bool:
        return code is not None and unit_ids.get(code) in reach

    errs: list[dict[str, str]] = []
    for name, ref in ANCHORED.items():
        before = {item_key(i): i for i in (old or {}).get(name) or []}
        after = {item_key(i): i for i in new.get(name) or []}
        for i, item in enumerate(new.get(name) or []):
            if item_key(item) not in before and not inside(item[ref]):
                errs.append({"field": f"{name}[{i}].{ref}", "message":
                             f"{WHAT[name]} at {item[ref]!r} is outside your org units: you add or change only "
                             f"those at your own units"})
        for key, item in before.items():
            if key not in after and not inside(item[ref]):
                errs.append({"field": name, "message":
                             f"{WHAT[name]} at {item[ref]!r} from {item['start']} would be removed or changed; it is "
                             f"outside your org units and only its own unit may change it"})
    changed = [f for f in OWN_FIELDS if old is None or old.get(f) != new.get(f)]
    changed += [n for n in OWN_LISTS if old is None or
                sorted(map(item_key, old.get(n) or [])) != sorted(map(item_key, new.get(n) or []))]
    if not changed:
        return errs
    keeper = managing_unit(old, today)
    if old is None:
        named = any(e["field"].startswith("employments") for e in errs)  # the employments outside, named above
        if not named and not any(inside(e["org_unit"]) for e in new.get("employments") or []):
            errs.append({"field": "employments", "message":
                         f"person {new['external_id']!r} would have no employment in your org units"})
    elif not inside(keeper):
        where = f"the unit of their primary employment ({keeper!r})" if keeper else "an administrator (no primary employment)"
        errs.extend({"field": f, "message": f"the person's own attributes and qualifications are kept by {where}, "
                     "which is outside your org units"} for f in changed)
    return errs
