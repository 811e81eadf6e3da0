"""Names for codes in spreadsheets: an HR office writes "Nữ" and "Khơ-me", not `female` and `05`.

A CSV or XLSX cell of a coded field may hold the code, or one of its labels (Vietnamese or English,
codelists.yaml) or, for ethnicity, one of the other names of the group (ethnicity_systems.yaml). A name
is matched without diacritics, case, spaces, hyphens or apostrophes ("Kho me", "KHƠ-ME" and "Khơ me" are
all 05), and only when it names one code of its list: a name two codes share is left as it is, and the
record's validation then refuses it with the list's codes. JSON Lines keep the contract's codes only.

The ethnicity codes are those of the 1979 list; `systems()` names it and carries the mapping from the
GSO's 2008 numbering, row by row with whether the row was confirmed in a published copy.
"""

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

import yaml
from sqlalchemy.orm import Session

from app.services import codelists
from app.services.codelists import DATA, CodeBook

PERSON_FIELDS = {"gender": "gender", "ethnicity": "ethnicity"}
UNIT_FIELDS = {"kind": "org_unit_kind", "tier": "tier", "sector": "sector"}
COURSE_FIELDS = {"kind": "course_kind", "mode": "training_mode", "funding": "funding_source"}
ENROLMENT_FIELDS = {"status": "enrolment_status"}
ITEM_FIELDS = {"languages": [("kind", "language_kind")]}  # coded item fields beside persons.CODED (not checked there)
_NOT_LETTERS = re.compile(r"[^0-9a-z]+")
_AMBIGUOUS = ""


@lru_cache(maxsize=8192)  # certificates and scores repeat on every record of an import (bench F24)
def key(text: str) -> str:
    """'Khơ-me' -> 'khome', 'H'Mông' -> 'hmong', 'Đào' -> 'dao': the form names are compared in."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_LETTERS.sub("", bare.lower())


@cache
def systems() -> dict[str, Any]:
    """The ethnicity code systems: the registry's, the mappings from others, and the groups' other names."""
    return dict(yaml.safe_load((DATA / "ethnicity_systems.yaml").read_text(encoding="utf-8")))


def _index(book: CodeBook, list_name: str) -> dict[str, str]:
    """Name key -> code for one list ('' where a name belongs to more than one code)."""
    names: dict[str, set[str]] = {}
    for code in book.lists.get(list_name, {}).values():
        spelled = [code.vi, code.en, *(systems()["aliases"].get(code.code, []) if list_name == "ethnicity" else [])]
        for name in spelled:
            if k := key(name):
                names.setdefault(k, set()).add(code.code)
    return {k: (next(iter(codes)) if len(codes) == 1 else _AMBIGUOUS) for k, codes in names.items()}


def names(session: Session) -> "Names":
    """The names of the code book as stored (for an export or template written with labels)."""
    return Names(codelists.load(session))


def item_lists(list_name: str) -> dict[str, str]:
    """Item field -> code list of one person list (persons.CODED and ITEM_FIELDS)."""
    from app.services.persons import CODED

    return {f: lst for f, lst, _on in CODED.get(list_name, [])} | dict(ITEM_FIELDS.get(list_name, []))


class Names:
    """The name indexes of one code book, built once per import."""

    def __init__(self, book: CodeBook):
        self.book = book
        self._indexes: dict[str, dict[str, str]] = {}

    def code(self, list_name: str, value: Any) -> Any:
        """The code `value` names in `list_name`, or `value` itself when it is a code or names none (or several)."""
        if not isinstance(value, str) or self.book.get(list_name, value) is not None:
            return value
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            return value  # a control character is refused by validation, never dropped by the name match
        if list_name not in self._indexes:
            self._indexes[list_name] = _index(self.book, list_name)
        return self._indexes[list_name].get(key(value)) or value

    def label(self, list_name: str, value: Any) -> Any:
        """The Vietnamese label of code `value` in `list_name` when `code()` reads it back as that code, else `value`.

        An export with `lang=vi` writes labels ("Nữ", "Khơ-me", "Cao cấp"); a label that would not read back
        to its own code (shared with another code of the list) leaves the code, so the round trip is exact.
        """
        found = self.book.get(list_name, value) if isinstance(value, str) else None
        if found is None or not found.vi or self.code(list_name, found.vi) != value:
            return value
        return found.vi

    def record(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """The spreadsheet record with every coded field's name replaced by its code (a new dict)."""
        if kind == "org-units":
            out = record | {f: self.code(lst, record[f]) for f, lst in UNIT_FIELDS.items() if f in record}
            pool_for = record.get("pool_for")
            if isinstance(pool_for, dict) and "rank" in pool_for:  # a planning pool's title: its rank as labelled
                out["pool_for"] = pool_for | {"rank": self.code("leadership_rank", pool_for["rank"])}
            return out
        if kind == "enrolments":
            return record | {f: self.code(lst, record[f]) for f, lst in ENROLMENT_FIELDS.items() if f in record}
        if kind == "courses":
            out = record | {f: self.code(lst, record[f]) for f, lst in COURSE_FIELDS.items() if f in record}
            awards = record.get("awards")
            if isinstance(awards, dict) and len(awards) == 1:
                (name, item), = awards.items()
                coded = item_lists(name)
                if isinstance(item, dict):
                    out["awards"] = {name: item | {f: self.code(lst, item[f]) for f, lst in coded.items() if f in item}}
            return out
        if kind != "persons":
            return record
        out = record | {f: self.code(lst, record[f]) for f, lst in PERSON_FIELDS.items() if f in record}
        for name, items in record.items():
            coded = item_lists(name)
            if coded and isinstance(items, list):
                out[name] = [item | {f: self.code(lst, item[f]) for f, lst in coded.items() if f in item}
                             if isinstance(item, dict) else item for item in items]
        return out
