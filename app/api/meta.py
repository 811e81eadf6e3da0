"""Code lists, tokens and health."""

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from app.api.deps import SessionDep, allow
from app.errors import NotFound
from app.schemas.common import AppSchema, Code, RowId
from app.services import codelists, tokens
from app.services.context import Actor

router = APIRouter()


class TokenCreate(AppSchema):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: str
    org_units: list[Code] = Field(default_factory=list)
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


@router.get("/code-lists", tags=["code lists"])
def list_code_lists(session: SessionDep, actor: Annotated[Actor, allow("code_lists:read")]) -> dict[str, Any]:
    """Every code list with Vietnamese and English labels."""
    return {"lists": codelists.as_lists(session)}


@router.get("/code-lists/{name}", tags=["code lists"])
def get_code_list(name: str, session: SessionDep, actor: Annotated[Actor, allow("code_lists:read")]) -> dict[str, Any]:
    """One code list."""
    lists = codelists.as_lists(session)
    if name not in lists:
        raise NotFound(f"No code list {name!r}", code="code_list_not_found")
    return {"name": name, "codes": lists[name]}


@router.post("/tokens", status_code=201, tags=["tokens"])
def create_token(payload: TokenCreate, session: SessionDep,
                 actor: Annotated[Actor, allow("tokens:manage")]) -> dict[str, Any]:
    """Issue a bearer token for a role and a set of org units (the secret is shown once)."""
    secret, row = tokens.create(session, actor, name=payload.name, role=payload.role, org_units=payload.org_units,
                                expires_in_days=payload.expires_in_days)
    return {"token": secret, **tokens.describe(row)}


@router.delete("/tokens/{token_id}", tags=["tokens"])
def revoke_token(token_id: RowId, session: SessionDep, actor: Annotated[Actor, allow("tokens:manage")]) -> dict[str, Any]:
    """Revoke a token: it stops working at once."""
    return tokens.describe(tokens.revoke(session, token_id))
