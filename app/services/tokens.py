"""Bearer tokens: created by administrators, stored as SHA-256, scoped to org units."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound, Unauthenticated
from app.models import ApiToken, SecurityFlag
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


def _within(session: Session, actor: Actor, rows: list[ApiToken]) -> list[ApiToken]:
    """The tokens a (possibly scoped) admin manages: every org unit of theirs within the admin's reach.

    A whole-tree token lies outside any scoped admin, and so does a token naming a unit no longer known.
    """
    allowed = tree.reach(session, actor)
    if allowed is None:
        return rows
    known = tree.unit_ids(session, {c for row in rows for c in row.org_units})
    return [row for row in rows if row.org_units and all(c in known and known[c] in allowed for c in row.org_units)]


def listed(session: Session, actor: Actor, *, include_revoked: bool = False) -> list[ApiToken]:
    """The tokens the actor manages, oldest first."""
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return _within(session, actor, list(session.scalars(query)))


def get(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """One token the actor manages; a token beyond the actor's units is answered as absent."""
    row = session.get(ApiToken, token_id)
    if row is None or not _within(session, actor, [row]):
        raise NotFound(f"No token {token_id}", code="token_not_found")
    return row


def revoke(session: Session, actor: Actor, token_id: int) -> ApiToken:
    row = get(session, actor, token_id)
    row.revoked_at = row.revoked_at or datetime.now(UTC)
    return row


BOOTSTRAP_DISABLED = "bootstrap_disabled"


# Statements of every request, built once: SQLAlchemy memoizes a statement object's cache key, where one built
# anew per call is walked again to find its compiled form (about 160 µs of a 320 µs look-up; bench F31)
_BOOTSTRAP_OFF = select(SecurityFlag.name).where(SecurityFlag.name == BOOTSTRAP_DISABLED)
_BY_HASH = select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.org_units, ApiToken.revoked_at,
                  ApiToken.expires_at).where(ApiToken.token_hash == bindparam("token_hash"))


def bootstrap_disabled(session: Session) -> bool:
    """Whether an operator disabled the bootstrap token (kept in the database: every app server obeys it)."""
    return session.connection().execute(_BOOTSTRAP_OFF).first() is not None


def disable_bootstrap(session: Session, by: str) -> SecurityFlag:
    """Disable the bootstrap token for good; refused while no other administrator's token is valid."""
    now = datetime.now(UTC)
    admins = session.scalars(select(ApiToken).where(ApiToken.role == "admin", ApiToken.revoked_at.is_(None)))
    if not any(row.expires_at is None or _aware(row.expires_at) > now for row in admins):
        raise InvalidInput("no other administrator's token is valid: create one first (`registry tokens create NAME "
                           "admin`), or the registry would be left without an administrator", code="no_admin_token")
    flag = session.get(SecurityFlag, BOOTSTRAP_DISABLED)
    if flag is None:
        flag = SecurityFlag(name=BOOTSTRAP_DISABLED, set_at=now, set_by=by)
        session.add(flag)
        session.flush()
    return flag


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def authenticate(session: Session, secret: str, *, bootstrap: str | None, request_id: str | None) -> Actor:
    """The actor behind a bearer secret, or Unauthenticated."""
    if bootstrap and hmac.compare_digest(secret.encode(), bootstrap.encode()):
        if bootstrap_disabled(session):
            raise Unauthenticated("the bootstrap token was disabled by the operator")
        return Actor(name="bootstrap", role="admin", request_id=request_id)
    # the columns on the connection, not the ORM object through the session: no ORM execution, identity map or
    # instance state for a row read once a request
    row = session.connection().execute(_BY_HASH, {"token_hash": digest(secret)}).first()
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("unknown or revoked token")
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        raise Unauthenticated("token expired")
    return Actor(name=f"token:{row.id}:{row.name}", role=row.role, org_units=tuple(row.org_units),
                 request_id=request_id, token_id=row.id)
