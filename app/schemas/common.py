"""Reusable annotated types and the base schema."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Header, Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

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
Code = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=300, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")]
DB_INT_MAX = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="a row id")]
Cursor = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="a position in the change feed")]


class AppSchema(BaseModel):
    """Base of every schema: unknown fields are errors, so nothing sent is silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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
