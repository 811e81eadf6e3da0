"""Code lists: seeded from app/data/codelists.yaml and training_codelists.yaml, served with labels, used for validation."""

import hashlib
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import CodeItem

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Code:
    code: str
    vi: str
    en: str
    ord: int | None
    is_minority: bool | None
    is_body: bool
    valid_from: date | None
    valid_to: date | None


class CodeBook:
    """Every code list, loaded once per use case, to check and order coded values."""

    def __init__(self, items: list[CodeItem]):
        self.lists: dict[str, dict[str, Code]] = {}
        for item in items:
            self.lists.setdefault(item.list_name, {})[item.code] = Code(
                item.code, item.vi, item.en, item.ord, item.is_minority, item.is_body,
                item.valid_from, item.valid_to)
        content = sorted((name, code, repr(item)) for name, codes in self.lists.items() for code, item in codes.items())
        self.digest = hashlib.sha256(repr(content).encode()).hexdigest()
        """Identifies the content: statements compiled with this book may be reused with any equal book."""

    def get(self, list_name: str, code: str) -> Code | None:
        return self.lists.get(list_name, {}).get(code)

    def problem(self, list_name: str, code: str | None, on: date | None = None) -> str | None:
        """Why `code` is not acceptable in `list_name` (on date `on`), or None when it is."""
        if code is None:
            return None
        found = self.get(list_name, code)
        if found is None:
            codes = self.lists.get(list_name, {})
            if len(codes) <= 12:  # short lists name each code with its Vietnamese label: male (Nam), female (Nữ)
                known = ", ".join(f"{c} ({codes[c].vi})" for c in sorted(codes))
            else:
                known = ", ".join(sorted(codes)[:12]) + ", ... (GET /api/v1/code-lists/" + list_name + ")"
            return f"unknown {list_name} code {code!r} (known: {known})"
        if on is not None and found.valid_to is not None and on > found.valid_to:
            return f"{list_name} code {code!r} is valid only until {found.valid_to}, not on {on}"
        if on is not None and found.valid_from is not None and on < found.valid_from:
            return f"{list_name} code {code!r} is valid only from {found.valid_from}, not on {on}"
        return None

    def order(self, list_name: str, code: str) -> int:
        found = self.get(list_name, code)
        if found is None or found.ord is None:
            raise KeyError(f"{list_name}:{code} has no order")
        return found.ord


_BOOKS: dict[tuple[str, int, int], CodeBook] = {}
_BOOKS_LOCK = threading.Lock()


def signature(session: Session) -> tuple[int, int]:
    """(count, highest id) of the stored codes: codes are only ever added (seed), so this names the content."""
    count, highest = session.execute(select(func.count(CodeItem.id), func.max(CodeItem.id))).one()
    return int(count), int(highest or 0)


def load(session: Session, known: tuple[int, int] | None = None) -> CodeBook:
    """The code book as stored: read once per process and database, again whenever codes were added.

    `known` is the `signature()` when the caller has just read it. The book is shared: never change it.
    """
    count, highest = known if known is not None else signature(session)
    key = (str(session.get_bind().engine.url), count, highest)
    found = _BOOKS.get(key)
    if found is None:
        found = CodeBook(list(session.scalars(select(CodeItem))))
        with _BOOKS_LOCK:
            if len(_BOOKS) >= 16:
                _BOOKS.clear()
            _BOOKS[key] = found
    return found


PACKAGED = ("codelists.yaml", "training_codelists.yaml")  # the spec's copy, then the training records' lists


def packaged() -> dict[str, list[dict[str, Any]]]:
    """Every packaged code list: app/data/codelists.yaml (the spec's, as it is) and training_codelists.yaml."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in PACKAGED:
        out |= yaml.safe_load((DATA / name).read_text("utf-8"))
    return out


def seed(session: Session) -> int:
    """Insert the codes of the packaged YAML that the database does not have yet; returns how many."""
    data = packaged()
    existing = {(i.list_name, i.code) for i in session.scalars(select(CodeItem))}
    added = 0
    for list_name, entries in data.items():
        for entry in entries:
            code = str(entry["code"])
            if (list_name, code) in existing:
                continue
            session.add(CodeItem(
                list_name=list_name, code=code, vi=entry["vi"], en=entry["en"], ord=entry.get("order"),
                official=None if entry.get("official") is None else str(entry["official"]),
                is_minority=entry.get("minority"), is_body=bool(entry.get("body", False)),
                valid_from=entry.get("valid_from"), valid_to=entry.get("valid_to")))
            added += 1
    session.flush()
    return added


def as_lists(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every list with its codes and labels, in the order of each list."""
    rows = session.scalars(select(CodeItem).order_by(CodeItem.list_name, CodeItem.id))
    out: dict[str, list[dict[str, Any]]] = {}
    for item in rows:
        entry: dict[str, Any] = {"code": item.code, "vi": item.vi, "en": item.en}
        for key, value in (("order", item.ord), ("official", item.official), ("minority", item.is_minority),
                           ("valid_from", item.valid_from), ("valid_to", item.valid_to)):
            if value is not None:
                entry[key] = value.isoformat() if isinstance(value, date) else value
        if item.is_body:
            entry["body"] = True
        out.setdefault(item.list_name, []).append(entry)
    return out
