"""Browser sessions in-process (SQLite, and PostgreSQL when configured): cookie flags, CSRF, sign-out, revocation."""

import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Registry, uniq

CODE = "ST-2025-DOCTORS-CK1"


@pytest.fixture
def unit(registry: Registry) -> str:
    code = uniq("W")
    record = {"code": code, "name": "Tỉnh Thử Nghiệm", "kind": "area", "tier": "province", "sector": "state",
              "ethnic_contact": False, "valid_from": "2004-01-01", "valid_to": None, "parents": []}
    assert registry.import_lines("org-units", [json.dumps(record, ensure_ascii=False)])["created"] == 1
    return code


def form_token(client: TestClient) -> str:
    r = client.get("/dashboard/login")
    assert r.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert found
    return found.group(1)


def sign_in(client: TestClient, token: str, next_path: str = "/dashboard") -> TestClient:
    r = client.post("/dashboard/login", data={"token": token, "csrf_token": form_token(client), "next": next_path},
                    follow_redirects=False)
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers.get("location")
    return client


def page(client: TestClient, unit: str, cookie: str | None = None) -> str:
    headers = {"Cookie": f"registry_session={cookie}"} if cookie else None
    r = client.get(f"/dashboard/indicators/{CODE}", params={"org_unit": unit, "as_of": "2024-12-31"}, headers=headers,
                   follow_redirects=False)
    return "login" if r.status_code == 303 and "/dashboard/login" in r.headers["location"] else str(r.status_code)


def test_sign_in_sets_an_http_only_strict_cookie_for_the_dashboard_only(registry: Registry, unit: str) -> None:
    client = registry.client
    client.cookies.clear()
    r = client.post("/dashboard/login", data={"token": registry.token("auditor", [unit]), "csrf_token": form_token(client)},
                    follow_redirects=False)
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("registry_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie and "Secure" not in cookie
    assert page(client, unit) == "200"


def test_the_cookie_is_secure_over_https(registry: Registry, unit: str) -> None:
    client = TestClient(registry.client.app, base_url="https://testserver")
    r = client.post("/dashboard/login", data={"token": registry.token("auditor", [unit]), "csrf_token": form_token(client)},
                    follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]


def test_sign_in_without_the_form_token_is_refused(registry: Registry, unit: str) -> None:
    client = TestClient(registry.client.app)
    token = registry.token("auditor", [unit])
    for sent in ("", "forged"):
        r = client.post("/dashboard/login", data={"token": token, "csrf_token": sent}, follow_redirects=False)
        assert r.status_code == 303 and "error=bad_form" in r.headers["location"]
        assert "registry_session" not in r.headers.get("set-cookie", "")
    assert page(client, unit) == "login"


def test_a_wrong_token_is_refused(registry: Registry) -> None:
    client = TestClient(registry.client.app)
    r = client.post("/dashboard/login", data={"token": "reg_nope", "csrf_token": form_token(client)}, follow_redirects=False)
    assert "error=bad_token" in r.headers["location"]
    assert "Mã truy cập không hợp lệ" in client.get(r.headers["location"]).text


def test_sign_out_needs_the_csrf_token_and_the_cookie_cannot_be_replayed(registry: Registry, unit: str) -> None:
    client = sign_in(TestClient(registry.client.app), registry.token("auditor", [unit]))
    old = client.cookies.get("registry_session")
    assert client.post("/dashboard/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    assert page(client, unit) == "200"
    html = client.get(f"/dashboard/indicators/{CODE}", params={"org_unit": unit}).text
    csrf = re.search(r'action="/dashboard/logout".*?name="csrf_token" value="([^"]+)"', html, re.S)
    assert csrf
    r = client.post("/dashboard/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert r.status_code == 303 and 'registry_session=""' in r.headers["set-cookie"]
    assert page(TestClient(registry.client.app), unit, cookie=str(old)) == "login"


def test_revoking_the_token_ends_its_sessions(registry: Registry, unit: str) -> None:
    r = registry.client.post("/api/v1/tokens", json={"name": uniq("tok"), "role": "auditor", "org_units": [unit]},
                             headers=registry.headers())
    client = sign_in(TestClient(registry.client.app), r.json()["token"])
    assert page(client, unit) == "200"
    assert registry.client.delete(f"/api/v1/tokens/{r.json()['id']}", headers=registry.headers()).status_code == 200
    assert page(client, unit) == "login"


def test_a_tampered_cookie_is_ignored(registry: Registry, unit: str) -> None:
    client = sign_in(TestClient(registry.client.app), registry.token("auditor", [unit]))
    value = str(client.cookies.get("registry_session"))
    fresh = TestClient(registry.client.app)
    assert page(fresh, unit, cookie=value) == "200"
    assert page(fresh, unit, cookie=value[:-2] + ("AA" if not value.endswith("AA") else "BB")) == "login"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/v1/tokens", "/dashboard\\@evil"])
def test_after_sign_in_only_dashboard_pages(registry: Registry, unit: str, target: str) -> None:
    client = TestClient(registry.client.app)
    r = client.post("/dashboard/login", data={"token": registry.token("auditor", [unit]), "csrf_token": form_token(client),
                                              "next": target}, follow_redirects=False)
    assert r.headers["location"] == "/dashboard"


def test_pages_carry_no_script_and_a_strict_policy(registry: Registry, unit: str) -> None:
    client = sign_in(TestClient(registry.client.app), registry.token("auditor", [unit]))
    r = client.get(f"/dashboard/indicators/{CODE}", params={"org_unit": unit, "as_of": "2024-12-31"})
    assert r.status_code == 200 and "<script" not in r.text.lower()
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert r.headers["cache-control"] == "no-store"
    css = client.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and "@media print" in css.text


def test_a_system_account_signs_in_but_reads_no_drill_down(registry: Registry, unit: str) -> None:
    client = sign_in(TestClient(registry.client.app), registry.token("integration", [unit]))
    r = client.get(f"/dashboard/indicators/{CODE}/persons", params={"org_unit": unit, "as_of": "2024-12-31"})
    assert r.status_code == 403 and 'data-code="role_forbidden"' in r.text


def test_pages_need_a_session(registry: Registry) -> None:
    client = TestClient(registry.client.app)
    for path in ("/dashboard", f"/dashboard/indicators/{CODE}", "/dashboard/report.pdf?doc=ST&org_unit=X"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/dashboard/login?next=")


def test_the_overview_is_vietnamese_by_default_and_english_on_request(registry: Registry, unit: str) -> None:
    client = sign_in(TestClient(registry.client.app), registry.token("auditor", [unit]))
    vi = client.get("/dashboard", params={"doc": "CT", "org_unit": unit, "as_of": "2024-12-31"})
    assert vi.status_code == 200 and '<html lang="vi">' in vi.text and "Bảng theo dõi chỉ tiêu nghị quyết" in vi.text
    assert "Tỉnh Thử Nghiệm" in vi.text and "Chưa có số liệu" in vi.text
    en = client.get("/dashboard", params={"doc": "CT", "org_unit": unit, "as_of": "2024-12-31", "lang": "en"})
    assert '<html lang="en">' in en.text and "Resolution targets dashboard" in en.text and "No data" in en.text
