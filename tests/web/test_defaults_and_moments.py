"""The dashboard's default date (the latest deadline passed, else the last 31 December) and its local-time known_at
picker (Vietnam, UTC+7), against the API (issue 12)."""

import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from app.services.indicators import catalog
from app.web import board
from tests.fixtures.province import ndjson
from tests.web.support import ARTIFACTS, LiveServer, sign_in

SPECS = {s.id: s for s in catalog.build()}
VIETNAM = timezone(timedelta(hours=7))


@pytest.mark.parametrize(("codes", "today", "expected"), [
    (["ST-2025-PD-STAFF-POSTGRAD"], date(2026, 12, 4), date(2025, 12, 31)),  # its deadline has passed
    (["ST-2025-PD-STAFF-POSTGRAD"], date(2025, 12, 31), date(2025, 12, 31)),  # the deadline is today
    (["ST-2025-PD-STAFF-POSTGRAD"], date(2025, 12, 30), date(2024, 12, 31)),  # not yet: the last 31 December
    (["ST-2030-DOCTORS-CK1"], date(2026, 12, 4), date(2025, 12, 31)),
    (["ST-2030-DOCTORS-CK1"], date(2028, 5, 1), date(2027, 12, 31)),
    (["ST-2030-DOCTORS-CK1"], date(2031, 2, 1), date(2030, 12, 31)),
    (["ST-2025-PD-STAFF-POSTGRAD", "ST-2030-DOCTORS-CK1"], date(2028, 5, 1), date(2025, 12, 31)),  # a resolution
    (["CT-2030-NEW-ENTERPRISES-YEARLY"], date(2027, 3, 1), date(2026, 12, 31)),  # a year named one by one
    (["ST-2025-JOBS-YEARLY"], date(2024, 2, 1), date(2023, 12, 31)),  # the end of its period not yet
    (["CT-2025-TEACHING-STAFF"], date(2026, 1, 1), date(2025, 12, 31)),  # qualitative: no deadline
])
def test_the_default_day(codes: list[str], today: date, expected: date) -> None:
    assert board.default_day([SPECS[c] for c in codes], today) == expected


@pytest.mark.usefixtures("browser")
@pytest.mark.parametrize(("code", "unit", "lang"), [("ST-2030-PD-STAFF-POSTGRAD", "ST-H1", "vi"),
                                                    ("ST-2025-DOCTORS-CK1", "ST", "en")])
def test_a_page_without_a_date_shows_the_default_day_and_says_so(page: Any, live: LiveServer, code: str, unit: str,
                                                                   lang: str) -> None:
    expected = board.default_day([SPECS[code]], date.today())
    sign_in(page, live, "auditor", f"/dashboard/indicators/{code}?org_unit={unit}&lang={lang}")
    assert page.locator("#f-date").input_value() == expected.isoformat()
    stated = page.get_by_test_id("default-date").inner_text()
    assert (expected.strftime("%d/%m/%Y") if lang == "vi" else expected.isoformat()) in stated
    assert ("31/12" if lang == "vi" else "31 December") in stated
    api = live.value(code, org_unit=unit, as_of=expected.isoformat(), token=live.tokens["auditor"])
    article = page.locator("article.indicator")
    assert article.get_attribute("data-status") == api["status"]
    assert article.get_attribute("data-value") == ("" if api["value"] is None else str(api["value"]))
    if unit == "ST-H1":  # a district closed in 2025 answers for its territory on the default day, not 'no data'
        assert api["value"] is not None and api.get("scope") == "territory"
    page.screenshot(path=str(ARTIFACTS / f"default-date-{code}-{unit}.png"), full_page=True)


@pytest.mark.usefixtures("browser")
def test_the_local_time_picker_names_the_same_data_as_the_api_in_utc(page: Any, live: LiveServer) -> None:
    """A statistic imported after a moment M: the picker set to M in Vietnam's time shows the figures the API gives for
    known_at = M in UTC (before the import), not those of now; read as UTC it would be seven hours later (after it)."""
    code, unit, day = "ST-2025-LABOUR-CERTIFIED", "ST-H1-X3", "2024-12-31"
    time.sleep(0.01)
    clock = datetime.now(UTC)
    moment = clock.replace(microsecond=clock.microsecond // 1000 * 1000)
    time.sleep(0.01)
    with live.client() as c:
        r = c.post("/api/v1/imports/statistics", headers={"Content-Type": "application/x-ndjson"}, content=ndjson(
            [{"code": code, "org_unit": unit, "period": "2024", "value": 0.71, "source": "Sở LĐTBXH"}]).encode())
    assert r.status_code == 200 and r.json()["failed"] == 0, r.text
    utc = moment.isoformat().replace("+00:00", "Z")
    token = live.tokens["auditor"]
    before = live.api(f"/api/v1/indicators/{code}/value", token, org_unit=unit, as_of=day, known_at=utc)
    now = live.value(code, org_unit=unit, as_of=day, token=token)
    assert (before["status"], before["value"]) != (now["status"], now["value"]), "the import changed nothing to compare"
    sign_in(page, live, "auditor", f"/dashboard/indicators/{code}?org_unit={unit}&as_of={day}")
    assert "UTC+7" in page.locator('label[for="f-known"]').inner_text()
    assert page.locator("#f-known").get_attribute("type") == "datetime-local"
    local = moment.astimezone(VIETNAM).replace(tzinfo=None).isoformat(timespec="milliseconds")
    page.locator("#f-known").fill(local)
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()
    article = page.locator("article.indicator")
    assert article.get_attribute("data-status") == before["status"]
    assert article.get_attribute("data-value") == ("" if before["value"] is None else str(before["value"]))
    assert page.get_by_test_id("known-at").get_attribute("datetime") == utc
    # Chromium keeps the value in the shortest form that names the same moment (13.120 → 13.12, :00.000 → nothing)
    assert datetime.fromisoformat(page.locator("#f-known").input_value()) == datetime.fromisoformat(local)
    page.screenshot(path=str(ARTIFACTS / f"known-at-{code}-{unit}.png"), full_page=True)
    page.locator("#f-known").fill("")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()
    assert page.locator("article.indicator").get_attribute("data-status") == now["status"]


@pytest.mark.usefixtures("browser")
def test_a_moment_before_the_target_existed_is_a_404_not_a_500(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor", "/dashboard")
    response = page.goto(f"{live.base}/dashboard/indicators/ST-2030-DOCTORS-CK1?org_unit=ST&known_at=2020-01-01T07:00")
    assert response.status == 404
    assert page.locator(".alert").get_attribute("data-code") == "indicator_not_found"
