"""The XLSX answer of the workbook routes: its media type, and how the OpenAPI declares it."""

from typing import Any

from fastapi.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class XlsxResponse(Response):
    media_type = XLSX


def xlsx_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route answering a workbook: the 200 is a binary XLSX, described."""
    return {200: {"description": description, "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def attachment(filename: str) -> dict[str, str]:
    """The header that saves the answer as `filename` (a name of unit codes, digits and hyphens: no quoting needed)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
