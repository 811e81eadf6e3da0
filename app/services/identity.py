"""Optional OIDC bearer tokens: a JWT verified against the configured issuer's keys.

A province's identity provider signs the token; its claims carry the role and the org units
(claim names configurable). Keys come from a JWKS file or URL; nothing is trusted unsigned.
"""

import json
import logging
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWKClientConnectionError

from app.config import Settings
from app.errors import Unauthenticated
from app.services.context import ROLES, Actor

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


def looks_like_jwt(secret: str) -> bool:
    return secret.count(".") == 2 and secret.startswith("ey")


@lru_cache(maxsize=4)
def _jwks_from_file(path: str, mtime: float) -> PyJWKSet:
    return PyJWKSet.from_dict(json.loads(Path(path).read_text("utf-8")))


class _ProviderKeys(PyJWKClient):
    """The identity provider's keys, fetched from its JWKS URL: PyJWT's client as configured here.

    - A fetched key set is kept `cache_seconds`, then fetched again, so that a key the provider withdraws
      stops being trusted within that time. (PyJWT's `cache_keys`, on here before, kept every key it had
      used for the life of the process, withdrawn or not.)
    - A token whose key id is not in the set fetches it again at most once every `retry_seconds` (PyJWT's
      cooldown): anyone can send a token with a made-up key id, before any signature is checked.
    - A fetch waits at most `timeout_seconds`, and after a failed one (unreachable, slow, not a JSON object,
      no usable key) none is tried for `retry_seconds`: PyJWT's client answers one caller at a time, under
      its lock, so a provider that does not answer would otherwise hold every identity-provider caller of
      the process, each for the whole timeout."""

    def __init__(self, url: str, *, cache_seconds: float, timeout_seconds: float, retry_seconds: float) -> None:
        super().__init__(url, cache_keys=False, lifespan=cache_seconds, timeout=timeout_seconds,
                         cooldown_duration=retry_seconds)
        self._retry_seconds = retry_seconds
        self._failed_at: float | None = None
        self._failing = threading.Lock()

    def fetch_data(self) -> Any:
        with self._failing:
            if self._failed_at is not None and time.monotonic() - self._failed_at < self._retry_seconds:
                raise PyJWKClientConnectionError("a fetch of the provider's keys failed moments ago")
        try:
            data = super().fetch_data()
        except Exception as exc:  # noqa: BLE001 (the provider's answer is parsed as it comes: not JSON is json.load's
            # ValueError, too deeply nested its RecursionError, an unhashable "alg" PyJWK's TypeError; none is ours)
            with self._failing:
                self._failed_at = time.monotonic()
            log.warning("the identity provider's keys could not be fetched from %s: %s", self.uri, exc)
            raise PyJWKClientConnectionError("the provider's keys could not be fetched") from exc
        with self._failing:
            self._failed_at = None
        return data


@lru_cache(maxsize=4)
def _jwks_client(url: str, cache_seconds: float, timeout_seconds: float, retry_seconds: float) -> _ProviderKeys:
    return _ProviderKeys(url, cache_seconds=cache_seconds, timeout_seconds=timeout_seconds, retry_seconds=retry_seconds)


def _signing_key(settings: Settings, token: str) -> Any:
    kid = jwt.get_unverified_header(token).get("kid")
    if settings.oidc_jwks_file:
        path = Path(settings.oidc_jwks_file)
        keys = _jwks_from_file(str(path), path.stat().st_mtime)
        for key in keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise Unauthenticated("no key of the identity provider matches the token's kid")
    assert settings.oidc_jwks_url is not None
    client = _jwks_client(settings.oidc_jwks_url, settings.oidc_jwks_cache_seconds, settings.oidc_jwks_timeout_seconds,
                          settings.oidc_jwks_retry_seconds)
    return client.get_signing_key_from_jwt(token).key


def authenticate(settings: Settings, token: str, request_id: str | None) -> Actor:
    """The actor of a verified JWT, or Unauthenticated (bad signature, issuer, audience, expiry, claims)."""
    try:
        claims = jwt.decode(token, _signing_key(settings, token), algorithms=ALGORITHMS, issuer=settings.oidc_issuer,
                            audience=settings.oidc_audience, options={"require": ["exp", "iss", "sub"]})
    except PyJWKClientConnectionError:  # the cause is in the server's log; the URL and the network's words stay there
        raise Unauthenticated("the identity provider's keys could not be fetched: try again in a moment",
                              code="identity_provider_unavailable") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid identity token: {exc}") from None
    role = claims.get(settings.oidc_role_claim)
    units = claims.get(settings.oidc_units_claim, [])
    if role not in ROLES:
        raise Unauthenticated(f"the token's {settings.oidc_role_claim!r} claim names no role of ours")
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units) or (not units and role != "admin"):
        raise Unauthenticated(f"the token's {settings.oidc_units_claim!r} claim must list org unit codes")
    return Actor(name=f"oidc:{claims['sub']}", role=role, org_units=tuple(units), request_id=request_id)
