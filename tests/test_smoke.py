"""The service answers, and the bootstrap token works on each backend."""

import pytest

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


def test_start_up_is_frozen_out_of_garbage_collection_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each server process, on start, moves what start-up made out of later garbage collections (bench F24), once:
    a second start in the same process (the tests' apps) freezes nothing more."""
    import gc

    from fastapi.testclient import TestClient

    from app import main
    from app.config import get_settings

    calls: list[str] = []
    monkeypatch.setattr(main, "_frozen", __import__("threading").Event())
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(get_settings(), "import_jobs_resume", False)  # no reaper, no sealer: the start-up alone
    monkeypatch.setattr(get_settings(), "audit_seal_seconds", 0)
    for _ in range(2):
        with TestClient(main.create_app()) as client:
            assert client.get("/healthz").status_code == 200
    assert calls == ["collect", "freeze"]
