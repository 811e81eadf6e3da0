"""Bulk interchange: JSON Lines imports (with dry run), streaming exports, the change feed."""

import asyncio
import io
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Scope

from app.api.admission import in_turn
from app.api.deps import ActorDep, AnswerRoute, SessionDep, allow
from app.api.params import DryRun, KnownAt
from app.config import get_settings
from app.db import get_session_factory, snapshot_session_factory
from app.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from app.models import ImportJob
from app.schemas.bulk import ChangePage, ImportReport
from app.schemas.bulk import ImportJob as ImportJobRead
from app.schemas.common import DB_INT_MAX, Cursor
from app.services import changes, exports, history, imports, jobs, labels, tabular
from app.services.context import Actor
from app.services.import_run import ImportRun

router = APIRouter(tags=["bulk"], route_class=AnswerRoute)
log = logging.getLogger(__name__)
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
    courses = "courses"
    enrolments = "enrolments"


KindPath = Annotated[Kind, PathParam(description="which records: org-units, persons, statistics, courses or enrolments")]
RECORDS = ("one record per line, as spec/interchange.md describes (the schemas OrgUnitRecord, PersonRecord, StatisticRecord, "
           "CourseRecord, EnrolmentRecord)")
# The body is read as a byte stream (JSON Lines line by line, CSV and XLSX spooled), so it is declared here, not by a
# parameter, and as bytes (format binary: a client sends the file as it is; JSON Lines and CSV are UTF-8 text).
COLUMNS = "with the columns of GET /templates/{kind}"
IMPORT_BODY = {"requestBody": {"required": False, "description": "The records to import, in one of three formats (an empty "
                               "body imports nothing and answers an empty report)", "content": {
    "application/x-ndjson": {"schema": {"type": "string", "format": "binary", "description": f"JSON Lines: {RECORDS}"}},
    "text/csv": {"schema": {"type": "string", "format": "binary", "description": f"CSV (UTF-8, BOM allowed) {COLUMNS}"}},
    XLSX: {"schema": {"type": "string", "format": "binary", "description": f"A workbook {COLUMNS}"}},
}}}
JobId = Annotated[int, PathParam(ge=1, le=DB_INT_MAX, description="the import's id (`id` of its report)")]


def import_actor(kind: KindPath, actor: ActorDep) -> Actor:
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


async def _spool_job(request: Request, fmt: str, limit: int) -> tuple[Path, int | None]:
    """The body in a file under the spool directory, and (JSON Lines) its count of non-blank lines."""
    path = jobs.spool_dir() / f"{uuid.uuid4().hex}.{fmt}"
    size, lines, tail = 0, 0, b""
    try:
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"body over the limit of {limit} bytes")
                out.write(chunk)
                if fmt == "jsonl":
                    parts = (tail + chunk).split(b"\n")
                    tail = parts.pop()
                    lines += sum(1 for p in parts if p.strip())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, (lines + (1 if tail.strip() else 0)) if fmt == "jsonl" else None


def _wants_job(request: Request, settings: Any) -> bool:
    prefer = {p.strip().lower() for p in request.headers.get("prefer", "").split(",")}
    length = request.headers.get("content-length")
    return "respond-async" in prefer or bool(length and length.isdigit() and int(length) > settings.import_async_bytes)


async def _start_job(request: Request, actor: Actor, kind: str, dry_run: bool, fmt: str) -> JSONResponse:
    settings = get_settings()
    path, total = await _spool_job(request, fmt, settings.max_job_bytes)

    def create() -> dict[str, Any]:
        with get_session_factory().begin() as session:
            job = jobs.create(session, actor, kind, dry_run, fmt, path, total)
            session.flush()
            return imports.job_view(job)

    view = await in_turn(request.scope, create)
    jobs.submit(view["id"])
    return JSONResponse(jsonable_encoder(view), status_code=202,
                        headers={"Location": f"/api/v1/imports/{view['id']}", "Preference-Applied": "respond-async"})


@router.post(
    "/imports/{kind}",
    status_code=200,
    response_model=ImportReport,
    responses={202: {"model": ImportJobRead, "description": "Accepted as a background job (`Prefer: respond-async`, or a "
                                                            "large body): poll the `Location`, GET /imports/{id}"}},
    openapi_extra=IMPORT_BODY,
)
async def import_records(
    kind: KindPath, request: Request, actor: Annotated[Actor, Depends(import_actor)], dry_run: DryRun = False
) -> Any:
    """Import JSON Lines, CSV or XLSX: each record written or rejected on its own; `dry_run` validates only.

    CSV is UTF-8 (a byte order mark is skipped), its cells separated by `,` or `;` as its header line shows;
    spreadsheet cells may name codes by their labels (Nữ, Khơ-me, Cao cấp). Every error of a record is reported.

    With `Prefer: respond-async` (or a body over IMPORT_ASYNC_BYTES) the file is taken as a job: the answer
    is 202 with the job, and GET /imports/{id} shows its progress and, when done, the same report.
    """
    settings = get_settings()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in NDJSON_TYPES and ctype not in TABULAR_TYPES:
        raise InvalidInput(
            "unsupported content type",
            code="unsupported_media_type",
            errors=[{"field": "Content-Type", "message": f"{ctype!r}: send application/x-ndjson (JSON Lines), text/csv or XLSX"}],
        )
    fmt = TABULAR_TYPES.get(ctype, "jsonl")
    as_job = _wants_job(request, settings)
    limit = settings.max_job_bytes if as_job else settings.max_body_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"body of {length} bytes is over the limit of {limit}")
    if as_job:
        return await _start_job(request, actor, kind.value, dry_run, fmt)
    run = ImportRun(actor, kind.value, dry_run)
    if fmt != "jsonl":
        spool = await _spool(request, settings.max_body_bytes)
        source: Any = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="") if fmt == "csv" else spool
        await in_turn(request.scope, run.spreadsheet, source, fmt)
        return await in_turn(request.scope, run.finish)
    if kind is Kind.org_units:  # one whole: parents may come after their children
        await in_turn(request.scope, run.whole, [line async for line in _lines(request, settings.max_body_bytes)])
    else:
        await _pipeline(run, _lines(request, settings.max_body_bytes), settings.import_batch_size, request.scope)
    return await in_turn(request.scope, run.finish)


async def _pipeline(run: ImportRun, lines: AsyncIterator[imports.Line], size: int, scope: Scope) -> None:
    """Batches written in order, one at a time, while the next is read and then parsed in a second thread (its
    Python runs while the writer waits on the database: bench F24). Returns once the last batch is written, also
    when reading stops on an error (a body over the limit), which is raised then. Each parse and each write takes a
    turn of the worker (app/api/admission.py); none is held while the next lines arrive."""
    writing: asyncio.Future[None] | None = None

    async def write(batch: list[imports.Line]) -> asyncio.Future[None]:
        parsed = await in_turn(scope, run.parse, batch)
        if writing is not None:
            await writing
        return asyncio.ensure_future(in_turn(scope, run.batch, batch, None, parsed))

    pending: list[imports.Line] = []
    try:
        async for line in lines:
            pending.append(line)
            if len(pending) >= size:
                writing, pending = await write(pending), []
        if pending:
            writing = await write(pending)
    finally:
        if writing is not None:
            await writing


@router.get("/imports/{job_id}", response_model=ImportJobRead)
def get_import(job_id: JobId, session: SessionDep, actor: Annotated[Actor, allow("imports:read")]) -> dict[str, Any]:
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


class Delimiter(StrEnum):
    comma = "comma"
    semicolon = "semicolon"


LangParam = Annotated[str, Query(
    pattern="^(en|vi)$",
    description="CSV and XLSX: `en` writes English headers and codes; `vi` writes Vietnamese headers, code values as "
                "their Vietnamese labels (Nữ, Khơ-me, Cao cấp) and booleans as có/không. An import reads either back "
                "to the same codes.")]
DelimiterParam = Annotated[Delimiter, Query(
    description="CSV only: `comma` (`,`) or `semicolon` (`;`, with a decimal comma), for Excel set to a list separator "
                "`;` (Vietnamese and most European settings). An import tells the two apart by the header line.")]


@router.get(
    "/exports/{kind}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "JSON Lines (lossless), or CSV / XLSX with one row per nested item",
            "content": {"application/x-ndjson": {"schema": {"type": "string", "description": f"JSON Lines: {RECORDS}"}},
                        "text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def export_records(
    kind: KindPath,
    actor: Annotated[Actor, allow("exports:read")],
    known_at: KnownAt = None,
    format: Annotated[Format, Query(description="jsonl (lossless), csv or xlsx")] = Format.jsonl,
    lang: LangParam = "en",
    delimiter: DelimiterParam = Delimiter.comma,
) -> StreamingResponse:
    """Stream every record in the caller's scope (now, or as recorded at `known_at`) as JSON Lines, CSV or XLSX.

    CSV starts with a UTF-8 byte order mark (Excel then reads the diacritics right); XLSX holds date cells shown
    dd/mm/yyyy and number cells.

    Text cells of CSV and XLSX that a spreadsheet would evaluate (= + - @ tab CR) or that begin with a quote get
    a leading quote; an import strips it. An export that fails before its first byte answers an error status; one
    that fails later ends with an error trailer (JSON Lines: a last line `{"error": "export_failed", ...}`; CSV: a
    last row `#export_failed ...`) and the stream is aborted. An XLSX workbook is complete before its first byte.
    """
    factory = snapshot_session_factory()

    def records() -> Iterator[dict[str, Any]]:
        with factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            cut = history.txn_cut(session, known_at)
            yield from exports.GENERATORS[kind.value](session, actor, cut)
            session.commit()

    rows: Iterator[dict[str, Any]] = (row for record in records() for row in tabular.record_rows(record, kind.value))
    if lang == "vi" and format is not Format.jsonl:
        with factory() as session:
            rows = tabular.labelled(rows, kind.value, labels.names(session))
    disposition = {"Content-Disposition": f'attachment; filename="{kind.value}.{format.value}"'}
    if format is Format.csv:
        chunks = (t.encode("utf-8") for t in tabular.csv_text(rows, kind.value, lang, tabular.DELIMITERS[delimiter]))
        return StreamingResponse(_guarded(chunks, CSV_TRAILER, head=2), media_type=EXPORT_TYPES["csv"],
                                 headers=disposition)
    if format is Format.xlsx:
        return StreamingResponse(_guarded(tabular.xlsx_bytes(rows, kind.value, lang), b""), media_type=XLSX,
                                 headers=disposition)
    return StreamingResponse(_guarded((exports.dumps(r) for r in records()), JSONL_TRAILER),
                             media_type="application/x-ndjson")


INCOMPLETE = "the export failed part way: this file is incomplete; export again"
JSONL_TRAILER = exports.dumps({"error": "export_failed", "detail": INCOMPLETE, "complete": False})
CSV_TRAILER = f"#export_failed,{INCOMPLETE}\r\n".encode()


def _guarded(chunks: Iterator[bytes], trailer: bytes, head: int = 1) -> Iterator[bytes]:
    """The export's chunks, the first `head` produced now (a failure before them answers an error status, not a 200).

    CSV's first chunk is its header row, so two are taken: the header and the first record's rows. A failure
    after the first byte is logged, ends the body with `trailer` and is raised again, so that the server aborts
    the response rather than ending it as if it were complete.
    """
    first = b"".join(next(chunks, b"") for _ in range(head))

    def rest() -> Iterator[bytes]:
        yield first
        try:
            yield from chunks
        except Exception:
            log.exception("export failed after its first byte")
            if trailer:
                yield trailer
            raise

    return rest()


@router.get(
    "/templates/{kind}",
    response_class=StreamingResponse,
    responses={200: {"description": "An empty sheet with the columns and one example", "content": {
        "text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
def get_template(
    kind: KindPath,
    session: SessionDep,
    actor: Annotated[Actor, allow("code_lists:read")],
    format: Annotated[Format, Query(description="xlsx or csv (jsonl gives CSV)")] = Format.xlsx,
    lang: LangParam = "vi",
    delimiter: DelimiterParam = Delimiter.comma,
) -> StreamingResponse:
    """A template to fill in: the documented columns (English or Vietnamese headers) and an example row."""
    rows: Iterator[dict[str, Any]] = tabular.record_rows(tabular.EXAMPLES[kind.value], kind.value)
    if lang == "vi":
        rows = tabular.labelled(rows, kind.value, labels.names(session))
    disposition = {"Content-Disposition": f'attachment; filename="{kind.value}-template.{format.value}"'}
    if format is Format.xlsx:
        return StreamingResponse(tabular.xlsx_bytes(rows, kind.value, lang), media_type=XLSX, headers=disposition)
    return StreamingResponse(
        (t.encode("utf-8") for t in tabular.csv_text(rows, kind.value, lang, tabular.DELIMITERS[delimiter])),
        media_type=EXPORT_TYPES["csv"], headers=disposition,
    )


@router.get("/changes", response_model=ChangePage)
def list_changes(
    session: SessionDep,
    actor: Annotated[Actor, allow("changes:read")],
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=5000, description="changes per page (at most 5000)")] = 500,
) -> dict[str, Any]:
    """Every write in commit order after cursor `after`; pass `next` back to continue."""
    items, nxt = changes.page(session, actor, after=after, limit=limit)
    return {"changes": items, "next": nxt}
