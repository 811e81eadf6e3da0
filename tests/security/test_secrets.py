"""Secrets: the bootstrap token (long, no default, a warning, disabled for good), token management in scope,
and a client's X-Request-ID that can no longer break a write."""

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import create_engine, text

from app import config
from app.config import Settings
from app.db import normalise_url
from tests.api.factories import org_unit, small_tree
from tests.conftest import BOOT, Registry, uniq

ROOT = Path(__file__).resolve().parents[2]


def _cli(registry: Registry, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=os.environ | {"DATABASE_URL": registry.url} | env,
                          capture_output=True, text=True, timeout=120, check=False)


# --- the bootstrap token -------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["a", "change-me-before-use", "x" * 31])
def test_a_short_bootstrap_token_is_refused_with_a_clear_message(token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(registry_bootstrap_token=token)
    message = str(refused.value)
    assert "REGISTRY_BOOTSTRAP_TOKEN" in message and "at least 32" in message
    assert len(token) < 5 or token not in message  # the refused secret is not echoed
    assert Settings(registry_bootstrap_token="x" * 32).registry_bootstrap_token is not None
    assert Settings(registry_bootstrap_token="").registry_bootstrap_token is None  # set empty, as in .env.example


def test_the_server_refuses_to_start_with_a_short_bootstrap_token(registry: Registry) -> None:
    served = _cli(registry, "serve", "--port", "1", REGISTRY_BOOTSTRAP_TOKEN="change-me-before-use")
    assert served.returncode == 2
    assert "REGISTRY_BOOTSTRAP_TOKEN is 20 characters long; it must be at least 32" in served.stderr
    imported = subprocess.run([sys.executable, "-c", "import app.main"], capture_output=True, text=True, timeout=120,
                              env=os.environ | {"DATABASE_URL": registry.url, "REGISTRY_BOOTSTRAP_TOKEN": "a"}, check=False)
    assert imported.returncode != 0 and "at least 32" in imported.stderr


def test_every_start_with_a_bootstrap_token_logs_a_warning(registry: Registry, caplog: pytest.LogCaptureFixture) -> None:
    from app.main import create_app

    config.get_settings.cache_clear()
    with caplog.at_level(logging.WARNING, logger="registry"):
        create_app()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "REGISTRY_BOOTSTRAP_TOKEN" in r.getMessage()]
    assert warnings and "disable-bootstrap" in warnings[0].getMessage()
    assert BOOT not in caplog.text


def test_no_default_bootstrap_token_anywhere() -> None:
    compose = (ROOT / "docker-compose.yml").read_text("utf-8")
    line = next(x for x in compose.splitlines() if "REGISTRY_BOOTSTRAP_TOKEN" in x)
    assert "${REGISTRY_BOOTSTRAP_TOKEN:?" in line and ":-" not in line, line
    assert "change-me" not in compose
    assert re.search(r"^REGISTRY_BOOTSTRAP_TOKEN=\s*$", (ROOT / ".env.example").read_text("utf-8"), re.M)
    assert Settings.model_fields["registry_bootstrap_token"].default is None


def test_disabling_the_bootstrap_token_holds_on_every_server(fresh_registry: Callable[[], Registry]) -> None:
    registry = fresh_registry()
    from app.main import create_app

    other_server = TestClient(create_app())  # a second app server on the same database
    refused = _cli(registry, "tokens", "disable-bootstrap")
    assert refused.returncode == 2 and "no other administrator's token is valid" in refused.stderr

    revoked_admin = registry.token("admin", [])
    victim_id = _token_id(registry, revoked_admin)
    assert registry.client.delete(f"/api/v1/tokens/{victim_id}", headers=registry.headers()).status_code == 200
    assert registry.client.get("/api/v1/persons", headers=registry.headers(revoked_admin)).status_code == 401
    assert _cli(registry, "tokens", "disable-bootstrap").returncode == 2  # a revoked admin token does not count

    admin = registry.token("admin", [])
    for client in (registry.client, other_server):  # creating other tokens never disables it
        assert client.get("/api/v1/persons", headers=registry.headers()).status_code == 200
    from tests.web.test_sessions import sign_in

    browser = sign_in(TestClient(registry.client.app), BOOT)  # a dashboard session opened with the bootstrap token
    assert browser.get("/dashboard", follow_redirects=False).status_code != 303  # signed in (no unit yet: 404)
    done = _cli(registry, "tokens", "disable-bootstrap")
    assert done.returncode == 0, done.stderr
    after = browser.get("/dashboard", follow_redirects=False)
    assert after.status_code == 303 and "/dashboard/login" in after.headers["location"]  # its session ended too
    for client in (registry.client, other_server):
        r = client.get("/api/v1/persons", headers=registry.headers())
        assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")
        assert client.post("/api/v1/tokens", json={"name": "x", "role": "admin", "org_units": []},
                           headers=registry.headers()).status_code == 401
        assert client.get("/api/v1/persons", headers=registry.headers(admin)).status_code == 200


# --- scoped admins manage the tokens of their units only -----------------------------------------


def test_a_scoped_admin_manages_only_the_tokens_of_its_units(registry: Registry) -> None:
    mine, theirs = small_tree(registry), small_tree(registry)
    admin = registry.token("admin", [mine.province])
    inside = registry.token("hr_officer", [mine.commune_a])
    outside = registry.token("hr_officer", [theirs.commune_a])
    straddling = _token_id(registry, registry.token("auditor", [mine.commune_b, theirs.commune_b]))
    whole = _token_id(registry, registry.token("admin", []))
    inside_id, outside_id = _token_id(registry, inside), _token_id(registry, outside)
    h = registry.headers(admin)

    listed = {t["id"] for t in registry.client.get("/api/v1/tokens", headers=h).json()["tokens"]}
    assert inside_id in listed and not listed & {outside_id, straddling, whole}
    assert registry.client.get(f"/api/v1/tokens/{inside_id}", headers=h).json()["org_units"] == [mine.commune_a]
    for other in (outside_id, straddling, whole):
        read = registry.client.get(f"/api/v1/tokens/{other}", headers=h)
        revoke = registry.client.delete(f"/api/v1/tokens/{other}", headers=h)
        assert (read.status_code, read.json()["code"]) == (404, "token_not_found")
        assert (revoke.status_code, revoke.json()["code"]) == (404, "token_not_found")
    assert registry.client.get("/api/v1/persons", headers=registry.headers(outside)).status_code == 200  # not revoked
    for units in ([theirs.commune_a], [mine.commune_a, theirs.province], []):
        r = registry.client.post("/api/v1/tokens", json={"name": uniq("t"), "role": "admin" if not units else "auditor",
                                                         "org_units": units}, headers=h)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input")
    assert registry.client.delete(f"/api/v1/tokens/{inside_id}", headers=h).status_code == 200
    assert registry.client.get("/api/v1/persons", headers=registry.headers(inside)).status_code == 401


def _token_id(registry: Registry, secret: str) -> int:
    """A token's id (its secret's hash is the only link the database keeps)."""
    from app.services.tokens import digest

    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM api_token WHERE token_hash = :h"), {"h": digest(secret)}).scalar_one()
    engine.dispose()
    return int(found)


# --- X-Request-ID ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["r" * 10_000, "abc\x01\x7fdef", "tab\there", "ý-tự"])
def test_an_unusable_request_id_is_replaced_and_the_write_succeeds(registry: Registry, sent: str) -> None:
    code = uniq("RQ")
    r = registry.client.post("/api/v1/org-units", json=org_unit(code),
                             headers=[*registry.headers().items(), ("X-Request-ID", sent.encode("utf-8"))])
    assert r.status_code == 201, r.text
    given = r.headers["x-request-id"]
    assert given != sent and re.fullmatch(r"[0-9a-f]{32}", given) and "replaced" in r.headers["x-request-id-replaced"]
    engine = create_engine(normalise_url(registry.url))
    with engine.connect() as conn:
        stored = conn.execute(text('SELECT t.request_id FROM txn t JOIN "change" c ON c.txn_id = t.id '
                                   'WHERE c.entity = :e AND c."key" = :k'), {"e": "org_unit", "k": code}).scalar_one()
    engine.dispose()
    assert stored == given


def test_a_good_request_id_is_kept(registry: Registry) -> None:
    headers = registry.headers() | {"X-Request-ID": "req-42"}
    r = registry.client.post("/api/v1/org-units", json=org_unit(uniq("RQ")), headers=headers)
    assert (r.status_code, r.headers["x-request-id"]) == (201, "req-42") and "x-request-id-replaced" not in r.headers

