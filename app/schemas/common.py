"""Reusable annotated types and the base schema."""

import re
from datetime import date
from typing import Annotated, Any

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
Code = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Text = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=300)]


class AppSchema(BaseModel):
    """Base of every schema: unknown fields are errors, so nothing sent is silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
