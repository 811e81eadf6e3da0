"""Code lists, tokens and health."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from app.api.deps import AnswerRoute, SessionDep, allow
from app.api.idempotency import SECRET_FIELDS_HEADER
from app.errors import NotFound
from app.schemas.common import AppSchema, Code
from app.schemas.meta import CodeList, CodeLists, TokenIssued, TokenList, TokenRead
from app.services import codelists, equivalences, labels, tokens
from app.services.context import Actor

router = APIRouter(route_class=AnswerRoute)
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the token's id (as listed, never its secret)")]


class TokenCreate(AppSchema):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: str
    org_units: list[Code] = Field(default_factory=list)
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


@router.get("/code-lists", tags=["code lists"], response_model=CodeLists)
def list_code_lists(session: SessionDep, actor: Annotated[Actor, allow("code_lists:read")]) -> dict[str, Any]:
    """Every code list with Vietnamese and English labels."""
    return {"lists": codelists.as_lists(session), "systems": {"ethnicity": labels.systems()["system"]}}


@router.get("/code-lists/{name}", tags=["code lists"], response_model=CodeList)
def get_code_list(name: Annotated[str, Path(description="the code list's name, e.g. ethnicity")], session: SessionDep,
                  actor: Annotated[Actor, allow("code_lists:read")]) -> dict[str, Any]:
    """One code list."""
    lists = codelists.as_lists(session)
    if name not in lists:
        raise NotFound(f"No code list {name!r}", code="code_list_not_found")
    out: dict[str, Any] = {"name": name, "codes": lists[name]}
    if name == "foreign_language_level":  # certificates as written -> levels (revision 2, point 13)
        out["equivalences"] = equivalences.document()
    if name == "ethnicity":  # the codes' system and the other numbering (revision 2, point 16)
        ethnic = labels.systems()
        out |= {"system": ethnic["system"], "mappings": ethnic["mappings"], "aliases": ethnic["aliases"]}
    return out


@router.post("/tokens", status_code=201, tags=["tokens"], response_model=TokenIssued)
def create_token(payload: TokenCreate, session: SessionDep, response: Response,
                 actor: Annotated[Actor, allow("tokens:manage")]) -> dict[str, Any]:
    """Issue a bearer token for a role and a set of org units (the secret is shown once, and kept nowhere)."""
    secret, row = tokens.create(session, actor, name=payload.name, role=payload.role, org_units=payload.org_units,
                                expires_in_days=payload.expires_in_days)
    response.headers[SECRET_FIELDS_HEADER] = "token"  # an Idempotency-Key replay withholds it (app/api/idempotency.py)
    return {"token": secret, **tokens.describe(row)}


@router.get("/tokens", tags=["tokens"], response_model=TokenList)
def list_tokens(session: SessionDep, actor: Annotated[Actor, allow("tokens:manage")],
                include_revoked: Annotated[bool, Query(description="list revoked tokens too")] = False) -> dict[str, Any]:
    """The tokens you manage (a scoped admin: those whose org units all lie within its own), never their secrets."""
    return {"tokens": [tokens.describe(row) for row in tokens.listed(session, actor, include_revoked=include_revoked)]}


@router.get("/tokens/{token_id}", tags=["tokens"], response_model=TokenRead)
def get_token(token_id: TokenId, session: SessionDep, actor: Annotated[Actor, allow("tokens:manage")]) -> dict[str, Any]:
    """One token you manage; a token beyond your org units answers 404."""
    return tokens.describe(tokens.get(session, actor, token_id))


@router.delete("/tokens/{token_id}", tags=["tokens"], response_model=TokenRead)
def revoke_token(token_id: TokenId, session: SessionDep, actor: Annotated[Actor, allow("tokens:manage")]) -> dict[str, Any]:
    """Revoke a token you manage: it stops working at once (a token beyond your org units answers 404)."""
    return tokens.describe(tokens.revoke(session, actor, token_id))
