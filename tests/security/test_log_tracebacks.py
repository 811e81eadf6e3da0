"""A traceback in the server's log keeps none of the values an exception's message quotes (app/logs.py).

PostgreSQL's error text quotes the row it refused on the lines after its first (`DETAIL: Key (…)=(…)`, `Failing row
contains (…)`, `CONTEXT: …`), in the driver's exception and again in SQLAlchemy's that chains it; pydantic's and
FastAPI's validation errors quote each input (`input_value=…`). The handlers log unexpected database errors, and the
job runner and background rounds their failures, with their tracebacks: the tracebacks keep each frame, the first
line of a database error and its statement, and each validation error's place and type; not the values."""

import asyncio
import contextlib
import gc
import io
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError

from app import logs, main
from app.config import get_settings
from app.db import build_engine
from tests.api.factories import person, small_tree
from tests.conftest import BOOT, Registry, uniq
from tests.live import serve

SECRET_ID = "079190001234"
SECRET_NAME = "Nguyễn Thị Bí Mật"


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What a handler added after the application was built writes (as an operator's logging configuration would)."""
    logs.install()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("tests.log_tracebacks")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def _log_failure(exc: BaseException) -> None:
    logging.getLogger("tests.log_tracebacks").error("it failed", exc_info=exc)


def test_a_refused_row_is_logged_by_its_first_line_and_statement(registry: Registry, written: io.StringIO) -> None:
    engine = build_engine(registry.url)
    table = uniq("tb_").lower()
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {table} (national_id VARCHAR(20) PRIMARY KEY, full_name VARCHAR(80), "
                              "CHECK (length(full_name) < 40))"))
            conn.execute(text(f"INSERT INTO {table} VALUES (:i, :n)"), {"i": SECRET_ID, "n": SECRET_NAME})
        for values, refusal in (({"i": SECRET_ID, "n": SECRET_NAME}, "unique"),  # DETAIL: Key (national_id)=(…)
                                ({"i": "0" + SECRET_ID[1:], "n": SECRET_NAME * 3}, "check")):  # DETAIL: Failing row contains (…)
            with engine.begin() as conn, pytest.raises(IntegrityError) as failed:
                conn.execute(text(f"INSERT INTO {table} VALUES (:i, :n)"), values)
            if registry.backend == "postgres":  # the values are in the error as raised…
                assert values["i"] in str(failed.value.orig), str(failed.value.orig)
            _log_failure(failed.value)
            logged = written.getvalue()
            assert refusal in logged.lower() and f"INSERT INTO {table}" in logged, logged  # what failed, and where
            assert "Traceback (most recent call last)" in logged and "test_log_tracebacks.py" in logged
            for secret in (values["i"], values["n"], "DETAIL", "Failing row"):  # …and not in the log
                assert secret not in logged, logged
            written.truncate(0)
            written.seek(0)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


class _Person(BaseModel):
    national_id: int
    birth_date: date


def test_a_validation_error_is_logged_by_its_places_and_types(written: io.StringIO) -> None:
    with pytest.raises(ValidationError) as failed:
        _Person.model_validate({"national_id": f"x{SECRET_ID}", "birth_date": SECRET_NAME})
    assert SECRET_ID in str(failed.value)  # pydantic quotes the input…
    answer = ResponseValidationError([{"loc": ("response", "full_name"), "type": "string_type",
                                       "msg": f"{SECRET_NAME!r} is not valid", "input": {"national_id": SECRET_ID}}])
    assert SECRET_ID in str(answer)  # …and so does FastAPI
    for exc in (failed.value, answer):
        try:
            raise RuntimeError("wrapped") from exc
        except RuntimeError as wrapped:
            _log_failure(wrapped)
    logged = written.getvalue()
    assert "national_id: int_parsing" in logged and "birth_date: date_from_datetime_parsing" in logged, logged
    assert "response.full_name: string_type" in logged and "RuntimeError: wrapped" in logged, logged
    for secret in (SECRET_ID, SECRET_NAME, "input_value"):
        assert secret not in logged, logged


def test_other_messages_are_kept_whole_and_a_failing_str_loses_nothing(written: io.StringIO) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    _log_failure(LookupError("unit T-1 has no parent"))
    _log_failure(Unprintable())
    group = ExceptionGroup("two", [KeyError("k"), DBAPIError("SELECT 1", None, Exception(f"bad\nDETAIL: {SECRET_ID}"))])
    _log_failure(group)
    class Odd(RequestValidationError):
        def errors(self) -> Any:
            raise RuntimeError("cannot list them")

    for cause in (RequestValidationError([f"national id {SECRET_ID}"]),  # errors that are not pydantic's dicts
                  Odd([{"loc": ("body",), "type": "x", "input": SECRET_ID}])):  # one that cannot be summarised
        try:
            raise ValueError("the frame above it") from cause
        except ValueError as odd:
            _log_failure(odd)
    logged = written.getvalue()
    assert "LookupError: unit T-1 has no parent" in logged, logged
    assert "Unprintable: <exception str() failed>" in logged, logged
    assert "KeyError: 'k'" in logged and "bad" in logged and SECRET_ID not in logged, logged
    assert "RequestValidationError: 1 validation errors: ?" in logged, logged
    assert "Odd: <message withheld" in logged and "ValueError: the frame above it" in logged, logged
    assert "Traceback (most recent call last)" in logged and "in test_other_messages" in logged, logged


def _refused() -> IntegrityError:
    """An error as SQLAlchemy raises it for a row PostgreSQL refused, without a database."""
    import psycopg

    orig = psycopg.errors.UniqueViolation('duplicate key value violates unique constraint "uq_nid"\n'
                                          f"DETAIL:  Key (national_id)=({SECRET_ID}) already exists.")
    return IntegrityError("INSERT INTO person_version (national_id) VALUES (%(n)s)", {"n": SECRET_ID}, orig)


class _Json(logging.Formatter):
    """As JSON formatters do (python-json-logger): the traceback asked of `formatException` directly."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"message": record.getMessage(), "exc_info": self.formatException(record.exc_info)
                           if record.exc_info else None}, ensure_ascii=False)


def test_every_way_a_traceback_is_written_leaves_the_values_out(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Python's own hooks, as in a server or a command (pytest's own is set before the application is built, and kept)
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
    logs.install()
    refused = _refused()
    assert SECRET_ID in str(refused)
    rollback = PendingRollbackError("This Session's transaction has been rolled back due to a previous exception "
                                    f"during flush. Original exception was: {refused}")
    written = []
    for exc in (refused, rollback):
        record = logging.makeLogRecord({"msg": "it failed", "levelno": logging.ERROR, "levelname": "ERROR",
                                        "exc_info": (type(exc), exc, None)})  # made without a logger
        written += [logging.Formatter().format(record), _Json().format(record)]
    thread = threading.Thread(target=lambda: (_ for _ in ()).throw(refused), name="a-runner")
    thread.start()
    thread.join()
    sys.excepthook(type(refused), refused, None)  # an uncaught exception of the main thread

    class Closing:
        def __del__(self) -> None:
            raise refused

    closing = Closing()
    del closing  # an exception nobody can catch: sys.unraisablehook
    gc.collect()
    written.append(capsys.readouterr().err)
    psycopg_log = logging.getLogger("psycopg")  # psycopg's own "error ignored terminating %r: %s", self, exc
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    psycopg_log.addHandler(handler)
    try:
        psycopg_log.warning("error ignored terminating %r: %s", "<copy>", refused.orig)
    finally:
        psycopg_log.removeHandler(handler)
    written.append(out.getvalue())
    for text_out in written:
        assert "duplicate key value violates unique constraint" in text_out and SECRET_ID not in text_out, text_out
        assert "DETAIL" not in text_out, text_out
    assert "Exception in thread a-runner" in written[-2] and "INSERT INTO person_version" in written[-2]
    assert "Exception ignored in" in written[-2] and "error ignored terminating" in written[-1]


def test_an_uncaught_exception_of_a_command_is_printed_without_the_values(tmp_path: Path) -> None:
    """`registry …` runs `app.cli.main`: Typer's own hook printed an uncaught exception whole (with rich, each
    frame's local variables as well)."""
    script = tmp_path / "command.py"
    script.write_text(
        "import sys\n"
        "import psycopg\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "from app import cli\n"
        "@cli.app.command('fail')\n"
        "def fail() -> None:\n"
        "    assert 'app.main' not in sys.modules  # what the command has installed, not the application\n"
        f"    record = {{'national_id': {SECRET_ID!r}}}\n"
        "    orig = psycopg.errors.UniqueViolation('duplicate key value violates unique constraint \"uq_nid\"\\n'\n"
        "                                          'DETAIL:  Key (national_id)=(%s) already exists.' % record['national_id'])\n"
        "    raise IntegrityError('INSERT INTO person_version (national_id) VALUES (%(n)s)', record, orig)\n"
        "sys.argv = ['registry', 'fail']\n"
        "cli.main()\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 1, run
    assert "duplicate key value violates unique constraint" in run.stderr and "Traceback" in run.stderr, run.stderr
    assert SECRET_ID not in run.stderr + run.stdout and "DETAIL" not in run.stderr, run.stderr


async def _drop_a_failing_task(handler: bool) -> None:
    if handler:
        asyncio.get_running_loop().set_exception_handler(logs.loop_exception_handler)

    async def fail() -> None:
        raise _refused()

    task = asyncio.ensure_future(fail())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    del task  # never awaited: its exception never retrieved
    gc.collect()


def test_a_task_whose_exception_nobody_retrieved_is_logged_without_the_values(caplog: pytest.LogCaptureFixture,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    logs.install()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(_drop_a_failing_task(handler=False))
    assert SECRET_ID in caplog.text  # asyncio's own handler writes the task's repr, and the exception's message in it
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(_drop_a_failing_task(handler=True))
    assert "Task exception was never retrieved" in caplog.text and "duplicate key value" in caplog.text, caplog.text
    assert SECRET_ID not in caplog.text and "DETAIL" not in caplog.text, caplog.text
    monkeypatch.setattr(get_settings(), "import_jobs_resume", False)  # no reaper, no sealer: the start-up alone
    monkeypatch.setattr(get_settings(), "audit_seal_seconds", 0)
    with TestClient(main.create_app()) as client:  # the application sets it on the loop it runs on
        assert client.portal is not None
        assert client.portal.call(asyncio.get_running_loop).get_exception_handler() is logs.loop_exception_handler


def test_a_live_server_logs_an_unexpected_database_error_without_the_row(registry: Registry) -> None:
    """The real handlers of `registry serve` (uvicorn's and the root's): a statement the database refuses in a way
    the registry does not expect (a trigger raising an internal error that quotes the row, as an extension or a
    constraint of an operator's could) answers 503 and logs the first line, not the row."""
    if registry.backend != "postgres":
        pytest.skip("PostgreSQL's refusals quote the row; SQLite's are one line")
    tree = small_tree(registry)
    pid = uniq("LOGTB-")
    engine = build_engine(registry.url)
    function = uniq("refuse_").lower()
    try:
        with engine.begin() as conn:
            conn.execute(text(f"""
                CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF NEW.national_id = '{SECRET_ID}' THEN
                    RAISE EXCEPTION 'refused by a rule of the operator' USING ERRCODE = 'XX000',
                      DETAIL = format('Failing row contains (%s, %s)', NEW.national_id, NEW.full_name),
                      HINT = NEW.national_id;
                  END IF;
                  RETURN NEW;
                END $$"""))
            conn.execute(text(f"CREATE TRIGGER {function} BEFORE INSERT ON person_version FOR EACH ROW "
                              f"EXECUTE FUNCTION {function}()"))
        with serve(registry.url, BOOT, LOG_LEVEL="INFO") as live:
            r = httpx.put(f"{live.base}/api/v1/persons/{pid}", timeout=30,
                          content=json.dumps(person(pid, tree.school_a, national_id=SECRET_ID, full_name=SECRET_NAME)),
                          headers={"Authorization": f"Bearer {BOOT}", "Content-Type": "application/json"})
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable", r.text
            logged = live.log_tail(10**6)
        assert "refused by a rule of the operator" in logged and "Traceback" in logged, logged
        for secret in (SECRET_ID, SECRET_NAME, "Failing row", "DETAIL", "HINT"):
            assert secret not in logged, logged
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {function} ON person_version"))
            conn.execute(text(f"DROP FUNCTION IF EXISTS {function}()"))
        engine.dispose()


def test_a_failed_start_up_sends_one_line_and_logs_the_traceback_without_the_values(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette sends a failed lifespan's `traceback.format_exc()` as its message, and uvicorn logs that as text."""
    def fail(app: Any) -> None:
        raise _refused()

    monkeypatch.setattr(get_settings(), "import_jobs_resume", False)
    monkeypatch.setattr(get_settings(), "audit_seal_seconds", 0)
    monkeypatch.setattr(main, "_build_routes", fail)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: Any) -> None:
        sent.append(message)

    app = main.create_app()
    with caplog.at_level(logging.ERROR, logger="registry"), contextlib.suppress(BaseException):
        asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    failed = [m for m in sent if m["type"] == "lifespan.startup.failed"]
    assert len(failed) == 1 and "start-up failed" in failed[0]["message"], sent
    assert SECRET_ID not in failed[0]["message"] and "DETAIL" not in failed[0]["message"], failed
    assert "duplicate key value violates unique constraint" in caplog.text and "Traceback" in caplog.text, caplog.text
    assert SECRET_ID not in caplog.text, caplog.text


def test_an_error_that_stops_a_worker_is_logged_without_the_values(caplog: pytest.LogCaptureFixture,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """multiprocessing prints an exception that escapes a worker's body with `print_exc`, past logging."""
    from uvicorn.supervisors import multiprocess

    from app import serving

    def fail(self: Any, sockets: Any = None) -> None:
        raise _refused()

    monkeypatch.setattr(multiprocess.Process, "target", fail)
    worker = object.__new__(serving.WatchedProcess)  # its body alone: no pipe, no process
    with caplog.at_level(logging.ERROR, logger="uvicorn.error"), pytest.raises(SystemExit) as stopped:
        worker.target([])
    assert stopped.value.code == 1
    assert "the worker stopped on an error" in caplog.text and "duplicate key value" in caplog.text, caplog.text
    assert SECRET_ID not in caplog.text and "DETAIL" not in caplog.text, caplog.text
