"""Signing in to the dashboard in a test: a client of the app with the session cookie of a token."""

import re

from fastapi.testclient import TestClient

from tests.conftest import Registry


def signed_in(registry: Registry, token: str) -> TestClient:
    """A client of the registry's app signed in to the dashboard with `token` (the login form's CSRF token read)."""
    client = TestClient(registry.client.app)
    form = client.get("/dashboard/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found
    r = client.post("/dashboard/login", data={"token": token, "csrf_token": found.group(1)}, follow_redirects=False)
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers.get("location")
    return client
