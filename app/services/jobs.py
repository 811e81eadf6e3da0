"""Import jobs run in the background: spooled input, progress committed with each batch, resume after a crash.

A job's input is spooled to a file under `IMPORT_SPOOL_DIR`; the job row records how far the input
is committed (`offset`, `line_no`) in the same transaction as the batch's rows, so progress is never
ahead of or behind the data. A job whose runner died (its heartbeat older than the lease) is claimed
again, by the reaper thread of any server process or by `registry jobs resume`, and continues from
its last committed batch with its counts and errors; JSON Lines resume at the byte offset, and
spreadsheets (whose rows cannot be addressed by offset) run again from the start, which the
idempotent import turns into `unchanged` for what was already written.

Every runner that takes a job increments its `generation`, and every write of a runner (heartbeat,
checkpoint, finish, failure) is conditional on the job still holding that generation: a runner paused
past its lease (a stopped process, a long GC pause) whose job was taken over finds its next write
refused and stops at once, and the batch it was writing is rolled back with that checkpoint (they
share one transaction). So a job taken over keeps its new runner's report, and no row is written twice.

Before each batch commits, the runner also checks that the credential the job was started with still
holds: an API token revoked or expired since ends the job `failed` with code `owner_token_invalid`, and
that batch is rolled back. The bootstrap token has no token row: its jobs stop the same way once it is
disabled (`registry tokens disable-bootstrap`), not when its secret is merely changed in the settings
(which is a restart, and a job already accepted outlives it). An OIDC session is revoked at the
identity provider, which the registry cannot ask: its jobs run to their end.

Hand-rolled rather than Celery/RQ/procrastinate, on purpose: the database is the only
infrastructure the registry has (SQLite by default), and the checkpoint must commit in the batch's
own transaction, which no external queue can join. It is small: a claim by conditional UPDATE,
a heartbeat, and one thread per process.
"""

import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_session_factory
from app.errors import InvalidInput
from app.models import ApiToken, ImportJob
from app.services import imports, tokens
from app.services.background import Loop
from app.services.context import Actor
from app.services.import_run import ImportRun, Mark, jsonl_lines

log = logging.getLogger("registry.jobs")
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-job")


def spool_dir() -> Path:
    path = Path(get_settings().import_spool_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _now() -> datetime:
    return datetime.now(UTC)


def create(session: Session, actor: Actor, kind: str, dry_run: bool, fmt: str, source: Path,
           total: int | None) -> ImportJob:
    """A queued job for a spooled input file."""
    now = _now()
    job = ImportJob(kind=kind, status="queued", dry_run=dry_run, actor=actor.name, created_at=now, counts={},
                    errors=[], format=fmt, source_path=str(source), total=total or 0, done=0, offset=0, line_no=0,
                    heartbeat_at=now, owner={"name": actor.name, "role": actor.role, "org_units": list(actor.org_units),
                                             "token_id": actor.token_id, "request_id": actor.request_id})
    session.add(job)
    session.flush()
    return job


def submit(job_id: int) -> None:
    """Run the job in this process's background thread."""
    _executor.submit(_run_logged, job_id, False)


def _run_logged(job_id: int, stale_only: bool) -> None:
    try:
        run(job_id, stale_only=stale_only)
    except Exception:  # noqa: BLE001 - a background thread has no caller to raise to; run() recorded it in the job
        log.exception("import job %s failed", job_id)


class RunStopped(BaseException):
    """Raised by a job's checkpoint to stop its run at once, rolling back the batch being written.

    A BaseException, like asyncio's CancelledError and for the same reason: the import run retries a
    failed batch line by line on any Exception (app.services.import_run), and a stop must not be retried.
    """


class LeaseLost(RunStopped):
    """This runner's generation is no longer the job's: another runner took it over (or it ended)."""


class OwnerInvalid(RunStopped):
    """The token the job was started with was revoked or has expired."""


def _claim(job_id: int, stale_only: bool) -> int | None:
    """Take the job for this process: a queued one, or (stale_only) one whose runner stopped beating.

    Answers the job's new generation (this runner's fence), or None when it was not taken.
    """
    lease = timedelta(seconds=get_settings().import_job_lease_seconds)
    now = _now()
    cond = [ImportJob.id == job_id, ImportJob.source_path.is_not(None)]
    if stale_only:
        cond += [ImportJob.status.in_(("queued", "running")),
                 or_(ImportJob.heartbeat_at.is_(None), ImportJob.heartbeat_at < now - lease)]
    else:
        cond.append(ImportJob.status == "queued")
    with get_session_factory().begin() as session:
        claimed = session.execute(update(ImportJob).where(*cond).values(
            status="running", heartbeat_at=now, generation=ImportJob.generation + 1))
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        return session.scalar(select(ImportJob.generation).where(ImportJob.id == job_id))


def _fenced(job_id: int, generation: int) -> list[Any]:
    """The condition of every write of the runner holding `generation`."""
    return [ImportJob.id == job_id, ImportJob.generation == generation, ImportJob.status == "running"]


def owner_problem(session: Session, owner: dict[str, Any] | None) -> str | None:
    """Why the job's owner may no longer write (its token revoked or expired), or None while it may."""
    token_id = (owner or {}).get("token_id")
    if token_id is None:  # the bootstrap token and OIDC callers: see the module's docstring
        if (owner or {}).get("name") == "bootstrap" and tokens.bootstrap_disabled(session):
            return "the bootstrap token that started this import was disabled; the import stopped before its next batch"
        return None
    row = session.get(ApiToken, token_id, populate_existing=True)
    if row is None:
        return "the token that started this import no longer exists"
    if row.revoked_at is not None:
        return "the token that started this import was revoked; the import stopped before its next batch"
    expires = row.expires_at
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= _now():
        return "the token that started this import has expired; the import stopped before its next batch"
    return None


def _actor(job: ImportJob) -> Actor:
    owner = job.owner or {"name": job.actor, "role": "admin", "org_units": []}
    return Actor(name=owner["name"], role=owner["role"], org_units=tuple(owner.get("org_units") or ()),
                 request_id=owner.get("request_id"), source="import", token_id=owner.get("token_id"))


def _report(job: ImportJob, resume: bool) -> imports.Report:
    report = imports.Report(job.kind, job.dry_run)
    if resume:
        for key in ("lines", "created", "updated", "unchanged"):
            setattr(report, key, int(job.counts.get(key, 0)))
        report.errors = list(job.errors)
        if job.counts.get("recorded_at"):
            report.recorded_at = datetime.fromisoformat(job.counts["recorded_at"].replace("Z", "+00:00"))
    return report


def run(job_id: int, *, stale_only: bool = False) -> bool:
    """Claim and run the job to its end; False when another runner holds it (or took it over meanwhile)."""
    generation = _claim(job_id, stale_only)
    if generation is None:
        return False
    factory = get_session_factory()
    with factory() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None and job.source_path is not None
        by_offset = job.format == "jsonl" and job.kind != "org-units"
        report = _report(job, resume=by_offset)
        start_offset, start_line = (job.offset, job.line_no) if by_offset else (0, 0)
        kind, fmt, path, actor, owner = job.kind, job.format, Path(job.source_path), _actor(job), job.owner

    def checkpoint(batch_session: Session, mark: Mark) -> None:
        """In the batch's transaction: refused (and the batch rolled back) once the job is not this runner's."""
        problem = owner_problem(batch_session, owner)
        if problem is not None:
            raise OwnerInvalid(problem)
        moved = batch_session.execute(update(ImportJob).where(*_fenced(job_id, generation)).values(
            heartbeat_at=_now(), done=report.lines, line_no=mark.line_no,
            offset=mark.offset if mark.offset is not None and by_offset else 0,
            counts=_counts(report), errors=report.errors))
        if not moved.rowcount:  # type: ignore[attr-defined]
            raise LeaseLost(f"import job {job_id}: generation {generation} lost its lease")

    beat = _Heartbeat(job_id, generation)
    beat.start()
    try:
        import_run = ImportRun(actor, kind, report.dry_run, report=report, checkpoint=checkpoint)
        with path.open("rb") as source:
            if fmt == "jsonl":
                import_run.stream(jsonl_lines(source, start_offset, start_line))
            elif fmt == "csv":
                import_run.spreadsheet(io.TextIOWrapper(source, encoding="utf-8-sig", newline=""), "csv")
            else:
                import_run.spreadsheet(source, "xlsx")
        import_run.analyze_if_large()
    except LeaseLost:
        log.warning("import job %s: runner of generation %s lost its lease to another; it stopped without writing",
                    job_id, generation)
        return False
    except OwnerInvalid as exc:
        log.warning("import job %s stopped: %s", job_id, exc)
        _fail(job_id, generation, str(exc), "owner_token_invalid")
        return True
    except InvalidInput as exc:  # a spreadsheet that cannot be read (encoding, corrupt XLSX, an over-long cell)
        log.warning("import job %s refused its input: %s", job_id, exc.detail)
        _fail(job_id, generation, exc.detail, exc.code)
        return True
    except Exception:
        _fail(job_id, generation, "the import stopped on an unexpected error; see the server log, then resume it",
              "import_failed")
        raise
    finally:
        beat.stop()
    finished = ImportJob()  # detached: finish_job fills in the values, written below only under the fence
    imports.finish_job(finished, report)
    with factory.begin() as session:
        done = session.execute(update(ImportJob).where(*_fenced(job_id, generation)).values(
            status=finished.status, finished_at=finished.finished_at, total=finished.total, done=finished.done,
            counts=finished.counts, errors=finished.errors, source_path=None))
        if not done.rowcount:  # type: ignore[attr-defined]
            log.warning("import job %s: runner of generation %s lost its lease before finishing", job_id, generation)
            return False
    path.unlink(missing_ok=True)
    return True


def _fail(job_id: int, generation: int, message: str, code: str) -> None:
    """End the job `failed`, only while this runner's generation holds it."""
    with get_session_factory().begin() as session:
        session.execute(update(ImportJob).where(*_fenced(job_id, generation))
                        .values(status="failed", finished_at=_now(), message=message, code=code))


def _counts(report: imports.Report) -> dict[str, Any]:
    result = report.as_dict()
    return {k: result[k] for k in imports.COUNTED}


class _Heartbeat:
    """Keeps a running job's lease while a long step (a whole org-unit file, an XLSX read) has no checkpoint."""

    def __init__(self, job_id: int, generation: int):
        self.job_id, self.generation, self.stopped = job_id, generation, threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"import-job-{job_id}-heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:
        every = max(get_settings().import_job_lease_seconds / 4, 0.5)
        while not self.stopped.wait(every):
            try:
                with get_session_factory().begin() as session:
                    session.execute(update(ImportJob).where(*_fenced(self.job_id, self.generation))
                                    .values(heartbeat_at=_now()))
            except Exception:  # noqa: BLE001 - a missed beat is retried; the next checkpoint beats anyway
                log.warning("heartbeat of import job %s failed", self.job_id, exc_info=True)


def stale(session: Session) -> list[int]:
    """Jobs whose runner stopped: queued or running, with a heartbeat older than the lease."""
    lease = timedelta(seconds=get_settings().import_job_lease_seconds)
    return list(session.scalars(select(ImportJob.id).where(
        ImportJob.status.in_(("queued", "running")), ImportJob.source_path.is_not(None),
        or_(ImportJob.heartbeat_at.is_(None), ImportJob.heartbeat_at < _now() - lease)).order_by(ImportJob.id)))


def _reaping_round() -> None:
    with get_session_factory()() as session:
        left = stale(session)
    for job_id in left:
        _executor.submit(_run_logged, job_id, True)


# resumes jobs left behind by a stopped runner, at start and every IMPORT_JOB_POLL_SECONDS, while an application of
# the process runs (app/services/background.py)
_reaper = Loop("import-job-reaper", _reaping_round, at_start=True)


def start_reaper() -> None:
    """Start (or join) the process's reaper; `stop_reaper` at the end of the application that started it."""
    _reaper.start(get_settings().import_job_poll_seconds)


def stop_reaper() -> None:
    _reaper.stop()
