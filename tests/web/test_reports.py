"""The XLSX and PDF reports open (openpyxl, poppler) and carry the API's values, parameters and versions."""

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from app.web import formats
from tests.conftest import BOOT
from tests.web.support import ARTIFACTS, AS_OF, PROVINCE, LiveServer, need

PARAMS = {"org_unit": PROVINCE, "as_of": AS_OF}


def fetch(live: LiveServer, kind: str, token: str = BOOT, **params: Any) -> bytes:
    with live.client(token) as c:
        r = c.get(f"/api/v1/reports/ST.{kind}", params=PARAMS | params)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith({"xlsx": "application/vnd.openxml", "pdf": "application/pdf"}[kind])
    return r.content


def summary(content: bytes) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    """(parameter lines, target rows by code) of the first sheet."""
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    facts = {r[0]: r[1] for r in sheet.iter_rows(min_row=4, max_row=12, values_only=True)}
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True) if isinstance(r[0], str) and r[0].startswith("ST-20")}
    return facts, rows


@pytest.fixture(scope="module")
def known_at(live: LiveServer) -> str:
    return datetime.now(UTC).isoformat()


@pytest.fixture(scope="module")
def workbook(live: LiveServer, known_at: str) -> bytes:
    """The province's XLSX as recorded at `known_at` (made once for the module)."""
    content = fetch(live, "xlsx", live.tokens["auditor"], known_at=known_at)
    (ARTIFACTS / "report-ST.xlsx").write_bytes(content)
    return content


def test_xlsx_opens_and_carries_the_api_values(live: LiveServer, known_at: str, workbook: bytes) -> None:
    content = workbook
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Tổng hợp", "Xu hướng", "Đơn vị", "Định nghĩa", "Dự báo"]
    facts, rows = summary(content)
    report = live.api("/api/v1/reports/ST", live.tokens["auditor"], **PARAMS, known_at=known_at)
    assert set(rows) == {i["indicator"] for i in report["items"]}
    for item in report["items"]:
        row = rows[item["indicator"]]
        assert (row[4], row[5]) == (item["numerator"], item["denominator"]), item["indicator"]
        assert row[3] == (None if item["value"] is None else pytest.approx(item["value"], rel=1e-15)), item["indicator"]
        assert row[16] == (None if item["value"] is None else repr(item["value"])), item["indicator"]
        assert row[2].endswith({"met": "Đạt", "not_met": "Chưa đạt", "no_data": "Chưa có số liệu"}[item["status"]]) or \
            item["kind"] == "qualitative"
        assert (row[13], row[14]) == (item["definition"]["version"], item["definition"]["sha256"])
    assert facts["Phiên bản dữ liệu"] == str(report["items"][0]["data_version"])
    assert datetime.fromisoformat(facts["Dữ liệu ghi nhận đến"]) == datetime.fromisoformat(known_at)
    assert facts["Tính đến ngày"] == AS_OF
    assert "known_at=" in facts["Lập lại báo cáo này với các tham số"]
    assert book["Xu hướng"]._charts and book["Đơn vị"]._charts
    definitions = list(book["Định nghĩa"].iter_rows(min_row=2, values_only=True))
    assert any("Nghị quyết" not in (r[1] or "") and "bác sĩ" in (r[1] or "") for r in definitions)


def test_the_same_parameters_give_the_same_figures_after_new_data(live: LiveServer, known_at: str, workbook: bytes) -> None:
    before = summary(workbook)[1]
    with live.client() as c:
        r = c.post("/api/v1/imports/statistics", content='{"code": "ST-2025-LABOUR-TRAINED", "org_unit": "ST", '
                   '"period": "2024-06-01", "value": 0.91}\n', headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    again = summary(fetch(live, "xlsx", live.tokens["auditor"], known_at=known_at))[1]
    assert {k: v[16] for k, v in again.items()} == {k: v[16] for k, v in before.items()}
    assert live.value("ST-2025-LABOUR-TRAINED")["value"] == 0.91 != float(before["ST-2025-LABOUR-TRAINED"][16])


def test_pdf_renders_with_vietnamese_text_and_the_figures(live: LiveServer, known_at: str, tmp_path: Path) -> None:
    content = fetch(live, "pdf", live.tokens["auditor"], known_at=known_at)
    path = ARTIFACTS / "report-ST.pdf"
    path.write_bytes(content)
    assert content.startswith(b"%PDF-")
    fonts = subprocess.run([need("pdffonts"), str(path)], capture_output=True, text=True, check=True).stdout
    assert "DejaVuSans" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])
    text = subprocess.run([need("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    stamp = known_at.replace("+00:00", "Z")
    for words in ("Tỉnh Sóc Trăng", "Chưa đạt", "Phiên bản dữ liệu", "Nghị quyết Đảng bộ tỉnh Sóc Trăng", stamp, "sau đại học",
                  "Diễn biến cuối các năm"):
        assert words in text, words
    report = live.api("/api/v1/reports/ST", live.tokens["auditor"], **PARAMS, known_at=known_at)
    for item in report["items"]:
        assert item["indicator"] in text
        if item["value"] is not None:
            assert formats.value(item, item["value"], "vi") in text, item["indicator"]
        assert item["definition"]["sha256"] in text.replace("\n", "")
    subprocess.run([need("pdftoppm"), "-png", "-r", "60", "-f", "1", "-l", "3", str(path), str(ARTIFACTS / "report-ST")],
                   check=True)
    pages = sorted(ARTIFACTS.glob("report-ST-*.png"))
    assert pages and all(p.stat().st_size > 10_000 for p in pages)


def test_english_report(live: LiveServer) -> None:
    with live.client() as c:
        r = c.get("/api/v1/reports/CT.xlsx", params={"org_unit": "ST-H1", "as_of": AS_OF, "lang": "en"})
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["Summary", "Trend", "Units", "Definitions", "Projection"]
    facts = {row[0]: row[1] for row in book.worksheets[0].iter_rows(min_row=4, max_row=12, values_only=True)}
    assert facts["Data version"] and facts["As of"] == AS_OF and facts["Org unit"] == "Huyện Mỹ Xuyên (ST-H1)"


def test_reports_need_a_token_and_a_unit_in_scope(live: LiveServer) -> None:
    with live.client(None) as c:
        assert c.get("/api/v1/reports/ST.pdf", params=PARAMS).status_code == 401
    with live.client(live.tokens["hr_officer"]) as c:
        r = c.get("/api/v1/reports/ST.xlsx", params=PARAMS)
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"


def test_the_json_report_route_still_answers(live: LiveServer) -> None:
    assert live.api("/api/v1/reports/ST", **PARAMS)["doc"] == "ST"
