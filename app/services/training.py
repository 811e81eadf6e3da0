"""Training records (planning.md, 'Training'): courses and enrolments, with history, scope and the awarded qualification.

A course belongs to the scope of its `org_unit`: a scoped writer creates or changes only the courses of its own
units. A course is read by those units and by the units below it (a province's course is where its communes send
their people). An enrolment belongs to its person: read where the person is read, written where the person's own
qualifications are written (`write_scope.managing_unit`), since completing it gives the person a qualification.

A completed enrolment whose course awards a qualification gives the person that qualification from
`completed_on`: a qualification row that names the course (`from_course`), exported in the person's record with
`from_enrolment`. `award` keeps it in step with the enrolment and the course: correcting the date corrects it,
reopening, failing or withdrawing the enrolment retires it, and a course that comes to award something else
changes it for every completed enrolment. The person's revision moves and the person's change goes to the feed.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.models import Course, Employment, Enrolment, OrgUnit, Person, PersonVersion, Qualification, Separation
from app.schemas.interchange import CourseRecord, EnrolmentRecord
from app.services import history, persons, tree, write_scope
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.person_records import SPECS, build, canonical_item
from app.services.versioning import current_or_at, retire

COURSE_CODED = {"kind": "course_kind", "mode": "training_mode", "funding": "funding_source"}
PERSON_OWN_KEY = "from_enrolment"


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _d(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


@dataclass
class Outcome:
    status: str  # created | updated | unchanged
    record: dict[str, Any]


# ───────────────────────── records ─────────────────────────

def canonical_awards(awards: dict[str, Any] | None) -> dict[str, Any] | None:
    """A course's award as stored and exported: the item in the person record's shape, without its date."""
    if not awards:
        return None
    (name, item), = awards.items()
    full = {**_item_defaults(name), **item, "awarded_on": "2000-01-01"}
    if name == "languages":
        full = persons.with_derived_levels([full])[0]  # a paper (IELTS 6.0) given for its level
    shaped = canonical_item(name, full)
    shaped.pop("awarded_on")
    return {name: shaped}


def _item_defaults(name: str) -> dict[str, Any]:
    """The optional fields of an item, as pydantic's JSON dump fills them (canonical_item reads every field)."""
    return {"degrees": {"field": None, "institution": None, "country": None},
            "languages": {"level": None, "fluent": None, "certificate": None, "score": None},
            "political_theory": {"equivalent": None}, "state_management": {},
            "specialties": {"field": None}, "it_skills": {"certificate": None}}[name]


def course_record(row: Course, unit_code: str) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "kind": row.kind, "provider": row.provider, "org_unit": unit_code,
            "start": _iso(row.start_date), "end": _iso(row.end_date), "hours": row.hours, "mode": row.mode,
            "country": row.country, "cost_per_person": row.cost_per_person, "funding": row.funding,
            "awards": row.awards}


def canonical_course(rec: CourseRecord) -> dict[str, Any]:
    data = rec.model_dump(mode="json")
    return {**{k: data[k] for k in ("code", "name", "kind", "provider", "org_unit", "start", "end", "hours", "mode",
                                    "country", "cost_per_person", "funding")},
            "awards": canonical_awards(data["awards"])}


def enrolment_record(row: Enrolment, external_id: str) -> dict[str, Any]:
    return {"person": external_id, "course": row.course, "status": row.status, "start": _iso(row.start_date),
            "expected_completion": _iso(row.expected_completion), "completed_on": _iso(row.completed_on),
            "decision": row.decision, "cost": row.cost, "commitment_until": _iso(row.commitment_until)}


def canonical_enrolment(rec: EnrolmentRecord) -> dict[str, Any]:
    data = rec.model_dump(mode="json")
    return {k: data[k] for k in ("person", "course", "status", "start", "expected_completion", "completed_on",
                                 "decision", "cost", "commitment_until")}


def enrolment_key(rec: dict[str, Any]) -> str:
    return f"{rec['person']}|{rec['course']}"


# ───────────────────────── validation ─────────────────────────

def course_problems(data: dict[str, Any], book: CodeBook) -> list[dict[str, str]]:
    """The code-list errors of a shape-valid course (JSON dump): kind, mode, funding, and the awarded level."""
    errs = []
    for fld, list_name in COURSE_CODED.items():
        msg = book.problem(list_name, data.get(fld))
        if msg:
            errs.append({"field": fld, "message": msg})
    for name, item in (data.get("awards") or {}).items():
        for fld, list_name, _on in persons.CODED.get(name, []):
            msg = book.problem(list_name, item.get(fld))
            if msg:
                errs.append({"field": f"awards.{name}.{fld}", "message": msg})
        if name == "languages":
            errs.extend({"field": f"awards.{name}.{e['field'].split('.', 1)[1]}", "message": e["message"]}
                        for e in persons.paper_problems([{**item, "awarded_on": "2000-01-01"}]))
    return errs


def enrolment_problems(data: dict[str, Any], book: CodeBook) -> list[dict[str, str]]:
    msg = book.problem("enrolment_status", data.get("status"))
    return [{"field": "status", "message": msg}] if msg else []


# ───────────────────────── scope ─────────────────────────

def course_reach(session: Session, actor: Actor) -> set[int] | None:
    """The units whose courses the caller reads: its reach and every unit above its own units (None: all)."""
    allowed = tree.reach(session, actor)
    if allowed is None:
        return None
    cached = actor.cache.get("course_reach")
    if isinstance(cached, set):
        return cached
    whole = tree.Tree(session)
    today = date.today()
    above = {a for code in actor.org_units if code in whole.by_code
             for a in whole.ancestors_on(whole.by_code[code], whole.last_day(whole.by_code[code], today))}
    result = allowed | above
    actor.cache["course_reach"] = result
    return result


def _unit(session: Session, code: str, field: str = "org_unit") -> int:
    uid = session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    if uid is None:
        raise InvalidInput(f"unknown org unit {code!r}", errors=[{"field": field, "message": f"unknown org unit {code!r}"}])
    return uid


def _course_in_write_scope(session: Session, actor: Actor, uid: int, code: str, what: str) -> None:
    allowed = tree.reach(session, actor)
    if allowed is not None and uid not in allowed:
        raise write_scope.OutOfScope(f"course {what}: org unit {code!r} is outside your org units", [
            {"field": "org_unit", "message": f"{code!r} is outside your org units: you create and change only the "
                                             "courses of your own units"}])


def _current_course(session: Session, code: str, cut: int | None = None) -> Course | None:
    return session.scalar(select(Course).where(Course.code == code, current_or_at(Course, cut)))


def _readable_course(session: Session, actor: Actor, code: str, cut: int | None = None) -> Course | None:
    row = _current_course(session, code, cut)
    allowed = course_reach(session, actor)
    if row is None or (allowed is not None and row.org_unit_id not in allowed):
        return None
    return row


# ───────────────────────── courses ─────────────────────────

def upsert_course(session: Session, actor: Actor, rec: CourseRecord, book: CodeBook, *,
                  create_only: bool = False) -> Outcome:
    """Create or replace a course; a course that comes to award something else re-awards its completed enrolments."""
    history.lock_for_write(session)
    new = canonical_course(rec)
    errs = course_problems(new, book)
    if errs:
        raise InvalidInput(f"course {rec.code!r} is invalid", errors=errs)
    uid = _unit(session, rec.org_unit)
    current = _current_course(session, rec.code)
    if current is not None:
        old_code = tree.unit_codes(session, {current.org_unit_id})[current.org_unit_id]
        allowed = course_reach(session, actor)
        if allowed is not None and current.org_unit_id not in allowed:
            raise InvalidInput(f"course code {rec.code!r} is taken", code="course_code_taken", errors=[
                {"field": "code", "message": f"{rec.code!r} is the code of a course you cannot see: codes are never reused"}])
        if create_only:
            raise Conflict(f"course {rec.code!r} exists; PUT replaces it", code="duplicate_code")
        _course_in_write_scope(session, actor, current.org_unit_id, old_code, f"{rec.code!r}")
        old = course_record(current, old_code)
        if old == new:
            return Outcome("unchanged", new)
    _course_in_write_scope(session, actor, uid, rec.org_unit, f"{rec.code!r}")
    txn = history.current_txn(session, actor)
    if current is not None:
        retire(session, Course, [current.id], txn.id)
        session.flush()
    session.add(Course(code=new["code"], name=new["name"], kind=new["kind"], provider=new["provider"], org_unit_id=uid,
                       start_date=_d(new["start"]), end_date=_d(new["end"]), hours=new["hours"], mode=new["mode"],
                       country=new["country"], cost_per_person=new["cost_per_person"], funding=new["funding"],
                       awards=new["awards"], sys_from=txn.id))
    session.flush()
    units = {uid} | ({current.org_unit_id} if current is not None else set())
    history.record_change(session, actor, entity="course", key=new["code"],
                          op="create" if current is None else "update", record=new, unit_ids=units)
    if current is not None and current.awards != new["awards"]:
        completed = list(session.scalars(select(Enrolment).where(
            Enrolment.course == new["code"], Enrolment.sys_to.is_(None), Enrolment.status == "completed")))
        _awards_in_write_scope(session, actor, rec.code, [e.person_id for e in completed])
        for enrolment in completed:
            award(session, actor, enrolment.person_id, new["code"])
    return Outcome("created" if current is None else "updated", new)


def read_course(session: Session, actor: Actor, code: str, cut: int | None = None) -> dict[str, Any]:
    row = _readable_course(session, actor, code, cut)
    if row is None:
        raise NotFound(f"No course {code!r} that your org units can see", code="course_not_found")
    return course_record(row, tree.unit_codes(session, {row.org_unit_id})[row.org_unit_id])


def patch_course(session: Session, actor: Actor, code: str, changes: dict[str, Any], book: CodeBook) -> Outcome:
    history.lock_for_write(session)
    current = read_course(session, actor, code)
    return upsert_course(session, actor, _validated(CourseRecord, current | changes | {"code": code}), book)


def _validated(model: Any, data: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{model.__name__} is invalid", errors=persons.pydantic_errors(exc)) from None


def _course_filters(stmt: Any, *, org_unit: str | None, kind: str | None, year: int | None) -> Any:
    if org_unit:
        stmt = stmt.where(OrgUnit.code == org_unit)
    if kind:
        stmt = stmt.where(Course.kind == kind)
    if year:
        first, last = date(year, 1, 1), date(year, 12, 31)
        stmt = stmt.where(or_(Course.start_date.is_(None), Course.start_date <= last),
                          or_(Course.end_date.is_(None), Course.end_date >= first),
                          or_(Course.start_date.is_not(None), Course.end_date.is_not(None)))
    return stmt


def list_courses(session: Session, actor: Actor, *, org_unit: str | None, kind: str | None, year: int | None,
                 cut: int | None, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Courses in code order, filtered by unit, kind and a year they run in; keyset-paged by code."""
    stmt = (select(Course, OrgUnit.code).join(OrgUnit, OrgUnit.id == Course.org_unit_id)
            .where(current_or_at(Course, cut)).order_by(Course.code).limit(limit + 1))
    stmt = _course_filters(stmt, org_unit=org_unit, kind=kind, year=year)
    if after:
        stmt = stmt.where(Course.code > after)
    allowed = course_reach(session, actor)
    if allowed is not None:
        stmt = stmt.where(Course.org_unit_id.in_(sorted(allowed)))
    rows = session.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    return [course_record(c, u) for c, u in page], (page[-1][0].code if more and page else None)


# ───────────────────────── enrolments ─────────────────────────

def _person_for_enrolment(session: Session, actor: Actor, external_id: str) -> Person:
    person = persons.find(session, external_id)
    if person is None or not persons.in_scope(session, actor, person.id):
        raise InvalidInput(f"unknown person {external_id!r}", code="unknown_person", errors=[
            {"field": "person", "message": f"no person with external_id {external_id!r} in your org units"}])
    return person


def _awards_in_write_scope(session: Session, actor: Actor, code: str, person_ids: list[int]) -> None:
    """A course's new award changes the qualifications of everyone who completed it: refused whole when one of
    them is kept by a unit outside the caller's (who is not named: the caller may not be able to read them)."""
    allowed = tree.reach(session, actor)
    if allowed is None or not person_ids:
        return
    people = dict(session.execute(select(Person.id, Person.external_id).where(Person.id.in_(person_ids))).all())
    records = build(session, people)
    keepers = {pid: write_scope.managing_unit(r, date.today()) for pid, r in records.items()}
    ids = tree.unit_ids(session, {k for k in keepers.values() if k})
    if any(k is None or ids.get(k) not in allowed for k in keepers.values()):  # not how many: some are not readable
        raise write_scope.OutOfScope(f"course {code!r}: its award is held by persons outside your org units", [
            {"field": "awards", "message": "persons who completed this course have their qualifications kept outside "
                                           "your org units: changing what it awards would change theirs; their units "
                                           "or an administrator may change it"}])


def _enrolment_write_scope(session: Session, actor: Actor, person: Person) -> None:
    """An enrolment is written where the person's own qualifications are (it may award one)."""
    allowed = tree.reach(session, actor)
    if allowed is None:
        return
    record = build(session, {person.id: person.external_id})[person.id]
    keeper = write_scope.managing_unit(record, date.today())
    keeper_id = tree.unit_ids(session, {keeper}).get(keeper) if keeper else None
    if keeper_id not in allowed:
        raise enrolment_out_of_scope(person.external_id, keeper)


def enrolment_out_of_scope(external_id: str, keeper: str | None) -> write_scope.OutOfScope:
    """The refusal of an enrolment of a person whose qualifications are kept by a unit outside the caller's."""
    where = f"the unit of their primary employment ({keeper!r})" if keeper else "an administrator"
    return write_scope.OutOfScope(f"person {external_id!r}: enrolments are kept by {where}", [
        {"field": "person", "message": f"the person's enrolments and qualifications are kept by {where}, which is "
                                       "outside your org units"}])


def deaths(session: Session, person_ids: list[int]) -> dict[int, date]:
    """The day of death of those of these persons who died (a separation for `death`; a person dies once)."""
    if not person_ids:
        return {}
    return dict(session.execute(select(Separation.person_id, func.min(Separation.on_date)).where(
        Separation.person_id.in_(person_ids), Separation.reason == "death", Separation.sys_to.is_(None))
        .group_by(Separation.person_id)).all())


def enrolment_refusal(new: dict[str, Any], book: CodeBook, *, known: bool, course_found: bool,
                      birth: date | None, death: date | None = None) -> InvalidInput | None:
    """Why an enrolment (canonical) cannot be written, told from what was looked up for it; None when it can."""
    errs = enrolment_problems(new, book)
    if not known:
        errs.append({"field": "person", "message": f"no person with external_id {new['person']!r} in your org units"})
    if not course_found:
        errs.append({"field": "course", "message": f"no course with code {new['course']!r} that your org units can see"})
    if known and new["completed_on"] and birth is not None and new["completed_on"] < birth.isoformat():
        errs.append({"field": "completed_on", "message": f"{new['completed_on']} is before the birth date {birth}"})
    if known and new["completed_on"] and death is not None and new["completed_on"] > death.isoformat():
        errs.append({"field": "completed_on", "message": f"{new['completed_on']} is after the death on {death}"})
    if not errs:
        return None
    code = "unknown_person" if not known else ("unknown_course" if not course_found else "invalid_input")
    return InvalidInput(f"enrolment {new['person']!r} in {new['course']!r} is invalid", code=code, errors=errs)


def upsert_enrolment(session: Session, actor: Actor, rec: EnrolmentRecord, book: CodeBook, *,
                     create_only: bool = False) -> Outcome:
    """Create or update the enrolment of (person, course); the qualification it awards follows it."""
    history.lock_for_write(session)
    new = canonical_enrolment(rec)
    person = persons.find(session, rec.person)
    known = person is not None and persons.in_scope(session, actor, person.id)
    course = _readable_course(session, actor, rec.course)
    birth = death = None
    if known and new["completed_on"]:
        assert person is not None
        birth = session.scalar(select(PersonVersion.birth_date).where(
            PersonVersion.person_id == person.id, PersonVersion.sys_to.is_(None)))
        death = deaths(session, [person.id]).get(person.id)
    refused = enrolment_refusal(new, book, known=known, course_found=course is not None, birth=birth, death=death)
    if refused is not None:
        raise refused
    assert person is not None and course is not None
    current = session.scalar(select(Enrolment).where(
        Enrolment.person_id == person.id, Enrolment.course == rec.course, Enrolment.sys_to.is_(None)))
    if current is not None and create_only:
        raise Conflict(f"{rec.person!r} is enrolled in {rec.course!r} already; PUT replaces it", code="duplicate_enrolment")
    if current is not None and enrolment_record(current, rec.person) == new:
        return Outcome("unchanged", new)
    _enrolment_write_scope(session, actor, person)
    txn = history.current_txn(session, actor)
    if current is not None:
        retire(session, Enrolment, [current.id], txn.id)
        session.flush()
    session.add(Enrolment(person_id=person.id, course=new["course"], status=new["status"], start_date=_d(new["start"]),
                          expected_completion=_d(new["expected_completion"]), completed_on=_d(new["completed_on"]),
                          decision=new["decision"], cost=new["cost"], commitment_until=_d(new["commitment_until"]),
                          sys_from=txn.id))
    session.flush()
    history.record_change(session, actor, entity="enrolment", key=enrolment_key(new),
                          op="create" if current is None else "update", record=new,
                          unit_ids=_person_units(session, person.id))
    award(session, actor, person.id, rec.course)
    return Outcome("created" if current is None else "updated", new)


def _person_units(session: Session, person_id: int) -> set[int]:
    return set(session.scalars(select(Employment.org_unit_id).where(
        Employment.person_id == person_id, Employment.sys_to.is_(None))))


def awarded_item(enrolment: Enrolment | None, course: Course | None) -> tuple[str, dict[str, Any]] | None:
    """(list name, item) of the qualification a completed enrolment awards, as the person record holds it."""
    if enrolment is None or course is None:
        return None
    return award_of(enrolment.status, enrolment.completed_on, course.code, course.awards)


def award_of(status: str, completed_on: date | None, course_code: str,
             awards: dict[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """(list name, item) that an enrolment of this status awards in a course awarding `awards` (None: nothing)."""
    if status != "completed" or not awards:
        return None
    (name, item), = awards.items()
    assert completed_on is not None
    full = canonical_item(name, {**_item_defaults(name), **item, "awarded_on": completed_on.isoformat()})
    return name, full | {PERSON_OWN_KEY: course_code}


def award_in_step(wanted: tuple[str, dict[str, Any]] | None, held: list[Qualification], course_code: str) -> bool:
    """Whether the qualifications held from this course are already the one the enrolment awards (or none, as wanted)."""
    if wanted is not None and len(held) == 1:
        spec = SPECS[wanted[0]]
        return spec.qual_kind == held[0].kind and spec.to_item(held[0], {}) | {PERSON_OWN_KEY: course_code} == wanted[1]
    return wanted is None and not held


def award(session: Session, actor: Actor, person_id: int, course_code: str) -> bool:
    """Bring the qualification the person's enrolment in this course awards in step with it; whether it changed."""
    enrolment = session.scalar(select(Enrolment).where(
        Enrolment.person_id == person_id, Enrolment.course == course_code, Enrolment.sys_to.is_(None)))
    wanted = awarded_item(enrolment, _current_course(session, course_code))
    held = list(session.scalars(select(Qualification).where(
        Qualification.person_id == person_id, Qualification.from_course == course_code, Qualification.sys_to.is_(None))))
    if award_in_step(wanted, held, course_code):
        return False
    txn = history.current_txn(session, actor)
    retire(session, Qualification, [q.id for q in held], txn.id)
    if wanted is not None:
        name, item = wanted
        spec = SPECS[name]
        columns = spec.to_columns({k: v for k, v in item.items() if k != PERSON_OWN_KEY}, {})
        session.add(Qualification(person_id=person_id, kind=spec.qual_kind, from_course=course_code, sys_from=txn.id,
                                  **columns))
    session.flush()
    person = session.get(Person, person_id)
    assert person is not None
    person.rev += 1
    record = build(session, {person_id: person.external_id})[person_id]
    history.record_change(session, actor, entity="person", key=person.external_id, op="update", record=record,
                          unit_ids=_person_units(session, person_id))
    return True


def read_enrolment(session: Session, actor: Actor, external_id: str, course: str,
                   cut: int | None = None) -> dict[str, Any]:
    person = persons.find(session, external_id)
    row = None
    if person is not None and persons.in_scope(session, actor, person.id):
        row = session.scalar(select(Enrolment).where(Enrolment.person_id == person.id, Enrolment.course == course,
                                                     current_or_at(Enrolment, cut)))
    if row is None:
        raise NotFound(f"No enrolment of {external_id!r} in {course!r} in your org units", code="enrolment_not_found")
    return enrolment_record(row, external_id)


def patch_enrolment(session: Session, actor: Actor, external_id: str, course: str, changes: dict[str, Any],
                    book: CodeBook) -> Outcome:
    history.lock_for_write(session)
    current = read_enrolment(session, actor, external_id, course)
    merged = current | changes | {"person": external_id, "course": course}
    return upsert_enrolment(session, actor, _validated(EnrolmentRecord, merged), book)


def _in_person_scope(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    allowed = tree.reach(session, actor)
    if allowed is None:
        return None
    return Enrolment.person_id.in_(select(Employment.person_id).where(
        Employment.sys_to.is_(None), Employment.org_unit_id.in_(sorted(allowed))))


def list_enrolments(session: Session, actor: Actor, *, person: str | None, course: str | None, status: str | None,
                    org_unit: str | None, year: int | None, cut: int | None, after: str | None,
                    limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Enrolments in (person, course) order, filtered; keyset-paged by `person|course`."""
    stmt = (select(Enrolment, Person.external_id).join(Person, Person.id == Enrolment.person_id)
            .where(current_or_at(Enrolment, cut)).order_by(Person.external_id, Enrolment.course).limit(limit + 1))
    if person:
        stmt = stmt.where(Person.external_id == person)
    if course:
        stmt = stmt.where(Enrolment.course == course)
    if status:
        stmt = stmt.where(Enrolment.status == status)
    if year:
        first, last = date(year, 1, 1), date(year, 12, 31)
        stmt = stmt.where(or_(and_(Enrolment.start_date >= first, Enrolment.start_date <= last),
                              and_(Enrolment.completed_on >= first, Enrolment.completed_on <= last),
                              and_(Enrolment.expected_completion >= first, Enrolment.expected_completion <= last)))
    if org_unit:
        uid = tree.unit_id(session, org_unit)
        stmt = stmt.where(Enrolment.person_id.in_(select(Employment.person_id).where(
            Employment.sys_to.is_(None), Employment.org_unit_id.in_(tree.subtree(uid, date.today())))))
    scope = _in_person_scope(session, actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if after:
        ext, _, crs = after.partition("|")
        stmt = stmt.where(or_(Person.external_id > ext, and_(Person.external_id == ext, Enrolment.course > crs)))
    rows = session.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    nxt = f"{page[-1][1]}|{page[-1][0].course}" if more and page else None
    return [enrolment_record(e, x) for e, x in page], nxt


# ───────────────────────── exports ─────────────────────────

CHUNK = 500


def export_courses(session: Session, actor: Actor, cut: int | None) -> Any:
    allowed = course_reach(session, actor)
    stmt = (select(Course, OrgUnit.code).join(OrgUnit, OrgUnit.id == Course.org_unit_id)
            .where(current_or_at(Course, cut)).order_by(Course.code))
    if allowed is not None:
        stmt = stmt.where(Course.org_unit_id.in_(sorted(allowed)))
    for row, code in session.execute(stmt).yield_per(CHUNK):
        yield course_record(row, code)


def export_enrolments(session: Session, actor: Actor, cut: int | None) -> Any:
    stmt = (select(Enrolment, Person.external_id).join(Person, Person.id == Enrolment.person_id)
            .where(current_or_at(Enrolment, cut)).order_by(Person.external_id, Enrolment.course))
    scope = _in_person_scope(session, actor)
    if scope is not None:
        stmt = stmt.where(scope)
    for row, external_id in session.execute(stmt).yield_per(CHUNK):
        yield enrolment_record(row, external_id)


