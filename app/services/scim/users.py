"""SCIM Users: read, create, replace, patch and delete registry persons, every write through app.services.persons."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from scim2_models import Context, InvalidValueException, PatchOp, PreconditionFailedException, UniquenessException
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, InvalidInput, not_writable
from app.services import codelists, history, persons, tree, write_scope
from app.services.context import Actor
from app.services.person_records import build
from app.services.scim import mapping, store, summary
from app.services.scim.models import EnterpriseUser, RegistryPerson, RegistrySummary, UserResource

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], payload: Any, ctx: Context) -> M:
    """A request body validated by scim2-models in its SCIM context (pydantic's ValidationError on failure)."""
    return model.model_validate(payload, scim_ctx=ctx)  # type: ignore[call-arg]


def render(session: Session, actor: Actor, rows: list[tuple[int, str, int, dict[str, Any]]],
           base_url: str) -> list[UserResource]:
    """Users for (person id, external id, revision, record) rows, in the same order."""
    today = date.today()
    book = codelists.load(session)
    units = summary.enterprise(session, {ext: rec for _, ext, _, rec in rows}, today)
    times = store.stamps(session, [pid for pid, *_ in rows])
    users = []
    for pid, ext, rev, rec in rows:
        created, modified = times.get(pid, (None, None))
        user = UserResource(id=ext, external_id=ext, user_name=ext, name=mapping.split_name(rec["full_name"]),
                            display_name=rec["full_name"], active=mapping.is_active(rec, today),
                            meta=mapping.meta(ext, rev, base_url, created, modified))
        user[RegistryPerson] = mapping.person_extension(rec)
        user[EnterpriseUser] = units[ext]
        user[RegistrySummary] = summary.qualifications(rec, book, today, sees_sensitive=actor.sees_sensitive)
        users.append(user)
    return users


def get(session: Session, actor: Actor, external_id: str, base_url: str) -> UserResource:
    """One User (its read of sensitive fields is logged, as for the REST API)."""
    person = store.visible(session, actor, external_id)
    record, rev = persons.read(session, actor, external_id)
    return render(session, actor, [(person.id, external_id, rev, record)], base_url)[0]


def create(session: Session, actor: Actor, payload: dict[str, Any], base_url: str) -> UserResource:
    """POST /Users: a new person (409 uniqueness when the external id is taken; a deleted one is re-provisioned).

    A userName taken by a person outside the caller's units answers 403 `not_writable`, word for word
    what a new person the caller may not write answers: neither tells whether that person exists.
    """
    user = parse(UserResource, payload, Context.RESOURCE_CREATION_REQUEST)
    _same_external_id(payload, user.user_name)
    history.lock_for_write(session)
    user_name = user.user_name or ""
    existing = persons.find(session, user_name)
    if existing is not None and not persons.in_scope(session, actor, existing.id):
        raise not_writable(user_name)  # the same answer as for a new person the caller may not write: no leak
    deleted = existing is not None and store.is_deleted(session, existing.external_id)
    if existing is not None and not deleted:
        raise UniquenessException(detail=f"userName {user_name!r}: a person with that external id exists")
    record = mapping.set_active(_record(user), bool(user.active), date.today())
    try:
        outcome = _write(session, actor, record, None)
    except Forbidden:
        raise not_writable(user_name) from None
    if deleted and outcome.status == "unchanged":
        store.mark(session, actor, store.RESTORED, outcome.record)
    return render(session, actor, [(outcome.person_id, outcome.record["external_id"], outcome.rev, outcome.record)],
                  base_url)[0]


def replace(session: Session, actor: Actor, external_id: str, payload: dict[str, Any], base_url: str,
            if_match: int | None) -> UserResource:
    """PUT /Users/{id}: every writable attribute replaced (one left out has no value afterwards)."""
    current = _current(session, actor, external_id, base_url, if_match)
    user = parse(UserResource, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    _same_external_id(payload, external_id)
    user.replace(current)
    record = mapping.set_active(_record(user), bool(user.active), date.today())
    return _written(session, actor, record, if_match, base_url)


def patch(session: Session, actor: Actor, external_id: str, payload: dict[str, Any], base_url: str,
          if_match: int | None) -> UserResource:
    """PATCH /Users/{id}: add/replace/remove operations applied by scim2-models, then one write."""
    current = _current(session, actor, external_id, base_url, if_match)
    operations = parse(PatchOp[UserResource], payload, Context.RESOURCE_PATCH_REQUEST)
    patched = current.model_copy(deep=True)
    if not operations.patch(patched):
        return current
    record = _record(patched)
    if patched.active != current.active:
        record = mapping.set_active(record, bool(patched.active), date.today())
    return _written(session, actor, record, if_match, base_url)


def delete(session: Session, actor: Actor, external_id: str, if_match: int | None) -> None:
    """DELETE /Users/{id}: the person leaves today (persons.close); SCIM answers 404 for them from now on.

    A scoped caller ends only what its units hold, as a REST close does. The person is deleted (404 to every
    caller) when the caller manages them (app.services.write_scope) and nothing of theirs runs on elsewhere; else
    they stay a User for every caller: one unit's leaving, a concurrent employment's unit or the managing unit while
    another still employs them, would otherwise hide from SCIM a person other units employ."""
    history.lock_for_write(session)
    person = store.visible(session, actor, external_id)
    _check_version(person.rev, if_match)
    record = build(session, {person.id: external_id})[person.id]
    manages = _manages(session, actor, record) and not _employed_elsewhere(session, actor, record)
    store.mark_transaction(session, actor, store.DELETED if manages else store.LEFT)
    try:
        outcome = persons.close(session, actor, external_id, date.today(), if_match=if_match)
    except Conflict as exc:  # nothing of the caller's runs past today: an inactive User, deleted if the caller manages it
        if exc.code != "nothing_to_close" or not manages:
            raise
        store.mark(session, actor, store.DELETED, build(session, {person.id: external_id})[person.id])
        return
    if outcome.status == "unchanged" and manages:
        store.mark(session, actor, store.DELETED, outcome.record)


def _employed_elsewhere(session: Session, actor: Actor, record: dict[str, Any]) -> bool:
    """Whether an employment of the person outside the caller's units runs past today (a close by the caller
    leaves it running)."""
    allowed = tree.reach(session, actor)
    if allowed is None:
        return False
    today = date.today().isoformat()
    running = {e["org_unit"] for e in record.get("employments") or [] if e.get("end") is None or e["end"] > today}
    ids = tree.unit_ids(session, running)
    return any(ids.get(code) not in allowed for code in running)


def _manages(session: Session, actor: Actor, record: dict[str, Any]) -> bool:
    """Whether the person's managing employment (app.services.write_scope) lies in the caller's units.

    A scoped caller deletes (hides from SCIM) only a User it manages: not one who moved on to other units.
    """
    allowed = tree.reach(session, actor)
    if allowed is None:
        return True
    unit = write_scope.managing_unit(record, date.today())
    return unit is not None and tree.unit_ids(session, {unit}).get(unit) in allowed


def _current(session: Session, actor: Actor, external_id: str, base_url: str, if_match: int | None) -> UserResource:
    """The User as it stands, read under the write lock (so that a concurrent write cannot be undone)."""
    history.lock_for_write(session)
    person = store.visible(session, actor, external_id)
    _check_version(person.rev, if_match)
    record = build(session, {person.id: external_id})[person.id]
    return render(session, actor, [(person.id, external_id, person.rev, record)], base_url)[0]


def _check_version(rev: int, if_match: int | None) -> None:
    if if_match is not None and if_match != rev:
        raise PreconditionFailedException(detail=f'the User has changed: its version is W/"{rev}", not W/"{if_match}"')


def _same_external_id(payload: dict[str, Any], user_name: str | None) -> None:
    """`externalId` is the registry's external id too: read only, but a client may repeat it."""
    given = payload.get("externalId")
    if given is not None and given != user_name:
        raise InvalidValueException(detail=f"externalId {given!r} differs from userName {user_name!r}: both are the "
                                           "registry's external id")


@contextmanager
def _named(record: dict[str, Any]) -> Iterator[None]:
    """A refusal of `record` (InvalidInput, 422 as on the REST API) names the SCIM attributes at fault."""
    try:
        yield
    except InvalidInput as exc:
        errors = [e | {"field": mapping.scim_field(e["field"], record)} for e in exc.errors]
        problems = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise InvalidInput(f"{exc.detail}: {problems}" if problems else exc.detail, errors=errors) from None


def _record(user: UserResource) -> dict[str, Any]:
    """The record a User written by a client stands for, its shape validated (every key there, dates real)."""
    record = mapping.record_of(user)
    with _named(record):
        return persons.validate_record(record).model_dump(mode="json")


def _write(session: Session, actor: Actor, record: dict[str, Any], if_match: int | None) -> persons.Outcome:
    with _named(record):
        return persons.upsert(session, actor, persons.validate_record(record), codelists.load(session), if_match=if_match)


def _written(session: Session, actor: Actor, record: dict[str, Any], if_match: int | None,
             base_url: str) -> UserResource:
    outcome = _write(session, actor, record, if_match)
    row = (outcome.person_id, outcome.record["external_id"], outcome.rev, outcome.record)
    return render(session, actor, [row], base_url)[0]
