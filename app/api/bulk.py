"""Bulk interchange: JSON Lines imports (with dry run), streaming exports, the change feed."""

from collections.abc import AsyncIterator, Iterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.api.deps import ActorDep, SessionDep, allow
from app.config import get_settings
from app.db import get_session_factory
from app.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from app.models import ImportJob
from app.schemas.common import Cursor, IsoDateTime, RowId
from app.services import changes, exports, history, imports
from app.services.context import Actor

router = APIRouter(tags=["bulk"])
ANALYZE_AFTER = 1000
NDJSON_TYPES = {"application/x-ndjson", "application/jsonl", "application/json-lines", "application/ndjson",
                "text/plain", "application/octet-stream", ""}


class Kind(StrEnum):
    org_units = "org-units"
    persons = "persons"
    statistics = "statistics"


def import_actor(kind: Kind, actor: ActorDep) -> Actor:
    from app.api.deps import ACTIONS

    if actor.role not in ACTIONS[f"imports:{kind.value}"]:
        raise Forbidden(f"role {actor.role!r} may not import {kind.value}", code="role_forbidden")
    return Actor(name=actor.name, role=actor.role, org_units=actor.org_units, request_id=actor.request_id,
                 source="import", token_id=actor.token_id)


async def _lines(request: Request, limit: int) -> AsyncIterator[imports.Line]:
    buffer, number, size = b"", 0, 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over the limit of {limit} bytes")
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            number += 1
            if raw.strip():
                yield imports.Line(number, raw.rstrip(b"\r"))
    if buffer.strip():
        yield imports.Line(number + 1, buffer.rstrip(b"\r"))


class ImportRun:
    """One import: batches written in their own transactions (rolled back in a dry run)."""

    def __init__(self, actor: Actor, kind: str, dry_run: bool):
        self.actor, self.kind = actor, kind
        self.report = imports.Report(kind, dry_run)
        self.settings = get_settings()
        self.factory = get_session_factory()

    def _in_session(self, work: Any, lines: list[imports.Line]) -> None:
        with self.factory() as session:
            work(session, self.actor, self.report, lines, self.settings.max_line_bytes)
            if self.report.dry_run:
                session.rollback()
            else:
                session.commit()

    def batch(self, lines: list[imports.Line]) -> None:
        self._in_session(imports.import_batch, lines)

    def whole(self, lines: list[imports.Line]) -> None:
        self._in_session(imports.import_org_units, lines)

    def finish(self) -> dict[str, Any]:
        if not self.report.dry_run and self.report.lines >= ANALYZE_AFTER:
            with self.factory.begin() as session:  # fresh statistics, or the planner guesses 1 row everywhere (bench F4)
                imports.analyze(session, self.kind)
        with self.factory.begin() as session:
            job = imports.new_job(session, self.actor, self.kind, self.report.dry_run)
            imports.finish_job(job, self.report)
            return {"id": job.id, **self.report.as_dict()}


@router.post("/imports/{kind}")
async def import_records(kind: Kind, request: Request, actor: Annotated[Actor, Depends(import_actor)],
                         dry_run: bool = False) -> dict[str, Any]:
    """Import JSON Lines: each line written or rejected on its own; `dry_run` validates only."""
    settings = get_settings()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in NDJSON_TYPES:
        raise InvalidInput("unsupported content type", code="unsupported_media_type", errors=[
            {"field": "Content-Type", "message": f"{ctype!r}: send application/x-ndjson (JSON Lines)"}])
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_body_bytes:
        raise PayloadTooLarge(f"body of {length} bytes is over the limit of {settings.max_body_bytes}")
    run = ImportRun(actor, kind.value, dry_run)
    pending: list[imports.Line] = []
    async for line in _lines(request, settings.max_body_bytes):
        pending.append(line)
        if kind is not Kind.org_units and len(pending) >= settings.import_batch_size:
            await run_in_threadpool(run.batch, pending)
            pending = []
    if kind is Kind.org_units:
        await run_in_threadpool(run.whole, pending)
    elif pending:
        await run_in_threadpool(run.batch, pending)
    return await run_in_threadpool(run.finish)


@router.get("/imports/{job_id}")
def get_import(job_id: RowId, session: SessionDep, actor: Annotated[Actor, allow("imports:read")]) -> dict[str, Any]:
    """An import's report: progress, counts and per-line errors."""
    job = session.get(ImportJob, job_id)
    if job is None or (not actor.whole_tree and job.actor != actor.name):
        raise NotFound(f"No import {job_id}", code="import_not_found")
    return imports.job_view(job)


@router.get("/exports/{kind}", response_class=StreamingResponse,
            responses={200: {"description": "JSON Lines, one record a line", "content": {"application/x-ndjson": {}}}})
def export_records(kind: Kind, actor: Annotated[Actor, allow("exports:read")],
                   known_at: IsoDateTime | None = None) -> StreamingResponse:
    """Stream JSON Lines of every record in the caller's scope (now, or as recorded at `known_at`)."""
    factory = get_session_factory()

    def body() -> Iterator[bytes]:
        with factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            cut = history.txn_cut(session, known_at)
            for record in exports.GENERATORS[kind.value](session, actor, cut):
                yield exports.dumps(record)
            session.commit()

    return StreamingResponse(body(), media_type="application/x-ndjson")


@router.get("/changes")
def list_changes(session: SessionDep, actor: Annotated[Actor, allow("changes:read")],
                 after: Cursor = 0,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict[str, Any]:
    """Every write in commit order after cursor `after`; pass `next` back to continue."""
    items, nxt = changes.page(session, actor, after=after, limit=limit)
    return {"changes": items, "next": nxt}


