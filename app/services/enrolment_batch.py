"""The batch path of enrolment imports: one batch of enrolments in a few set-based statements.

`training.upsert_enrolment` writes one enrolment in about ten statements, and a completion that awards a
qualification rebuilds the person's record on top (bench: 42 enrolments/s). Here a few queries fetch, for the
whole batch, the persons (with their units, for scope), the courses, the current enrolments, the qualifications
the enrolments awarded and the birth dates; each record is checked in Python by the same rules
(`training.enrolment_refusal`, `training.enrolment_out_of_scope`, `training.award_in_step`); what changed is
written with one COPY (SQLite: one executemany) per table. The feed gets, in line order, each enrolment's
change and, when the awarded qualification changed, the person's change with the whole record as it then
stood (the records are built once for the batch and the awards applied to them line by line) and the
person's revision moves once per such change. The result is that of writing the lines one by one.

All-or-nothing per record: a record that fails is reported and left out before anything is written; a batch
the database refuses is rolled back and written again record by record. A batch that names the same
(person, course) twice is written record by record, so that the second line sees the first.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.models import Course, Employment, Enrolment, Person, PersonVersion, Qualification
from app.schemas.interchange import AWARD_LISTS, EnrolmentRecord
from app.services import batch, history, training, tree, write_scope
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.imports import refusal
from app.services.person_records import SPECS, build, sort_items
from app.services.versioning import among, insert_rows, retire

Award = tuple[str, dict[str, Any]] | None


@dataclass
class Item:
    """One record of the batch, with the line it came from."""

    line: int
    record: EnrolmentRecord


OnStatus = Callable[[Item, str], None]
OnFailure = Callable[[Item, str, list[dict[str, Any]]], None]  # item, error code, [{field, message}]


@dataclass
class _Known:
    """What the batch's records name, fetched once."""

    persons: dict[str, tuple[int, str]]  # external_id -> (id, external_id)
    units: dict[int, set[int]]  # person id -> units of their current employments
    births: dict[int, date]
    deaths: dict[int, date]
    courses: dict[str, Course]
    enrolments: dict[tuple[int, str], Enrolment]
    held: dict[tuple[int, str], list[Qualification]]
    allowed: set[int] | None  # the caller's reach (None: everywhere)
    course_reach: set[int] | None


@dataclass
class _Planned:
    item: Item
    new: dict[str, Any]  # canonical enrolment
    person_id: int
    current: Enrolment | None
    wanted: Award
    held: list[Qualification]
    awards: bool  # whether the awarded qualification changes
    units: set[int]  # the units of the person's current employments: those the feed entries concern
    record: dict[str, Any] | None = field(default=None)  # the person's record after this line, when `awards`


def write(session: Session, actor: Actor, items: list[Item], book: CodeBook, on_status: OnStatus,
          on_failure: OnFailure) -> None:
    """Write a batch; report each record's status (created, updated, unchanged) or its failure.

    A (person, course) twice in one batch is written record by record: the second line must see the first."""
    def done(plans: list[_Planned]) -> None:
        for p in plans:
            on_status(p.item, "created" if p.current is None else "updated")

    batch.write(session, items, [(i.record.person, i.record.course) for i in items],
                plan=lambda: _plan(session, actor, items, book, on_status, on_failure),
                apply=lambda plans: _apply(session, actor, plans), item_of=lambda p: p.item,
                one_by_one=lambda some: one_by_one(session, actor, some, book, on_status, on_failure), done=done)


def one_by_one(session: Session, actor: Actor, items: list[Item], book: CodeBook, on_status: OnStatus,
               on_failure: OnFailure) -> None:
    """Each record in its own savepoint through `training.upsert_enrolment` (the record-by-record path)."""
    for item in items:
        savepoint = session.begin_nested()
        try:
            status = training.upsert_enrolment(session, actor, item.record, book).status
            savepoint.commit()
        except (DomainError, DBAPIError) as exc:
            savepoint.rollback()
            on_failure(item, *refusal(exc))
            continue
        on_status(item, status)


# ───────────────────────── planning ─────────────────────────

def _fetch(session: Session, actor: Actor, items: list[Item]) -> _Known:
    """The persons, units, birth dates, courses, enrolments and awarded qualifications the batch names."""
    persons = {ext: (pid, ext) for pid, ext in session.execute(select(Person.id, Person.external_id).where(
        among(session, Person.external_id, sorted({i.record.person for i in items}))))}
    ids = sorted(pid for pid, _ext in persons.values())
    codes = sorted({i.record.course for i in items})
    units: dict[int, set[int]] = {pid: set() for pid in ids}
    for pid, uid in session.execute(select(Employment.person_id, Employment.org_unit_id).where(
            among(session, Employment.person_id, ids), Employment.sys_to.is_(None))):
        units[pid].add(uid)
    births = dict(session.execute(select(PersonVersion.person_id, PersonVersion.birth_date).where(
        among(session, PersonVersion.person_id, ids), PersonVersion.sys_to.is_(None))).all())
    courses = {c.code: c for c in session.scalars(select(Course).where(
        among(session, Course.code, codes), Course.sys_to.is_(None)))}
    enrolments = {(e.person_id, e.course): e for e in session.scalars(select(Enrolment).where(
        among(session, Enrolment.person_id, ids), among(session, Enrolment.course, codes), Enrolment.sys_to.is_(None)))}
    held: dict[tuple[int, str], list[Qualification]] = {}
    for q in session.scalars(select(Qualification).where(
            among(session, Qualification.person_id, ids), among(session, Qualification.from_course, codes),
            Qualification.sys_to.is_(None)).order_by(Qualification.id)):
        held.setdefault((q.person_id, q.from_course or ""), []).append(q)
    return _Known(persons, units, births, training.deaths(session, ids), courses, enrolments, held,
                  tree.reach(session, actor),
                  training.course_reach(session, actor))


def _checked(known: _Known, item: Item, book: CodeBook) -> tuple[int, dict[str, Any]] | DomainError:
    """(person id, canonical enrolment) of a record that passes the rules, or why it does not."""
    rec = item.record
    new = training.canonical_enrolment(rec)
    person = known.persons.get(rec.person)
    is_known = person is not None and (known.allowed is None or bool(known.allowed & known.units[person[0]]))
    course = known.courses.get(rec.course)
    found = course is not None and (known.course_reach is None or course.org_unit_id in known.course_reach)
    dated = person is not None and is_known and new["completed_on"]
    birth = known.births.get(person[0]) if dated and person is not None else None
    death = known.deaths.get(person[0]) if dated and person is not None else None
    refused = training.enrolment_refusal(new, book, known=is_known, course_found=found, birth=birth, death=death)
    if refused is not None:
        return refused
    assert person is not None
    return person[0], new


def _plan(session: Session, actor: Actor, items: list[Item], book: CodeBook, on_status: OnStatus,
          on_failure: OnFailure) -> list[_Planned]:
    """Validate the batch against what a few queries fetched; the records that need writing, in line order."""
    known = _fetch(session, actor, items)
    candidates: list[_Planned] = []
    for item in items:
        checked = _checked(known, item, book)
        if isinstance(checked, DomainError):
            on_failure(item, *refusal(checked))
            continue
        pid, new = checked
        current = known.enrolments.get((pid, item.record.course))
        if current is not None and training.enrolment_record(current, item.record.person) == new:
            on_status(item, "unchanged")
            continue
        course = known.courses[item.record.course]
        wanted = training.award_of(item.record.status, item.record.completed_on, course.code, course.awards)
        held = known.held.get((pid, course.code), [])
        candidates.append(_Planned(item, new, pid, current, wanted, held,
                                   not training.award_in_step(wanted, held, course.code), known.units[pid]))
    records = build(session, {p.person_id: p.item.record.person for p in candidates
                              if known.allowed is not None or p.awards})
    plans = _in_write_scope(session, known.allowed, candidates, records, on_failure)
    _follow_awards(plans, records)
    return plans


def _in_write_scope(session: Session, allowed: set[int] | None, candidates: list[_Planned],
                    records: dict[int, dict[str, Any]], on_failure: OnFailure) -> list[_Planned]:
    """The plans whose person's qualifications the caller keeps (`training._enrolment_write_scope`); the rest reported."""
    if allowed is None:
        return candidates
    keepers = {p.person_id: write_scope.managing_unit(records[p.person_id], date.today()) for p in candidates}
    ids = tree.unit_ids(session, {k for k in keepers.values() if k})
    kept = []
    for p in candidates:
        keeper = keepers[p.person_id]
        if (ids.get(keeper) if keeper else None) in allowed:
            kept.append(p)
        else:
            on_failure(p.item, *refusal(training.enrolment_out_of_scope(p.item.record.person, keeper)))
    return kept


def _follow_awards(plans: list[_Planned], records: dict[int, dict[str, Any]]) -> None:
    """The person's record after each line that changes an award, in line order (what `build` reads after it)."""
    for p in plans:
        if not p.awards:
            continue
        record = dict(records[p.person_id])
        code = p.item.record.course
        for name in AWARD_LISTS:
            items = [i for i in record[name] if i.get(training.PERSON_OWN_KEY) != code]
            if p.wanted is not None and p.wanted[0] == name:
                items.append(p.wanted[1])
            if items != record[name] or (p.wanted is not None and p.wanted[0] == name):
                record[name] = sort_items(name, items)
        records[p.person_id] = p.record = record


# ───────────────────────── writing ─────────────────────────

def _enrolment_row(p: _Planned, txn_id: int) -> dict[str, Any]:
    r = p.item.record
    return {"person_id": p.person_id, "course": r.course, "status": r.status, "start_date": r.start,
            "expected_completion": r.expected_completion, "completed_on": r.completed_on, "decision": r.decision,
            "cost": r.cost, "commitment_until": r.commitment_until, "sys_from": txn_id, "sys_to": None}


def _qualification_row(p: _Planned, txn_id: int) -> dict[str, Any]:
    assert p.wanted is not None
    name, item = p.wanted
    spec = SPECS[name]
    columns = spec.to_columns({k: v for k, v in item.items() if k != training.PERSON_OWN_KEY}, {})
    return {"person_id": p.person_id, "kind": spec.qual_kind, "from_course": p.item.record.course, "sys_from": txn_id,
            "sys_to": None, **columns}


def _apply(session: Session, actor: Actor, plans: list[_Planned]) -> None:
    """Write the planned enrolments, their awards, the persons' revisions and the feed; a few statements per table."""
    txn = history.current_txn(session, actor)
    retire(session, Enrolment, [p.current.id for p in plans if p.current is not None], txn.id)
    insert_rows(session, Enrolment, [_enrolment_row(p, txn.id) for p in plans])
    awarding = [p for p in plans if p.awards]
    retire(session, Qualification, [q.id for p in awarding for q in p.held], txn.id)
    insert_rows(session, Qualification, [_qualification_row(p, txn.id) for p in awarding if p.wanted is not None])
    moves = Counter(p.person_id for p in awarding)
    for times in sorted(set(moves.values())):
        session.execute(update(Person).where(Person.id.in_(sorted(pid for pid, n in moves.items() if n == times)))
                        .values(rev=Person.rev + times).execution_options(synchronize_session=False))
    _record_changes(session, txn, plans)
    session.expire_all()  # Person.rev and every retired row were changed behind the ORM's back


def _record_changes(session: Session, txn: Any, plans: list[_Planned]) -> None:
    """The feed entries in line order (an enrolment's, then its person's), chained as `history.record_change` does."""
    entries: list[batch.Entry] = []
    for p in plans:
        entries.append(batch.Entry("enrolment", training.enrolment_key(p.new), "create" if p.current is None else "update",
                                   p.new, p.units))
        if p.record is not None:
            entries.append(batch.Entry("person", p.item.record.person, "update", p.record, p.units))
    batch.record_entries(session, txn, entries)
