"""Domain errors: meaning only, no HTTP. The API maps them to status codes in one table."""

from typing import Any


class DomainError(Exception):
    """Base of every error the service raises on purpose."""

    code = "domain_error"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    """Input the client can fix; `errors` lists every problem with its field."""

    code = "invalid_input"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, code: str | None = None):
        super().__init__(detail, code=code, extra={"errors": errors or []})
        self.errors = errors or []


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class PreconditionRequired(DomainError):
    code = "precondition_required"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


def not_writable(external_id: str) -> Forbidden:
    """The one answer to a write of a person the caller may not write, whether or not that person exists.

    Shared by the REST routes and SCIM, so that no answer tells a person outside the caller's units
    from a person that does not exist.
    """
    return Forbidden(f"external_id {external_id} cannot be written with your token: it is outside your org units "
                     "or not yours to write", code="not_writable")


# What the database refused, in our own words: (SQLSTATE prefix or SQLite text, code, message). The
# driver's text (constraint names, SQL, values) is logged server-side and never reaches a response.
_GUARDS = (("overlapping primary employment", "overlapping_primary_employment",
            "two primary employments of the person would overlap in time"),
           ("ex_employment_primary_overlap", "overlapping_primary_employment",
            "two primary employments of the person would overlap in time"),
           ("append-only", "history_append_only", "recorded history cannot be deleted"),
           ("published runs are frozen", "run_frozen", "a published indicator run cannot be changed"))
_SQLSTATES = (("23505", "duplicate", "a record with the same key already exists"),
              ("23503", "missing_reference", "a value refers to a record that does not exist"),
              ("23502", "missing_value", "a required value is missing"),
              ("23514", "value_out_of_range", "a value is outside what the registry accepts "
                                              "(for example an end date before its start date)"),
              ("23P01", "overlapping_period", "two periods that may not overlap would overlap"),
              ("22001", "value_too_long", "a value is longer than the registry stores"),
              ("22003", "number_out_of_range", "a number is outside the range the registry stores"),
              ("22P05", "invalid_character", "a text contains a character the registry cannot store"),
              ("22021", "invalid_character", "a text contains a character the registry cannot store"),
              ("22", "invalid_value", "the database refused a value"),
              ("23", "rule_violation", "the write would break a rule the registry keeps"))
_SQLITE = (("UNIQUE constraint failed", "duplicate", "a record with the same key already exists"),
           ("FOREIGN KEY constraint failed", "missing_reference", "a value refers to a record that does not exist"),
           ("NOT NULL constraint failed", "missing_value", "a required value is missing"),
           ("CHECK constraint failed", "value_out_of_range", "a value is outside what the registry accepts "
                                                            "(for example an end date before its start date)"),
           ("too large", "number_out_of_range", "a number is outside the range the registry stores"))


def driver_text(exc: BaseException) -> str:
    """What the server log keeps of a database error: the first line of the driver's text (the refusal and the
    constraint it names). PostgreSQL's lines after it hold the row's values (`DETAIL: Key (person_id, …)=(…)`,
    `Failing row contains (…)`), and the engines hide SQLAlchemy's `[parameters: …]` (app/db.py)."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def db_refusal(exc: BaseException) -> tuple[str, str]:
    """A stable code and a message of our own for a database refusal (an IntegrityError or a DataError).

    Recognises the registry's own guards first, then the SQLSTATE (PostgreSQL) or the SQLite text; the
    driver's own text is for the server log only (the caller logs it).
    """
    orig = getattr(exc, "orig", None) or exc
    text = str(orig)
    for needle, code, message in _GUARDS:
        if needle in text:
            return code, message
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str):
        for prefix, code, message in _SQLSTATES:
            if state.startswith(prefix):
                return code, message
    for needle, code, message in _SQLITE:
        if needle in text:
            return code, message
    return "rule_violation", "the write would break a rule the registry keeps"
