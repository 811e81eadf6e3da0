"""The base of every answer and the types its fields share.

Answers are described, not reshaped: a route's response model validates what the service returned and the
route sends it as it was (`AnswerRoute`: a field the model allows but the answer left out stays out).
"""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, WithJsonSchema


class ReadSchema(BaseModel):
    """Base of every answer: the fields listed are the contract; a field a later release adds passes through (clients
    should ignore what they do not know)."""

    model_config = ConfigDict(extra="allow")


# Dates and moments as the service gave them: a date or datetime is serialised as FastAPI would without a model,
# a text the service already wrote (ISO 8601) is kept as it is (the union takes the exact type).
Day = Annotated[date | str, WithJsonSchema({"type": "string", "format": "date"})]
Moment = Annotated[datetime | str, WithJsonSchema({"type": "string", "format": "date-time"})]
Number = int | float
JsonObject = dict[str, Any]


class Names(ReadSchema):
    """A name in Vietnamese and English."""

    vi: str
    en: str


class FieldProblem(ReadSchema):
    """One problem with one field."""

    field: str | None = None
    message: str
