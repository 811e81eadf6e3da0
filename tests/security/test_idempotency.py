"""Idempotency-Key: a retried POST is answered from the first answer and writes nothing twice."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.db import normalise_url
from tests.conftest import Registry, uniq


def _unit(code: str) -> dict[str, object]:
    return {
        "code": code,
        "name": "Xã I",
        "kind": "area",
        "tier": "commune",
        "sector": "state",
        "valid_from": "2000-01-01",
        "parents": [],
    }


def test_a_retried_create_is_replayed_not_repeated(registry: Registry) -> None:
    code = uniq("ID")
    headers = registry.headers() | {"Idempotency-Key": f"k-{code}"}
    first = registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers)
    assert first.status_code == 201
    feed = registry.client.get("/api/v1/changes", params={"after": 0, "limit": 5000}, headers=registry.headers()).json()["next"]
    again = registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers)
    assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (201, first.json(), "true")
    assert (
        registry.client.get("/api/v1/changes", params={"after": 0, "limit": 5000}, headers=registry.headers()).json()["next"]
        == feed
    )
    without_key = registry.client.post("/api/v1/org-units", json=_unit(code), headers=registry.headers())
    assert (without_key.status_code, without_key.json()["code"]) == (409, "duplicate_code")


def test_the_same_key_for_another_request_is_refused(registry: Registry) -> None:
    code = uniq("ID")
    headers = registry.headers() | {"Idempotency-Key": f"k-{code}"}
    assert registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers).status_code == 201
    other = registry.client.post("/api/v1/org-units", json=_unit(code + "X"), headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert registry.client.get(f"/api/v1/org-units/{code}X", headers=registry.headers()).status_code == 404


def test_a_retried_import_is_replayed(registry: Registry) -> None:
    code = uniq("ID")
    body = (json.dumps(_unit(code)) + "\n").encode()
    headers = registry.headers() | {"Idempotency-Key": f"imp-{code}", "Content-Type": "application/x-ndjson"}
    first = registry.client.post("/api/v1/imports/org-units", content=body, headers=headers)
    again = registry.client.post("/api/v1/imports/org-units", content=body, headers=headers)
    assert first.json()["created"] == 1 and again.json() == first.json()


def test_keys_belong_to_their_token(registry: Registry) -> None:
    code = uniq("ID")
    other_admin = registry.token("admin", [])
    assert registry.client.post(
        "/api/v1/org-units", json=_unit(code), headers=registry.headers() | {"Idempotency-Key": "shared"}
    ).status_code in (201, 409)
    r = registry.client.post(
        "/api/v1/org-units", json=_unit(code + "B"), headers=registry.headers(other_admin) | {"Idempotency-Key": "shared"}
    )
    assert r.status_code == 201


def _rows(registry: Registry) -> list[dict[str, object]]:
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM idempotency_record"))]
    engine.dispose()
    return rows


def _token_request(registry: Registry, caller: str, key: str) -> tuple[dict[str, Any], dict[str, str]]:
    body = {"name": uniq("tok"), "role": "auditor", "org_units": [registry_unit(registry)]}
    return body, registry.headers(caller) | {"Idempotency-Key": key}


_UNITS: dict[str, str] = {}


def registry_unit(registry: Registry) -> str:
    if registry.url not in _UNITS:
        code = uniq("ID")
        assert registry.client.post("/api/v1/org-units", json=_unit(code), headers=registry.headers()).status_code == 201
        _UNITS[registry.url] = code
    return _UNITS[registry.url]


def test_a_token_secret_is_never_stored_and_a_retry_is_told_why(registry: Registry) -> None:
    caller = registry.token("admin", [])
    key = f"tok-{uniq()}"
    body, headers = _token_request(registry, caller, key)
    first = registry.client.post("/api/v1/tokens", json=body, headers=headers)
    assert first.status_code == 201 and "x-registry-secret-fields" not in first.headers
    secret = first.json()["token"]
    raw = secret.encode()
    forms = {secret, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(), raw.hex(),
             secret.removeprefix("reg_")}
    stored = json.dumps(_rows(registry), default=str)
    assert not [f for f in forms if f in stored], "a token secret is stored in the idempotency table"

    again = registry.client.post("/api/v1/tokens", json=body, headers=headers)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    replay = again.json()
    assert replay["token"] is None and replay["id"] == first.json()["id"] and "shown once" in replay["secret_withheld"]
    assert registry.client.get("/api/v1/persons", headers=registry.headers(secret)).status_code == 200  # the one token

    caller_id = next(r["id"] for r in _api_tokens(registry) if r["token_hash"] == hashlib.sha256(caller.encode()).hexdigest())
    assert registry.client.delete(f"/api/v1/tokens/{caller_id}", headers=registry.headers()).status_code == 200
    revoked = registry.client.post("/api/v1/tokens", json=body, headers=headers)
    assert (revoked.status_code, revoked.json()["code"]) == (401, "unauthenticated")
    assert "idempotent-replayed" not in revoked.headers


def _api_tokens(registry: Registry) -> list[dict[str, object]]:
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT id, token_hash FROM api_token"))]
    engine.dispose()
    return rows


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc", "Bearer "])
def test_unauthenticated_requests_record_nothing(registry: Registry, authorization: str | None) -> None:
    before = len(_rows(registry))
    for i in range(5):
        headers = {"Idempotency-Key": f"anon-{uniq()}-{i}"} | ({"Authorization": authorization} if authorization else {})
        r = registry.client.post("/api/v1/org-units", json=_unit(uniq("ID")), headers=headers)
        assert r.status_code == 401
    assert len(_rows(registry)) == before


def test_a_refused_request_releases_its_key(registry: Registry) -> None:
    code = uniq("ID")
    headers = registry.headers() | {"Idempotency-Key": f"bad-{code}"}
    bad = registry.client.post("/api/v1/org-units", json=_unit(code) | {"tier": "galaxy"}, headers=headers)
    assert bad.status_code == 422
    good = registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers)
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers
    duplicate = registry.headers() | {"Idempotency-Key": f"dup-{code}"}
    conflict = registry.client.post("/api/v1/org-units", json=_unit(code), headers=duplicate)
    assert conflict.status_code == 409
    rows = {str(r["key"]): r["status"] for r in _rows(registry) if r["key"] in (f"bad-{code}", f"dup-{code}")}
    assert rows == {f"bad-{code}": 201}  # the refusals kept nothing; the success under the released key is kept


def test_a_claim_left_by_a_dead_server_is_taken_over(registry: Registry) -> None:
    owner = hashlib.sha256(b"bootstrap").hexdigest()  # the bootstrap administrator's records
    code, fresh_code = uniq("ID"), uniq("ID")
    engine = create_engine(normalise_url(registry.url))
    with engine.begin() as conn:
        for key, age in ((f"dead-{code}", timedelta(hours=2)), (f"busy-{fresh_code}", timedelta(seconds=1))):
            conn.execute(text("INSERT INTO idempotency_record (owner, key, method, path, request_hash, created_at) "
                              "VALUES (:o, :k, 'POST', '/api/v1/org-units', '', :at)"),
                         {"o": owner, "k": key, "at": datetime.now(UTC) - age})
    engine.dispose()
    retried = registry.client.post("/api/v1/org-units", json=_unit(code),
                                   headers=registry.headers() | {"Idempotency-Key": f"dead-{code}"})
    assert retried.status_code == 201, retried.text
    busy = registry.client.post("/api/v1/org-units", json=_unit(fresh_code),
                                headers=registry.headers() | {"Idempotency-Key": f"busy-{fresh_code}"})
    assert (busy.status_code, busy.json()["code"]) == (409, "idempotency_in_progress")


def test_the_middlewares_own_answers_carry_the_headers_of_every_answer(registry: Registry) -> None:
    """A replay, a key reused for another request, a key whose first request is too long a body: answered by the
    idempotency middleware itself, each with its own request id and the security headers (no-store: a replay of a
    created token's answer is not kept by a cache either)."""
    code = uniq("ID")
    headers = registry.headers() | {"Idempotency-Key": f"k-{code}"}
    first = registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers)
    again = registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers | {"X-Request-ID": f"r-{code}"})
    reused = registry.client.post("/api/v1/org-units", json=_unit(code + "X"), headers=headers)
    assert (first.status_code, again.status_code, reused.status_code) == (201, 201, 422)
    assert again.headers["idempotent-replayed"] == "true" and again.headers["x-request-id"] == f"r-{code}"
    for answer in (first, again, reused):
        assert answer.headers["cache-control"] == "no-store" and answer.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert len({a.headers["x-request-id"] for a in (first, again, reused)}) == 3


def test_a_replay_with_a_body_over_the_limit_is_refused_with_413(registry: Registry) -> None:
    """The replay's body is read by the idempotency middleware, outside the routes' error handlers: a chunked body
    over the limit (no Content-Length to refuse it by) is counted as it arrives and answered 413, not 500."""
    code = uniq("ID")
    headers = registry.headers() | {"Idempotency-Key": f"k-{code}"}
    assert registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers).status_code == 201

    def chunks() -> Any:
        for _ in range(3):
            yield b" " * (1024 * 1024)

    big = registry.client.post("/api/v1/org-units", content=chunks(),
                               headers=headers | {"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large", big.text
    assert big.headers["cache-control"] == "no-store" and big.headers["x-request-id"]
    declared = registry.client.post("/api/v1/org-units", content=b" " * (3 * 1024 * 1024),
                                    headers=headers | {"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json()["code"] == "payload_too_large"
    again = registry.client.post("/api/v1/org-units", json=_unit(code), headers=headers)  # the record is kept
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
