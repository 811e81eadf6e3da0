"""Reusable annotated types and the base schema."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Header, Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date as a string YYYY-MM-DD")
    if not _ISO_DATE.match(value):
        raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real calendar date ({exc})") from None


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value[:10]):
        raise ValueError("expected a moment as an ISO 8601 string, e.g. 2025-01-31T08:00:00+07:00")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 moment ({exc})") from None


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
IfMatch = Annotated[str | None, Header(pattern=r'^(\*|(W/)?"\d+")$', description='An ETag read before, e.g. "3"')]
CODE_PATTERN = r"^[A-Za-z0-9_.\-]+$"
Code = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=CODE_PATTERN)]
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=300, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")]
DB_INT_MAX = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="a row id")]
Cursor = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="a position in the change feed")]


# C0 controls, DEL, C1 controls and lone surrogates: never part of a name, a code or a note, and
# what breaks XLSX writers, PostgreSQL text (NUL) and terminals downstream.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """'U+0007 at position 3' for the first control character or lone surrogate in `text`, else None."""
    found = CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X} at position {found.start() + 1}"


# Validation context: the caller has found no control character in any key or value of the whole input
# (imports.parse, before it validates a line), so no field checks its own again (bench F22)
CONTROLS_CHECKED = object()  # a key no caller can send by accident


def refuse_control_characters(value: Any) -> None:
    """Raise `control_character` if a text in `value` (a str, or a list or dict of them) holds one."""
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, list | tuple | set | frozenset):
        texts = [v for v in value if isinstance(v, str)]
    elif isinstance(value, dict):
        texts = [t for pair in value.items() for t in pair if isinstance(t, str)]
    for text in texts:
        where = control_character(text)
        if where:
            raise PydanticCustomError(
                "control_character",
                "holds the control character {where}: control characters (U+0000-U+001F, U+007F-U+009F, "
                "tab and line breaks included) and lone surrogates are not accepted",
                {"where": where},
            )


def control_character_errors(value: Any, field: str = "") -> list[dict[str, str]]:
    """Every text (key or value) holding a control character in a nested JSON value, with its field path.

    For bodies that are not schemas (indicator definitions are validated data of their own).
    """
    errors: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [(field, value)]
    while stack:
        where, item = stack.pop()
        texts = [(where, item)] if isinstance(item, str) else []
        if isinstance(item, dict):
            texts += [(f"{where}.{k}" if where else str(k), k) for k in item if isinstance(k, str)]
            stack += [(f"{where}.{k}" if where else str(k), v) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [(f"{where}[{i}]", v) for i, v in enumerate(item)]
        errors += [{"field": path or "(body)", "message": f"holds the control character {found}: control characters "
                    "and lone surrogates are not accepted"} for path, text in texts if (found := control_character(text))]
    return sorted(errors, key=lambda e: e["field"])


class AppSchema(BaseModel):
    """Base of every schema: unknown fields are errors, so nothing sent is silently dropped; no text holds control characters."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        # Before the field's own type: a code with a NUL is refused as a control character, not as a pattern
        # mismatch. Nested records check their own fields, so the error names the innermost field.
        if not (info.context and info.context.get(CONTROLS_CHECKED)):
            refuse_control_characters(value)
        return value


class FieldError(BaseModel):
    """One problem with one field (or line and field, in imports)."""

    model_config = ConfigDict(extra="allow")

    field: str | None = None
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every 4xx and 5xx; `code` is stable, `detail` is for people."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


_STATUSES = {400: "Bad request", 401: "Missing, unknown, revoked or expired token", 403: "Role or org-unit scope forbids it",
             404: "Not found (or outside your org units)", 405: "Method not allowed", 409: "Conflicts with the registry",
             412: "If-Match names an older revision", 413: "Body too large", 415: "Unsupported media type",
             422: "Invalid input: `errors` names every field", 429: "Rate limit: see Retry-After",
             500: "Unexpected error (logged; no internals shown)", 503: "Database unavailable; try again"}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text,
             "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, text in _STATUSES.items()
}
