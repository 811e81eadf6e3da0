"""Foreign-language certificates as written on the paper -> the level of the 6-level framework.

The table is data (`app/data/language_equivalences.yaml`, each row with what it rests on), served by
`GET /api/v1/code-lists/foreign_language_level` and read by every import (JSON Lines, CSV, XLSX) and
the API. A record may give `{"certificate": "IELTS", "score": "6.0"}` instead of a level: the level
is derived here and stored and exported beside the paper. A certificate the table does not name, a
score outside its rows, or a row whose level could not be confirmed is refused with the reason; a
level given together with a paper the table places elsewhere is refused too.
"""

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from app.services.codelists import DATA
from app.services.labels import key


@dataclass(frozen=True)
class Row:
    certificate: str
    language: str | None
    scores: frozenset[str] | None  # name keys of the exact scores; None: a numeric range
    low: float | None
    high: float | None
    level: int | None
    source: str

    def covers(self, score: str | None) -> bool | None:
        """Whether the row covers the score (None: the score is not a number and the row is a range)."""
        if self.scores is not None:
            return key(score or "") in self.scores
        number = _number(score)
        if number is None:
            return None
        assert self.low is not None and self.high is not None
        return self.low <= number <= self.high


_NUMBER = re.compile(r"\d{1,4}(?:[.,]\d{1,2})?")


def _number(score: str | None) -> float | None:
    """'6.0', '6,5', '45' as numbers; anything else (words, '4_5', other scripts' digits, 'inf') is not a score."""
    text = (score or "").strip()
    return float(text.replace(",", ".")) if _NUMBER.fullmatch(text, 0) and text.isascii() else None


@cache
def document() -> dict[str, Any]:
    return dict(yaml.safe_load((DATA / "language_equivalences.yaml").read_text(encoding="utf-8")))


@cache
def rows() -> tuple[Row, ...]:
    return tuple(Row(r["certificate"], r["language"],
                     frozenset(key(s) for s in r["scores"]) if "scores" in r else None,
                     r.get("min"), r.get("max"), r["level"], r["source"]) for r in document()["rows"])


@cache
def _by_certificate() -> dict[str, tuple[Row, ...]]:
    """The rows under the name key of their certificate, in the table's order.

    Every paper of every import is looked up here: comparing the key of each row's certificate anew cost
    about 78 name keys per paper, a sixth of a person's import (bench F22).
    """
    grouped: dict[str, list[Row]] = {}
    for r in rows():
        grouped.setdefault(key(r.certificate), []).append(r)
    return {k: tuple(v) for k, v in grouped.items()}


def _rows_of(certificate: str) -> tuple[Row, ...]:
    return _by_certificate().get(key(certificate), ())


def named(certificate: str) -> bool:
    """Whether the table has rows for this certificate."""
    return bool(_rows_of(certificate))


def row_for(certificate: str, score: str | None, language: str) -> Row | None:
    """The row that covers this paper (a row whose level is null included), or None."""
    return next((r for r in _rows_of(certificate) if r.language in (None, language) and r.covers(score)), None)


def level_of(certificate: str, score: str | None, language: str) -> tuple[int | None, str | None]:
    """(level, None) for a paper the table places, or (None, why not)."""
    named = list(_rows_of(certificate))
    if not named:
        known = sorted({r.certificate for r in rows()})
        return None, (f"certificate {certificate!r} is not in the registry's equivalence table (known: {', '.join(known)}); "
                      "give the level (1-6) instead")
    for_language = [r for r in named if r.language in (None, language)]
    if not for_language:
        return None, f"{certificate} is a certificate of {named[0].language!r}, not of {language!r}"
    matches = [r for r in for_language if r.covers(score)]
    if not matches:
        if any(r.covers(score) is None for r in for_language):
            return None, f"{certificate} score {score!r} is not a number"
        return None, f"{certificate} score {score!r} is in no row of the registry's equivalence table; give the level"
    row = matches[0]
    if row.level is None:
        return None, (f"{certificate} {score or ''}: no level is confirmed for this paper in the registry's table "
                      f"({document()['sources'][row.source].strip()}); give the level").replace("  ", " ")
    return row.level, None
