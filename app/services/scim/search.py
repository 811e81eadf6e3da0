"""Listing Users: the filter (parsed by scim2-models) narrowed in SQL, decided exactly, then sorted and paged.

Comparisons on the external id (id, userName, externalId, employeeNumber) and on `active` become SQL.
Names narrow the candidates through the folded name index; anything else is decided by scim2-models'
own evaluation on the rendered Users, over at most MAX_CANDIDATES persons (more: 400 tooMany).

A filter that reads a sensitive attribute (the person extension's ethnicity, national id, party membership
and disciplines, which hold the party's, or the summary's `partyMember`) discloses it for every person it
was decided on, matched or not, even when no User is returned (`count=0` and `totalResults` alone
answer "has this person that ethnicity?"): each of them gets an access-log row. A value holding a
control character, or a `startIndex` beyond what the database can count, is refused (400).
"""

from datetime import date
from typing import Any

from scim2_models import InvalidFilterException, InvalidValueException, ListResponse, SearchRequest, TooManyException
from scim2_models.path import AttrPath, Comparison, FilterVisitor, LogicalExpr, LogicalOperator, Not, Present, ValuePath
from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true
from sqlalchemy.orm import Session

from app.models import Employment, Person, PersonVersion
from app.services import audit, persons
from app.services.context import Actor
from app.services.person_records import SENSITIVE, build, redact
from app.services.scim import store, users
from app.services.scim.models import ENTERPRISE_URN, PERSON_URN, SUMMARY_URN, USER_URN, UserResource
from app.services.text import fold

DEFAULT_COUNT = 100
MAX_COUNT = 200
MAX_CANDIDATES = 2000
KEY_ATTRS = {f"{USER_URN}:{a}".lower() for a in ("id", "userName", "externalId")} | {f"{ENTERPRISE_URN}:employeeNumber".lower()}
NAME_ATTRS = {f"{USER_URN}:{a}".lower() for a in ("displayName", "name", "name.familyName", "name.givenName",
                                                    "name.middleName")}
ALWAYS = KEY_ATTRS | {f"{USER_URN}:{a}".lower() for a in ("active", "name", "name.familyName", "displayName")}
SENSITIVE_ATTRS = {f"{PERSON_URN}:{a}".lower() for a in ("ethnicity", "nationalId", "partyMembership", "disciplines")} | {
    f"{SUMMARY_URN}:partyMember".lower()}
MAX_START = 2**63 - 1  # the largest row offset PostgreSQL and SQLite take (a bigint)
Clause = tuple[ColumnElement[bool], bool]  # (SQL condition, whether it decides exactly or only narrows)


def is_sensitive(key: str) -> bool:
    """Whether an attribute (an attr_key) is a sensitive attribute or one of its sub-attributes."""
    return any(key == attr or key.startswith(f"{attr}.") for attr in SENSITIVE_ATTRS)


def attr_key(path: AttrPath | str) -> str:
    """'userName', 'urn:...:User:userName' -> one lower-case key."""
    text = str(path)
    return (text if text.lower().startswith("urn:") else f"{USER_URN}:{text}").lower()


class SqlFilter(FilterVisitor[Clause]):
    """A filter as an SQL condition on Person that selects a superset of its matches (exactly, where it can)."""

    def __init__(self, dialect: str, today: date):
        self.bytewise = dialect == "postgresql"
        self.today = today

    def key_column(self) -> Any:
        return Person.external_id.collate("C") if self.bytewise else Person.external_id

    def visit_comparison(self, node: Comparison) -> Clause:
        key, value = attr_key(node.attr_path), node.value
        if key in KEY_ATTRS and isinstance(value, str):
            return self._compare_key(node.op.value, value)
        if key == f"{USER_URN}:active" and isinstance(value, bool) and node.op.value in ("eq", "ne"):
            return (_active(self.today) if value == (node.op.value == "eq") else not_(_active(self.today))), True
        if key in NAME_ATTRS and isinstance(value, str) and node.op.value in ("eq", "co", "sw", "ew"):
            return Person.id.in_(select(PersonVersion.person_id).where(
                PersonVersion.sys_to.is_(None), PersonVersion.name_search.contains(fold(value), autoescape=True))), False
        return true(), False

    def _compare_key(self, op: str, value: str) -> Clause:
        col = self.key_column()
        exact_like = self.bytewise  # SQLite's LIKE ignores case: there it only narrows
        match op:
            case "eq":
                return Person.external_id == value, True
            case "ne":
                return Person.external_id != value, True
            case "co":
                return col.contains(value, autoescape=True), exact_like
            case "sw":
                return col.startswith(value, autoescape=True), exact_like
            case "ew":
                return col.endswith(value, autoescape=True), exact_like
            case "gt":
                return col > value, True
            case "ge":
                return col >= value, True
            case "lt":
                return col < value, True
            case _:
                return col <= value, True

    def visit_present(self, node: Present) -> Clause:
        return true(), attr_key(node.attr_path) in ALWAYS

    def visit_not(self, node: Not) -> Clause:
        clause, exact = self.visit(node.expr)
        return (not_(clause), True) if exact else (true(), False)

    def visit_logical_expr(self, node: LogicalExpr) -> Clause:
        parts = [self.visit(term) for term in node.terms]
        join = and_ if node.op == LogicalOperator.and_ else or_
        return join(*(c for c, _ in parts)), all(e for _, e in parts)

    def visit_value_path(self, node: ValuePath) -> Clause:
        return true(), False


class Reads(FilterVisitor[None]):
    """What a filter reads: its attributes (as attr_key keys) and its string values."""

    def __init__(self) -> None:
        self.attrs: set[str] = set()
        self.values: list[str] = []

    def visit_comparison(self, node: Comparison) -> None:
        self.attrs.add(attr_key(node.attr_path))
        if isinstance(node.value, str):
            self.values.append(node.value)

    def visit_present(self, node: Present) -> None:
        self.attrs.add(attr_key(node.attr_path))

    def visit_not(self, node: Not) -> None:
        self.visit(node.expr)

    def visit_logical_expr(self, node: LogicalExpr) -> None:
        for term in node.terms:
            self.visit(term)

    def visit_value_path(self, node: ValuePath) -> None:
        self.attrs.add(attr_key(node.attr_path))
        self.visit(node.val_filter)


def _control(text: str) -> str | None:
    """The first control character (C0, DEL, C1) of a text, as U+XXXX, or None."""
    for char in text:
        if ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            return f"U+{ord(char):04X}"
    return None


def checked_reads(request: "SearchRequest[Any]") -> Reads:
    """What the request's filter reads; InvalidValue/InvalidFilter (400) for what the database cannot take."""
    if request.start_index is not None and request.start_index > MAX_START:
        raise InvalidValueException(detail=f"startIndex {request.start_index} is beyond the last possible result "
                                           f"({MAX_START})")
    reads = Reads()
    if request.filter is not None:
        reads.visit(request.filter.ast)
    for value in reads.values:
        char = _control(value)
        if char is not None:
            raise InvalidFilterException(detail=f"the filter value {value[:40]!r} holds the control character {char}: "
                                                "control characters are not accepted")
    return reads


def _active(today: date) -> ColumnElement[bool]:
    return Person.id.in_(select(Employment.person_id).where(
        Employment.sys_to.is_(None), or_(Employment.end_date.is_(None), Employment.end_date > today)))


def search(session: Session, actor: Actor, request: "SearchRequest[Any]", base_url: str) -> "ListResponse[Any]":
    """One page of the Users the caller may see that match the request."""
    reads = checked_reads(request)
    today = date.today()
    sql = SqlFilter(session.get_bind().dialect.name, today)
    where, exact = sql.visit(request.filter.ast) if request.filter is not None else (true(), True)
    conds = [*store.in_view(session, actor), where]
    start = request.start_index or 1
    count = min(DEFAULT_COUNT if request.count is None else request.count, MAX_COUNT)
    sort_key = attr_key(str(request.sort_by)) if request.sort_by is not None else None
    sensitive = any(is_sensitive(key) for key in reads.attrs | {sort_key or ""}) and actor.sees_sensitive
    if exact and (sort_key is None or sort_key in KEY_ATTRS):
        total, page = _sql_page(session, actor, conds, sql, request, (start, count, sort_key), base_url)
    else:
        total, page = _python_page(session, actor, conds, request, start, count, base_url, sensitive)
    return ListResponse[UserResource](total_results=total, start_index=start, items_per_page=len(page),
                                       resources=page if count else None)


def _sql_page(session: Session, actor: Actor, conds: list[ColumnElement[bool]], sql: SqlFilter,
              request: "SearchRequest[Any]", window: tuple[int, int, str | None], base_url: str) -> tuple[int, list[Any]]:
    start, count, sort_key = window
    total = session.scalar(select(func.count()).select_from(Person).where(*conds)) or 0
    if count == 0:
        return total, []
    order = sql.key_column() if sort_key else Person.external_id
    order = order.desc() if request.sort_order is not None and request.sort_order.value == "descending" else order.asc()
    rows = session.execute(select(Person.id, Person.external_id, Person.rev).where(*conds)
                           .order_by(order).offset(start - 1).limit(count)).all()
    return total, _render(session, actor, rows, base_url)


def _python_page(session: Session, actor: Actor, conds: list[ColumnElement[bool]], request: "SearchRequest[Any]",
                 start: int, count: int, base_url: str, sensitive: bool) -> tuple[int, list[Any]]:
    rows = session.execute(select(Person.id, Person.external_id, Person.rev).where(*conds)
                           .order_by(Person.external_id).limit(MAX_CANDIDATES + 1)).all()
    if len(rows) > MAX_CANDIDATES:
        raise TooManyException(detail=f"the filter leaves more than {MAX_CANDIDATES} candidates to examine: narrow it "
                                      "with userName, externalId, active or a name")
    records = build(session, {r.id: r.external_id for r in rows})
    seen = records if actor.sees_sensitive else {pid: redact(r) for pid, r in records.items()}
    candidates = users.render(session, actor, [(r.id, r.external_id, r.rev, seen[r.id]) for r in rows], base_url)
    matched = [u for u in candidates if request.filter is None or request.filter.match(u)]
    if sensitive:  # decided on each candidate's sensitive data: a non-match discloses as much as a match
        audit.log_reads(session, actor, [r.id for r in rows], fields=",".join(SENSITIVE), action="scim_filter",
                        detail=f"{len(matched)} of {len(rows)} matched: {request.filter}"[:500])
    ordered = request.sort(matched)
    page = ordered[start - 1:start - 1 + count]
    _log_reads(session, actor, {r.id: records[r.id] for r in rows if r.external_id in {u.id for u in page}})
    return len(matched), page


def _render(session: Session, actor: Actor, rows: Any, base_url: str) -> list[Any]:
    records = build(session, {r.id: r.external_id for r in rows})
    shown = persons.present(session, actor, records, action="list")
    return users.render(session, actor, [(r.id, r.external_id, r.rev, shown[r.id]) for r in rows], base_url)


def _log_reads(session: Session, actor: Actor, records: dict[int, dict[str, Any]]) -> None:
    persons.present(session, actor, records, action="list")
