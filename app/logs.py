"""What the server's log keeps of an exception's traceback: every line of it, except the parts of an exception's
message that hold a person's data.

Where the data was. A traceback ends each exception of its chain with the exception's message, and two kinds of
message carry the values they were given:
- a database error: PostgreSQL's lines after the first (`DETAIL: Key (national_id)=(079…) already exists`,
  `Failing row contains (…, Nguyễn …)`, `CONTEXT: COPY person, line 3: "…"`), in the driver's exception and again in
  SQLAlchemy's, which chains it. Kept: the first line (the refusal and the constraint it names) and the statement
  (whose parameters the engines hide, app/db.py);
- a validation error (pydantic's, FastAPI's for a request or an answer): each error's `input_value=…` and messages of
  validators that quote the value. Kept: each error's place and type.

Every other exception keeps its message whole: the registry's own say what failed without a person's values (its
refusals name the field, the unit, the code); the standard library's `KeyError` and `ValueError` quote the key or value
they were given. The frames name only code.

How. `install` replaces `logging.Formatter.formatException`, which every formatter derived from the standard one
calls for a record that carries an exception (uvicorn's, pytest's, a JSON formatter's such as python-json-logger's,
which call it directly): every handler, those of an operator's logging configuration included, writes the same
redacted text. A formatter that overrides `formatException` with its own traceback is not covered. And it replaces
`sys.excepthook` and `threading.excepthook`, which print an uncaught exception (a command of the CLI, a thread of the
server) past logging. asyncio's default handler of an event loop's errors ("Task exception was never retrieved") writes
the task's repr, which quotes the exception's, into its message: `loop_exception_handler` writes the message and the
traceback instead (`app.main.lifespan` sets it on the server's loop). Hand-written because no library redacts tracebacks by the
kind of exception; the text replaced is each exception's own `str()`, exactly as the traceback shows it.
"""

import logging
import sqlite3
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from app.errors import driver_text

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _is_database_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    psycopg = sys.modules.get("psycopg")  # not imported: no psycopg error can exist
    return psycopg is not None and isinstance(exc, psycopg.Error)


def _places(errors: Any) -> str:
    parts = []
    for error in errors:
        place = ".".join(str(part) for part in error.get("loc", ())) or "-"
        parts.append(f"{place}: {error.get('type', '?')}")
    return "; ".join(parts)


def kept_text(exc: BaseException) -> str | None:
    """What a log keeps of `exc`'s message where it may hold a person's data; None where it is kept whole."""
    from fastapi.exceptions import ValidationException
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError, StatementError

    if isinstance(exc, StatementError):
        orig = exc.orig
        first = driver_text(exc)
        if orig is not None:
            first = f"({type(orig).__module__}.{type(orig).__qualname__}) {first}"
        return f"{first}\n[SQL: {exc.statement}]" if exc.statement else first
    if isinstance(exc, SQLAlchemyError):  # its own may quote one (PendingRollbackError: "Original exception was: …")
        return driver_text(exc)
    if _is_database_error(exc):
        return driver_text(exc)
    if isinstance(exc, ValidationError):
        return f"{exc.error_count()} validation errors for {exc.title}: " + _places(
            exc.errors(include_input=False, include_url=False, include_context=False))
    if isinstance(exc, ValidationException):
        errors = list(exc.errors())
        return f"{len(errors)} validation errors: " + _places(errors)
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc`, its causes and contexts, and the members of exception groups, each once."""
    found: list[BaseException] = []
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
    return found


def _nodes(te: traceback.TracebackException) -> list[traceback.TracebackException]:
    """`te`, the causes and contexts it prints, and the members of exception groups, each once."""
    found: list[traceback.TracebackException] = []
    stack = [te]
    while stack:
        current = stack.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(getattr(current, "exceptions", None) or ())
    return found


def traceback_text(exc_info: ExcInfo) -> str:
    """The traceback `logging.Formatter.formatException` writes, with each message that may hold a person's data
    cut to what `kept_text` keeps.

    Each message is replaced where traceback keeps it, in the `TracebackException` it formats: replacing it in the
    formatted text would miss the members of an exception group, whose lines are prefixed. That attribute (`_str`,
    the same from Python 3.11 to 3.13) is not public; without it this raises, and the log says only that the
    traceback could not be written (`_text`), never the whole text."""
    kept_of: dict[str, str] = {}
    for exc in _chain(exc_info[1]):
        kept = kept_text(exc)
        if kept is None:
            continue
        try:
            whole = str(exc)
        except Exception:  # noqa: BLE001 - traceback prints such an exception as <exception str() failed>
            continue
        kept_of[whole] = kept
    te = traceback.TracebackException(*exc_info, compact=True)
    if kept_of:
        for node in _nodes(te):
            message = getattr(node, "_str", None)
            if not isinstance(message, str):
                raise RuntimeError("this Python's TracebackException keeps its message elsewhere")
            node._str = kept_of.get(message, message)  # type: ignore[attr-defined]
    return "".join(te.format()).rstrip("\n")


def _text(exc_info: tuple[Any, Any, Any]) -> str:
    if exc_info[1] is None:  # logging's exc_info=(None, None, None): what traceback prints of it
        return "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    try:
        return traceback_text(exc_info)
    except Exception:  # noqa: BLE001 - never lose the record, and never write the unredacted text instead
        return f"{exc_info[0].__name__} (its traceback could not be written without the values it quotes)"


def _format_exception(self: logging.Formatter, ei: Any) -> str:
    return _text(ei)


def _write(text: str) -> None:
    if sys.stderr is not None:  # as the default hooks: nowhere to write without a stderr
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    _write(_text((kind, value, tb)))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # as the default hook: a thread that exits is not an error
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    _write(f"Exception in thread {name}:\n{_text((args.exc_type, args.exc_value, args.exc_traceback))}")


_asyncio_log = logging.getLogger("asyncio")


def loop_exception_handler(loop: Any, context: dict[str, Any]) -> None:
    """An event loop's handler of the errors nobody caught (a task whose exception was never retrieved, a callback
    that raised): its message and the exception's traceback, as `formatException` writes it. asyncio's default also
    writes each item of the context by its repr (`future: <Task … exception=IntegrityError('… DETAIL: Key (…)=(…)')>`),
    the exception's message whole."""
    exc = context.get("exception")
    _asyncio_log.error("%s", context.get("message") or "an error in the event loop",
                       exc_info=(type(exc), exc, exc.__traceback__) if isinstance(exc, BaseException) else None)


def install() -> None:
    """Write every traceback of this process, logged or uncaught, without the values `kept_text` leaves out
    (idempotent)."""
    logging.Formatter.formatException = _format_exception  # type: ignore[method-assign]
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
