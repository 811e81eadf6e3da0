"""The indicator page's projection and gap sections and the reports' projection, in-process (no browser; SQLite, and
PostgreSQL when TEST_POSTGRES_URL is set), on a small registry built through the API: three leaders of a provincial
agency below the standard of their title (political theory trung cấp, cao cấp required), one enrolled in a course
awarding cao cấp expected to complete on 2027-06-30, one retiring (born April 1966, male: last day in service
2028-04-30). The figures shown are the API's; names for the roles that see persons, counts for the others; hostile
parameters are a page or a 4xx, never a 500."""

import io
import re
import subprocess
from dataclasses import dataclass
from datetime import date
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app.services.indicators import catalog
from app.web.projection_section import REPORT_TRAINING
from tests.api.factories import SmallTree, course, enrolment, import_records, leader, small_tree
from tests.conftest import BOOT, Registry, uniq
from tests.web.signin import signed_in
from tests.web.support import need

STANDARD = "CT-2025-LEADERS-MEET-STANDARDS"
FROM, TO = "2026-01-01", "2030-12-31"
NAMES = {"retiring": "Trần Văn Hưu", "enrolled": "Lê Văn Học", "plain": "Nguyễn Thị Chờ"}
COURSE_NAME = "Lớp Cao cấp lý luận chính trị dự báo"
SPECS = {s.id: s for s in catalog.build()}


@dataclass
class Setting:
    tree: SmallTree
    ext: dict[str, str]  # retiring, enrolled, plain -> external id
    course: str


def _leader(external_id: str, unit: str, name: str, birth: str, gender: str) -> dict[str, Any]:
    return leader(external_id, unit, birth, gender, full_name=name)


@pytest.fixture(scope="module")
def setting(backend_db: tuple[str, str]) -> Setting:
    from tests.conftest import _bind

    backend, url = backend_db
    registry = Registry(backend, url, _bind(url))
    tree = small_tree(registry)
    ext = {k: uniq(k[:3].upper()) for k in NAMES}
    records = [_leader(ext["retiring"], tree.agency, NAMES["retiring"], "1966-04-10", "male"),
               _leader(ext["enrolled"], tree.agency, NAMES["enrolled"], "1980-05-01", "male"),
               _leader(ext["plain"], tree.agency, NAMES["plain"], "1982-01-01", "female")]
    assert import_records(registry, "persons", records)["created"] == 3
    code = uniq("CC")
    assert import_records(registry, "courses", [course(code, tree.province, name=COURSE_NAME)])["errors"] == []
    assert import_records(registry, "enrolments", [
        enrolment(ext["enrolled"], code, "enrolled", expected_completion="2027-06-30")])["errors"] == []
    return Setting(tree, ext, code)




def _token(registry: Registry, setting: Setting, role: str) -> str:
    return BOOT if role == "admin" else registry.token(role, [setting.tree.province])


def _api(registry: Registry, token: str, code: str, route: str, **params: str) -> dict[str, Any]:
    r = registry.client.get(f"/api/v1/indicators/{code}/{route}", headers=registry.headers(token), params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


class _Tags(HTMLParser):
    """The attributes of every start tag, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def _tags(html: str, testid: str, tag: str = "tr") -> list[dict[str, str]]:
    """The `tag` start tags carrying data attributes inside the element of `data-testid`."""
    start = html.index(f'data-testid="{testid}"')
    end = html.find("</table>", start)
    end = html.find("</dl>", start) if testid == "gap" else end
    parser = _Tags()
    parser.feed(html[html.rfind("<", 0, start):end])
    return [attrs for name, attrs in parser.tags if name == tag and any(k.startswith("data-") for k in attrs)]


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


def _page(client: TestClient, setting: Setting, code: str = STANDARD, **params: str) -> str:
    r = client.get(f"/dashboard/indicators/{code}", params={"org_unit": setting.tree.agency} | params)
    assert r.status_code == 200, r.text[:2000]
    return r.text


def _points(html: str) -> list[tuple[str, str, float | None, float | None, float | None]]:
    return [(a["data-as-of"], a["data-status"], _number(a["data-value"]), _number(a["data-numerator"]),
             _number(a["data-denominator"])) for a in _tags(html, "projection-points")]


def _api_points(answer: dict[str, Any]) -> list[tuple[str, str, float | None, float | None, float | None]]:
    return [(p["as_of"], p["status"], p["value"], p["numerator"], p["denominator"]) for p in answer["points"]]


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.parametrize("role", ["admin", "hr_officer"])
@pytest.mark.parametrize("training", ["expected", "none", "completion_rate"])
def test_the_projection_and_the_gap_are_the_apis_with_names(registry: Registry, setting: Setting, role: str,
                                                            training: str) -> None:
    token = _token(registry, setting, role)
    params = {"org_unit": setting.tree.agency, "from": FROM, "to": TO, "training": training}
    html = _page(signed_in(registry, token), setting, **params)
    api = _api(registry, token, STANDARD, "projection", **params)
    assert _points(html) == _api_points(api)
    assert [(p[0], p[3], p[4]) for p in _points(html)] == [
        ("2026-01-01", 0, 3), ("2026-12-31", 0, 3), ("2027-12-31", 0 if training == "none" else 1, 3),
        ("2028-12-31", 0 if training == "none" else 1, 2), ("2029-12-31", 0 if training == "none" else 1, 2),
        ("2030-12-31", 0 if training == "none" else 1, 2)]
    events = [(a["data-point"], a["data-kind"], a["data-person"], _number(a["data-numerator"]),
               _number(a["data-denominator"])) for a in _tags(html, "projection-events")]
    assert events == [(e["point"], e["kind"], e["person"], e["numerator"], e["denominator"]) for e in api["events"]]
    kinds = {e[1]: e[2] for e in events}
    assert kinds["retirement"] == setting.ext["retiring"] and ("training" in kinds) == (training != "none")
    text = _text(html)
    assert "Nghỉ hưu theo quy định (ngày cuối cùng công tác 30/04/2028)" in text
    assert "Dự báo đến hạn" in text and "Khoảng cách và người có thể bù đắp" in text
    assert "không tính tuyển dụng mới" in text  # the assumptions, in Vietnamese
    gap = _api(registry, token, STANDARD, "gap", org_unit=setting.tree.agency, **{"from": FROM}, as_of=TO,
               training=training)
    figures = _tags(html, "gap", "dl")[0]
    assert (figures["data-as-of"], _number(figures["data-needed"]), _number(figures["data-numerator"]),
            _number(figures["data-denominator"])) == (TO, gap["needed"], gap["numerator"], gap["denominator"])
    assert figures["data-closable"] == "true" and gap["closable_by_training"] is True
    ranked = [(a["data-person"], int(a["data-rank"]), a["data-enrolled"] == "true") for a in _tags(html, "candidates")] \
        if gap["candidates"] else []
    assert ranked == [(c["external_id"], c["rank"], c["enrolled"]) for c in gap["candidates"]]
    if training == "none":  # the enrolled leader is a candidate, first, covered by the course; the plain one after
        assert ranked == [(setting.ext["enrolled"], 1, True), (setting.ext["plain"], 2, False)]
        assert NAMES["enrolled"] in text and NAMES["plain"] in text
        assert f"sẽ đạt qua khóa {COURSE_NAME} ({setting.course}), dự kiến hoàn thành 30/06/2027" in text
        # the standard's row missed, level by level (the plain leader: no course covers it)
        assert "Trình độ lý luận chính trị cao nhất: hiện có Trung cấp → yêu cầu Cao cấp (thiếu 1 bậc)" in text
        assert gap["needed"] == 2
    if training == "completion_rate":  # no one has finished a course here: every kind counts as 100 %
        assert _points(html)[-1][2] == 0.5


def test_integration_sees_counts_and_no_persons(registry: Registry, setting: Setting) -> None:
    token = _token(registry, setting, "integration")
    params = {"org_unit": setting.tree.agency, "from": FROM, "to": TO, "training": "expected"}
    html = _page(signed_in(registry, token), setting, **params)
    admin = _api(registry, BOOT, STANDARD, "projection", **params)  # the points do not depend on the role
    assert _points(html) == _api_points(admin)
    events = _tags(html, "projection-events")
    assert events and all("data-person" not in e for e in events)
    assert 'data-named="false"' in html
    assert [(e["data-point"], e["data-kind"]) for e in events] == [("2027-12-31", "training"), ("2028-12-31", "retirement")]
    assert all(e.get("data-suppressed") == "true" for e in events)  # one person each: under the threshold
    gap = _api(registry, token, STANDARD, "gap", org_unit=setting.tree.agency, **{"from": FROM}, as_of=TO,
               training="expected")
    assert gap["candidates"] is None
    assert _number(_tags(html, "gap", "dl")[0]["data-needed"]) == gap["needed"]
    assert 'data-testid="gap-counts-only"' in html and 'data-testid="candidates"' not in html
    for secret in [*NAMES.values(), *setting.ext.values()]:
        assert secret not in html, secret


def test_the_projection_api_answers_counts_only_roles(registry: Registry, setting: Setting) -> None:
    token = _token(registry, setting, "integration")
    r = registry.client.get(f"/api/v1/indicators/{STANDARD}/projection", headers=registry.headers(token),
                            params={"org_unit": setting.tree.agency, "from": FROM, "to": TO})
    assert r.status_code == 200


def test_a_passed_deadline_projects_to_the_resolutions_farthest_one(registry: Registry, setting: Setting) -> None:
    html = _page(signed_in(registry, BOOT), setting)
    farthest = max(s.deadline for s in SPECS.values() if s.source.doc == "CT" and s.deadline)
    assert SPECS[STANDARD].deadline and SPECS[STANDARD].deadline < date.today()
    if farthest < date.today():  # after the resolution's last deadline: nothing to project to by default
        assert 'data-state="no_horizon"' in html
        return
    assert f'data-to="{farthest.isoformat()}"' in html and f'data-from="{date.today().isoformat()}"' in html
    assert 'data-testid="deadline-passed"' in html
    assert 'data-training="expected"' in html  # as the training is planned, unless another scenario is asked for
    api = _api(registry, BOOT, STANDARD, "projection", org_unit=setting.tree.agency, to=farthest.isoformat(),
               training="expected")
    assert _points(html) == _api_points(api)
    english = _page(signed_in(registry, BOOT), setting, lang="en")
    assert "Projection to the deadline" in english and "The gap and who closes it" in english
    assert "Statutory retirement (last day in service 2028-04-30)" in _text(english)


@pytest.mark.parametrize(("code", "role", "state"), [
    ("CT-2025-MASTERS-PHD-INFLOW", "admin", "none"),  # a flow count
    ("CT-2025-TEACHING-STAFF", "admin", "none"),  # qualitative
    ("ST-2025-LABOUR-TRAINED", "admin", "none"),  # a reported statistic
    ("ST-2025-ETHNIC-STAFF-LANGUAGE", "auditor", "aggregates"),  # a sensitive population, a role without its data
    ("ST-2025-ETHNIC-STAFF-LANGUAGE", "admin", "shown"),
])
def test_targets_without_a_projection_say_so(registry: Registry, setting: Setting, code: str, role: str,
                                             state: str) -> None:
    html = _page(signed_in(registry, _token(registry, setting, role)), setting, code=code, to=TO)
    assert f'data-section="projection" data-state="{state}"' in html
    said = {"none": "Chỉ tiêu này không có dự báo", "aggregates": "chỉ xem số liệu tổng hợp", "shown": "Các mốc dự báo"}
    assert said[state] in _text(html)


HOSTILE = ["training=foo", "training=%00", "training=expected%0A", "from=2026-13-01", "from=soon", "from=%1F",
           "to=2030-02-30", "to=%00", "to=" + "9" * 300, "from=2026-01-01%0A", "training=" + "x" * 5000]
SECTION_REFUSALS = [("from=0001-01-01", "invalid_range"), ("to=9999-12-31", "invalid_range"),
                    ("from=2031-01-01&to=2030-12-31", "invalid_range"), ("from=9999-12-31", None),
                    ("to=2026-01-01&from=2026-01-01", None)]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_parameters_are_a_4xx_page(registry: Registry, setting: Setting, query: str) -> None:
    client = signed_in(registry, BOOT)
    r = client.get(f"/dashboard/indicators/{STANDARD}?org_unit={setting.tree.agency}&{query}")
    assert r.status_code in (400, 422), (query, r.status_code, r.text[:500])  # 400: a control character, refused early
    assert r.headers["content-type"].startswith("text/html") and 'role="alert"' in r.text


@pytest.mark.parametrize(("query", "code"), SECTION_REFUSALS)
def test_parameters_the_service_refuses_are_said_in_the_section(registry: Registry, setting: Setting, query: str,
                                                                code: str | None) -> None:
    client = signed_in(registry, BOOT)
    r = client.get(f"/dashboard/indicators/{STANDARD}?org_unit={setting.tree.agency}&{query}")
    assert r.status_code == 200, (query, r.status_code, r.text[:500])
    if code:
        assert f'data-testid="projection-refused" data-code="{code}"' in r.text
    else:
        assert 'data-state="shown"' in r.text or 'data-state="no_horizon"' in r.text


def _report(registry: Registry, token: str, setting: Setting, kind: str, lang: str = "vi") -> bytes:
    r = registry.client.get(f"/api/v1/reports/CT.{kind}", headers=registry.headers(token),
                            params={"org_unit": setting.tree.province, "lang": lang})
    assert r.status_code == 200, r.text[:1000]
    return r.content


def _future(setting: Setting) -> list[str]:
    """The report's projected targets: ratios, per-capita figures and coverage of CT with a deadline from today."""
    return sorted(s.id for s in SPECS.values() if s.source.doc == "CT" and s.kind in ("ratio", "per_capita", "coverage")
                  and s.deadline and s.deadline >= date.today())


def test_the_xlsx_report_has_the_projection_of_every_target_still_to_come(registry: Registry, setting: Setting) -> None:
    book = load_workbook(io.BytesIO(_report(registry, BOOT, setting, "xlsx")))
    assert book.sheetnames[-1] == "Dự báo"
    sheet = book["Dự báo"]
    rows = list(sheet.iter_rows(values_only=True))
    head = rows.index(next(r for r in rows if r[0] == "Chỉ tiêu (mã)"))
    points_head = next(i for i, r in enumerate(rows) if i > head and r[0] == "Chỉ tiêu (mã)")
    summary = {r[0]: r for r in rows[head + 1:points_head] if r[0] and r[0].startswith("CT-")}
    future = _future(setting)
    assert future, "no CT target with a deadline from today: the test needs one (the resolution runs to 2030)"
    assert sorted(summary) == future
    points: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows[points_head + 1:]:
        points.setdefault(r[0], []).append(r)
    today = date.today().isoformat()
    for code in future:
        deadline = SPECS[code].deadline
        assert deadline is not None
        api = _api(registry, BOOT, code, "projection", org_unit=setting.tree.province, **{"from": today},
                   to=deadline.isoformat(), training=REPORT_TRAINING)
        assert [(r[1].date().isoformat(), r[3], r[4], r[5]) for r in points[code]] == \
            [(p["as_of"], p["value"], p["numerator"], p["denominator"]) for p in api["points"]], code
        last = api["points"][-1]
        assert (summary[code][4], summary[code][5], summary[code][6]) == (last["value"], last["numerator"],
                                                                         last["denominator"]), code
        r = registry.client.get(f"/api/v1/indicators/{code}/gap", headers=registry.headers(),
                                params={"org_unit": setting.tree.province, "from": today, "as_of": deadline.isoformat(),
                                        "training": REPORT_TRAINING})
        assert summary[code][7] == (r.json()["needed"] if r.status_code == 200 else None), code


def test_the_pdf_report_has_the_projection(registry: Registry, setting: Setting, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(_report(registry, BOOT, setting, "pdf"))
    text = subprocess.run([need("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True).stdout
    after = text[text.rindex("Dự báo đến hạn"):]
    assert "Số người cần đạt thêm" in after and "Theo kế hoạch đào tạo" in after
    for code in _future(setting):
        assert code in after, code
