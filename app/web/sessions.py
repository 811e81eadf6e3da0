"""Browser sessions: a signed cookie naming the API token a person signed in with, and CSRF tokens.

The cookie holds the token's id (never its secret), a random session id and the session's CSRF token,
signed with itsdangerous and valid for `MAX_AGE`. Each request re-reads the token row, so revoking or
expiring the token ends every session opened with it. HttpOnly, SameSite=Strict, Path=/dashboard and
Secure over https. Sign-out deletes the cookie and records the session id in the database
(`signed_out_session`, until the cookie would have expired), so that every app server refuses it.
Several app servers must share REGISTRY_SESSION_SECRET (`registry serve` gives its own workers one).
"""

import hmac
import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.api.deps import ACTIONS
from app.config import get_settings
from app.models import ApiToken, SignedOutSession
from app.services import tokens
from app.services.context import Actor

COOKIE = "registry_session"
CSRF_COOKIE = "registry_csrf"
PATH = "/dashboard"
MAX_AGE = 8 * 3600
FORM_AGE = 3600
_PROCESS_SECRET = secrets.token_urlsafe(32)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    """REGISTRY_SESSION_SECRET signs cookies; without it a per-process secret does (sessions end on restart)."""
    return URLSafeTimedSerializer(os.environ.get("REGISTRY_SESSION_SECRET") or _PROCESS_SECRET, salt=salt)


def _fingerprint(secret: str) -> str:
    """The first 16 hex digits of the token's stored SHA-256: binds the session to that very token."""
    return tokens.digest(secret)[:16]


def _bootstrap() -> str | None:
    boot = get_settings().registry_bootstrap_token
    return boot.get_secret_value() if boot else None


def _set(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def sign_in(session: Session, request: Request, response: Response, secret: str) -> Actor:
    """Check the token as the API would (tokens.authenticate) and open a session for it."""
    actor = tokens.authenticate(session, secret, bootstrap=_bootstrap(), request_id=getattr(request.state, "request_id", None))
    payload = {"t": actor.token_id, "h": _fingerprint(secret), "s": secrets.token_urlsafe(16), "c": secrets.token_urlsafe(24)}
    _set(response, request, COOKIE, _serializer("session").dumps(payload), MAX_AGE)
    response.delete_cookie(CSRF_COOKIE, path=PATH)
    return actor


def sign_out(session: Session, request: Request, response: Response) -> None:
    payload = _payload(request)
    if payload and session.get(SignedOutSession, str(payload["s"])) is None:
        now = datetime.now(UTC)
        session.execute(delete(SignedOutSession).where(SignedOutSession.until < now))  # expired cookies need no entry
        session.add(SignedOutSession(sid=str(payload["s"]), until=now + timedelta(seconds=MAX_AGE)))
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https")


def _payload(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        payload = _serializer("session").loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), str):
        return None
    return payload


def actor(session: Session, request: Request) -> Actor | None:
    """The signed-in caller, with the role and scope of their token now; None without a live session."""
    payload = _payload(request)
    if payload is None or session.get(SignedOutSession, payload["s"]) is not None:  # signed out, on any server
        return None
    request_id = getattr(request.state, "request_id", None)
    found: Actor | None
    if payload.get("t") is None:
        boot = _bootstrap()
        if boot is None or not hmac.compare_digest(_fingerprint(boot), str(payload.get("h"))) \
                or tokens.bootstrap_disabled(session):  # disabled by the operator: its open sessions end too
            return None
        found = Actor(name="bootstrap", role="admin", request_id=request_id)
    else:
        found = _token_actor(session, int(payload["t"]), str(payload.get("h")), request_id)
    if found is None or found.role not in ACTIONS["indicators:read"]:
        return None
    request.state.csrf = payload["c"]
    return found


def _token_actor(session: Session, token_id: int, fingerprint: str, request_id: str | None) -> Actor | None:
    """The actor of a live token, as tokens.authenticate builds it (it needs the secret, which we do not keep)."""
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash[:16], fingerprint):
        return None
    expires = row.expires_at
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= datetime.now(UTC):
        return None
    return Actor(name=f"token:{row.id}:{row.name}", role=row.role, org_units=tuple(row.org_units),
                 request_id=request_id, token_id=row.id)


def form_token() -> str:
    """A CSRF token for a form shown before sign-in."""
    return secrets.token_urlsafe(24)


def remember_form_token(request: Request, response: Response, value: str) -> None:
    """Keep the form's CSRF token in its own short-lived signed cookie, to compare on submit."""
    _set(response, request, CSRF_COOKIE, _serializer("csrf").dumps(value), FORM_AGE)


def check_form_csrf(request: Request, sent: str) -> bool:
    raw = request.cookies.get(CSRF_COOKIE, "")
    try:
        expected = _serializer("csrf").loads(raw, max_age=FORM_AGE)
    except BadSignature:
        return False
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(expected, sent)


def check_session_csrf(request: Request, sent: str) -> bool:
    expected = getattr(request.state, "csrf", None)
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(expected, sent)
