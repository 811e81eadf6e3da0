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
redacted text. A formatter that overrides `formatException` with its own traceback is not covered. The text written
past logging is covered too: `sys.excepthook`, `threading.excepthook` and `sys.unraisablehook` (where each is still
Python's own), psycopg's warnings that pass the error they ignored as an argument (a filter on its logger), a failed
lifespan (`reported`: Starlette sends its `traceback.format_exc()` as a message), an event loop's uncaught errors
(`loop_exception_handler`: asyncio's default writes the task's repr, which quotes the exception's) and an error that
stops a worker (`app.serving.WatchedProcess.target`: multiprocessing prints it). Hand-written because no library
redacts tracebacks by the kind of exception; the text replaced is each exception's own `str()`, exactly as the
traceback shows it.
"""

import asyncio
import logging
import sqlite3
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from app.errors import driver_text

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _loaded(module: str, name: str) -> Any:
    """`module.name` where `module` is imported already, else None: an exception of a module never imported cannot
    exist, and importing one while a handler's lock is held (a CLI's first traceback) took 0.6 s."""
    found = sys.modules.get(module)
    return getattr(found, name, None) if found is not None else None


def _is(exc: BaseException, module: str, name: str) -> bool:
    kind = _loaded(module, name)
    return isinstance(kind, type) and isinstance(exc, kind)


def _places(errors: Any) -> str:
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            parts.append("?")
            continue
        place = ".".join(str(part) for part in (error.get("loc") or ())) or "-"
        parts.append(f"{place}: {error.get('type', '?')}")
    return "; ".join(parts)


def kept_text(exc: BaseException) -> str | None:
    """What a log keeps of `exc`'s message where it may hold a person's data; None where it is kept whole."""
    if _is(exc, "sqlalchemy.exc", "StatementError"):
        orig = exc.orig  # type: ignore[attr-defined]
        first = driver_text(exc)
        if orig is not None:
            first = f"({type(orig).__module__}.{type(orig).__qualname__}) {first}"
        statement = exc.statement  # type: ignore[attr-defined]
        return f"{first}\n[SQL: {statement}]" if statement else first
    if _is(exc, "sqlalchemy.exc", "SQLAlchemyError"):  # its own may quote one (PendingRollbackError: "Original …")
        return driver_text(exc)
    if isinstance(exc, sqlite3.Error) or _is(exc, "psycopg", "Error"):
        return driver_text(exc)
    if _is(exc, "pydantic", "ValidationError"):
        return f"{exc.error_count()} validation errors for {exc.title}: " + _places(  # type: ignore[attr-defined]
            exc.errors(include_input=False, include_url=False, include_context=False))  # type: ignore[attr-defined]
    if _is(exc, "fastapi.exceptions", "ValidationException"):
        errors = list(exc.errors())  # type: ignore[attr-defined]
        return f"{len(errors)} validation errors: " + _places(errors)
    return None


def _graph(root: Any) -> list[Any]:
    """`root`, its causes and contexts, and the members of exception groups, each once: of an exception, or of the
    `TracebackException` that prints it (which mirrors them)."""
    found: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup | traceback.TracebackException):
            stack.extend(current.exceptions or ())
    return found


def traceback_text(exc_info: ExcInfo) -> str:
    """The traceback `logging.Formatter.formatException` writes, with each message that may hold a person's data
    cut to what `kept_text` keeps.

    Each message is replaced where traceback keeps it, in the `TracebackException` it formats: replacing it in the
    formatted text would miss the members of an exception group, whose lines are prefixed. That attribute (`_str`,
    the same from Python 3.11 to 3.13) is not public; without it this raises, and the log says only that the
    traceback could not be written (`_text`), never the whole text."""
    kept_of: dict[str, str] = {}
    for exc in _graph(exc_info[1]):
        try:
            kept = kept_text(exc)
        except Exception:  # noqa: BLE001 - one that cannot be summarised loses its message, not the traceback
            kept = "<message withheld: it could not be written without the values it may quote>"
        if kept is None:
            continue
        try:
            whole = str(exc)
        except Exception:  # noqa: BLE001 - traceback prints such an exception as <exception str() failed>
            continue
        kept_of[whole] = kept
    te = traceback.TracebackException(*exc_info, compact=True)
    if kept_of:
        for node in _graph(te):
            message = getattr(node, "_str", None)
            if not isinstance(message, str):
                raise RuntimeError("this Python's TracebackException keeps its message elsewhere")
            node._str = kept_of.get(message, message)
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


def _unraisablehook(unraisable: Any) -> None:
    """An exception nobody could catch (raised in `__del__`, in a generator closed by the garbage collector)."""
    try:
        where = f"{unraisable.err_msg or 'Exception ignored in'}: {unraisable.object!r}"
    except Exception:  # noqa: BLE001 - an object whose repr fails
        where = unraisable.err_msg or "Exception ignored"
    _write(f"{where}\n{_text((unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))}")


class _QuotedExceptions(logging.Filter):
    """A record whose arguments hold an exception (psycopg's own `"error ignored terminating %r: %s", self, exc`
    after a refused COPY): the exception as `kept_text` keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, BaseException) for a in args):
            kept = []
            for arg in args:
                text = None
                if isinstance(arg, BaseException):
                    try:
                        text = kept_text(arg)
                    except Exception:  # noqa: BLE001
                        text = type(arg).__name__
                kept.append(arg if text is None else text)
            record.args = tuple(kept)
        return True


@contextmanager
def reported(what: str) -> Iterator[None]:
    """Log an exception of the block with its traceback (as `formatException` writes it) and raise one of a line in its
    place: Starlette sends a failed lifespan's `traceback.format_exc()` as the failure's message, which uvicorn logs as
    text, every message of the chain whole."""
    try:
        yield
    except Exception:
        logging.getLogger("registry").error("%s failed", what, exc_info=True)
        raise RuntimeError(f"{what} failed; its traceback is in the log above") from None


_asyncio_log = logging.getLogger("asyncio")


def loop_exception_handler(loop: Any, context: dict[str, Any]) -> None:
    """An event loop's handler of the errors nobody caught (a task whose exception was never retrieved, a callback
    that raised): its message, the task's name and coroutine, and the exception's traceback, as `formatException`
    writes it. asyncio's default writes each item of the context by its repr (`future: <Task …
    exception=IntegrityError('… DETAIL: Key (…)=(…)')>`), the exception's message whole."""
    exc = context.get("exception")
    message = context.get("message") or "an error in the event loop"
    task = context.get("task") or context.get("future")
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        message = f"{message} (task {task.get_name()}, {getattr(coro, '__qualname__', type(coro).__name__)})"
    _asyncio_log.error("%s", message,
                       exc_info=(type(exc), exc, exc.__traceback__) if isinstance(exc, BaseException) else None)


_QUOTING_LOGGERS = ("psycopg",)  # its warnings "error ignored …: %s" quote the error they ignored


def install() -> None:
    """Write every traceback of this process, logged or uncaught, without the values `kept_text` leaves out
    (idempotent). The hooks for uncaught exceptions are replaced where they are Python's own: one set before (an error
    reporter's, pytest's) is left to its owner."""
    logging.Formatter.formatException = _format_exception  # type: ignore[method-assign]
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _thread_excepthook
    if sys.unraisablehook is sys.__unraisablehook__:
        sys.unraisablehook = _unraisablehook
    for name in _QUOTING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuotedExceptions) for f in logger.filters):
            logger.addFilter(_QuotedExceptions())
