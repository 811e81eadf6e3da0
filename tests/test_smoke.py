"""The service answers, and the bootstrap token works on each backend."""

from tests.conftest import Registry


def test_health_and_code_lists(registry: Registry) -> None:
    assert registry.client.get("/healthz").json() == {"status": "ok"}
    r = registry.client.get("/api/v1/code-lists/ethnicity", headers=registry.headers())
    assert r.status_code == 200
    codes = {c["code"]: c for c in r.json()["codes"]}
    assert len(codes) == 56
    assert codes["05"]["vi"] == "Khơ-me" and codes["05"]["minority"] is True
    assert codes["01"]["minority"] is False


def test_missing_token_is_401(registry: Registry) -> None:
    r = registry.client.get("/api/v1/persons")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
    assert r.headers["content-type"].startswith("application/problem+json")
