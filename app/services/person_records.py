"""Conversion between person rows and interchange records (the lossless JSON form)."""

import json
from collections import defaultdict, namedtuple
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import Boolean, Date, Integer, String, bindparam, func, inspect, select
from sqlalchemy.orm import Session

from app.models import (
    Discipline,
    Employment,
    Membership,
    OrgUnit,
    Person,
    PersonVersion,
    Position,
    Qualification,
    Separation,
)
from app.schemas.interchange import AWARD_LISTS, PERSON_LISTS
from app.services.tree import unit_codes, version_columns
from app.services.versioning import current_or_at, retire

SENSITIVE = ("ethnicity", "national_id", "party_member_since", "party_member_until")


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _d(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


@dataclass(frozen=True)
class ListSpec:
    """How one nested list maps to rows: its model, qualification kind and item <-> columns."""

    name: str
    model: Any
    qual_kind: str | None
    to_item: Callable[[Any, dict[int, str]], dict[str, Any]]
    to_columns: Callable[[dict[str, Any], dict[str, int]], dict[str, Any]]
    date_key: str


def _level_spec(name: str, kind: str) -> ListSpec:
    return ListSpec(name, Qualification, kind,
                    lambda r, _u: {"level": r.code, "awarded_on": _iso(r.awarded_on)},
                    lambda i, _u: {"code": i["level"], "awarded_on": _d(i["awarded_on"])}, "awarded_on")


def _language_item(r: Qualification, _u: dict[int, str]) -> dict[str, Any]:
    item: dict[str, Any] = {"language": r.language, "kind": r.language_kind}
    if r.language_kind == "foreign":
        item |= {"level": r.level_num, "certificate": r.certificate}
        if r.score is not None:
            item["score"] = r.score
    else:
        item["fluent"] = r.is_fluent
        if r.certificate is not None:
            item["certificate"] = r.certificate
    item["awarded_on"] = _iso(r.awarded_on)
    return item


SPECS: dict[str, ListSpec] = {s.name: s for s in (
    ListSpec("employments", Employment, None,
             lambda r, u: {"org_unit": u[r.org_unit_id], "category": r.category, "occupation": r.occupation,
                           "primary": r.is_primary, "start": _iso(r.start_date), "end": _iso(r.end_date)},
             lambda i, u: {"org_unit_id": u[i["org_unit"]], "category": i["category"],
                           "occupation": i["occupation"], "is_primary": i["primary"],
                           "start_date": _d(i["start"]), "end_date": _d(i["end"])}, "start"),
    ListSpec("positions", Position, None,
             lambda r, u: {"org_unit": u[r.org_unit_id], "title": r.title, "rank": r.rank,
                           "key_leader": r.key_leader, "start": _iso(r.start_date), "end": _iso(r.end_date)},
             lambda i, u: {"org_unit_id": u[i["org_unit"]], "title": i["title"], "rank": i["rank"],
                           "key_leader": i["key_leader"], "start_date": _d(i["start"]),
                           "end_date": _d(i["end"])}, "start"),
    ListSpec("memberships", Membership, None,
             lambda r, u: {"body": u[r.body_id], "role": r.role, "start": _iso(r.start_date),
                           "end": _iso(r.end_date)},
             lambda i, u: {"body_id": u[i["body"]], "role": i["role"], "start_date": _d(i["start"]),
                           "end_date": _d(i["end"])}, "start"),
    ListSpec("degrees", Qualification, "degree",
             lambda r, _u: {"level": r.code, "field": r.field, "institution": r.institution,
                            "country": r.country, "awarded_on": _iso(r.awarded_on)},
             lambda i, _u: {"code": i["level"], "field": i["field"], "institution": i["institution"],
                            "country": i["country"], "awarded_on": _d(i["awarded_on"])}, "awarded_on"),
    ListSpec("languages", Qualification, "language", _language_item,
             lambda i, _u: {"language": i["language"], "language_kind": i["kind"], "level_num": i.get("level"),
                            "is_fluent": i.get("fluent"), "certificate": i.get("certificate"), "score": i.get("score"),
                            "awarded_on": _d(i["awarded_on"])}, "awarded_on"),
    ListSpec("political_theory", Qualification, "political_theory",
             lambda r, _u: {"level": r.code, "awarded_on": _iso(r.awarded_on),
                            **({"equivalent": True} if r.is_equivalent else {})},
             lambda i, _u: {"code": i["level"], "awarded_on": _d(i["awarded_on"]),
                            "is_equivalent": True if i.get("equivalent") else None}, "awarded_on"),
    _level_spec("state_management", "state_management"),
    ListSpec("specialties", Qualification, "specialty",
             lambda r, _u: {"level": r.code, "field": r.field, "awarded_on": _iso(r.awarded_on)},
             lambda i, _u: {"code": i["level"], "field": i["field"], "awarded_on": _d(i["awarded_on"])},
             "awarded_on"),
    ListSpec("academic_titles", Qualification, "academic_title",
             lambda r, _u: {"title": r.code, "field": r.field, "awarded_on": _iso(r.awarded_on)},
             lambda i, _u: {"code": i["title"], "field": i["field"], "awarded_on": _d(i["awarded_on"])},
             "awarded_on"),
    ListSpec("it_skills", Qualification, "it_skill",
             lambda r, _u: {"level": r.code, "certificate": r.certificate, "awarded_on": _iso(r.awarded_on)},
             lambda i, _u: {"code": i["level"], "certificate": i["certificate"],
                            "awarded_on": _d(i["awarded_on"])}, "awarded_on"),
    ListSpec("trainings", Qualification, "training",
             lambda r, _u: {"course": r.course, "hours": r.hours, "completed_on": _iso(r.awarded_on)},
             lambda i, _u: {"course": i["course"], "hours": i["hours"], "awarded_on": _d(i["completed_on"])},
             "completed_on"),
    ListSpec("separations", Separation, None,
             lambda r, _u: {"on": _iso(r.on_date), "reason": r.reason},
             lambda i, _u: {"on_date": _d(i["on"]), "reason": i["reason"]}, "on"),
    ListSpec("disciplines", Discipline, None,
             lambda r, _u: {"form": r.form, "start": _iso(r.start_date), "end": _iso(r.end_date)},
             lambda i, _u: {"form": i["form"], "start_date": _d(i["start"]), "end_date": _d(i["end"])}, "start"),
)}
assert tuple(SPECS) == PERSON_LISTS
QUAL_LISTS = {s.qual_kind: s for s in SPECS.values() if s.qual_kind}
# the tables of a person's nested lists (every one transaction-time), and the list each table holds
LIST_TABLES = (Employment, Position, Membership, Qualification, Separation, Discipline)
TABLE_LISTS = {s.model.__tablename__: s.name for s in SPECS.values() if s.qual_kind is None}


def without_awarded(record: dict[str, Any]) -> dict[str, Any]:
    """A record sent to the registry without the qualifications it says enrolments awarded (`from_enrolment`):
    those are written by the enrolments (training.award), and an export sent back must not make them the person's own."""
    out = dict(record)
    for name in AWARD_LISTS:
        if out.get(name):
            out[name] = [i for i in out[name] if not (isinstance(i, dict) and i.get("from_enrolment") is not None)]
    return out


def keep_awarded(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The new canonical record with the qualifications enrolments awarded, as the old record holds them.

    An item of the new record equal to an awarded one but for its origin (a client that does not know
    `from_enrolment`, SCIM, sends the record back as it read it) is that awarded item, not a new item of the
    person's own, unless the person held that same item of their own already.
    """
    if old is None:
        return new
    out = dict(new)
    for name in AWARD_LISTS:
        awarded = [i for i in old.get(name) or [] if "from_enrolment" in i]
        if not awarded:
            continue
        bare = {item_key({k: v for k, v in i.items() if k != "from_enrolment"}) for i in awarded}
        own_before = {item_key(i) for i in old.get(name) or [] if "from_enrolment" not in i}
        own = [i for i in new[name] if item_key(i) not in bare or item_key(i) in own_before]
        out[name] = sort_items(name, [*own, *awarded])
    return out


# json.dumps with arguments builds an encoder per call; an item's key is taken about 26 times per person imported
_ITEM_KEY = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


def item_key(item: dict[str, Any]) -> str:
    """The item as JSON text with its keys sorted: what dedupes, orders and diffs the items of a list."""
    return _ITEM_KEY(item)


def sort_items(name: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in a stable order (by date, then content); duplicates dropped."""
    if len(items) < 2:  # nothing to order or drop: most lists of most records (their keys were 20 % of an import's JSON)
        return list(items)
    unique = {item_key(i): i for i in items}
    date_key = SPECS[name].date_key
    return [unique[k] for k in sorted(unique, key=lambda k: (unique[k][date_key] or "", k))]


def canonical_item(name: str, item: dict[str, Any]) -> dict[str, Any]:
    """A validated item (pydantic JSON dump) in the shape the registry stores and exports."""
    spec = SPECS[name]
    row = SimpleNamespace(**spec.to_columns(item, _Identity()))
    return spec.to_item(row, _Identity())


class _Identity(dict[Any, Any]):
    def __missing__(self, key: Any) -> Any:
        return key


def base_fields(v: PersonVersion, external_id: str) -> dict[str, Any]:
    return {"external_id": external_id, "full_name": v.full_name, "birth_date": _iso(v.birth_date),
            "gender": v.gender, "ethnicity": v.ethnicity, "national_id": v.national_id,
            "party_member_since": _iso(v.party_member_since), "party_member_until": _iso(v.party_member_until),
            "general_education": v.general_education}


def current_rows(session: Session, person_ids: list[int], cut: int | None = None) -> dict[str, list[Any]]:
    """Rows of every nested list for these persons, as recorded now or at `cut`."""
    out: dict[str, list[Any]] = {}
    if not person_ids:
        return {model.__tablename__: [] for model in LIST_TABLES}
    for model in LIST_TABLES:
        out[model.__tablename__] = list(session.scalars(
            select(model).where(model.person_id.in_(person_ids), current_or_at(model, cut))
            .order_by(model.id)))
    return out


def build(session: Session, external_ids: dict[int, str], cut: int | None = None) -> dict[int, dict[str, Any]]:
    """Interchange records of these persons (id -> record), now or at transaction `cut`."""
    ids = list(external_ids)
    if not ids:
        return {}
    versions = {v.person_id: v for v in session.scalars(
        select(PersonVersion).where(PersonVersion.person_id.in_(ids), current_or_at(PersonVersion, cut)))}
    rows = current_rows(session, ids, cut)
    return assemble(external_ids, versions, rows, unit_codes(session, unit_ids_of(rows)))


class OneRecord(NamedTuple):
    """A person found by external id: its id, revision, the units of its current employments (for the scope
    check), and its record now or at the cut (None if it was not yet recorded then)."""

    id: int
    rev: int
    units: set[int] | None  # None when read at a cut: the scope check reads the current employments itself
    record: dict[str, Any] | None
    tree_version: tuple[int, str] | None = None  # tree.version, read in the same statement (for tree.reach)


def _decoder(column: Any) -> Callable[[Any], Any] | None:
    """How a column's value comes back from JSON: dates as ISO text, booleans as 0/1 on SQLite."""
    if isinstance(column.type, Date):
        return _d
    if isinstance(column.type, Boolean):
        return lambda v: None if v is None else bool(v)
    if isinstance(column.type, Integer | String):
        return None
    raise TypeError(f"{column}: no JSON decoding for {column.type!r}")  # a new column type: decide here


@dataclass(frozen=True)
class _Packed:
    """One table's rows packed into JSON arrays inside the statement of `read_one`, and unpacked as rows with the
    mapped attributes (what `assemble` takes); a row naming a unit carries the unit's code as its last element."""

    model: Any
    row: Any  # a named tuple of the mapped attributes
    columns: tuple[Any, ...]
    decoders: tuple[tuple[int, Callable[[Any], Any]], ...]
    unit: int | None  # the position of the unit's id among the columns

    @classmethod
    def of(cls, model: Any, unit_key: str | None = None) -> "_Packed":
        attrs = [a for a in inspect(model).column_attrs if a.key not in ("sys_from", "sys_to")]
        keys = [a.key for a in attrs]
        decoders = tuple((i, d) for i, a in enumerate(attrs) if (d := _decoder(a.columns[0])) is not None)
        return cls(model, namedtuple(model.__tablename__, keys),
                   tuple(getattr(model, k) for k in keys), decoders, None if unit_key is None else keys.index(unit_key))

    def array(self, dialect: str) -> Any:
        values = list(self.columns)
        if self.unit is not None:
            values.append(select(OrgUnit.code).where(OrgUnit.id == self.columns[self.unit]).scalar_subquery())
        return (func.json_build_array if dialect == "postgresql" else func.json_array)(*values)

    def rows(self, packed: list[list[Any]] | None, codes: dict[int, str]) -> list[Any]:
        out = []
        width, unit = len(self.columns), self.unit
        for values in packed or ():
            if unit is not None:
                codes[values[unit]] = values[width]
                values = values[:width]
            for i, decode in self.decoders:
                values[i] = decode(values[i])
            out.append(self.row._make(values))
        return out


_VERSION = _Packed.of(PersonVersion)
_LISTS = (_Packed.of(Employment, "org_unit_id"), _Packed.of(Position, "org_unit_id"), _Packed.of(Membership, "body_id"),
          _Packed.of(Qualification), _Packed.of(Separation), _Packed.of(Discipline))
assert tuple(p.model for p in _LISTS) == LIST_TABLES


def read_one(session: Session, external_id: str, cut: int | None = None) -> OneRecord | None:
    """One person's record in one statement (GET /persons/{id}): what `build` gives for the one person, with its
    version, its six lists and the codes of the units they name packed as JSON by the database, where `build`
    sends nine statements (bench/findings.md F23)."""
    conn = session.connection()
    sql, order = _read_one_sql(conn.dialect, cut is not None)
    values = {"external_id": external_id, "cut": cut}
    found = conn.exec_driver_sql(sql, tuple(values[n] for n in order) if order else values).one_or_none()
    if found is None:
        return None
    person_id, rev, tree_seq, tree_hash, *packed = found
    version, *lists = (json.loads(v) if isinstance(v, str) else v for v in packed)
    tree_version = (int(tree_seq), str(tree_hash)) if tree_seq is not None else (0, "")  # as tree.version gives it
    codes: dict[int, str] = {}
    rows = {spec.model.__tablename__: spec.rows(value, codes) for spec, value in zip(_LISTS, lists, strict=True)}
    units = None if cut is not None else {r.org_unit_id for r in rows["employment"]}
    if version is None:
        return OneRecord(person_id, rev, units, None, tree_version)
    versions = {person_id: _VERSION.rows([version], codes)[0]}
    return OneRecord(person_id, rev, units, assemble({person_id: external_id}, versions, rows, codes)[person_id],
                     tree_version)


@lru_cache(maxsize=8)
def _read_one_sql(dialect: Any, at_cut: bool) -> tuple[str, tuple[str, ...] | None]:
    """`read_one`'s statement compiled once per engine: SQLAlchemy would otherwise walk its tree of seven
    subqueries on every execution to find it in its cache (a fifth of a read's CPU in SQLAlchemy, F23). The SQL
    text, and the order of its parameters where the driver's are positional (SQLite)."""
    postgres = dialect.name == "postgresql"
    group = func.json_agg if postgres else func.json_group_array
    cut = bindparam("cut", type_=Integer)

    def packed(spec: _Packed, aggregate: bool) -> Any:
        value = spec.array(dialect.name)
        return select(group(value) if aggregate else value).where(
            spec.model.person_id == Person.id, current_or_at(spec.model, cut if at_cut else None)).scalar_subquery()

    stmt = select(Person.id, Person.rev, *version_columns(), packed(_VERSION, False),
                  *(packed(spec, True) for spec in _LISTS)).where(
        Person.external_id == bindparam("external_id", type_=String))
    compiled = stmt.compile(dialect=dialect)
    return compiled.string, (tuple(compiled.positiontup or ()) if compiled.positional else None)


def unit_ids_of(rows: dict[str, list[Any]]) -> set[int]:
    """The units that persons' list rows name (employments' and positions' units, memberships' bodies)."""
    return {r.org_unit_id for r in rows["employment"] + rows["position"]} | {r.body_id for r in rows["membership"]}


def assemble(external_ids: dict[int, str], versions: dict[int, Any], rows: dict[str, list[Any]],
             codes: dict[int, str]) -> dict[int, dict[str, Any]]:
    """Interchange records from persons' current version rows and list rows (by table, in id order) and the codes
    of the units they name; any row with the columns as attributes will do (ORM rows, or psycopg's named tuples in
    bench/floor.py)."""
    lists: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {n: [] for n in PERSON_LISTS})
    for table, name in TABLE_LISTS.items():
        for r in rows[table]:
            lists[r.person_id][name].append(SPECS[name].to_item(r, codes))
    for r in rows["qualification"]:
        spec = QUAL_LISTS[r.kind]
        item = spec.to_item(r, codes)
        if r.from_course is not None:
            item["from_enrolment"] = r.from_course  # awarded by the completed enrolment in this course
        lists[r.person_id][spec.name].append(item)
    out: dict[int, dict[str, Any]] = {}
    for pid, v in versions.items():
        record = base_fields(v, external_ids[pid])
        for name in PERSON_LISTS:
            record[name] = sort_items(name, lists[pid][name])
        out[pid] = record
    return out


PARTY_DISCIPLINES = frozenset({"khai_tru"})  # expulsion from the Party: its date is the end of party membership
REDACTED = [*SENSITIVE, "disciplines.party"]  # what a caller without sensitive reads is told was withheld


def redact(record: dict[str, Any]) -> dict[str, Any]:
    """The record without the sensitive fields, saying which were withheld (the same list for every record,
    so that the list itself tells nothing): party membership is withheld in its dates and in the party's
    disciplines, which would give it away."""
    out = {k: v for k, v in record.items() if k not in SENSITIVE}
    if "disciplines" in out:
        out["disciplines"] = [d for d in out["disciplines"] or [] if d["form"] not in PARTY_DISCIPLINES]
    out["redacted"] = list(REDACTED)
    return out


def diff_lists(session: Session, people: list[tuple[int, dict[str, Any]]], unit_ids: dict[str, int],
               txn_id: int, created: Collection[int] = ()) -> dict[Any, list[dict[str, Any]]]:
    """Retire the nested rows these persons' new records (canonical) no longer hold; the rows to insert, by model.

    `unit_ids` maps every unit code the new records name to its id; `created` are persons made in this
    transaction, who have no rows yet to read. Retirements are done here, before the caller inserts, so
    that the no-overlap guard on primary employments sees the new state.
    """
    rows = current_rows(session, [pid for pid, _new in people if pid not in created])
    codes = {v: k for k, v in unit_ids.items()} | unit_codes(session, unit_ids_of(rows))
    by_person: dict[tuple[str, int], list[Any]] = {}
    for table, table_rows in rows.items():
        for r in table_rows:
            by_person.setdefault((table, r.person_id), []).append(r)
    retired: dict[Any, list[int]] = {}
    inserts: dict[Any, list[dict[str, Any]]] = {}
    for pid, new in people:
        for name, spec in SPECS.items():
            extra = {"kind": spec.qual_kind} if spec.qual_kind else {}
            if pid in created:  # nothing to diff against; a canonical record's items are unique already
                inserts.setdefault(spec.model, []).extend(
                    {"person_id": pid, "sys_from": txn_id, **extra, **spec.to_columns(i, unit_ids)}
                    for i in new[name] if "from_enrolment" not in i)
                continue
            # a qualification awarded by an enrolment is the enrolment's to write (training.award), not the record's
            have = {item_key(spec.to_item(r, codes)): r.id for r in by_person.get((spec.model.__tablename__, pid), [])
                    if spec.qual_kind is None or (r.kind == spec.qual_kind and r.from_course is None)}
            wanted = {item_key(i): i for i in new[name] if "from_enrolment" not in i}
            retired.setdefault(spec.model, []).extend(rid for k, rid in have.items() if k not in wanted)
            inserts.setdefault(spec.model, []).extend(
                {"person_id": pid, "sys_from": txn_id, **extra, **spec.to_columns(i, unit_ids)}
                for k, i in wanted.items() if k not in have)
    for model, row_ids in retired.items():
        retire(session, model, row_ids, txn_id)
    return inserts
