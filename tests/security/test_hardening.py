"""Hardening: token expiry and revocation, OIDC identity tokens, rate limits, headers, CORS."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from app import config
from app.main import create_app
from tests.conftest import Registry


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change settings through the environment; the cache is cleared before and after."""
    config.get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    config.get_settings.cache_clear()


class TestTokens:
    def test_a_revoked_token_stops_working_at_once(self, registry: Registry) -> None:
        r = registry.client.post(
            "/api/v1/tokens", json={"name": "t", "role": "admin", "org_units": []}, headers=registry.headers()
        )
        token, token_id = r.json()["token"], r.json()["id"]
        assert registry.client.get("/api/v1/indicators", headers=registry.headers(token)).status_code == 200
        assert registry.client.delete(f"/api/v1/tokens/{token_id}", headers=registry.headers()).status_code == 200
        r = registry.client.get("/api/v1/indicators", headers=registry.headers(token))
        assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")

    def test_tokens_are_stored_hashed(self, registry: Registry) -> None:
        from sqlalchemy import create_engine, text

        from app.db import normalise_url

        token = registry.token("admin", [])
        engine = create_engine(normalise_url(registry.url))
        with engine.connect() as conn:
            stored = [row[0] for row in conn.execute(text("SELECT token_hash FROM api_token"))]
        engine.dispose()
        assert token not in stored and all(len(h) == 64 for h in stored)

    def test_an_expired_token_is_refused(self, registry: Registry) -> None:
        from datetime import UTC, datetime, timedelta

        from sqlalchemy import create_engine, text

        from app.db import normalise_url

        r = registry.client.post(
            "/api/v1/tokens",
            json={"name": "t", "role": "admin", "org_units": [], "expires_in_days": 1},
            headers=registry.headers(),
        )
        engine = create_engine(normalise_url(registry.url))
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE api_token SET expires_at = :t WHERE id = :i"),
                {"t": (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None), "i": r.json()["id"]},
            )
        engine.dispose()
        got = registry.client.get("/api/v1/indicators", headers=registry.headers(r.json()["token"]))
        assert (got.status_code, got.json()["detail"]) == (401, "token expired")

    def test_only_an_admin_token_may_cover_the_whole_tree(self, registry: Registry) -> None:
        r = registry.client.post(
            "/api/v1/tokens", json={"name": "t", "role": "auditor", "org_units": []}, headers=registry.headers()
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "org_units"


class TestOidc:
    @pytest.fixture
    def idp(self, tmp_path: Path, settings_env: pytest.MonkeyPatch, registry: Registry) -> tuple[rsa.RSAPrivateKey, TestClient]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]}))
        settings_env.setenv("OIDC_ISSUER", "https://idp.example.vn")
        settings_env.setenv("OIDC_AUDIENCE", "registry")
        settings_env.setenv("OIDC_JWKS_FILE", str(jwks))
        config.get_settings.cache_clear()
        return key, TestClient(create_app())

    def _token(self, key: rsa.RSAPrivateKey, **claims: object) -> str:
        body = {
            "iss": "https://idp.example.vn",
            "aud": "registry",
            "sub": "user-1",
            "exp": int(time.time()) + 300,
            "registry_role": "auditor",
            "registry_org_units": ["X"],
        } | claims
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})

    def test_a_signed_token_maps_role_and_units_from_claims(self, idp: tuple[rsa.RSAPrivateKey, TestClient]) -> None:
        key, client = idp
        h = {"Authorization": f"Bearer {self._token(key)}"}
        r = client.get("/api/v1/indicators", headers=h)
        assert r.status_code == 200, r.text
        r = client.post("/api/v1/tokens", json={"name": "x", "role": "admin", "org_units": []}, headers=h)
        assert (r.status_code, r.json()["code"]) == (403, "role_forbidden")

    @pytest.mark.parametrize(
        "change",
        [{"iss": "https://evil.example"}, {"aud": "other"}, {"exp": 1}, {"registry_role": "root"}, {"registry_org_units": []}],
    )
    def test_wrong_claims_are_refused(self, idp: tuple[rsa.RSAPrivateKey, TestClient], change: dict[str, object]) -> None:
        key, client = idp
        r = client.get("/api/v1/indicators", headers={"Authorization": f"Bearer {self._token(key, **change)}"})
        assert r.status_code == 401

    def test_a_token_signed_by_another_key_is_refused(self, idp: tuple[rsa.RSAPrivateKey, TestClient]) -> None:
        _key, client = idp
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        r = client.get("/api/v1/indicators", headers={"Authorization": f"Bearer {self._token(other)}"})
        assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")
        assert "Signature" in r.json()["detail"] or "signature" in r.json()["detail"]


class TestLimits:
    def test_a_token_over_its_rate_is_told_to_wait(self, settings_env: pytest.MonkeyPatch, registry: Registry) -> None:
        from app.services.ratelimit import limiter

        token = registry.token("admin", [])
        settings_env.setenv("RATE_LIMIT_PER_MINUTE", "3")
        config.get_settings.cache_clear()
        limiter._hits.clear()
        client = TestClient(create_app())
        codes = [client.get("/api/v1/code-lists/gender", headers=registry.headers(token)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = client.get("/api/v1/code-lists/gender", headers=registry.headers(token))
        assert r.json()["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1

    def test_security_headers_and_no_cors_by_default(self, registry: Registry) -> None:
        r = registry.client.get("/api/v1/indicators", headers=registry.headers() | {"Origin": "https://evil.example"})
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-store"
        assert "access-control-allow-origin" not in {k.lower() for k in r.headers}

    def test_a_body_over_the_limit_is_413_without_reading_it(self, registry: Registry) -> None:
        r = registry.client.post(
            "/api/v1/persons", content=b"x" * (3 * 1024 * 1024), headers=registry.headers() | {"Content-Type": "application/json"}
        )
        assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")

    def test_no_stack_trace_leaks_on_an_unexpected_error(self, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
        from app.services import codelists

        def boom(*_a: object) -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(codelists, "as_lists", boom)
        client = TestClient(create_app(), raise_server_exceptions=False)
        r = client.get("/api/v1/code-lists", headers=registry.headers())
        assert r.status_code == 500
        assert r.json()["code"] == "internal_error" and "secret internals" not in r.text and "Traceback" not in r.text
