"""Query and path parameters shared by the routes, each with the description the OpenAPI shows."""

from typing import Annotated, Any

from fastapi import Path, Query

from app.schemas.common import IsoDate, IsoDateTime

AsOf = Annotated[IsoDate | None, Query(description="the date the answer is for (YYYY-MM-DD); default today")]
KnownAt = Annotated[IsoDateTime | None, Query(
    description="answer as the registry had recorded it at this moment (ISO 8601, e.g. 2025-01-31T08:00:00+07:00); "
                "default now")]
UnitCode = Annotated[str, Query(description="the org unit's code (its whole subtree counts)")]
Search = Annotated[str | None, Query(description="words to search in names, diacritics ignored ('tran thi' finds 'Trần Thị')")]
Under = Annotated[str | None, Query(description="only the subtree of this org unit")]
IndicatorCode = Annotated[str, Path(description="the indicator's code, e.g. CT-2025-CADRES-LANG4")]
UnitPath = Annotated[str, Path(description="the org unit's code")]
PersonPath = Annotated[str, Path(description="the person's external id")]
DryRun = Annotated[bool, Query(description="validate and report only: nothing is written")]


def cursor_after(what: str) -> Any:
    """The `after` cursor of a listing keyed by `what`."""
    return Query(description=f"the `next` of the previous page ({what}); omit for the first page")


def page_size(default_max: int) -> Any:
    """The page size of a listing."""
    return Query(ge=1, le=default_max, description=f"items per page (at most {default_max})")
