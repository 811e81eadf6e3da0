"""Bulk interchange: JSON Lines imports (with dry run), streaming exports, the change feed."""

import io
import json
import tempfile
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
from app.services import changes, exports, history, imports, tabular
from app.services.context import Actor

router = APIRouter(tags=["bulk"])
ANALYZE_AFTER = 1000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABULAR_TYPES = {"text/csv": "csv", "application/csv": "csv", XLSX: "xlsx"}
NDJSON_TYPES = {
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
    "application/ndjson",
    "text/plain",
    "application/octet-stream",
    "",
}


class Kind(StrEnum):
    org_units = "org-units"
    persons = "persons"
    statistics = "statistics"


def import_actor(kind: Kind, actor: ActorDep) -> Actor:
    from app.api.deps import ACTIONS

    if actor.role not in ACTIONS[f"imports:{kind.value}"]:
        raise Forbidden(f"role {actor.role!r} may not import {kind.value}", code="role_forbidden")
    return Actor(
        name=actor.name,
        role=actor.role,
        org_units=actor.org_units,
        request_id=actor.request_id,
        source="import",
        token_id=actor.token_id,
    )


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


async def _spool(request: Request, limit: int) -> Any:
    """The body in a temporary file (kept in memory up to 16 MiB): XLSX needs random access, CSV is read once."""
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - handed to the reader, closed with it
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over the limit of {limit} bytes")
        spool.write(chunk)
    spool.seek(0)
    return spool


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

    def spreadsheet(self, source: Any, fmt: str) -> None:
        """CSV or XLSX: rows grouped into records, written by the JSON Lines path, errors given rows and cells."""
        rows = tabular.csv_rows(source, self.kind) if fmt == "csv" else tabular.xlsx_rows(source, self.kind)
        pending: list[imports.Line] = []
        places: dict[int, tabular.Grouped] = {}
        for grouped in tabular.group(rows, self.kind):
            if grouped.errors:
                self.report.lines += 1
                key = grouped.record.get(imports.KEY_FIELD[self.kind])
                self.report.errors += [
                    {
                        "line": grouped.first_row,
                        imports.KEY_FIELD[self.kind]: key,
                        "field": e["column"],
                        "message": e["message"],
                        "error": "invalid_cell",
                        "row": e["row"],
                        "column": e["column"],
                        "cell": e["cell"],
                    }
                    for e in grouped.errors
                ]
                continue
            places[grouped.first_row] = grouped
            pending.append(imports.Line(grouped.first_row, json.dumps(grouped.record, ensure_ascii=False).encode()))
            if self.kind != "org-units" and len(pending) >= self.settings.import_batch_size:
                self._located(self.batch, pending, places)
                pending, places = [], {}
        if self.kind == "org-units":
            self._located(self.whole, pending, places)
        elif pending:
            self._located(self.batch, pending, places)

    def _located(self, work: Any, lines: list[imports.Line], places: dict[int, tabular.Grouped]) -> None:
        before = len(self.report.errors)
        work(lines)
        for err in self.report.errors[before:]:
            if err["line"] in places:
                err.update(tabular.locate(places[err["line"]], err.get("field"), self.kind))

    def finish(self) -> dict[str, Any]:
        if not self.report.dry_run and self.report.lines >= ANALYZE_AFTER:
            with self.factory.begin() as session:  # fresh statistics, or the planner guesses 1 row everywhere (bench F4)
                imports.analyze(session, self.kind)
        with self.factory.begin() as session:
            job = imports.new_job(session, self.actor, self.kind, self.report.dry_run)
            imports.finish_job(job, self.report)
            return {"id": job.id, **self.report.as_dict()}


@router.post("/imports/{kind}")
async def import_records(
    kind: Kind, request: Request, actor: Annotated[Actor, Depends(import_actor)], dry_run: bool = False
) -> dict[str, Any]:
    """Import JSON Lines: each line written or rejected on its own; `dry_run` validates only."""
    settings = get_settings()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in NDJSON_TYPES and ctype not in TABULAR_TYPES:
        raise InvalidInput(
            "unsupported content type",
            code="unsupported_media_type",
            errors=[{"field": "Content-Type", "message": f"{ctype!r}: send application/x-ndjson (JSON Lines), text/csv or XLSX"}],
        )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_body_bytes:
        raise PayloadTooLarge(f"body of {length} bytes is over the limit of {settings.max_body_bytes}")
    run = ImportRun(actor, kind.value, dry_run)
    if ctype in TABULAR_TYPES:
        spool = await _spool(request, settings.max_body_bytes)
        source: Any = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="") if TABULAR_TYPES[ctype] == "csv" else spool
        await run_in_threadpool(run.spreadsheet, source, TABULAR_TYPES[ctype])
        return await run_in_threadpool(run.finish)
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


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    xlsx = "xlsx"


EXPORT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "xlsx": XLSX}


@router.get(
    "/exports/{kind}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "JSON Lines (lossless), or CSV / XLSX with one row per nested item",
            "content": {"application/x-ndjson": {}, "text/csv": {}, XLSX: {}},
        }
    },
)
def export_records(
    kind: Kind,
    actor: Annotated[Actor, allow("exports:read")],
    known_at: IsoDateTime | None = None,
    format: Format = Format.jsonl,
    lang: Annotated[str, Query(pattern="^(en|vi)$")] = "en",
) -> StreamingResponse:
    """Stream every record in the caller's scope (now, or as recorded at `known_at`) as JSON Lines, CSV or XLSX."""
    factory = get_session_factory()

    def records() -> Iterator[dict[str, Any]]:
        with factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            cut = history.txn_cut(session, known_at)
            yield from exports.GENERATORS[kind.value](session, actor, cut)
            session.commit()

    rows = (row for record in records() for row in tabular.record_rows(record, kind.value))
    disposition = {"Content-Disposition": f'attachment; filename="{kind.value}.{format.value}"'}
    if format is Format.csv:
        return StreamingResponse(
            (t.encode("utf-8") for t in tabular.csv_text(rows, kind.value, lang)),
            media_type=EXPORT_TYPES["csv"],
            headers=disposition,
        )
    if format is Format.xlsx:
        return StreamingResponse(tabular.xlsx_bytes(rows, kind.value, lang), media_type=XLSX, headers=disposition)
    return StreamingResponse((exports.dumps(r) for r in records()), media_type="application/x-ndjson")


@router.get(
    "/templates/{kind}",
    response_class=StreamingResponse,
    responses={200: {"description": "An empty sheet with the columns and one example", "content": {"text/csv": {}, XLSX: {}}}},
)
def get_template(
    kind: Kind,
    actor: Annotated[Actor, allow("code_lists:read")],
    format: Format = Format.xlsx,
    lang: Annotated[str, Query(pattern="^(en|vi)$")] = "vi",
) -> StreamingResponse:
    """A template to fill in: the documented columns (English or Vietnamese headers) and an example row."""
    rows = tabular.record_rows(tabular.EXAMPLES[kind.value], kind.value)
    disposition = {"Content-Disposition": f'attachment; filename="{kind.value}-template.{format.value}"'}
    if format is Format.xlsx:
        return StreamingResponse(tabular.xlsx_bytes(rows, kind.value, lang), media_type=XLSX, headers=disposition)
    return StreamingResponse(
        (t.encode("utf-8") for t in tabular.csv_text(rows, kind.value, lang)), media_type=EXPORT_TYPES["csv"], headers=disposition
    )


@router.get("/changes")
def list_changes(
    session: SessionDep,
    actor: Annotated[Actor, allow("changes:read")],
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Every write in commit order after cursor `after`; pass `next` back to continue."""
    items, nxt = changes.page(session, actor, after=after, limit=limit)
    return {"changes": items, "next": nxt}
