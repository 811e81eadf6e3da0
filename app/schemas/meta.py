"""Answers about code lists and tokens."""

from pydantic import Field

from app.schemas.read import Moment, Number, ReadSchema


class CodeRead(ReadSchema):
    """A code of a code list with its Vietnamese and English labels (some lists add an order, a validity, a flag)."""

    code: str
    vi: str
    en: str
    order: int | None = None
    official: str | None = Field(None, description="the code of the official classification, where it differs")
    valid_to: str | None = None
    minority: bool | None = Field(None, description="ethnicity: an ethnic minority")
    body: bool | None = Field(None, description="org_unit_kind: a body (party committee, council), not a workplace")


class CodeSystem(ReadSchema):
    """The numbering a code list follows."""

    code: str
    vi: str
    en: str
    sources: list[str]


class CodeMappingRow(ReadSchema):
    code: str
    name: str
    registry: str
    confirmed: bool


class CodeMapping(CodeSystem):
    """Another numbering of the same codes, row by row."""

    rows: list[CodeMappingRow]


class EquivalenceRow(ReadSchema):
    """A certificate (and score range) and the level of the 6-level framework it counts as."""

    certificate: str
    language: str | None
    scores: list[str] | None = None
    level: int | None
    source: str
    min: Number | None = None
    max: Number | None = None


class Equivalences(ReadSchema):
    sources: dict[str, str]
    rows: list[EquivalenceRow]


class CodeLists(ReadSchema):
    lists: dict[str, list[CodeRead]] = Field(description="every code list by name")
    systems: dict[str, CodeSystem] = Field(description="the numbering each list follows, where it is an official one")


class CodeList(ReadSchema):
    name: str
    codes: list[CodeRead]
    equivalences: Equivalences | None = Field(None, description="foreign_language_level: certificates as written -> levels")
    system: CodeSystem | None = Field(None, description="ethnicity: the numbering its codes follow")
    mappings: list[CodeMapping] | None = Field(None, description="ethnicity: the other numberings")
    aliases: dict[str, list[str]] | None = Field(None, description="ethnicity: other names of each code")


class TokenRead(ReadSchema):
    """A bearer token as its managers see it (never its secret)."""

    id: int
    name: str
    role: str
    org_units: list[str] = Field(description="the units it reaches (and their subtrees); empty: the whole tree")
    created_at: Moment
    created_by: str
    expires_at: Moment | None
    revoked_at: Moment | None


class TokenIssued(TokenRead):
    token: str = Field(description="the secret, shown this once and kept nowhere")


class TokenList(ReadSchema):
    tokens: list[TokenRead]


class Health(ReadSchema):
    status: str = Field(description="ok while the process serves")
