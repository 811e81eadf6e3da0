"""Idempotency-Key on POST: a retried request is answered from the first answer, never done twice.

Pure ASGI middleware, so that import bodies are hashed as they stream (memory stays flat). The
first request with a key claims it (a row with no status yet); a retry with the same key and the
same body gets the stored answer; a different body under the same key is refused (422); a retry
while the first is still running is told so (409).
"""

import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db import get_session_factory
from app.models import IdempotencyRecord

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        auth = _header(scope, b"authorization")
        if scope["type"] != "http" or scope["method"] != "POST" or not key or not auth:
            await self.app(scope, receive, send)
            return
        if len(key) > 200:
            await _problem(send, 422, "invalid_idempotency_key", "Idempotency-Key is longer than 200 characters")
            return
        owner = hashlib.sha256(auth.encode()).hexdigest()
        found = _claim(owner, key, scope)
        if found is not None:  # a retry: hash its body as it streams by, then answer from the record
            digest = hashlib.sha256()
            while True:
                message = await receive()
                digest.update(message.get("body", b""))
                if not message.get("more_body"):
                    break
            await _replay(found, _request_hash(scope, digest.hexdigest()), send)
            return
        await self._forward(scope, receive, send, owner, key)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, owner: str, key: str) -> None:
        digest = hashlib.sha256()
        captured: dict[str, Any] = {"body": b""}

        async def hashing_receive() -> Message:
            message = await receive()
            digest.update(message.get("body", b""))
            return message

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["content_type"] = next(
                    (v.decode() for k, v in message.get("headers", []) if k.lower() == b"content-type"), None
                )
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, hashing_receive, capture_send)
        finally:
            _store(owner, key, captured, _request_hash(scope, digest.hexdigest()))


def _request_hash(scope: Scope, body_hash: str) -> str:
    line = f"{scope['method']} {scope['path']} {scope.get('query_string', b'').decode()} {body_hash}"
    return hashlib.sha256(line.encode()).hexdigest()


def _claim(owner: str, key: str, scope: Scope) -> IdempotencyRecord | None:
    """Claim the key for this request, or return the record of the request that claimed it."""
    factory = get_session_factory()
    with factory() as session:
        existing = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key))
        if existing is not None:
            return existing
        session.add(
            IdempotencyRecord(
                owner=owner, key=key, method=scope["method"], path=scope["path"], request_hash="", created_at=datetime.now(UTC)
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key))
    return None


def _store(owner: str, key: str, captured: dict[str, Any], request_hash: str) -> None:
    with get_session_factory()() as session:
        record = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key))
        if record is None:
            return
        if "status" not in captured or captured["status"] >= 500:
            session.delete(record)  # nothing was done for good: the client may retry
        else:
            record.status, record.content_type = captured["status"], captured["content_type"]
            record.request_hash = request_hash
            record.body = captured["body"].decode("utf-8", errors="replace")
        session.commit()


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
    import json

    body = json.dumps(
        {"type": f"urn:registry:error:{code}", "title": "Idempotency-Key", "status": status, "code": code, "detail": detail}
    ).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/problem+json")]})
    await send({"type": "http.response.body", "body": body})
