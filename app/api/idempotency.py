"""Idempotency-Key on POST: a retried request is answered from the first answer, never done twice.

Pure ASGI middleware, so that import bodies are hashed as they stream (memory stays flat). Only an
authenticated caller gets a record: the key belongs to the credential (a token, the bootstrap
administrator, an OIDC subject), and a retry is replayed only while that credential is still valid
(a revoked token's retry is answered 401 by the route, as any of its requests). The first request
with a key claims it (a row with no status yet); a retry with the same key and the same body gets
the stored answer; a different body under the same key is refused (422); a retry while the first is
still running is told so (409). A request that was refused (4xx), failed (5xx) or crashed releases
its key, and so does a claim whose server died (older than IDEMPOTENCY_CLAIM_SECONDS): its retry
runs anew.

Secrets are never stored: a route that answers one names its fields in the `X-Registry-Secret-Fields`
response header (taken off before the answer leaves); the stored answer, and so its replay, has
those fields null and says why in `secret_withheld`. For `POST /tokens` the replay thus gives the
token's id, role and units but not its secret: a client that lost the first answer revokes that
token and creates another.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.config import get_settings
from app.db import get_session_factory
from app.errors import Unauthenticated
from app.models import IdempotencyRecord
from app.services import identity, tokens

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECRET_FIELDS_HEADER = "X-Registry-Secret-Fields"
_SECRET_HEADER = SECRET_FIELDS_HEADER.lower().encode()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _owner(scope: Scope) -> str | None:
    """The hash of the credential behind the request, or None when it does not authenticate (no record then)."""
    header = _header(scope, b"authorization") or ""
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return None
    settings = get_settings()
    try:
        if settings.oidc_enabled and identity.looks_like_jwt(secret):
            who = identity.authenticate(settings, secret, None).name
        else:
            boot = settings.registry_bootstrap_token
            with get_session_factory()() as session:
                actor = tokens.authenticate(session, secret, bootstrap=boot.get_secret_value() if boot else None,
                                            request_id=None)
            who = f"token:{actor.token_id}" if actor.token_id is not None else actor.name
    except Unauthenticated:
        return None
    return hashlib.sha256(who.encode()).hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        if scope["method"] != "POST" or not key:
            await self.app(scope, receive, _without_secret_header(send))
            return
        if len(key) > 200:
            await _problem(send, 422, "invalid_idempotency_key", "Idempotency-Key is longer than 200 characters")
            return
        # the look-ups below take pooled connections: in a worker thread, never on the event loop (one waiting there
        # for a connection stopped the loop, and with it the requests that would have given theirs back)
        owner = await run_in_threadpool(_owner, scope)
        if owner is None:  # unauthenticated: the route answers 401, and nothing is recorded
            await self.app(scope, receive, _without_secret_header(send))
            return
        found = await run_in_threadpool(_claim, owner, key, scope)
        if found is not None:  # a retry: hash its body as it streams by, then answer from the record
            digest = hashlib.sha256()
            while True:
                try:
                    message = await receive()
                except HTTPException as refused:  # the request context's count of a body over the limit (413):
                    await _problem(send, refused.status_code, "payload_too_large", str(refused.detail))  # read here,
                    return  # outside the routes' handlers, it is answered here
                digest.update(message.get("body", b""))
                if not message.get("more_body"):
                    break
            await _replay(found, _request_hash(scope, digest.hexdigest()), send)
            return
        await self._forward(scope, receive, send, owner, key)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, owner: str, key: str) -> None:
        digest = hashlib.sha256()
        captured: dict[str, Any] = {"body": b"", "secret_fields": []}

        async def hashing_receive() -> Message:
            message = await receive()
            digest.update(message.get("body", b""))
            return message

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                headers = message.get("headers", [])
                captured["content_type"] = next((v.decode() for k, v in headers if k.lower() == b"content-type"), None)
                captured["secret_fields"] = [
                    f.strip() for k, v in headers if k.lower() == _SECRET_HEADER for f in v.decode().split(",") if f.strip()
                ]
                message["headers"] = [(k, v) for k, v in headers if k.lower() != _SECRET_HEADER]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, hashing_receive, capture_send)
        finally:
            with anyio.CancelScope(shield=True):  # a client gone mid-request still leaves its record settled
                await run_in_threadpool(_store, owner, key, captured, _request_hash(scope, digest.hexdigest()))


def _without_secret_header(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != _SECRET_HEADER]
        await send(message)

    return sending


def _request_hash(scope: Scope, body_hash: str) -> str:
    line = f"{scope['method']} {scope['path']} {scope.get('query_string', b'').decode()} {body_hash}"
    return hashlib.sha256(line.encode()).hexdigest()


def _find(session: Any, owner: str, key: str) -> IdempotencyRecord | None:
    found: IdempotencyRecord | None = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key))
    return found


def _claim(owner: str, key: str, scope: Scope) -> IdempotencyRecord | None:
    """Claim the key for this request, or return the record of the request that claimed it."""
    now = datetime.now(UTC)
    with get_session_factory()() as session:
        existing = _find(session, owner, key)
        if existing is not None:
            cutoff = now - timedelta(seconds=get_settings().idempotency_claim_seconds)
            if existing.status is not None or _aware(existing.created_at) >= cutoff:
                return existing
            taken = session.execute(  # its server died mid-request: take the key over (one taker wins)
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == existing.id, IdempotencyRecord.status.is_(None),
                       IdempotencyRecord.created_at < cutoff)
                .values(created_at=now, request_hash="", path=scope["path"])
            )
            session.commit()
            return None if taken.rowcount == 1 else _find(session, owner, key)  # type: ignore[attr-defined]
        session.add(IdempotencyRecord(owner=owner, key=key, method=scope["method"], path=scope["path"],
                                      request_hash="", created_at=now))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return _find(session, owner, key)
    return None


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _store(owner: str, key: str, captured: dict[str, Any], request_hash: str) -> None:
    with get_session_factory()() as session:
        record = _find(session, owner, key)
        if record is None:
            return
        if "status" not in captured or captured["status"] >= 400:
            session.delete(record)  # refused, failed or crashed: nothing was done for good, the client may retry
        else:
            record.status, record.content_type = captured["status"], captured["content_type"]
            record.request_hash = request_hash
            record.body = _withheld(captured["body"], captured["secret_fields"])
        session.commit()


def _withheld(body: bytes, fields: list[str]) -> str:
    """The answer as it may be kept: every secret field null, with the reason."""
    text = body.decode("utf-8", errors="replace")
    if not fields:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return json.dumps({"secret_withheld": "the answer held a secret and is not kept"})
    if not isinstance(document, dict):
        return json.dumps({"secret_withheld": "the answer held a secret and is not kept"})
    for name in fields:
        if name in document:
            document[name] = None
    document["secret_withheld"] = (
        f"{', '.join(fields)}: shown once, in the first answer to this request, and kept nowhere; "
        "if it was lost, revoke this token and create another"
    )
    return json.dumps(document, ensure_ascii=False)


async def _replay(record: IdempotencyRecord, request_hash: str, send: Send) -> None:
    if record.status is not None and record.request_hash != request_hash:
        await _problem(send, 422, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
        return
    if record.status is None:
        await _problem(send, 409, "idempotency_in_progress", "the first request with this Idempotency-Key is still running")
        return
    headers = [(b"content-type", (record.content_type or "application/json").encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": record.status, "headers": headers})
    await send({"type": "http.response.body", "body": (record.body or "").encode()})


async def _problem(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps(
        {"type": f"urn:registry:error:{code}", "title": "Idempotency-Key", "status": status, "code": code, "detail": detail}
    ).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/problem+json")]})
    await send({"type": "http.response.body", "body": body})
