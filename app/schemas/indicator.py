"""Requests of the indicator endpoints."""

from app.schemas.common import AppSchema, Code, IsoDate


class RunRequest(AppSchema):
    """Publish a run: every indicator of resolution `doc` for a unit on a date."""

    doc: Code
    org_unit: Code
    as_of: IsoDate
