"""Acceptance 1 in headless Chromium: the server started as `make run` starts it, the printed link opened, the
printed token pasted, and the demo's targets shown with their values on the default page."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import _create_database
from tests.made_run import MadeRun, made_run
from tests.web.support import ARTIFACTS

pytestmark = pytest.mark.usefixtures("browser")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MadeRun]:
    url, drop = _create_database("sqlite", tmp_path_factory)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with made_run(url, tmp_path_factory.mktemp("clone")) as made:
            yield made
    finally:
        drop()


def test_printed_link_and_token_open_the_demo_dashboard(page: Any, demo: MadeRun) -> None:
    """The link is the sign-in page; the token signs in; the default page lists targets, most of them with a value."""
    assert "3000 persons" in demo.printed, demo.printed
    assert demo.link == f"{demo.base}/dashboard/login" and demo.token not in demo.link
    page.goto(demo.link)
    page.get_by_label("Mã truy cập (API token)").fill(demo.token)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    assert page.url == f"{demo.base}/dashboard", page.url
    page.screenshot(path=str(ARTIFACTS / "first-run.png"), full_page=False)
    shown = page.eval_on_selector_all(
        "table.targets tbody tr",
        "trs => trs.map(tr => ({code: tr.dataset.code, status: tr.dataset.status, value: tr.dataset.value, "
        "shown: tr.querySelector('.value').textContent.trim()}))")
    with_values = [r for r in shown if r["value"] and r["status"] in ("met", "not_met")]
    assert len(shown) >= 20, shown
    assert len(with_values) >= len(shown) // 2, shown  # not a page of "Chưa có số liệu"
    assert all(r["shown"] not in ("", "—") for r in with_values), with_values
    assert page.locator("table.targets tbody tr", has_text="Chưa có số liệu").count() <= len(shown) // 2
