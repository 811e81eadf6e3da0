"""The person page and the unit training page, in-process (no browser; SQLite, and PostgreSQL when configured):
redaction for roles that may not see sensitive fields, the course behind an awarded qualification, scope, counts."""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.factories import SmallTree, course, enrolment, import_records, person, small_tree
from tests.conftest import BOOT, Registry, uniq
from tests.web.signin import signed_in

NATIONAL_ID = "094185777123"
PARTY_SINCE = "2011-03-17"
COURSE_NAME = "Lớp Cao cấp lý luận chính trị thử nghiệm"


@dataclass
class Setting:
    tree: SmallTree
    a: str  # a person of commune A, with a completed enrolment that awarded cao cấp
    b: str  # a person of commune B, enrolled in commune B's course
    course: str
    local_course: str






@pytest.fixture(scope="module")
def setting(backend_db: tuple[str, str]) -> Setting:
    from tests.conftest import _bind

    backend, url = backend_db
    registry = Registry(backend, url, _bind(url))
    tree = small_tree(registry)
    a, b = uniq("PA"), uniq("PB")
    people = [person(a, tree.school_a, full_name="Lâm Thị Sa Rênh", ethnicity="05", national_id=NATIONAL_ID,
                     party_member_since=PARTY_SINCE),
              person(b, tree.station_b, full_name="Thạch Văn Kim Sơn", ethnicity="05", national_id="094185777999")]
    assert import_records(registry, "persons", people)["created"] == 2
    course, local_course = uniq("CC"), uniq("BD")
    report = import_records(registry, "courses", [
        _course(course, tree.province, COURSE_NAME),
        _course(local_course, tree.commune_b, "Lớp bồi dưỡng kiến thức xã", kind="knowledge_update", awards=None,
                hours=40, end="2026-01-20")])
    assert report["errors"] == [], report
    report = import_records(registry, "enrolments", [_enrolment(a, course, "completed", "2026-06-30"),
                                                     _enrolment(b, local_course, "enrolled")])
    assert report["errors"] == [], report
    return Setting(tree, a, b, course, local_course)




def _as(registry: Registry, setting: Setting, role: str, unit: str | None = None) -> TestClient:
    return _in(registry, setting.tree, role, unit)


def _in(registry: Registry, tree: SmallTree, role: str, unit: str | None = None) -> TestClient:
    token = BOOT if role == "admin" else registry.token(role, [unit or tree.province])
    return signed_in(registry, token)


def test_an_auditor_sees_the_person_without_ethnicity_national_id_or_party_dates(registry: Registry,
                                                                                 setting: Setting) -> None:
    r = _as(registry, setting, "auditor").get(f"/dashboard/persons/{setting.a}")
    assert r.status_code == 200, r.text[:500]
    assert "Lâm Thị Sa Rênh" in r.text
    for secret in (NATIONAL_ID, PARTY_SINCE, "17/03/2011", "Khơ-me", 'data-field="ethnicity"', 'data-field="national_id"',
                   'data-field="party_member_since"'):
        assert secret not in r.text, secret
    assert 'data-testid="redacted"' in r.text


def test_an_awarded_qualification_names_its_course(registry: Registry, setting: Setting) -> None:
    r = _as(registry, setting, "auditor").get(f"/dashboard/persons/{setting.a}")
    assert f"cấp qua khóa {COURSE_NAME} ({setting.course})" in r.text
    assert "Cao cấp" in r.text and "Sơ cấp" in r.text  # levels by their Vietnamese names, not their codes
    enrolment = re.search(rf'<tr data-course="{setting.course}" data-status="completed">(.*?)</tr>', r.text, re.S)
    assert enrolment and COURSE_NAME in enrolment.group(1) and "Đã hoàn thành" in enrolment.group(1)
    english = _as(registry, setting, "auditor").get(f"/dashboard/persons/{setting.a}", params={"lang": "en"})
    assert f"awarded by the course {COURSE_NAME} ({setting.course})" in english.text and "Completed" in english.text


def test_a_role_that_sees_sensitive_fields_sees_them_in_words(registry: Registry, setting: Setting) -> None:
    r = _as(registry, setting, "hr_officer").get(f"/dashboard/persons/{setting.a}")
    assert r.status_code == 200
    assert NATIONAL_ID in r.text and "17/03/2011" in r.text and "Khơ-me" in r.text
    assert 'data-testid="redacted"' not in r.text


def test_a_person_of_another_commune_is_the_same_404_as_an_unknown_one(registry: Registry, setting: Setting) -> None:
    client = _as(registry, setting, "hr_officer", setting.tree.commune_a)
    assert client.get(f"/dashboard/persons/{setting.a}").status_code == 200
    other = client.get(f"/dashboard/persons/{setting.b}")
    unknown = client.get("/dashboard/persons/NOBODY-AT-ALL")
    assert other.status_code == unknown.status_code == 404
    assert 'data-code="person_not_found"' in other.text and 'data-code="person_not_found"' in unknown.text
    assert "Thạch Văn Kim Sơn" not in other.text


@pytest.mark.parametrize("path", ["/dashboard/persons/%00", "/dashboard/persons/a%0Ab", "/dashboard/persons/" + "x" * 300,
                                  "/dashboard/training?year=99999", "/dashboard/training?year=-1",
                                  "/dashboard/training?year=%00", "/dashboard/training?year=2026%0A",
                                  "/dashboard/training?year=%D9%A2%D9%A0%D9%A2%D9%A6",
                                  "/dashboard/training?org_unit=NOPE", "/dashboard/training?org_unit=%00%01",
                                  "/dashboard/training?known_at=soon", "/dashboard/persons/X?known_at=0001-01-01T00:00Z"])
def test_hostile_parameters_are_refused_with_a_page(registry: Registry, setting: Setting, path: str) -> None:
    r = _as(registry, setting, "auditor").get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    assert "text/html" in r.headers["content-type"]


def test_the_training_page_counts_the_unit_enrolments_by_course_and_status(registry: Registry, setting: Setting) -> None:
    client = _as(registry, setting, "hr_officer", setting.tree.commune_a)
    r = client.get("/dashboard/training", params={"org_unit": setting.tree.commune_a, "year": "2026"})
    assert r.status_code == 200, r.text[:500]
    courses = re.search(r'data-testid="courses">(.*?)</table>', r.text, re.S)
    assert courses and setting.course in courses.group(1)  # the province's course, where the commune sends people
    assert setting.local_course not in courses.group(1)  # commune B's is neither above nor below commune A
    table = r.text[r.text.index('data-testid="enrolment-counts"'):]
    counts = re.search(rf'<tr data-course="{setting.course}">(.*?)</tr>', table, re.S)
    assert counts and '<td class="num" data-status="completed">1</td>' in counts.group(1)
    assert '<td class="num" data-status="enrolled">0</td>' in counts.group(1)
    assert f'data-person="{setting.a}"' in r.text
    assert client.get("/dashboard/training", params={"org_unit": setting.tree.commune_b}).status_code == 403
    assert COURSE_NAME not in client.get("/dashboard/training", params={"org_unit": setting.tree.commune_a,
                                                                          "year": "2024"}).text


def test_a_role_without_persons_sees_counts_only(registry: Registry, setting: Setting) -> None:
    r = _as(registry, setting, "integration").get("/dashboard/training", params={"org_unit": setting.tree.province,
                                                                                "year": "2026", "lang": "en"})
    assert r.status_code == 200, r.text[:500]
    assert 'data-testid="counts-only"' in r.text and "data-person=" not in r.text
    table = r.text[r.text.index('data-testid="enrolment-counts"'):]
    assert re.search(rf'<tr data-course="{setting.local_course}">[^/]*?.*?data-status="enrolled">1<', table, re.S)


# ───────────────────────── needs against the plan (issue 13) ─────────────────────────
LEADER_ID = "094185555001"
PLAN = {"lines": [
    {"kind": "political_theory", "awards": {"political_theory": {"level": "cao_cap"}}, "seats": 3, "budget": 54000000},
    {"kind": "state_management", "awards": {"state_management": {"level": "chuyen_vien_chinh"}}, "seats": 1,
     "budget": 1234567},
    {"kind": "knowledge_update", "awards": None, "seats": 2, "budget": 0}]}


@dataclass
class Needs:
    tree: SmallTree
    unit: str  # the province's agency: six leaders lack cao cấp, one of them chuyên viên chính too
    leaders: list[str]
    plan_year: int


def _leader(ext: str, unit: str, i: int, state: str) -> dict[str, Any]:
    return person(ext, unit, full_name=f"Trần Văn Lãnh Đạo {i}", national_id=f"{LEADER_ID[:-1]}{i}", ethnicity="05",
                  employments=[{"org_unit": unit, "category": "cong_chuc", "occupation": "specialist", "primary": True,
                                "start": "2010-01-01", "end": None}],
                  positions=[{"org_unit": unit, "title": "Giám đốc", "rank": "department_head", "start": "2020-01-01",
                              "end": None}],
                  degrees=[{"level": "master", "field": "Luật", "awarded_on": "2000-06-01"}],
                  political_theory=[{"level": "trung_cap", "awarded_on": "2012-06-01"}],
                  state_management=[{"level": state, "awarded_on": "2013-06-01"}])


@pytest.fixture(scope="module")
def needs_setting(backend_db: tuple[str, str]) -> Needs:
    from datetime import date

    from tests.conftest import _bind

    backend, url = backend_db
    registry = Registry(backend, url, _bind(url))
    tree = small_tree(registry)
    leaders = [uniq(f"L{i}") for i in range(6)]
    records = [_leader(ext, tree.agency, i, "chuyen_vien_chinh" if i else "chuyen_vien") for i, ext in enumerate(leaders)]
    assert import_records(registry, "persons", records)["created"] == 6
    course = uniq("CC")
    assert import_records(registry, "courses", [_course(course, tree.province, COURSE_NAME)])["errors"] == []
    year = date.today().year
    enrolment = _enrolment(leaders[1], course, "enrolled") | {"start": f"{year}-01-05", "expected_completion": f"{year}-06-30"}
    assert import_records(registry, "enrolments", [enrolment])["errors"] == []
    r = registry.client.put(f"/api/v1/training-plans/{tree.agency}/{year}", json=PLAN, headers=registry.headers())
    assert r.status_code == 200, r.text
    return Needs(tree, tree.agency, leaders, year)


def _section(html: str, key: str) -> str:
    found = re.search(rf'<section id="s-{key}".*?</section>', html, re.S)
    assert found, key
    return found.group(0)


def _page_needs(html: str) -> list[dict[str, Any]]:
    rows = re.findall(r'<tr data-qualification="([^"]*)" data-level="([^"]*)"( data-suppressed="true")?>(.*?)</tr>',
                      _section(html, "training_needs"), re.S)
    out = []
    for qualification, level, suppressed, cells in rows:
        values = dict(re.findall(r'data-figure="(\w+)" data-value="(\d*)"', cells))
        out.append({"qualification": qualification, "level": level, "suppressed": bool(suppressed),
                    "persons": int(values["persons"]) if values.get("persons") else None,
                    "enrolled_before": int(values["enrolled_before"]) if values.get("enrolled_before") else None})
    return out


def _api_needs(registry: Registry, token: str, unit: str) -> dict[str, Any]:
    from datetime import date

    r = registry.client.get("/api/v1/training-needs", params={"org_unit": unit, "as_of": date.today().isoformat()},
                            headers=registry.headers(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _as_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"qualification": g["need"]["qualification"], "level": g["need"]["level"],
             "suppressed": bool(g.get("suppressed")), "persons": g["persons"], "enrolled_before": g["enrolled_before"]}
            for g in body["groups"]]


def _training(client: TestClient, s: Needs, **params: Any) -> str:
    r = client.get("/dashboard/training", params={"org_unit": s.unit, "year": str(s.plan_year)} | params)
    assert r.status_code == 200, r.text[:500]
    return r.text


def test_the_needs_rows_are_the_api_answer_with_members_for_roles_that_see_persons(registry: Registry,
                                                                                 needs_setting: Needs) -> None:
    s = needs_setting
    html = _training(_in(registry, s.tree, "admin"), s)
    body = _api_needs(registry, BOOT, s.unit)
    assert _page_needs(html) == _as_rows(body) and len(body["groups"]) == 2
    assert [(g["persons"], g["enrolled_before"]) for g in body["groups"]] == [(6, 1), (1, 0)]
    section = _section(html, "training_needs")
    assert "Lý luận chính trị" in section and "Cao cấp" in section and "Quản lý nhà nước" in section
    for g in body["groups"]:
        who = re.search(rf'<details class="who" data-need="{g["need"]["qualification"]}:{g["need"]["level"]}">(.*?)'
                        r'</details>', section, re.S)
        assert who and re.findall(r'data-person="([^"]+)"', who.group(1)) == [m["external_id"] for m in g["members"]]
    assert f'href="/dashboard/persons/{s.leaders[0]}?' in section
    member = re.search(rf'<li data-member="{s.leaders[0]}">(.*?)</li>', section, re.S)
    assert member, section
    said = " ".join(re.sub(r"<[^>]+>", "", member.group(1)).split())
    assert "Trung cấp → Cao cấp; theo chức vụ Giám đốc sở và tương đương" in said, said
    assert 'data-row="rank" data-code="department_head"' in member.group(1)
    english = _section(_training(_in(registry, s.tree, "admin"), s, lang="en"), "training_needs")
    assert "Political theory" in english and "Who misses it" in english


def test_integration_sees_the_needs_as_counts_with_small_groups_hidden_and_no_names(registry: Registry,
                                                                                  needs_setting: Needs) -> None:
    s = needs_setting
    token = registry.token("integration", [s.tree.province])
    html = _training(signed_in(registry, token), s)
    rows = _page_needs(html)
    assert rows == _as_rows(_api_needs(registry, token, s.unit))
    assert rows == [{"qualification": "political_theory", "level": "cao_cap", "suppressed": False, "persons": 6,
                     "enrolled_before": 1},
                    {"qualification": "state_management", "level": "chuyen_vien_chinh", "suppressed": True,
                     "persons": None, "enrolled_before": None}]
    section = _section(html, "training_needs")
    assert 'data-testid="suppressed-help"' in section and "dưới 5 người" in section
    assert "data-person=" not in section and "Lãnh Đạo" not in html
    assert not any(ext in html for ext in s.leaders)


def test_an_auditor_sees_who_needs_training_but_no_sensitive_field(registry: Registry, needs_setting: Needs) -> None:
    s = needs_setting
    html = _training(_in(registry, s.tree, "auditor"), s)
    section = _section(html, "training_needs")
    assert all(f'data-person="{ext}"' in section for ext in s.leaders) and "Trần Văn Lãnh Đạo 0" in section
    for secret in (LEADER_ID[:-1], "Khơ-me", "1985-04-12", "12/04/1985", "national_id", "ethnicity"):
        assert secret not in html, secret


def _page_plan(html: str) -> dict[str, dict[str, int | None]]:
    section = _section(html, "annual_plan")
    out = {}
    for line, cells in re.findall(r'<tr data-line="(\w+)"[^>]*>(.*?)</tr>', section, re.S):
        values = dict(re.findall(r'data-figure="(\w+)" data-value="(\d*)"', cells))
        out[line] = {k: int(v) if v else None for k, v in values.items()}
    return out


def test_the_plan_rows_are_the_api_answer_with_shortfalls_marked(registry: Registry, needs_setting: Needs) -> None:
    s = needs_setting
    client = _in(registry, s.tree, "hr_officer", s.tree.province)
    html = _training(client, s)
    api = registry.client.get(f"/api/v1/training-plans/{s.unit}/{s.plan_year}", headers=registry.headers()).json()
    figures = ("seats", "budget", "enrolled", "completed", "spent", "need")
    page = _page_plan(html)
    assert [page[str(i)] for i in range(len(api["lines"]))] == [{f: ln[f] for f in figures} for ln in api["lines"]]
    assert page["totals"] == {f: api["totals"].get(f) for f in figures}
    assert api["lines"][0]["need"] == 6 and api["lines"][0]["enrolled"] == 1
    section = _section(html, "annual_plan")
    line0 = re.search(r'<tr data-line="0".*?</tr>', section, re.S)
    assert line0 and 'data-mark="seats_below_need"' in line0.group(0) and "chỉ tiêu ít hơn nhu cầu 3 người" in line0.group(0)
    assert 'data-mark="enrolled_below_seats"' in line0.group(0)
    assert "54.000.000 đ" in section and "1.234.567 đ" in section and "Cao cấp" in section
    english = _section(_training(client, s, lang="en"), "annual_plan")
    assert "54,000,000 VND" in english and "3 seats short of the need" in english
    link = re.search(r'href="([^"]+)" download data-testid="plan-xlsx"', section)
    assert link
    got = client.get(link.group(1).replace("&amp;", "&"))
    want = registry.client.get(f"/api/v1/training-plans/{s.unit}/{s.plan_year}.xlsx", headers=registry.headers())
    assert got.status_code == want.status_code == 200 and got.headers["content-type"] == want.headers["content-type"]
    assert _cells(got.content) == _cells(want.content)


def _cells(body: bytes) -> list[tuple[Any, ...]]:
    import io

    from openpyxl import load_workbook

    return [tuple(row) for ws in load_workbook(io.BytesIO(body)).worksheets for row in ws.iter_rows(values_only=True)]


def test_a_year_without_a_plan_says_so_and_its_workbook_is_a_404_page(registry: Registry, needs_setting: Needs) -> None:
    s = needs_setting
    client = _in(registry, s.tree, "auditor")
    section = _section(_training(client, s, year=str(s.plan_year - 1)), "annual_plan")
    assert 'data-testid="no-plan"' in section and "Chưa ghi nhận kế hoạch cho năm này." in section
    for year in (str(s.plan_year - 1), "1900", "2200"):
        assert 'data-testid="no-plan"' in _training(client, s, year=year)
    r = client.get("/dashboard/training/plan.xlsx", params={"org_unit": s.unit, "year": str(s.plan_year - 1)})
    assert r.status_code == 404 and 'data-code="training_plan_not_found"' in r.text
    for bad in ({"org_unit": "%00"}, {"org_unit": s.unit, "year": "x"}, {}, {"org_unit": s.unit, "known_at": "soon"}):
        r = client.get("/dashboard/training/plan.xlsx", params=bad)
        assert 400 <= r.status_code < 500 and "text/html" in r.headers["content-type"], (bad, r.status_code)
    outside = _in(registry, s.tree, "hr_officer", s.tree.commune_a)
    r = outside.get("/dashboard/training/plan.xlsx", params={"org_unit": s.unit, "year": str(s.plan_year)})
    assert r.status_code == 403


def _course(code: str, unit: str, name: str, **over: Any) -> dict[str, Any]:
    return course(code, unit, name=name, provider="Trường Chính trị tỉnh", **over)


def _enrolment(ext: str, course_code: str, status: str, completed_on: str | None = None) -> dict[str, Any]:
    return enrolment(ext, course_code, status, completed_on=completed_on, decision="12/QĐ-UBND", cost=None)
