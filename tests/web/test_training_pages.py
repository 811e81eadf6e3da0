"""The person page and the unit training page on the live server, for every role that signs in, in both languages,
in and out of scope, with hostile parameters (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set), and clicked
through in Chromium: the chrome's link to the training page, a drill-down's person, an enrolled person."""

from typing import Any

import pytest

from tests.web.support import ARTIFACTS, COMMUNE, DISTRICT, PROVINCE, LiveServer, sign_in

pytestmark = pytest.mark.usefixtures("browser")
ROLES = ("admin", "auditor", "hr_officer", "integration", "commune_officer")
HOME = {"admin": PROVINCE, "auditor": PROVINCE, "hr_officer": DISTRICT, "integration": PROVINCE, "commune_officer": COMMUNE}
HOSTILE = ["year=99999", "year=0", "year=-2026", "year=20%2026", "year=2026%0A", "year=%00", "year=%1F2026",
           "org_unit=NOPE", "org_unit=%00", "org_unit=ST%0A", "org_unit=" + "X" * 500, "known_at=soon",
           "known_at=2026-13-01T00:00", "lang=fr&year=1e9"]
SECTIONS = ("courses", "enrolment_counts", "training_needs", "annual_plan")
EDGES = ["known_at=0001-01-01T00:00Z", "known_at=9999-12-31T23:59:59Z", "year=1900", "year=2200"]  # a page or a 4xx


def _token(live: LiveServer, role: str) -> str:
    from tests.conftest import BOOT

    return BOOT if role == "admin" else live.tokens[role]


def _persons(live: LiveServer, role: str, **params: Any) -> list[dict[str, Any]]:
    return list(live.api("/api/v1/persons", _token(live, role), limit=50, **params)["items"])


def _outsider(live: LiveServer, role: str) -> dict[str, Any] | None:
    """A person the role may not read (None for whole-province roles)."""
    if HOME[role] == PROVINCE:
        return None
    with live.client(_token(live, role)) as c:
        for p in _persons(live, "admin", org_unit="ST-H2-M"):
            if c.get(f"/api/v1/persons/{p['external_id']}").status_code == 404:
                return p
    raise AssertionError(f"nobody outside the reach of {role}")


def _get(page: Any, live: LiveServer, path: str) -> Any:
    return page.context.request.get(f"{live.base}{path}", max_redirects=0)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_the_new_pages_in_both_languages(page: Any, live_any: LiveServer, role: str) -> None:
    live = live_any
    sign_in(page, live, role)
    mine = _persons(live, role)[0]
    outsider = _outsider(live, role)
    for lang in ("vi", "en"):
        r = _get(page, live, f"/dashboard/persons/{mine['external_id']}?lang={lang}")
        assert r.status == 200, (role, lang, r.text()[:300])
        assert f'lang="{lang}"' in r.text() and mine["full_name"] in r.text()
        if role == "auditor":  # a role that may not see sensitive fields: withheld, and said so
            assert 'data-testid="redacted"' in r.text()
            assert not any(f'data-field="{f}"' in r.text() for f in ("ethnicity", "national_id", "party_member_since"))
        if outsider is not None:
            r = _get(page, live, f"/dashboard/persons/{outsider['external_id']}?lang={lang}")
            assert r.status == 404 and 'data-code="person_not_found"' in r.text(), (role, r.status)
            assert outsider["full_name"] not in r.text()
        for query in ("", f"org_unit={HOME[role]}&year=2025", f"org_unit={HOME[role]}&year=2027", "year=1900"):
            r = _get(page, live, f"/dashboard/training?{query}&lang={lang}")
            assert r.status == 200, (role, query, r.text()[:300])
            assert all(f'data-section="{key}"' in r.text() for key in SECTIONS), (role, query)
            assert 'data-testid="not-for-role"' not in r.text(), (role, query)  # every role may read training
            assert ('data-testid="plan"' in r.text()) != ('data-testid="no-plan"' in r.text())
            shows_persons = "data-person=" in r.text()
            assert not shows_persons or role in ("admin", "auditor", "hr_officer", "commune_officer"), (role, query)
        if HOME[role] != PROVINCE:
            r = _get(page, live, f"/dashboard/training?org_unit=ST-H4&lang={lang}")
            assert r.status == 403 and 'data-code="out_of_scope"' in r.text(), (role, r.status)


@pytest.mark.parametrize("role", ["admin", "commune_officer"])
def test_hostile_parameters_are_answered_with_4xx_pages(page: Any, live: LiveServer, role: str) -> None:
    sign_in(page, live, role)
    person = _persons(live, role)[0]["external_id"]
    paths = [f"/dashboard/training?{q}" for q in HOSTILE]
    paths += [f"/dashboard/persons/{person}?{q}" for q in HOSTILE if q.startswith(("known_at", "org_unit=%00"))]
    paths += ["/dashboard/persons/%00", "/dashboard/persons/A%0AB", "/dashboard/persons/" + "9" * 500,
              "/dashboard/persons/%E2%80%AEST"]
    for path in paths:
        r = _get(page, live, path)
        assert 400 <= r.status < 500, (role, path, r.status, r.text()[:300])
        assert r.headers["content-type"].startswith("text/html"), (path, r.headers["content-type"])
    for path in [f"/dashboard/{where}?{q}" for q in EDGES for where in ("training", f"persons/{person}")]:
        r = _get(page, live, path)
        assert r.status == 200 or 400 <= r.status < 500, (role, path, r.status, r.text()[:300])
    # an encoded slash makes another path, which no page has: the service's own 404, not a person
    assert _get(page, live, "/dashboard/persons/..%2F..%2Fetc").status == 404


def test_the_chrome_links_to_the_training_page_and_persons_link_to_their_page(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor")
    page.get_by_test_id("nav-training").click()
    page.wait_for_load_state()
    assert "/dashboard/training" in page.url and f"org_unit={PROVINCE}" in page.url
    page.get_by_label("Năm", exact=True).fill("2025")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()
    assert page.locator("article.training").get_attribute("data-year") == "2025"
    assert page.locator('[data-testid="courses"] tbody tr').count() > 0
    assert page.locator('[data-testid="enrolment-counts"] tbody tr').count() > 0
    page.screenshot(path=str(ARTIFACTS / "training-ST-2025.png"), full_page=True)
    first = page.locator("details.who").first
    first.locator("summary").click()
    person = first.locator("a[data-person]").first
    external_id = person.get_attribute("data-person")
    person.click()
    page.wait_for_load_state()
    assert page.locator("article.person").get_attribute("data-person") == external_id
    assert page.locator('[data-testid="enrolments"] tbody tr').count() > 0
    page.screenshot(path=str(ARTIFACTS / f"person-{external_id}.png"), full_page=True)


def test_a_drill_down_person_opens_their_page(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "hr_officer", f"/dashboard/indicators/ST-2025-DOCTORS-CK1/persons?org_unit={DISTRICT}"
                                      "&as_of=2024-12-31")
    link = page.locator("table.persons a[data-person]").first
    external_id = link.get_attribute("data-person")
    link.click()
    page.wait_for_load_state()
    assert page.locator("article.person").get_attribute("data-person") == external_id
    assert page.locator("html").get_attribute("lang") == "vi"
