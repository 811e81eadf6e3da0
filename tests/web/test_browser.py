"""End to end in headless Chromium: sign in, choose a unit and a date, and see what the API says."""

import re
import subprocess
from typing import Any

import pytest
from openpyxl import load_workbook

from app.web import formats
from tests.web.support import ARTIFACTS, AS_OF, DISTRICT, PROVINCE, LiveServer, need, sign_in

pytestmark = pytest.mark.usefixtures("browser")
CK1 = "ST-2025-DOCTORS-CK1"


def choose(page: Any, *, doc: str, unit: str, as_of: str) -> None:
    """Use the filter form as a person would: pick the resolution and unit, type the date, press Xem."""
    page.get_by_label("Nghị quyết").select_option(doc)
    page.get_by_label("Đơn vị", exact=True).select_option(unit)
    page.get_by_label("Tính đến ngày").fill(as_of)
    page.get_by_role("button", name="Xem").click()
    page.wait_for_load_state()


def rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "table.targets tbody tr",
        "trs => trs.map(tr => ({code: tr.dataset.code, status: tr.dataset.status, value: tr.dataset.value, "
        "numerator: tr.dataset.numerator, denominator: tr.dataset.denominator, "
        "shown: tr.querySelector('.value').textContent.trim()}))")


def same_as_api(live: LiveServer, shown: list[dict[str, str]], *, unit: str, as_of: str, token: str) -> None:
    """Every row carries the API's exact value, counts and status, and shows the value as formatted."""
    assert shown, "no target rows on the page"
    for row in shown:
        api = live.value(row["code"], org_unit=unit, as_of=as_of, token=token)
        assert row["status"] == api["status"], row
        assert (float(row["value"]) if row["value"] else None) == api["value"], row
        assert row["numerator"] == ("" if api["numerator"] is None else str(api["numerator"])), row
        assert row["denominator"] == ("" if api["denominator"] is None else str(api["denominator"])), row
        assert row["shown"] == formats.value(api, api["value"], "vi"), row


def test_signed_in_auditor_sees_the_api_values_for_the_province(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor")
    choose(page, doc="ST", unit=PROVINCE, as_of=AS_OF)
    assert f"as_of={AS_OF}" in page.url
    shown = rows(page)
    codes = [i["code"] for i in live.api("/api/v1/indicators", live.tokens["auditor"], doc="ST")["items"]]
    assert sorted(r["code"] for r in shown) == sorted(codes)
    same_as_api(live, shown, unit=PROVINCE, as_of=AS_OF, token=live.tokens["auditor"])
    tally = {k: int(page.get_by_test_id(f"tally-{k}").locator("strong").inner_text()) for k in ("met", "not_met", "no_data")}
    assert tally["met"] == sum(r["status"] == "met" for r in shown)
    assert tally["not_met"] == sum(r["status"] == "not_met" for r in shown)
    assert "Tỉnh Sóc Trăng" in page.locator("#h-board").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{PROVINCE}-{AS_OF}.png"))
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{PROVINCE}-{AS_OF}-full.png"), full_page=True)


def test_another_unit_and_date_chosen_in_the_form(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor")
    choose(page, doc="ST", unit=DISTRICT, as_of="2023-06-30")
    assert "Huyện Mỹ Xuyên" in page.locator("#h-board").inner_text()
    same_as_api(live, rows(page), unit=DISTRICT, as_of="2023-06-30", token=live.tokens["auditor"])
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{DISTRICT}-2023-06-30.png"))


def test_a_target_shows_its_trend_definition_and_sortable_child_units(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor", f"/dashboard?doc=ST&org_unit={PROVINCE}&as_of={AS_OF}")
    page.locator(f"#row-{CK1} a").first.click()
    page.wait_for_load_state()
    assert page.locator("article.indicator").get_attribute("data-code") == CK1
    assert "II.2.2" in page.locator(".definition").inner_text()
    trend = live.api(f"/api/v1/indicators/{CK1}/trend", live.tokens["auditor"], org_unit=PROVINCE, end_year=2025)["points"]
    for point in trend:
        cell = page.locator(f'tr[data-year="{point["as_of"][:4]}"] td.num').first.inner_text()
        assert cell == formats.value({"kind": "ratio"}, point["value"], "vi")
    api_cells = {c["key"]: c for c in live.api(f"/api/v1/indicators/{CK1}/breakdown", live.tokens["auditor"],
                                               org_unit=PROVINCE, as_of=AS_OF)["cells"]}
    page.get_by_role("link", name=re.compile("^Giá trị hiện tại")).click()
    page.wait_for_load_state()
    units = page.eval_on_selector_all("table.breakdown tbody tr", "trs => trs.map(t => [t.dataset.unit, t.dataset.value])")
    values = [float(v) for _u, v in units if v]
    assert values == sorted(values) and len(values) >= 2
    assert {u: (float(v) if v else None) for u, v in units} == {k: c["value"] for k, c in api_cells.items()}
    assert page.locator('th[aria-sort="ascending"]').count() == 1
    page.get_by_role("link", name=re.compile("^Giá trị hiện tại")).click()
    page.wait_for_load_state()
    values = [float(v) for v in page.eval_on_selector_all("table.breakdown tbody tr", "t => t.map(r => r.dataset.value)") if v]
    assert values == sorted(values, reverse=True)
    page.screenshot(path=str(ARTIFACTS / f"indicator-{CK1}.png"), full_page=True)


def test_drill_down_lists_the_persons_counted(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "hr_officer", f"/dashboard/indicators/{CK1}?doc=ST&org_unit={DISTRICT}&as_of={AS_OF}")
    page.get_by_role("link", name="Xem danh sách người").click()
    page.wait_for_load_state()
    api = live.api(f"/api/v1/indicators/{CK1}/persons", live.tokens["hr_officer"], org_unit=DISTRICT, as_of=AS_OF)
    assert page.get_by_test_id("persons-numerator").inner_text() == str(api["numerator"])
    assert page.get_by_test_id("persons-denominator").inner_text() == str(api["denominator"])
    assert page.locator("table.persons tbody tr").count() == len(api["persons"])
    if api["persons"]:
        assert api["persons"][0]["full_name"] in page.locator("table.persons").inner_text()


def test_drill_down_refused_where_the_service_refuses(page: Any, live: LiveServer) -> None:
    path = f"/dashboard/indicators/ST-2025-ETHNIC-STAFF-LANGUAGE/persons?org_unit={PROVINCE}&as_of={AS_OF}"
    sign_in(page, live, "auditor", path)
    assert page.locator(".alert").get_attribute("data-code") == "sensitive_population"
    assert "tổng hợp" in page.locator(".alert").inner_text()


def test_out_of_scope_unit_is_refused(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "hr_officer", f"/dashboard?doc=ST&org_unit={PROVINCE}&as_of={AS_OF}")
    assert page.locator(".alert").get_attribute("data-code") == "out_of_scope"
    page.goto(live.base + "/dashboard")
    assert f"({DISTRICT})" in page.locator("#h-board").inner_text()
    options = page.eval_on_selector_all("#f-unit option", "o => o.map(x => x.value)")
    assert DISTRICT in options and "ST-H2" not in options


def test_english_on_request_and_vietnamese_by_default(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor", f"/dashboard/indicators/{CK1}?doc=ST&org_unit={DISTRICT}&as_of={AS_OF}")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("#h-def").inner_text() == "Định nghĩa và căn cứ"
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#h-def").inner_text() == "Definition and source"
    english = live.api(f"/api/v1/indicators/{CK1}", live.tokens["auditor"])["names"]["en"]
    assert english in page.locator("h1").inner_text()
    assert f"org_unit={DISTRICT}" in page.url
    page.get_by_role("link", name="Tiếng Việt").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "vi"


def test_keyboard_reaches_the_skip_link_first_and_the_form(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor", f"/dashboard/indicators/{CK1}?doc=ST&org_unit={DISTRICT}&as_of={AS_OF}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    # the jump to the fragment is a navigation within the page that lands after the key press returns: wait for it
    # (a loaded CI machine read the URL before it had changed)
    page.wait_for_function("location.hash === '#main'", timeout=30_000)
    assert page.url.endswith("#main")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-doc":
            break
    assert page.evaluate("document.activeElement.id") == "f-doc"


def test_session_cookie_is_http_only_strict_and_sign_out_ends_it(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor", f"/dashboard/indicators/{CK1}?doc=ST&org_unit={DISTRICT}&as_of={AS_OF}")
    cookie = next(c for c in page.context.cookies() if c["name"] == "registry_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard"
    assert page.evaluate("document.cookie") == ""
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_load_state()
    assert "/dashboard/login" in page.url
    assert not [c for c in page.context.cookies() if c["name"] == "registry_session"]
    page.goto(live.base + f"/dashboard/indicators/{CK1}?org_unit={DISTRICT}")
    assert "/dashboard/login" in page.url


def test_reports_downloaded_from_the_page_carry_its_values(page: Any, live: LiveServer) -> None:
    sign_in(page, live, "auditor", f"/dashboard?doc=ST&org_unit={PROVINCE}&as_of={AS_OF}")
    shown = {r["code"]: r for r in rows(page)}
    data_version = page.get_by_test_id("data-version").inner_text()
    with page.expect_download() as xlsx_download:
        page.get_by_test_id("xlsx").click()
    xlsx_path = ARTIFACTS / "dashboard-report.xlsx"
    xlsx_download.value.save_as(str(xlsx_path))
    sheet = load_workbook(xlsx_path).worksheets[0]
    table = {r[0]: r for r in sheet.iter_rows(values_only=True) if r[0] in shown}
    assert set(table) == set(shown)
    for code, row in shown.items():
        assert table[code][16] == (row["value"] or None)
    facts = {r[0]: r[1] for r in sheet.iter_rows(min_row=4, max_row=12, values_only=True)}
    assert facts["Phiên bản dữ liệu"] == data_version
    with page.expect_download() as pdf_download:
        page.get_by_test_id("pdf").click()
    pdf_path = ARTIFACTS / "dashboard-report.pdf"
    pdf_download.value.save_as(str(pdf_path))
    text = subprocess.run([need("pdftotext"), "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Tỉnh Sóc Trăng" in text
    assert formats.value({"kind": "ratio"}, float(shown[CK1]["value"]), "vi") in text


def test_the_projection_form_runs_the_scenario_chosen(page: Any, live: LiveServer) -> None:
    """Choose 'Không đào tạo thêm' and a last day, press 'Tính dự báo': the section shows the API's points."""
    code = "ST-2030-DOCTORS-CK1"
    sign_in(page, live, "auditor", f"/dashboard/indicators/{code}?org_unit={PROVINCE}&as_of={AS_OF}")
    section = page.locator('section[data-section="projection"]')
    assert section.get_attribute("data-training") == "expected"  # as the training is planned, by default
    page.get_by_label("Kịch bản đào tạo").select_option("none")
    page.get_by_label("Đến ngày", exact=True).fill("2029-06-30")
    page.get_by_role("button", name="Tính dự báo").click()
    page.wait_for_load_state()
    assert "training=none" in page.url and f"as_of={AS_OF}" in page.url
    assert (section.get_attribute("data-training"), section.get_attribute("data-to")) == ("none", "2029-06-30")
    start = section.get_attribute("data-from")
    api = live.api(f"/api/v1/indicators/{code}/projection", live.tokens["auditor"], org_unit=PROVINCE,
                   **{"from": start}, to="2029-06-30", training="none")
    shown = page.eval_on_selector_all('[data-testid="projection-points"] tbody tr',
                                      "trs => trs.map(tr => [tr.dataset.asOf, tr.dataset.numerator, tr.dataset.denominator])")
    assert shown == [[p["as_of"], str(p["numerator"]), str(p["denominator"])] for p in api["points"]]
    assert api["points"][0]["denominator"] > 0  # the province's doctors
    assert page.locator('section[data-section="gap"]').count() == 1
    page.locator("#h-proj").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"projection-{code}-{PROVINCE}.png"), full_page=True)
