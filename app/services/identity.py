"""Optional OIDC bearer tokens: a JWT verified against the configured issuer's keys.

A province's identity provider signs the token; its claims carry the role and the org units
(claim names configurable). Keys come from a JWKS file or URL; nothing is trusted unsigned.
"""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet

from app.config import Settings
from app.errors import Unauthenticated
from app.services.context import ROLES, Actor

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


def looks_like_jwt(secret: str) -> bool:
    return secret.count(".") == 2 and secret.startswith("ey")


@lru_cache(maxsize=4)
def _jwks_from_file(path: str, mtime: float) -> PyJWKSet:
    return PyJWKSet.from_dict(json.loads(Path(path).read_text("utf-8")))


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> PyJWKClient:
    return PyJWKClient(url, cache_keys=True, lifespan=300)


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
    return _jwks_client(settings.oidc_jwks_url).get_signing_key_from_jwt(token).key


def authenticate(settings: Settings, token: str, request_id: str | None) -> Actor:
    """The actor of a verified JWT, or Unauthenticated (bad signature, issuer, audience, expiry, claims)."""
    try:
        claims = jwt.decode(token, _signing_key(settings, token), algorithms=ALGORITHMS, issuer=settings.oidc_issuer,
                            audience=settings.oidc_audience, options={"require": ["exp", "iss", "sub"]})
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid identity token: {exc}") from None
    role = claims.get(settings.oidc_role_claim)
    units = claims.get(settings.oidc_units_claim, [])
    if role not in ROLES:
        raise Unauthenticated(f"the token's {settings.oidc_role_claim!r} claim names no role of ours")
    if not isinstance(units, list) or not all(isinstance(u, str) for u in units) or (not units and role != "admin"):
        raise Unauthenticated(f"the token's {settings.oidc_units_claim!r} claim must list org unit codes")
    return Actor(name=f"oidc:{claims['sub']}", role=role, org_units=tuple(units), request_id=request_id)
