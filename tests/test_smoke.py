"""The service answers, and the bootstrap token works on each backend."""

from typing import Any

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
    def collect(*_args: object) -> int:
        calls.append("collect")
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(get_settings(), "import_jobs_resume", False)  # no reaper, no sealer: the start-up alone
    monkeypatch.setattr(get_settings(), "audit_seal_seconds", 0)
    for _ in range(2):
        with TestClient(main.create_app()) as client:
            assert client.get("/healthz").status_code == 200
    assert calls == ["collect", "freeze"]


def test_start_up_builds_every_included_router(monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI builds an included router's routes on the first request that reaches it; start-up builds them all, so
    that no worker's first request pays for it (bench F24). Reads FastAPI's own marks of a built router: if a FastAPI
    upgrade renames them, this test says so, and `main._build_routes` should be looked at again."""
    from fastapi.testclient import TestClient

    from app import main
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "import_jobs_resume", False)
    monkeypatch.setattr(get_settings(), "audit_seal_seconds", 0)
    monkeypatch.setattr(main, "_freeze_start_up", lambda: None)
    app = main.create_app()
    included: list[Any] = [r for r in app.router.routes if hasattr(r, "effective_candidates")]
    assert included, "no lazily built routers: FastAPI changed, see main._build_routes"
    assert all(r._effective_candidates_version is None for r in included)  # nothing built before start-up
    with TestClient(app):
        assert all(r._effective_candidates_version is not None for r in included)


def test_the_import_job_reaper_runs_while_its_app_runs(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reaper (resuming import jobs a stopped runner left) belongs to the applications that started it: it looks
    at once on start, keeps looking while one runs, and stops with the last. Before, it outlived them and kept resuming
    jobs in whatever database the process's settings named next."""
    import threading

    from fastapi.testclient import TestClient

    from app import main
    from app.config import get_settings
    from app.services import jobs

    rounds = threading.Semaphore(0)
    real = jobs._reaper.step
    monkeypatch.setattr(jobs._reaper, "step", lambda: (real(), rounds.release()))
    monkeypatch.setattr(get_settings(), "import_jobs_resume", True)
    monkeypatch.setattr(get_settings(), "import_job_poll_seconds", 0.05)
    monkeypatch.setattr(get_settings(), "audit_seal_seconds", 0)
    monkeypatch.setattr(main, "_freeze_start_up", lambda: None)
    with TestClient(main.create_app()) as client:
        thread = jobs._reaper.thread
        assert thread is not None and thread.is_alive()
        assert all(rounds.acquire(timeout=10) for _ in range(3))  # at start, then every poll
        assert client.get("/healthz").status_code == 200
    assert not thread.is_alive() and jobs._reaper.thread is None
    while rounds.acquire(blocking=False):
        pass
    assert not rounds.acquire(timeout=0.3)  # no round after the stop
