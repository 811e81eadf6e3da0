"""The batch path of person imports (bench F1): one batch of records in a few set-based statements.

`persons.upsert` writes one record in about twenty statements; an import of a million persons
cannot afford that. Here a batch of shape-valid records is checked in Python against what a few
queries fetched for the whole batch (the units it names, the persons that exist, their current
records), and what changed is written with one multi-row INSERT per table. The result is the same,
row for row and change for change, as writing the records one by one: the same validation
(`persons.problems`), the same scope rule, the same canonical record, the same history and feed.

All-or-nothing per record still holds: a record that fails validation is reported and left out
before anything is written, and if the database refuses the batch's writes (a constraint this
code does not check itself), the savepoint is rolled back and the batch is written again record
by record through `persons.upsert`, so that only the offending records fail.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.models import Employment, Person, PersonVersion
from app.schemas.interchange import PersonRecord
from app.services import batch, history, persons, tree, write_scope
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.imports import refusal
from app.services.person_records import build, diff_lists, keep_awarded, without_awarded
from app.services.text import fold
from app.services.versioning import among, insert_rows, next_ids, retire

VERSION_ATTRS = persons.OWN_ATTRS


@dataclass
class Item:
    """One record of the batch, with the line it came from."""

    line: int
    record: PersonRecord
    data: dict[str, Any] | None = None  # its JSON dump without awarded items, and its canonical form, when the
    canonical: dict[str, Any] | None = None  # import computed them ahead (imports.parse_batch)


@dataclass
class Failure:
    line: int
    key: str
    errors: list[dict[str, Any]]
    code: str


@dataclass
class _Planned:
    item: Item
    data: dict[str, Any]  # canonical record
    units: dict[str, int]  # code -> id of every unit the record names
    person_id: int | None  # None: a new person
    status: str  # created | updated


def write(session: Session, actor: Actor, items: list[Item], book: CodeBook,
          on_status: Callable[[int, str], None], on_failure: Callable[[Failure], None]) -> None:
    """Write a batch; report each record's status (created, updated, unchanged) or its failure.

    A person twice in one batch is written record by record: the second line must see the first."""
    def done(plans: list[_Planned]) -> None:
        for p in plans:
            on_status(p.item.line, p.status)

    batch.write(session, items, [i.record.external_id for i in items],
                plan=lambda: _plan(session, actor, items, book, on_status, on_failure),
                apply=lambda plans: _apply(session, actor, plans), item_of=lambda p: p.item,
                one_by_one=lambda some: _one_by_one(session, actor, some, book, on_status, on_failure), done=done)


def _one_by_one(session: Session, actor: Actor, items: list[Item], book: CodeBook,
                on_status: Callable[[int, str], None], on_failure: Callable[[Failure], None]) -> None:
    for item in items:
        savepoint = session.begin_nested()
        try:
            status = persons.upsert(session, actor, item.record, book).status
            savepoint.commit()
        except (DomainError, DBAPIError) as exc:
            savepoint.rollback()
            code, errors = refusal(exc)
            on_failure(Failure(item.line, item.record.external_id, errors, code))
            continue
        on_status(item.line, status)


def _plan(session: Session, actor: Actor, items: list[Item], book: CodeBook,
          on_status: Callable[[int, str], None], on_failure: Callable[[Failure], None]) -> list[_Planned]:
    """Validate the batch against what a few queries fetched; the records that need writing."""
    dumped = [(i, i.data if i.data is not None else without_awarded(i.record.model_dump(mode="json"))) for i in items]
    units = persons.unit_index(session, set().union(*(persons.referenced_units(d) for _i, d in dumped)))
    existing = {p.external_id: p for p in session.scalars(
        select(Person).where(among(session, Person.external_id, [i.record.external_id for i in items])))}
    current = build(session, {p.id: p.external_id for p in existing.values()})
    allowed = tree.reach(session, actor)
    in_reach: set[int] = set()
    ids: dict[str, int] = {}
    if allowed is not None:
        if existing:
            in_reach = set(session.scalars(select(Employment.person_id).where(
                Employment.person_id.in_([p.id for p in existing.values()]), Employment.sys_to.is_(None),
                Employment.org_unit_id.in_(sorted(allowed)))))
        ids = tree.unit_ids(session, write_scope.unit_codes_of(*current.values(), *(d for _i, d in dumped)))
    plans: list[_Planned] = []
    for item, data in dumped:
        key = item.record.external_id
        errs = persons.problems(data, book, units)
        if errs:
            on_failure(Failure(item.line, key, errs, "invalid_input"))
            continue
        person = existing.get(key)
        old = current.get(person.id) if person is not None else None
        ready = item.canonical if item.canonical is not None else persons.canonical(data)
        new = keep_awarded(old, persons.reopen_moved_separations(old, ready))
        if late := persons.awarded_after_death(new):
            on_failure(Failure(item.line, key, late, "invalid_input"))
            continue
        if allowed is not None:
            if person is not None and person.id not in in_reach:
                on_failure(Failure(item.line, key, [{"field": None, "message":
                                   f"No person with external_id {key!r} in your org units"}], "person_not_found"))
                continue
            beyond = write_scope.violations(old, new, allowed, ids, date.today())
            if beyond:
                on_failure(Failure(item.line, key, beyond, "out_of_scope"))
                continue
        if person is not None and old == new:
            on_status(item.line, "unchanged")
            continue
        plans.append(_Planned(item, new, {c: units[c].id for c in persons.referenced_units(data)},
                              person.id if person else None,
                              "updated" if person else "created"))
    return plans


def _version_row(person_id: int, new: dict[str, Any], txn_id: int) -> dict[str, Any]:
    return {"person_id": person_id, "sys_from": txn_id, "name_search": fold(new["full_name"]),
            **persons.version_attrs(new)}


def _apply(session: Session, actor: Actor, plans: list[_Planned]) -> None:
    """Write the planned records: persons, versions, nested rows, changes; a few statements per table."""
    txn = history.current_txn(session, actor)
    created = [p for p in plans if p.person_id is None]
    if created:
        for p, person_id in zip(created, next_ids(session, "person", "id", len(created)), strict=True):
            p.person_id = person_id
        insert_rows(session, Person, [{"id": p.person_id, "external_id": p.data["external_id"], "rev": 1}
                                       for p in created])
    updated = [p for p in plans if p.status == "updated"]
    unit_ids = {code: uid for p in plans for code, uid in p.units.items()}  # the plan looked them up
    versions: list[dict[str, Any]] = [_version_row(p.person_id, p.data, txn.id) for p in created]  # type: ignore[arg-type]
    if updated:
        upd_ids = [p.person_id for p in updated]
        session.execute(update(Person).where(Person.id.in_(upd_ids)).values(rev=Person.rev + 1)
                        .execution_options(synchronize_session=False))
        cur_versions = {v.person_id: v for v in session.scalars(select(PersonVersion).where(
            PersonVersion.person_id.in_(upd_ids), PersonVersion.sys_to.is_(None)))}
        retired_versions = []
        for p in updated:
            wanted = _version_row(p.person_id, p.data, txn.id)  # type: ignore[arg-type]
            cur = cur_versions.get(p.person_id)  # type: ignore[arg-type]
            if cur is None or any(getattr(cur, k) != wanted[k] for k in VERSION_ATTRS):
                if cur is not None:
                    retired_versions.append(cur.id)
                versions.append(wanted)
        retire(session, PersonVersion, retired_versions, txn.id)
    insert_rows(session, PersonVersion, versions)
    nested = diff_lists(session, [(p.person_id, p.data) for p in plans], unit_ids, txn.id,  # type: ignore[misc]
                        created={p.person_id for p in created})  # type: ignore[misc]
    for model, new_rows in nested.items():
        insert_rows(session, model, new_rows)
    _record_changes(session, txn, plans)
    session.expire_all()  # Person.rev and every retired row were changed behind the ORM's back


def _record_changes(session: Session, txn: Any, plans: list[_Planned]) -> None:
    """One feed entry per written record, in line order, chained as `history.record_change` chains them."""
    batch.record_entries(session, txn, [batch.Entry("person", p.data["external_id"],
                                                    "create" if p.status == "created" else "update", p.data,
                                                    set(p.units.values()))
                                        for p in plans])
