"""Persons: validate, create or replace with history, patch, close, read now or as of a moment."""

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from app.models import Employment, OrgUnitVersion, Person, PersonVersion, Position
from app.schemas.common import CODE_PATTERN
from app.schemas.interchange import AWARD_LISTS, PERSON_LISTS, PersonPatch, PersonRecord
from app.services import audit, equivalences, history, tree, write_scope
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.person_records import (
    SENSITIVE,
    build,
    canonical_item,
    diff_lists,
    item_key,
    keep_awarded,
    read_one,
    sort_items,
    without_awarded,
)
from app.services.text import fold
from app.services.versioning import among, insert_rows, retire

CODED = {  # list -> (field, code list, date field for validity)
    "employments": [("category", "employment_category", "start"), ("occupation", "occupation", "start")],
    "positions": [("rank", "leadership_rank", "start")],
    "memberships": [("role", "membership_role", "start")],
    "degrees": [("level", "degree_level", "awarded_on")],
    "political_theory": [("level", "political_theory", "awarded_on")],
    "state_management": [("level", "state_management", "awarded_on")],
    "specialties": [("level", "specialist_level", "awarded_on")],
    "academic_titles": [("title", "academic_title", "awarded_on")],
    "it_skills": [("level", "it_skill", "awarded_on")],
    "separations": [("reason", "separation_reason", "on")],
    "disciplines": [("form", "discipline_form", "start")],
}
DATE_FIELDS = {"start", "awarded_on", "completed_on", "on"}
OWN_ATTRS = ("full_name", "birth_date", "gender", "ethnicity", "national_id", "party_member_since",
             "party_member_until", "general_education")  # the person's own fields, in record order
ASSIGNMENTS = ("employments", "positions", "memberships")  # what a separation ends


@dataclass(frozen=True)
class UnitInfo:
    id: int
    kind: str
    valid_from: date
    valid_to: date | None


def unit_index(session: Session, codes: set[str]) -> dict[str, UnitInfo]:
    """Current kind and validity of each referenced unit that exists."""
    if not codes:
        return {}
    ids = tree.unit_ids(session, codes)
    v = OrgUnitVersion  # the four columns, not the versions as entities: a batch of an import names a thousand units
    rows = session.execute(select(v.org_unit_id, v.kind, v.valid_from, v.valid_to).where(
        among(session, v.org_unit_id, list(ids.values())), v.sys_to.is_(None)))
    by_id = {r.org_unit_id: UnitInfo(r.org_unit_id, r.kind, r.valid_from, r.valid_to) for r in rows}
    return {c: by_id[i] for c, i in ids.items() if i in by_id}


def referenced_units(data: dict[str, Any]) -> set[str]:
    codes = {e["org_unit"] for e in data.get("employments") or []} | {p["org_unit"] for p in data.get("positions") or []}
    return codes | {m["body"] for m in data.get("memberships") or []}


def problems(data: dict[str, Any], book: CodeBook, units: dict[str, UnitInfo]) -> list[dict[str, str]]:
    """Every rule a shape-valid record (JSON-mode dump) breaks, with the field that breaks it."""
    errs: list[dict[str, str]] = []
    birth = data["birth_date"]
    for fname, list_name in (("gender", "gender"), ("ethnicity", "ethnicity")):
        msg = book.problem(list_name, data.get(fname))
        if msg:
            errs.append({"field": fname, "message": msg})
    if data.get("party_member_since") and data["party_member_since"] < birth:
        errs.append({"field": "party_member_since", "message": "party membership starts before the birth date"})
    until = data.get("party_member_until")
    if until and not data.get("party_member_since"):
        errs.append({"field": "party_member_until", "message": "party membership ends but party_member_since is empty"})
    elif until and until < data["party_member_since"]:
        errs.append({"field": "party_member_until",
                     "message": f"party membership ends {until}, before it starts {data['party_member_since']}"})
    errs.extend(_separation_problems(data))
    errs.extend(paper_problems(data.get("languages") or []))
    for name in PERSON_LISTS:
        for i, item in enumerate(data.get(name) or []):
            where = f"{name}[{i}]"
            for fname, list_name, date_field in CODED.get(name, []):
                on = date.fromisoformat(item[date_field]) if item.get(date_field) else None
                msg = book.problem(list_name, item.get(fname), on)
                if msg:
                    errs.append({"field": f"{where}.{fname}", "message": msg})
            for dfield in DATE_FIELDS & item.keys():
                if item[dfield] < birth:
                    errs.append({"field": f"{where}.{dfield}", "message": f"{item[dfield]} is before the birth date {birth}"})
            errs.extend(_unit_problems(name, where, item, units))
    closed: dict[str, Any] = {n: [dict(i) for i in data.get(n) or []] for n in ASSIGNMENTS}
    end_at_separations(closed | {"separations": data.get("separations")})  # a rehire after a retirement is no overlap
    errs.extend(_primary_overlaps(closed["employments"]))
    return errs


def _unit_problems(name: str, where: str, item: dict[str, Any], units: dict[str, UnitInfo]) -> list[dict[str, str]]:
    ref = "body" if name == "memberships" else "org_unit"
    if name not in ("employments", "positions", "memberships"):
        return []
    info = units.get(item[ref])
    if info is None:
        return [{"field": f"{where}.{ref}", "message": f"unknown org unit {item[ref]!r}"}]
    is_body = info.kind in BODY_KINDS
    if name == "memberships" and not is_body:
        return [{"field": f"{where}.body",
                 "message": f"{item[ref]!r} is a {info.kind}, not a body (committee, council, list, pool)"}]
    if name != "memberships" and is_body:
        return [{"field": f"{where}.org_unit", "message": f"{item[ref]!r} is a body ({info.kind}); record seats in memberships"}]
    return []


def _separation_problems(data: dict[str, Any]) -> list[dict[str, str]]:
    """A person dies once, and nothing is recorded to happen after the death: no later separation,
    no employment, position, seat or discipline starting after it, no party membership beginning or ending after it."""
    deaths: dict[str, int] = {}  # day -> first index (the same death twice is one death, as duplicates are one item)
    for i, sep in enumerate(data.get("separations") or []):
        if sep["reason"] == "death":
            deaths.setdefault(sep["on"], i)
    if not deaths:
        return []
    died, first = min(deaths.items())
    errs = [{"field": f"separations[{i}].reason", "message": f"a second death (the first is separations[{first}], {died})"}
            for _on, i in sorted(deaths.items())[1:]]
    for i, sep in enumerate(data.get("separations") or []):
        if sep["on"] > died:
            errs.append({"field": f"separations[{i}].on", "message": f"{sep['on']} is after the death on {died}"})
    for name in ASSIGNMENTS:
        for i, item in enumerate(data.get(name) or []):
            if item["start"] > died:
                errs.append({"field": f"{name}[{i}].start", "message": f"{item['start']} is after the death on {died}"})
    for i, item in enumerate(data.get("disciplines") or []):
        if item["start"] > died:
            errs.append({"field": f"disciplines[{i}].start", "message": f"{item['start']} is after the death on {died}"})
    for fname in ("party_member_since", "party_member_until"):
        if data.get(fname) and data[fname] > died:
            errs.append({"field": fname, "message": f"{data[fname]} is after the death on {died}"})
    return errs


def awarded_after_death(record: dict[str, Any]) -> list[dict[str, str]]:
    """A death recorded before a qualification an enrolment awarded (a canonical record with its awarded items):
    the enrolment is to be corrected first (its completion cannot follow the death)."""
    died = min((s["on"] for s in record.get("separations") or [] if s["reason"] == "death"), default=None)
    if died is None:
        return []
    return [{"field": "separations", "message": f"the death on {died} is before {item['awarded_on']}, when the enrolment "
             f"in {item['from_enrolment']!r} was completed: correct the enrolment first"}
            for name in AWARD_LISTS for item in record.get(name) or []
            if item.get("from_enrolment") and item["awarded_on"] > died]


def paper_problems(languages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A foreign-language paper without a level must be one the equivalence table places; with a level, not elsewhere."""
    errs = []
    for i, item in enumerate(languages):
        if item["kind"] != "foreign" or item.get("certificate") is None:
            continue
        level, why = equivalences.level_of(item["certificate"], item.get("score"), item["language"])
        if item.get("level") is None and why is not None:
            errs.append({"field": f"languages[{i}].certificate", "message": why})
        elif (item.get("level") is not None and item.get("score") is not None and equivalences.named(item["certificate"])
              and equivalences.row_for(item["certificate"], item["score"], item["language"]) is None):
            # a paper the table names, with a score it cannot place: the level given beside it cannot be checked
            errs.append({"field": f"languages[{i}].score", "message": why or "not in the equivalence table"})
        elif item.get("level") is not None and level is not None and level != item["level"]:
            errs.append({"field": f"languages[{i}].level", "message":
                         f"{item['certificate']} {item.get('score') or ''} counts as level {level} in the registry's "
                         f"equivalence table, not {item['level']}".replace("  ", " ")})
    return errs


def with_derived_levels(languages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Foreign-language items given as a paper, with the level the equivalence table gives them (checked by problems())."""
    out = []
    for item in languages:
        if item["kind"] == "foreign" and item.get("level") is None and item.get("certificate") is not None:
            item = item | {"level": equivalences.level_of(item["certificate"], item.get("score"), item["language"])[0]}
        out.append(item)
    return out


def end_at_separations(record: dict[str, Any]) -> None:
    """A separation ends every employment, position and seat in force on its date, that day (in place).

    An item ends at the first separation on or after its start, if that comes before its own end:
    one sort and a binary search per item (a record of thousands of items stays linear-logarithmic).
    """
    days = sorted({sep["on"] for sep in record.get("separations") or []})
    if not days:
        return
    for name in ASSIGNMENTS:
        for item in record.get(name) or []:
            i = bisect_left(days, item["start"])
            if i < len(days) and (item["end"] is None or item["end"] > days[i]):
                item["end"] = days[i]


def reopen_moved_separations(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A separation moved later or removed re-opens what it had ended, and the remaining separations close it again.

    The stored record keeps a separation's effect as the assignments' `end`; a correction of the date (a
    retirement postponed from 31 March to 30 June, a separation recorded by mistake) must not leave them
    ending on the old day. An item of the new record is re-opened when it ends on a day the old record had a
    separation and the new one has none, and the old record's same item ended that day too.
    """
    if old is None:
        return new
    gone = {s["on"] for s in old.get("separations") or []} - {s["on"] for s in new.get("separations") or []}
    if not gone:
        return new

    def same(item: dict[str, Any]) -> str:
        return item_key({k: v for k, v in item.items() if k != "end"})

    out = dict(new)
    for name in ASSIGNMENTS:
        ended = {same(i) for i in old.get(name) or [] if i["end"] in gone}
        out[name] = [i | {"end": None} if i["end"] in gone and same(i) in ended else i for i in new.get(name) or []]
    end_at_separations(out)
    for name in ASSIGNMENTS:
        out[name] = sort_items(name, out[name])
    return out


BODY_KINDS = {"party_executive_committee", "party_standing_committee", "peoples_council", "management_list", "planning_pool"}


def _primary_overlaps(employments: list[dict[str, Any]]) -> list[dict[str, str]]:
    primaries = sorted((e["start"], e["end"] or "9999-12-31", i) for i, e in enumerate(employments) if e["primary"])
    errs = []
    for (s1, e1, i1), (s2, _e2, i2) in zip(primaries, primaries[1:], strict=False):
        if s2 <= e1:
            errs.append({"field": f"employments[{i2}].start", "message":
                         f"primary employment from {s2} overlaps primary employments[{i1}] ({s1} to {e1})"})
    return errs


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """A validated record in the stored/exported shape: every key present, lists ordered."""
    out = {k: data.get(k) for k in ("external_id", *OWN_ATTRS)}
    given = dict(data) | {"languages": with_derived_levels(data.get("languages") or [])}
    lists = {name: [canonical_item(name, i) for i in given.get(name) or []] for name in PERSON_LISTS}
    end_at_separations(lists)
    for name in PERSON_LISTS:
        out[name] = sort_items(name, lists[name])
    return out


@dataclass
class Outcome:
    status: str  # created | updated | unchanged
    record: dict[str, Any]
    person_id: int
    rev: int


def in_scope(session: Session, actor: Actor, person_id: int, units: set[int] | None = None,
             tree_version: tuple[int, str] | None = None) -> bool:
    """Whether any employment of the person lies under the caller's org units; `units`: the units of the person's
    current employments when the caller has read them already (read_one), else they are read here; `tree_version`:
    the tree's version read with them (read_one), else read here."""
    allowed = tree.reach(session, actor, tree_version)
    if allowed is None:
        return True
    if units is None:
        units = set(session.scalars(select(Employment.org_unit_id).where(
            Employment.person_id == person_id, Employment.sys_to.is_(None))))
    return bool(allowed.intersection(units))


def find(session: Session, external_id: str) -> Person | None:
    return session.scalar(select(Person).where(Person.external_id == external_id))


def get_or_raise(session: Session, actor: Actor, external_id: str) -> Person:
    """The person, or NotFound (also when the person lies outside the caller's units)."""
    person = find(session, external_id)
    if person is None or not in_scope(session, actor, person.id):
        raise _not_found(external_id)
    return person


def upsert(session: Session, actor: Actor, record: PersonRecord, book: CodeBook,
           *, if_match: int | None = None, create_only: bool = False) -> Outcome:
    """Create or fully replace one person, all-or-nothing, keeping the previous state.

    `create_only`: the person must not exist yet (409), decided under the write lock, so that of
    concurrent creations of one id exactly one wins.
    """
    history.lock_for_write(session)
    data = without_awarded(record.model_dump(mode="json"))
    units = unit_index(session, referenced_units(data))
    errs = problems(data, book, units)
    if errs:
        raise InvalidInput(f"person {record.external_id!r} is invalid", errors=errs)
    person = find(session, record.external_id)
    if person is not None and create_only:
        if not in_scope(session, actor, person.id):
            raise _not_found(record.external_id)
        raise Conflict(f"person {record.external_id!r} exists; PUT replaces it", code="duplicate_external_id")
    new = canonical(data)
    old = build(session, {person.id: person.external_id}).get(person.id) if person is not None else None
    new = keep_awarded(old, reopen_moved_separations(old, new))
    if late := awarded_after_death(new):
        raise InvalidInput(f"person {record.external_id!r} is invalid", errors=late)
    check_write_scope(session, actor, person, old, new)
    if if_match is not None and (person is None or person.rev != if_match):
        raise PreconditionFailed(f"person {record.external_id!r} has changed since you read it "
                                 f"(revision {person.rev if person else 'none'}, not {if_match})")
    if person is not None and old == new:
        return Outcome("unchanged", new, person.id, person.rev)
    txn = history.current_txn(session, actor)
    status = "updated"
    if person is None:
        person, status = Person(external_id=record.external_id, rev=1), "created"
        session.add(person)
        session.flush()
    else:
        person.rev += 1
    _write_version(session, person.id, new, txn.id)
    _write_lists(session, person.id, new, {c: u.id for c, u in units.items()}, txn.id)
    unit_ids = {u.id for u in units.values()}
    history.record_change(session, actor, entity="person", key=person.external_id,
                          op="create" if status == "created" else "update", record=new, unit_ids=unit_ids)
    return Outcome(status, new, person.id, person.rev)


def _not_found(external_id: str) -> NotFound:
    return NotFound(f"No person with external_id {external_id!r} in your org units", code="person_not_found")


def check_write_scope(session: Session, actor: Actor, person: Person | None, old: dict[str, Any] | None,
                      new: dict[str, Any]) -> None:
    """NotFound for a person outside the caller's read scope; OutOfScope for a change beyond its write scope."""
    allowed = tree.reach(session, actor)
    if allowed is None:
        return
    if person is not None and not in_scope(session, actor, person.id):
        raise _not_found(new["external_id"])
    ids = tree.unit_ids(session, write_scope.unit_codes_of(old, new))
    errs = write_scope.violations(old, new, allowed, ids, date.today())
    if errs:
        raise write_scope.OutOfScope(f"person {new['external_id']!r}: this write changes what your org units do not manage", errs)


def _write_version(session: Session, person_id: int, new: dict[str, Any], txn_id: int) -> None:
    current = session.scalar(select(PersonVersion).where(
        PersonVersion.person_id == person_id, PersonVersion.sys_to.is_(None)))
    attrs = version_attrs(new)
    if current is not None:
        if all(getattr(current, k) == v for k, v in attrs.items()):
            return
        retire(session, PersonVersion, [current.id], txn_id)
        session.flush()
    session.add(PersonVersion(person_id=person_id, name_search=fold(new["full_name"]), sys_from=txn_id, **attrs))


def version_attrs(new: dict[str, Any]) -> dict[str, Any]:
    """The person_version columns of a canonical record (its own attributes, dates as dates)."""
    dated = ("birth_date", "party_member_since", "party_member_until")
    return {k: (date.fromisoformat(new[k]) if new[k] else None) if k in dated else new[k] for k in OWN_ATTRS}


def _write_lists(session: Session, person_id: int, new: dict[str, Any], unit_ids: dict[str, int],
                 txn_id: int) -> None:
    for model, rows in diff_lists(session, [(person_id, new)], unit_ids, txn_id).items():
        insert_rows(session, model, rows)


def patch(session: Session, actor: Actor, external_id: str, payload: PersonPatch, book: CodeBook,
          *, if_match: int | None = None) -> Outcome:
    """Apply a partial update: fields and lists that are present replace, the rest stay."""
    history.lock_for_write(session)  # read the current record under the lock, or a concurrent write is undone
    person = get_or_raise(session, actor, external_id)
    current = build(session, {person.id: person.external_id})[person.id]
    merged = current | payload.model_dump(mode="json", exclude_unset=True)
    return upsert(session, actor, validate_record(merged), book, if_match=if_match)


def validate_record(data: dict[str, Any]) -> PersonRecord:
    """Shape-validate a record dict, turning pydantic errors into InvalidInput with fields."""
    from pydantic import ValidationError

    try:
        return PersonRecord.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("person record is invalid", errors=pydantic_errors(exc)) from None


def pydantic_errors(exc: Any) -> list[dict[str, str]]:
    """Pydantic errors as [{'field': 'employments[0].start', 'message': ...}]."""
    out = []
    for err in exc.errors():
        field = ""
        for part in err["loc"]:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field (not part of the interchange format)"
        elif err["type"] == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == CODE_PATTERN:
            message = (f"{str(err.get('input'))[:40]!r} is not a code: write the code of the list (letters, digits, "
                       "'_', '.', '-', e.g. female), or in a spreadsheet its name (e.g. Nữ); GET /api/v1/code-lists")
        out.append({"field": field or "(record)", "message": message})
    return out


def close(session: Session, actor: Actor, external_id: str, on: date, *, if_match: int | None = None) -> Outcome:
    """The person leaves on `on` (last day): employments, positions and seats end that day.

    A scoped writer ends only the employments, positions and seats at its own units (the person
    leaves *them*); those elsewhere are other units' to end.
    """
    history.lock_for_write(session)
    person = get_or_raise(session, actor, external_id)
    record = build(session, {person.id: person.external_id})[person.id]
    allowed = tree.reach(session, actor)
    ids = tree.unit_ids(session, write_scope.unit_codes_of(record)) if allowed is not None else {}
    ended = 0
    for name, ref in write_scope.ANCHORED.items():
        for item in record[name]:
            if allowed is not None and ids.get(item[ref]) not in allowed:
                continue  # a scoped writer ends what its own units manage; the rest is theirs to end
            if item["start"] > on.isoformat():
                raise Conflict(f"{name} starting {item['start']} begins after the leaving date {on}",
                               code="starts_after_close")
            if item["end"] is None or item["end"] > on.isoformat():
                item["end"] = on.isoformat()
                ended += 1
    if allowed is not None and not ended:
        raise Conflict(f"no employment, position or seat of {external_id!r} at your org units runs past {on}",
                       code="nothing_to_close")
    return upsert(session, actor, validate_record(record), _book(session), if_match=if_match)


def _book(session: Session) -> CodeBook:
    from app.services import codelists

    return codelists.load(session)


def read(session: Session, actor: Actor, external_id: str, *, cut: int | None = None) -> tuple[dict[str, Any], int]:
    """One person's record (now, or as recorded at transaction `cut`) and its revision."""
    found = read_one(session, external_id, cut)
    if found is None or not in_scope(session, actor, found.id, found.units, found.tree_version):
        raise _not_found(external_id)
    if found.record is None:
        raise NotFound(f"Person {external_id!r} was not yet recorded at that moment", code="person_not_found")
    return present(session, actor, {found.id: found.record}, action="read")[found.id], found.rev


def present(session: Session, actor: Actor, records: dict[int, dict[str, Any]], *, action: str) -> dict[int, dict[str, Any]]:
    """Records as the caller may see them: sensitive fields withheld or their read logged."""
    from app.services.person_records import redact

    if not actor.sees_sensitive:
        return {pid: redact(r) for pid, r in records.items()}
    audit.log_reads(session, actor, list(records), fields=",".join(SENSITIVE), action=action)
    return records


def list_page(session: Session, actor: Actor, *, org_unit: str | None, as_of: date | None, category: str | None,
              occupation: str | None, rank: str | None, q: str | None, after: str | None,
              limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Persons in external-id order, filtered; keyset-paged by external id."""
    stmt = select(Person.id, Person.external_id).order_by(Person.external_id).limit(limit + 1)
    if after:
        stmt = stmt.where(Person.external_id > after)
    if q:
        stmt = stmt.where(Person.id.in_(select(PersonVersion.person_id).where(
            PersonVersion.sys_to.is_(None), PersonVersion.name_search.contains(fold(q), autoescape=True))))
    emp: list[ColumnElement[bool]] = [Employment.sys_to.is_(None)]
    if as_of:
        emp += [Employment.start_date <= as_of, or_(Employment.end_date.is_(None), Employment.end_date >= as_of)]
    if category:
        emp.append(Employment.category == category)
    if occupation:
        emp.append(Employment.occupation == occupation)
    allowed = tree.reach(session, actor)
    if org_unit:
        emp.append(Employment.org_unit_id.in_(tree.subtree(tree.unit_id(session, org_unit), as_of or date.today())))
    if allowed is not None:
        emp.append(Employment.org_unit_id.in_(sorted(allowed)))
    if len(emp) > 1 or allowed is not None:
        stmt = stmt.where(Person.id.in_(select(Employment.person_id).where(and_(*emp))))
    if rank:
        pos: list[ColumnElement[bool]] = [Position.sys_to.is_(None), Position.rank == rank]
        if as_of:
            pos += [Position.start_date <= as_of, or_(Position.end_date.is_(None), Position.end_date >= as_of)]
        stmt = stmt.where(Person.id.in_(select(Position.person_id).where(and_(*pos))))
    rows = session.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    built = present(session, actor, build(session, {r.id: r.external_id for r in page}), action="list")
    return [built[r.id] for r in page if r.id in built], (page[-1].external_id if more and page else None)
