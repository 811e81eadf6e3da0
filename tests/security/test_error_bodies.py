"""No response body quotes the database: a refusal by PostgreSQL or SQLite answers in the registry's own words.

The schema catches almost every bad value before the database does, so each test opens a way past
it (a check switched off, a digest made constant) and lets the database itself refuse the write:
the answer must name a stable code and a clear reason, and hold none of the driver's text
(constraint names, SQL, 'violates', 'DETAIL'), which goes to the server log instead.
"""

import json
import logging
from typing import Any

import pytest

from app.services import persons, tokens
from tests.api.factories import person, small_tree
from tests.conftest import Registry, uniq

LEAKS = ("psycopg", "sqlite", "constraint", "violates", "detail:", "insert into", "update ", "select ", "sqlstate",
         "uq_", "ex_", "ck_", "api_token", "employment_primary", "token_hash", "character varying", "[sql")


def assert_clean(text: str) -> None:
    assert "DETAIL" not in text, text
    lowered = text.lower()
    leaked = [word for word in LEAKS if word in lowered]
    assert not leaked, f"the body quotes the database ({leaked}): {text}"


def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert_clean(r.text)
    body = dict(r.json())
    assert body["code"] == code and body["detail"], body
    return body


def test_a_unique_index_refusal_is_409_duplicate_in_our_words(
        registry: Registry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    uniq_hash = uniq("H").lower().ljust(64, "0")
    monkeypatch.setattr(tokens, "digest", lambda _secret: uniq_hash)  # every new token gets the same hash
    with caplog.at_level(logging.WARNING, logger="registry.errors"):
        made = [registry.client.post("/api/v1/tokens", json={"name": uniq("dup"), "role": "admin", "org_units": []},
                                     headers=registry.headers()) for _ in range(2)]
    assert made[0].status_code == 201, made[0].text
    body = _problem(made[1], 409, "duplicate")
    assert "already exists" in body["detail"]
    assert any("duplicate" in rec.getMessage() for rec in caplog.records)  # the original is logged server-side


def test_the_no_overlap_guard_is_409_overlapping_primary_employment(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = small_tree(registry)
    monkeypatch.setattr(persons, "_primary_overlaps", lambda _employments: [])  # the schema's own check, off
    record = person(f"{tree.province}-{uniq('OV')}", tree.school_a)
    record["employments"].append({"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "teacher_primary",
                                  "primary": True, "start": "2010-01-01", "end": None})
    r = registry.client.put(f"/api/v1/persons/{record['external_id']}", json=record, headers=registry.headers())
    body = _problem(r, 409, "overlapping_primary_employment")
    assert "overlap" in body["detail"]
    assert registry.client.get(f"/api/v1/persons/{record['external_id']}",
                               headers=registry.headers()).status_code == 404  # nothing of it was written


def test_a_value_too_long_for_its_column_is_422_in_our_words(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL refuses a value longer than its column (SQLite keeps any length): 422 value_too_long."""
    tree = small_tree(registry)
    long_role = "r" * 30  # the column holds 20 characters; the role check is opened to let it through
    monkeypatch.setattr(tokens, "ROLES", (*tokens.ROLES, long_role))
    r = registry.client.post("/api/v1/tokens", json={"name": uniq("long"), "role": long_role,
                                                     "org_units": [tree.province]},
                             headers=registry.headers())
    if registry.backend == "sqlite":
        assert r.status_code == 201, r.text
        return
    body = _problem(r, 422, "value_too_long")
    assert "longer than" in body["detail"]


def test_an_import_line_refused_by_the_database_is_reported_in_our_words(
        registry: Registry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The answer in the registry's words; the server log has the driver's first line (the refusal, the constraint)
    and none of what follows it, where PostgreSQL puts the row's values (DETAIL: Key (person_id, …)=(…, [2010-…)))."""
    tree = small_tree(registry)
    monkeypatch.setattr(persons, "_primary_overlaps", lambda _employments: [])
    record = person(f"{tree.province}-{uniq('IL')}", tree.school_a)
    record["employments"].append({"org_unit": tree.station_b, "category": "vien_chuc", "occupation": "teacher_primary",
                                  "primary": True, "start": "2010-01-01", "end": None})
    with caplog.at_level(logging.INFO):
        r = registry.client.post("/api/v1/imports/persons",
                                 content=(json.dumps(record, ensure_ascii=False) + "\n").encode(),
                                 headers=registry.headers() | {"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    assert r.json()["failed"] == 1 and r.json()["created"] == 0
    assert_clean(json.dumps(r.json()["errors"], ensure_ascii=False))
    assert r.json()["errors"][0]["error"] == "overlapping_primary_employment"
    form = logging.Formatter("%(name)s %(message)s")
    logged = [form.format(rec) for rec in caplog.records if not rec.name.startswith(("httpx", "httpcore"))]
    assert any("import line refused by the database (overlapping_primary_employment)" in line for line in logged)
    text = "\n".join(logged)
    for value in ("DETAIL", "2010-01-01", record["external_id"], record["national_id"]):
        assert value not in text, (value, text[-2000:])


def test_no_free_connection_is_503_database_busy_with_retry_after(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection of the server's pool in use for the pool's timeout: a 503 the client may retry, in the
    service's words, never a 500 (with no overflow, a burst beyond the pool waits for it: F23)."""
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from app.api.error_handlers import headers_of, status_of

    def busy(*_args: Any, **_kwargs: Any) -> Any:
        raise PoolTimeout("QueuePool limit of size 20 overflow 0 reached, connection timed out, timeout 30.00")

    monkeypatch.setattr(persons, "read", busy)
    r = registry.client.get(f"/api/v1/persons/{uniq('BUSY')}", headers=registry.headers())
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json" and r.headers["Retry-After"] == "1"
    assert r.json()["code"] == "database_busy" and "QueuePool" not in r.text  # the pool's words stay in the log
    exc = PoolTimeout("x")
    assert (status_of(exc), headers_of(exc, 503)) == (503, {"Retry-After": "1"})  # SCIM answers from the same table
