"""The `registry` command line: migrate, serve, import, export, tokens, audit."""

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app import logs

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.config import Settings

# Typer's own traceback (rich's, with each frame's local variables) is off; `main` runs the commands past Typer's hook
app = typer.Typer(help="Registry of Vietnam's public-sector personnel.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

KINDS = ("org-units", "persons", "statistics", "courses", "enrolments")
logs.install()  # every traceback, logged or uncaught, without the values a database or a validation error quotes


def main() -> None:
    """The `registry` command. Typer's `app()` sets its own `sys.excepthook`, which prints an uncaught exception
    whole, PostgreSQL's DETAIL with the row it refused included; run as a click command, an uncaught exception
    reaches the hook `logs.install` set."""
    typer.main.get_command(app)()


def _url(url: str | None) -> str:
    from app.config import get_settings

    return url or get_settings().database_url


@app.command()
def migrate(database_url: Annotated[str | None, typer.Option(envvar="DATABASE_URL")] = None) -> None:
    """Bring the database to the newest schema and seed the reference data."""
    from app import migrate as migrations
    from app.db import build_engine
    from app.services import seed

    url = _url(database_url)
    migrations.upgrade(url)
    engine = build_engine(url)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        added = seed.reference_data(session)
    engine.dispose()
    typer.echo(f"migrated {url.split('@')[-1]}; reference data added: {added}")


def _checked_settings() -> "Settings":
    """The settings, or exit 2 naming what is wrong (e.g. a REGISTRY_BOOTSTRAP_TOKEN under 32 characters)."""
    from pydantic import ValidationError

    from app.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"error: {'.'.join(map(str, error['loc'])).upper()}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def default_workers(sqlite: bool) -> int:
    """`registry serve`'s worker processes when neither --workers nor WEB_CONCURRENCY names them: one per core on
    PostgreSQL, one on SQLite (a single writer)."""
    import os

    return 1 if sqlite else max(1, len(os.sched_getaffinity(0)))


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int | None, typer.Option(
        envvar="WEB_CONCURRENCY", min=1,
        help="worker processes; default: one per core on PostgreSQL, one on SQLite (a single writer)")] = None,
    healthcheck_timeout: Annotated[int, typer.Option(
        envvar="WORKER_HEALTHCHECK_TIMEOUT", min=1,
        help="seconds a worker may take to answer the supervisor's health check before it is restarted; a worker "
             "writing a very large answer (every unit of a national registry) holds the interpreter for seconds")] = 120,
) -> None:
    """Run the HTTP service."""
    import os
    import secrets

    from sqlalchemy.engine import make_url

    from app import serving
    from app.db import normalise_url

    settings = _checked_settings()
    if workers is None:
        workers = default_workers(make_url(normalise_url(settings.database_url)).get_backend_name() == "sqlite")
    if workers > 1 and not os.environ.get("REGISTRY_SESSION_SECRET"):
        # the workers inherit one secret, so a dashboard cookie signed by one is read by the others
        # (several hosts: set REGISTRY_SESSION_SECRET on each, docs/scaling.md)
        os.environ["REGISTRY_SESSION_SECRET"] = secrets.token_urlsafe(32)
    # uvicorn's access log is off: it wrote each URL with its query string (a search by name, `?q=…`) in plain text;
    # the application writes each request's line instead (app.main.request_line). LOG_LEVEL governs uvicorn's own.
    level = logging.getLevelName(settings.log_level.upper())
    serving.run("app.main:app", host=host, port=port, workers=workers, proxy_headers=True,
                timeout_worker_healthcheck=healthcheck_timeout, access_log=False,
                **({"log_level": level} if isinstance(level, int) else {}))


@app.command()
def demo(url: Annotated[str, typer.Option(help="where the server will answer, for the sign-in link")] = "http://127.0.0.1:8000",
         load: Annotated[bool, typer.Option("--load/--no-load", envvar="REGISTRY_DEMO",
                                            help="load the demo (REGISTRY_DEMO=0: start empty)")] = True,
         persons: Annotated[int, typer.Option(min=1, help="how many persons the demo province has")] = 3000) -> None:
    """Load the demo registry into an empty database (never into one holding data), then print how to sign in.

    `make run` calls it before `registry serve`; `registry migrate` and `registry serve` never load demo data.
    """
    from app.db import get_session_factory
    from app.services import demo as demo_data
    from app.services import tokens

    boot = _checked_settings().registry_bootstrap_token
    with get_session_factory()() as session:
        empty = demo_data.is_empty(session)
        disabled = tokens.bootstrap_disabled(session)
    if not load:
        typer.echo("REGISTRY_DEMO=0: no demo loaded" + ("" if empty else " (the registry holds data)"))
    elif not empty:
        typer.echo("the registry already holds org units or persons: the demo is not loaded (it loads into an empty one only)")
    else:
        _load_demo(persons)
    typer.echo(f"\nDashboard: {url.rstrip('/')}/dashboard/login  (API: {url.rstrip('/')}/docs)")
    typer.echo(_admin_token_text(boot.get_secret_value() if boot else None, disabled))


def _load_demo(persons: int) -> None:
    """Load the demo and say what it wrote; exit 1 naming every record refused (none are, unless the generator broke)."""
    from app.services import demo as demo_data

    loaded = demo_data.load(persons=persons)
    for kind, report in loaded.reports.items():
        for err in report["errors"]:
            typer.echo(json.dumps({"kind": kind, **err}, ensure_ascii=False), err=True)
    if loaded.failed:
        typer.echo(f"error: {loaded.failed} demo records were refused", err=True)
        raise typer.Exit(1)
    typer.echo(loaded.summary())


def _admin_token_text(secret: str | None, disabled: bool) -> str:
    """The token to paste into the sign-in form (printed, never put in a link: URLs end up in histories and logs)."""
    if secret is None:
        return "No admin token: set REGISTRY_BOOTSTRAP_TOKEN (32 characters or more), or `registry tokens create NAME admin`"
    if disabled:
        return "The bootstrap token is disabled in this database (`registry tokens disable-bootstrap`): use a token of your own"
    return f"Admin token (paste it into the sign-in form; the README's examples read it as $TOKEN):\n  {secret}\n"


@app.command("import")
def import_file(path: Path, kind: Annotated[str, typer.Option(help="org-units | persons | statistics | courses | enrolments")],
                dry_run: bool = False) -> None:
    """Import a JSON Lines (or .csv / .xlsx) file directly into the database (as the system actor).

    The file is streamed batch by batch (memory stays flat whatever its size) with a progress bar;
    the report's counts go to stdout as JSON and each error line to stderr.
    """
    from app.services.context import Actor
    from app.services.import_run import ImportRun, Mark, jsonl_lines

    if kind not in KINDS:
        raise typer.BadParameter(f"kind must be one of {', '.join(KINDS)}")
    actor = Actor(name="cli", role="admin", source="import")
    fmt = {".csv": "csv", ".xlsx": "xlsx"}.get(path.suffix.lower(), "jsonl")
    with typer.progressbar(length=path.stat().st_size if fmt == "jsonl" else 0, label=f"importing {kind}",
                           file=sys.stderr, show_pos=fmt != "jsonl") as bar:
        seen = {"offset": 0}

        def progress(_session: object, mark: Mark) -> None:
            if mark.offset is not None:
                bar.update(mark.offset - seen["offset"])
                seen["offset"] = mark.offset
            else:
                bar.update(1)

        run = ImportRun(actor, kind, dry_run, checkpoint=progress)
        with path.open("rb") as source:
            if fmt == "jsonl":
                run.stream(jsonl_lines(source))
            elif fmt == "csv":
                import io

                run.spreadsheet(io.TextIOWrapper(source, encoding="utf-8-sig", newline=""), "csv")
            else:
                run.spreadsheet(source, "xlsx")
        run.analyze_if_large()
    report = run.report
    typer.echo(json.dumps({k: v for k, v in report.as_dict().items() if k != "errors"}, ensure_ascii=False))
    for err in report.errors:
        typer.echo(json.dumps(err, ensure_ascii=False), err=True)
    raise typer.Exit(1 if report.errors else 0)


jobs_app = typer.Typer(help="Background import jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("resume")
def resume_jobs() -> None:
    """Run, here and now, every import job whose runner stopped (a crash): from its last committed batch."""
    from app.db import get_session_factory
    from app.services import jobs

    with get_session_factory()() as session:
        left = jobs.stale(session)
    for job_id in left:
        ran = jobs.run(job_id, stale_only=True)
        typer.echo(json.dumps({"job": job_id, "resumed": ran}))
    if not left:
        typer.echo(json.dumps({"resumed": []}))


@app.command("export")
def export_kind(kind: str) -> None:
    """Write every record of a kind as JSON Lines to standard output."""
    from app.db import get_session_factory
    from app.services import exports
    from app.services.context import Actor

    if kind not in KINDS:
        raise typer.BadParameter(f"kind must be one of {', '.join(KINDS)}")
    actor = Actor(name="cli", role="admin", source="cli")
    with get_session_factory()() as session:
        for record in exports.GENERATORS[kind](session, actor, None):
            sys.stdout.buffer.write(exports.dumps(record))
        session.commit()


@app.command("backup")
def backup_cmd(target: Path, database_url: Annotated[str | None, typer.Option(envvar="DATABASE_URL")] = None) -> None:
    """Write a consistent backup of the database (SQLite online backup, or pg_dump custom format)."""
    from app.services import backup

    backup.backup(_url(database_url), target)
    typer.echo(f"backup written to {target}")


@app.command("restore")
def restore_cmd(source: Path, yes: Annotated[bool, typer.Option("--yes", help="replace the database's contents")] = False,
                database_url: Annotated[str | None, typer.Option(envvar="DATABASE_URL")] = None) -> None:
    """Replace the database's contents with a backup (asks for --yes)."""
    from app.services import backup

    if not yes:
        typer.echo("restore replaces everything in the database; run again with --yes", err=True)
        raise typer.Exit(2)
    backup.restore(_url(database_url), source)
    typer.echo(f"restored {source}")


def _engine(database_url: str | None) -> "Engine":
    from app.db import build_engine

    return build_engine(_url(database_url))


@audit_app.command("keygen")
def audit_keygen(path: Annotated[Path | None, typer.Argument(help="where to write the private key (PEM, 0600); "
                                                         "default: AUDIT_SIGNING_KEY_FILE")] = None) -> None:
    """Write a new Ed25519 key that signs audit checkpoints; print its public key (keep a copy away from the database)."""
    from app.config import get_settings
    from app.services import checkpoint

    configured = get_settings().audit_signing_key_file
    target = path or (Path(configured) if configured else None)
    if target is None:
        typer.echo("error: name the key file (registry audit keygen PATH) or set AUDIT_SIGNING_KEY_FILE", err=True)
        raise typer.Exit(2)
    if target.exists():
        typer.echo(f"error: {target} exists; a signing key is never overwritten", err=True)
        raise typer.Exit(2)
    public = checkpoint.keygen(target)
    Path(f"{target}.pub").write_text(checkpoint.public_text(public) + "\n", "utf-8")
    typer.echo(json.dumps({"key_file": str(target), "public_key_file": f"{target}.pub", "key_id": checkpoint.key_id(public),
                           "public_key": checkpoint.public_text(public)}))


@audit_app.command("checkpoint")
def audit_checkpoint(key: Annotated[Path | None, typer.Option(help="the private key; default: AUDIT_SIGNING_KEY_FILE")] = None,
                     out: Annotated[Path | None, typer.Option(help="write the checkpoint here (default: stdout)")] = None,
                     database_url: Annotated[str | None, typer.Option(envvar="DATABASE_URL")] = None) -> None:
    """Sign a tree head of both audit logs (RFC 9162 style); keep it away from the database, then `verify --checkpoint`."""
    from sqlalchemy.orm import Session

    from app.config import get_settings
    from app.services import audit, checkpoint

    key_file = key or get_settings().audit_signing_key_file
    if not key_file:
        typer.echo("error: no signing key: pass --key or set AUDIT_SIGNING_KEY_FILE (`registry audit keygen` writes one)",
                   err=True)
        raise typer.Exit(2)
    try:
        signer = checkpoint.load_private(key_file)
    except checkpoint.CheckpointError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = _engine(database_url)
    with Session(engine) as session:
        audit.seal(session, wait=True)  # what readers appended in the last moments is covered too
        session.commit()
        findings = audit.verify(session)
        document = None if findings else checkpoint.create(session, signer)
    engine.dispose()
    if document is None:
        for f in findings:
            typer.echo(f"FAIL {f.log} entry {f.entry}: {f.problem}", err=True)
        typer.echo("error: the hash chains do not hold; no checkpoint signed over a damaged log", err=True)
        raise typer.Exit(1)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out:
        out.write_text(text + "\n", "utf-8")
    else:
        typer.echo(text)
    sizes = ", ".join(f"{log} {head['tree_size']}" for log, head in document["logs"].items())
    typer.echo(f"checkpoint signed by key {document['key_id']}: {sizes} entries", err=True)


@audit_app.command("verify")
def audit_verify(
    checkpoint_files: Annotated[list[Path] | None, typer.Option("--checkpoint", help="a signed checkpoint to hold the "
                                                                "logs to (repeatable)")] = None,
    public_key: Annotated[str | None, typer.Option(help="the signer's public key (base64, or a file); default: that "
                                                   "of AUDIT_SIGNING_KEY_FILE")] = None,
    database_url: Annotated[str | None, typer.Option(envvar="DATABASE_URL")] = None,
) -> None:
    """Recompute the hash chains of the change feed and the access log, and the trees of the checkpoints given."""
    from sqlalchemy.orm import Session

    from app.config import get_settings
    from app.services import audit, checkpoint

    documents = []
    if checkpoint_files:
        try:
            source = public_key or get_settings().audit_signing_key_file
            if not source:
                raise checkpoint.CheckpointError("a checkpoint is verified with its signer's public key: pass --public-key")
            verifier = checkpoint.load_public(source)
            for path in checkpoint_files:
                document = json.loads(path.read_text("utf-8"))
                checkpoint.check_signature(document, verifier)
                documents.append((path, document))
        except (OSError, ValueError, checkpoint.CheckpointError) as exc:
            typer.echo(f"FAIL checkpoint: {exc}", err=True)
            raise typer.Exit(1) from None
    engine = _engine(database_url)
    with Session(engine) as session:
        sealed = audit.seal(session, wait=True)  # entries appended in the last moments, not sealed yet
        session.commit()
        findings = audit.verify(session)
        compared = [(path, document, *checkpoint.compare(session, document)) for path, document in documents]
    engine.dispose()
    if sealed:
        typer.echo(f"sealed {sealed} access-log entries appended since the last seal")
    for f in findings:
        typer.echo(f"FAIL {f.log} entry {f.entry}: {f.problem}", err=True)
    for path, document, against, appended in compared:
        for f in against:
            typer.echo(f"FAIL {f.log} against checkpoint {path} ({document['timestamp']}): {f.problem}", err=True)
        if not against:
            sizes = ", ".join(f"{log} {head['tree_size']} (+{appended[log]} since)" for log, head in document["logs"].items())
            typer.echo(f"checkpoint {path} ({document['timestamp']}) holds: {sizes}")
    if findings or any(against for _p, _d, against, _a in compared):
        raise typer.Exit(1)
    typer.echo("audit log intact: every entry matches its hash and its link")


@tokens_app.command("disable-bootstrap")
def disable_bootstrap(database_url: Annotated[str | None, typer.Option(envvar="DATABASE_URL")] = None) -> None:
    """Disable REGISTRY_BOOTSTRAP_TOKEN for good, on every server of this database (refused while no admin token is valid)."""
    from sqlalchemy.orm import Session

    from app.errors import DomainError
    from app.services import tokens

    engine = _engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            flag = tokens.disable_bootstrap(session, "cli")
            typer.echo(json.dumps({"bootstrap_disabled_at": flag.set_at.isoformat(), "by": flag.set_by}))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


@tokens_app.command("create")
def create_token(name: str, role: str, org_unit: Annotated[list[str] | None, typer.Option()] = None) -> None:
    """Create a token and print it (shown once)."""
    from app.db import get_session_factory
    from app.errors import DomainError
    from app.services import tokens
    from app.services.context import Actor

    with get_session_factory().begin() as session:
        try:
            secret, row = tokens.create(session, Actor(name="cli", role="admin"), name=name, role=role,
                                        org_units=org_unit or [])
        except DomainError as exc:
            typer.echo(f"error: {exc.detail} {getattr(exc, 'errors', '')}", err=True)
            raise typer.Exit(2) from None
        typer.echo(json.dumps({"token": secret, "id": row.id, "role": row.role, "org_units": row.org_units}))


if __name__ == "__main__":  # pragma: no cover
    main()
