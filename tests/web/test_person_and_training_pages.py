"""The person page and the unit training page, in-process (no browser; SQLite, and PostgreSQL when configured):
redaction for roles that may not see sensitive fields, the course behind an awarded qualification, scope, counts."""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.factories import SmallTree, import_records, person, small_tree
from tests.conftest import BOOT, Registry, uniq

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


def _course(code: str, unit: str, name: str, **over: Any) -> dict[str, Any]:
    return {"code": code, "name": name, "kind": "political_theory", "provider": "Trường Chính trị tỉnh", "org_unit": unit,
            "start": "2026-01-05", "end": "2026-06-30", "hours": 1200, "mode": "part_time", "country": "VN",
            "cost_per_person": 18000000, "funding": "state_budget", "awards": {"political_theory": {"level": "cao_cap"}}} | over


def _enrolment(ext: str, course: str, status: str, completed_on: str | None = None) -> dict[str, Any]:
    return {"person": ext, "course": course, "status": status, "start": "2026-01-05", "expected_completion": "2026-06-30",
            "completed_on": completed_on, "decision": "12/QĐ-UBND", "cost": None, "commitment_until": None}


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


def _signed_in(registry: Registry, token: str) -> TestClient:
    client = TestClient(registry.client.app)
    form = client.get("/dashboard/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found
    r = client.post("/dashboard/login", data={"token": token, "csrf_token": found.group(1)}, follow_redirects=False)
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers.get("location")
    return client


def _as(registry: Registry, setting: Setting, role: str, unit: str | None = None) -> TestClient:
    token = BOOT if role == "admin" else registry.token(role, [unit or setting.tree.province])
    return _signed_in(registry, token)


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
