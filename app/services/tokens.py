"""Bearer tokens: created by administrators, stored as SHA-256, scoped to org units."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound, Unauthenticated
from app.models import ApiToken
from app.services import tree
from app.services.context import ROLES, Actor


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, actor: Actor, *, name: str, role: str, org_units: list[str],
           expires_in_days: int | None = None) -> tuple[str, ApiToken]:
    """Issue a token; the secret is returned once and only its hash is kept."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", errors=[{"field": "role", "message": f"one of {', '.join(ROLES)}"}])
    if not org_units and role != "admin":
        raise InvalidInput("only an admin token may cover the whole tree", errors=[
            {"field": "org_units", "message": "name at least one org unit for this role"}])
    known = tree.unit_ids(session, set(org_units))
    missing = [c for c in org_units if c not in known]
    if missing:
        raise InvalidInput("unknown org units", errors=[
            {"field": "org_units", "message": f"unknown org unit {c!r}"} for c in missing])
    allowed = tree.reach(session, actor)
    if allowed is not None and (not org_units or any(known[c] not in allowed for c in org_units)):
        raise InvalidInput("a token cannot reach beyond its creator's org units", errors=[
            {"field": "org_units", "message": "outside your org units"}])
    secret = "reg_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = ApiToken(name=name, role=role, token_hash=digest(secret), org_units=list(org_units), created_at=now,
                   created_by=actor.name,
                   expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(row)
    session.flush()
    return secret, row


def describe(row: ApiToken) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "role": row.role, "org_units": row.org_units,
            "created_at": row.created_at, "created_by": row.created_by, "expires_at": row.expires_at,
            "revoked_at": row.revoked_at}


def revoke(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"No token {token_id}", code="token_not_found")
    row.revoked_at = row.revoked_at or datetime.now(UTC)
    return row


def authenticate(session: Session, secret: str, *, bootstrap: str | None, request_id: str | None) -> Actor:
    """The actor behind a bearer secret, or Unauthenticated."""
    if bootstrap and hmac.compare_digest(secret.encode(), bootstrap.encode()):
        return Actor(name="bootstrap", role="admin", request_id=request_id)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("unknown or revoked token")
    expires = row.expires_at
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
        raise Unauthenticated("token expired")
    return Actor(name=f"token:{row.id}:{row.name}", role=row.role, org_units=tuple(row.org_units),
                 request_id=request_id, token_id=row.id)
