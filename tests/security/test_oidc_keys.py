"""The identity provider's keys fetched from its JWKS URL (app/services/identity.py `_ProviderKeys`).

A local HTTP server stands for the provider and counts the fetches. What is attacked: made-up key ids (anyone can
send them, before any signature is checked), a provider that does not answer, answers that are not a key set, a
withdrawn key, hostile key ids and settings. Every refusal is a 401 with its own code, never a 500 and never the
URL or the network's words; a refused caller writes nothing (the database is counted table by table)."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode
from pydantic import ValidationError
from sqlalchemy import create_engine, func, inspect, select, table

from app import config
from app.db import normalise_url
from app.main import create_app
from app.services import identity
from tests.conftest import Registry

ISSUER = "https://idp.example.vn"


def _public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class Provider:
    """What the provider's JWKS URL answers, and how often it was asked."""

    body: bytes = b""
    status: int = 200
    delay: float = 0.0
    fetches: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve_keys(self, *jwks: dict[str, Any]) -> None:
        self.body, self.status, self.delay = json.dumps({"keys": list(jwks)}).encode(), 200, 0.0

    def count(self) -> int:
        with self.lock:
            return self.fetches


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            with state.lock:
                state.fetches += 1
            time.sleep(state.delay)
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(state.body)))
                self.end_headers()
                self.wfile.write(state.body)
            except OSError:  # the client gave up waiting
                pass

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def oidc(monkeypatch: pytest.MonkeyPatch, provider: Provider, registry: Registry) -> Iterator[pytest.MonkeyPatch]:
    """Identity-provider tokens checked against `provider`'s URL; set more OIDC_* before `client()`."""
    monkeypatch.setenv("OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("OIDC_AUDIENCE", "registry")
    monkeypatch.setenv("OIDC_JWKS_URL", provider.url)
    config.get_settings.cache_clear()
    identity._jwks_client.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    config.get_settings.cache_clear()
    identity._jwks_client.cache_clear()


def client() -> TestClient:
    config.get_settings.cache_clear()
    return TestClient(create_app())


def token(key: rsa.RSAPrivateKey, kid: Any) -> str:
    """A token signed by `key` (RS256) whose header names `kid`, whatever it is (PyJWT's `encode` takes only strings)."""
    body = {"iss": ISSUER, "aud": "registry", "sub": "user-1", "exp": int(time.time()) + 300,
            "registry_role": "auditor", "registry_org_units": ["X"]}
    signed = b".".join(base64url_encode(json.dumps(part).encode())
                       for part in ({"alg": "RS256", "typ": "JWT", "kid": kid}, body))
    return (signed + b"." + base64url_encode(key.sign(signed, padding.PKCS1v15(), hashes.SHA256()))).decode()


def get(app: TestClient, bearer: str, path: str = "/api/v1/indicators") -> tuple[int, str, str]:
    r = app.get(path, headers={"Authorization": f"Bearer {bearer}"})
    body = r.json()
    return r.status_code, body.get("code", ""), body.get("detail", "")


def rows(registry: Registry) -> dict[str, int]:
    """Every table's row count."""
    engine = create_engine(normalise_url(registry.url))
    try:
        with engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                    for name in inspect(conn).get_table_names()}
    finally:
        engine.dispose()


class TestFetches:
    def test_the_key_set_is_fetched_once_and_used_for_every_token(
            self, oidc: pytest.MonkeyPatch, provider: Provider, keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
        provider.serve_keys(_public_jwk(keys[0], "k1"))
        app = client()
        for _ in range(5):
            assert get(app, token(keys[0], "k1"))[0] == 200
        assert provider.count() == 1

    def test_made_up_key_ids_fetch_the_set_at_most_once_a_retry_period(
            self, oidc: pytest.MonkeyPatch, provider: Provider, keys: tuple[rsa.RSAPrivateKey, ...],
            registry: Registry) -> None:
        provider.serve_keys(_public_jwk(keys[0], "k1"))
        app = client()
        assert get(app, token(keys[0], "k1"))[0] == 200
        before = rows(registry)
        answers = {get(app, token(keys[0], uuid.uuid4().hex))[:2] for _ in range(30)}
        assert answers == {(401, "unauthenticated")}
        assert provider.count() == 1  # the first fetch starts the retry period (30 s by default): none since
        assert rows(registry) == before
        assert get(app, token(keys[0], "k1"))[0] == 200  # the real key still works

    def test_a_withdrawn_key_stops_being_trusted_and_a_new_one_is_taken(
            self, oidc: pytest.MonkeyPatch, provider: Provider, keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
        oidc.setenv("OIDC_JWKS_CACHE_SECONDS", "1")
        oidc.setenv("OIDC_JWKS_RETRY_SECONDS", "1")
        provider.serve_keys(_public_jwk(keys[0], "k1"))
        app = client()
        assert get(app, token(keys[0], "k1"))[0] == 200
        provider.serve_keys(_public_jwk(keys[1], "k2"))  # the provider rotates: k1 withdrawn, k2 in
        time.sleep(1.05)
        assert get(app, token(keys[0], "k1"))[:2] == (401, "unauthenticated")  # kept for the process before
        assert get(app, token(keys[1], "k2"))[0] == 200
        # k2 signed with k1's key id: the signature is checked against the key the id names
        provider.serve_keys(_public_jwk(keys[1], "k1"))
        time.sleep(1.05)
        status, code, detail = get(app, token(keys[0], "k1"))
        assert (status, code) == (401, "unauthenticated") and "ignature" in detail


class TestAnUnwellProvider:
    def test_a_silent_provider_is_waited_for_up_to_the_timeout_then_not_asked_for_a_while(
            self, oidc: pytest.MonkeyPatch, provider: Provider, keys: tuple[rsa.RSAPrivateKey, ...],
            registry: Registry) -> None:
        oidc.setenv("OIDC_JWKS_TIMEOUT_SECONDS", "0.3")
        provider.serve_keys(_public_jwk(keys[0], "k1"))
        provider.delay = 3.0
        app = client()
        before = rows(registry)
        started = time.monotonic()
        status, code, detail = get(app, token(keys[0], "k1"))
        assert (status, code) == (401, "identity_provider_unavailable")
        assert time.monotonic() - started < 2.5  # PyJWT's default timeout was 30 s
        assert "127.0.0.1" not in detail and "timed out" not in detail and "jwks" not in detail
        fetches = provider.count()
        started = time.monotonic()
        for path in ("/api/v1/indicators", "/api/v1/persons/ANY", "/api/v1/persons/ANY?known_at=2026-01-01T00:00:00Z"):
            assert get(app, token(keys[0], "k1"), path)[:2] == (401, "identity_provider_unavailable")
        assert time.monotonic() - started < 1.0 and provider.count() == fetches  # none tried within the period
        assert rows(registry) == before

    def test_the_provider_back_is_asked_again_after_the_retry_period(
            self, oidc: pytest.MonkeyPatch, provider: Provider, keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
        oidc.setenv("OIDC_JWKS_RETRY_SECONDS", "1")
        provider.status, provider.body = 503, b"busy"
        app = client()
        assert get(app, token(keys[0], "k1"))[:2] == (401, "identity_provider_unavailable")
        provider.serve_keys(_public_jwk(keys[0], "k1"))
        assert get(app, token(keys[0], "k1"))[:2] == (401, "identity_provider_unavailable")  # within the period
        time.sleep(1.05)
        assert get(app, token(keys[0], "k1"))[0] == 200

    @pytest.mark.parametrize("status, body", [
        (200, b"<html>sign in</html>"),  # not JSON: json.load's ValueError was a 500
        (200, b"[]"), (200, b'"keys"'), (200, b"{}"), (200, b'{"keys": []}'), (200, b'{"keys": [{"kty": "RSA"}]}'),
        (200, b'{"keys": [' + b'[' * 5000 + b']' * 5000 + b']}'),  # nested beyond the parser's depth
        (200, b'{"keys": [1]}'), (200, b'{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": {"a": 1}}]}'),
        (200, b'{"keys": [{"kty": "RSA", "n": "!!!", "e": "AQAB", "kid": "k1"}]}'), (200, b"\xff\xfe"),
        (500, b"{}"), (302, b""), (404, b"not found"),
    ])
    def test_an_answer_that_is_no_key_set_is_a_401_of_its_own(
            self, oidc: pytest.MonkeyPatch, provider: Provider, keys: tuple[rsa.RSAPrivateKey, ...],
            status: int, body: bytes) -> None:
        provider.status, provider.body = status, body
        assert get(client(), token(keys[0], "k1"))[:2] == (401, "identity_provider_unavailable")


class TestHostileTokens:
    @pytest.mark.parametrize("kid", [
        {"k": "k1"}, ["k1"], 1, None, True, "", "k1\x00", "\u202ek1", "k" * 20_000, "'; DROP TABLE person; --",
    ])
    def test_a_hostile_key_id_is_refused_without_a_500(
            self, oidc: pytest.MonkeyPatch, provider: Provider, keys: tuple[rsa.RSAPrivateKey, ...],
            registry: Registry, kid: Any) -> None:
        provider.serve_keys(_public_jwk(keys[0], "k1"))
        app = client()
        before = rows(registry)
        status, code, _detail = get(app, token(keys[0], kid))
        assert (status, code) == (401, "unauthenticated")  # a dict or a list as key id was a TypeError (cache_keys)
        assert rows(registry) == before


@pytest.mark.parametrize("name", ["OIDC_JWKS_CACHE_SECONDS", "OIDC_JWKS_TIMEOUT_SECONDS", "OIDC_JWKS_RETRY_SECONDS"])
@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_settings_the_client_cannot_use_are_refused_at_start(monkeypatch: pytest.MonkeyPatch, name: str,
                                                             value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower()):
        config.Settings()


@pytest.mark.parametrize("name, value", [("OIDC_JWKS_CACHE_SECONDS", "0"), ("OIDC_JWKS_TIMEOUT_SECONDS", "0"),
                                         ("OIDC_JWKS_RETRY_SECONDS", "0"), ("OIDC_JWKS_RETRY_SECONDS", "0.5")])
def test_no_cache_or_timeout_of_zero_nor_a_retry_under_a_second(monkeypatch: pytest.MonkeyPatch, name: str,
                                                                value: str) -> None:
    """A retry period of 0 fetched the keys again for every made-up key id (the review)."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower()):
        config.Settings()
