"""One error table for the whole application: every error answers the same status on REST and on SCIM.

Each error is raised where both protocols meet it first, in the authentication of the caller (a
dependency override of get_actor), and read back from a REST route and a SCIM route: the same
status and headers, each in its own body (RFC 9457 problem details; RFC 7644 §3.12 SCIM Error).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from app.api.deps import get_actor
from app.api.error_handlers import status_of
from app.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    Unauthenticated,
    not_writable,
)
from app.services.ratelimit import TooManyRequests
from app.services.write_scope import OutOfScope
from tests.conftest import Registry
from tests.scim.test_users import ERROR

ERRORS: list[tuple[Exception, int]] = [
    (NotFound("no such person", code="person_not_found"), 404),
    (Conflict("exists", code="duplicate_external_id"), 409),
    (Conflict("nothing of yours runs past today", code="nothing_to_close"), 409),
    (InvalidInput("person record is invalid", errors=[{"field": "birth_date", "message": "in the future"}]), 422),
    (PreconditionFailed("changed since you read it"), 412),
    (PreconditionRequired("If-Match is required"), 428),
    (Unauthenticated("missing Authorization: Bearer <token>"), 401),
    (Forbidden("role 'auditor' may not write", code="role_forbidden"), 403),
    (not_writable("P-1"), 403),
    (OutOfScope("this write changes what your org units do not manage", [{"field": "employments", "message": "x"}]), 403),
    (PayloadTooLarge("body over the limit"), 413),
    (TooManyRequests("more than 2 requests a minute for this token", retry_after=17), 429),
    (DomainError("a media type the route does not read", code="unsupported_media_type"), 415),
    (DomainError("a domain error of no listed class"), 400),
    (IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: person.external_id")), 409),
    (DataError("INSERT", {}, Exception("value too long")), 422),
    (OperationalError("SELECT", {}, Exception("server closed the connection")), 503),
    (RuntimeError("a bug"), 500),
]


def _subclasses(cls: type) -> set[type]:
    return {cls} | {c for sub in cls.__subclasses__() for c in _subclasses(sub)}


@pytest.fixture
def raising(registry: Registry) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """A client whose every authenticated request raises `box["error"]` (and answers 500 instead of raising)."""
    box: dict[str, Any] = {}

    def actor() -> None:
        raise box["error"]

    app = registry.client.app
    app.dependency_overrides[get_actor] = actor  # type: ignore[attr-defined]
    try:
        yield TestClient(app, raise_server_exceptions=False), box
    finally:
        app.dependency_overrides.pop(get_actor, None)  # type: ignore[attr-defined]


def test_every_domain_error_class_is_tried() -> None:
    assert _subclasses(DomainError) <= {type(e) for e, _ in ERRORS}


@pytest.mark.parametrize(("error", "status"), ERRORS, ids=[f"{type(e).__name__}-{s}" for e, s in ERRORS])
def test_an_error_answers_the_same_status_and_headers_on_rest_and_scim(
        raising: tuple[TestClient, dict[str, Any]], error: Exception, status: int) -> None:
    client, box = raising
    box["error"] = error
    rest = client.get("/api/v1/persons/P-1", headers={"Authorization": "Bearer x"})
    scim = client.get("/scim/v2/Users/P-1", headers={"Authorization": "Bearer x"})
    assert rest.status_code == scim.status_code == status == status_of(error), (rest.text, scim.text)
    for name in ("WWW-Authenticate", "Retry-After"):
        assert rest.headers.get(name) == scim.headers.get(name)
    assert (scim.headers.get("Retry-After"), scim.headers.get("WWW-Authenticate")) == (
        "17" if status == 429 else None, "Bearer" if status == 401 else None)
    assert rest.headers["content-type"] == "application/problem+json" and rest.json()["status"] == status
    body = scim.json()
    assert scim.headers["content-type"].startswith("application/scim+json")
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    expected_type = {409: "uniqueness" if "duplicate" in getattr(error, "code", "") or "UNIQUE" in str(error) else None,
                     422: "invalidValue"}.get(status)
    assert body.get("scimType") == expected_type
    assert "UNIQUE constraint" not in scim.text and "a bug" not in scim.text  # the server's own words stay in its log
