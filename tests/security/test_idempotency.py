"""Idempotency-Key: a retried POST is answered from the first answer and writes nothing twice."""

import json

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
